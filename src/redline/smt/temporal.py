"""Model checking: properties over sequences of accepted requests and events.

A temporal property (check/propir.py `RunProp`) has one of two shapes:

    forall s: State, X . INIT implies always t from s . P     an invariant
    exists s: State, X . INIT and reachable t from s . P      a reachability witness

(`within K t from s . P` is compiled like any one-step property, in
properties.py.) The transition system: a state is the docs/formats.md state as
far as the property's device can observe it. A step is either an accepted
request, whose effects change the device's trust anchors (a rejected request
changes nothing, so it is no step), or one of the environment events the
property allows (rules/events.redline). The parameters X and the initial
state `s` are rigid: every state of a run is judged against them.

- *Bounded model checking* unrolls k steps over states with at most R
  Registration Data assignments, so a model is a real trace; the caller
  decodes it and replays every step through the interpreter.
- *Unbounded proofs* look for an inductive invariant over any state of
  the reachable shape (Registration Data a predicate of any timeline):
  the property itself (1-induction), else the conjunction of candidate
  facts about the trust-anchor cells the property names that survives
  Houdini's fixpoint, greedily minimised. The invariant found is then
  re-checked, initiation, consecution and safety each in a fresh solver,
  before anything is reported as proved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import z3

from redline.check import checked as ir
from redline.check import propir as p
from redline.check.propir import Builtin, Prim
from redline.smt.properties import T_MAX, T_MIN, Binding, PropertyCompiler, simplify
from redline.smt.smt2 import smt2_text
from redline.smt.solver import new_solver
from redline.smt.symbolic import Sorts, SymRequest, SymState, fresh_rows, registration, well_formed, with_rows
from redline.times import SECOND

ROWS = 2  # Registration Data assignments of a bounded state: the stories here need a NO and one more


@dataclass
class Step:
    kind: z3.ArithRef  # 0: an accepted request; i >= 1: the i-th allowed event
    request: SymRequest
    leaver: z3.ArithRef | None  # the party a `dcc_user` event removes
    state: SymState  # the state after the step


def _table(ctx: z3.Context, cells: dict[str, z3.ExprRef], values: dict[str, z3.ExprRef]) -> Callable[[z3.ExprRef], Any]:
    """A function of a cell given by one constant per cell."""
    items = list(cells.items())

    def lookup(c: z3.ExprRef) -> Any:
        out = values[items[-1][0]]
        for name, const in reversed(items[:-1]):
            out = z3.If(c == const, values[name], out)
        return out
    return lookup


class Unroller:
    """Build the states of a run, one step at a time."""

    def __init__(self, comp: PropertyCompiler, events: list[ir.Event], bounded: bool) -> None:
        self.comp, self.events, self.bounded = comp, events, bounded
        self.sorts: Sorts = comp.sorts
        self.ctx = comp.ctx
        self.cells = self.sorts.members_of("cell")

    def _anchors(self, tag: str, st: SymState) -> tuple[SymState, dict[str, z3.BoolRef], dict[str, z3.ArithRef]]:
        sets = {n: z3.Bool(f"{tag}_set_{n}", ctx=self.ctx) for n in self.cells}
        owners = {n: z3.Int(f"{tag}_owner_{n}", ctx=self.ctx) for n in self.cells}
        return replace(st, anchor_set=_table(self.ctx, self.cells, sets), anchor_owner=_table(self.ctx, self.cells, owners)), sets, owners

    def step(self, prev: SymState, i: int) -> tuple[Step, list[z3.BoolRef]]:
        sorts, c = self.sorts, self.ctx
        k = z3.Int(f"step{i}_kind", ctx=c)
        cons: list[z3.BoolRef] = [0 <= k, k <= len(self.events)]
        r = SymRequest.fresh(sorts, f"step{i}_r")
        out = self.comp.outcome(0, prev, r)
        is_request = k == 0
        cons.append(z3.Implies(is_request, z3.And(well_formed(sorts, self.comp.catalogue, r), out.accepted)))
        if self.bounded:
            cons += [z3.And(T_MIN <= t, t <= T_MAX) for t in (r.exec_time, r.lo, r.hi)]
        st, sets, owners = self._anchors(f"step{i}", prev)
        for name, cell in self.cells.items():
            cons.append(sets[name] == z3.If(is_request, out.anchor_set_after(cell), prev.anchor_set(cell)))
            cons.append(owners[name] == z3.If(is_request, out.anchor_owner_after(cell), prev.anchor_owner(cell)))
        leaver = None
        for j, ev in enumerate(self.events, 1):
            on = k == j
            if ev.target == "now":
                now = z3.Int(f"step{i}_now", ctx=c)
                cons.append(z3.If(on, now > prev.now, now == prev.now))
                if self.bounded:
                    cons.append(now <= T_MAX)
                st = replace(st, now=now)
            elif ev.target == "dcc_user":
                leaver = z3.Int(f"step{i}_leaver", ctx=c)
                cons.append(z3.Implies(on, st.dcc_user(leaver)))  # one who is a DCC User ceases to be one
                st = replace(st, dcc_user=_without(st.dcc_user, on, leaver))
            else:
                st, more = self._registration(st, f"step{i}_{ev.name}", on, ev.roles)
                cons += more
        return Step(k, r, leaver, st), cons

    def _in_group(self, st: SymState, roles: frozenset[str]) -> Callable[[Any], z3.BoolRef]:
        members = [self.sorts.members_of("role")[x] for x in sorted(roles)]
        return lambda a: z3.And(a.used, a.mpxn == st.mpxn, z3.Or([a.role == m for m in members]))

    def _registration(self, st: SymState, tag: str, on: z3.BoolRef, roles: frozenset[str]) -> tuple[SymState, list[z3.BoolRef]]:
        """The device's Registration Data in `roles` may change: assignments end, begin (now or
        future-dated) or are replaced. Every other assignment stays as it is."""
        if not self.bounded:
            g, _ = registration(self.sorts, f"{tag}_reg")  # new Registration Data, within the invariants
            members = [self.sorts.members_of("role")[x] for x in sorted(roles)]
            before = st.registered
            mpxn = st.mpxn

            def registered(p: Any, r: Any, m: Any, t: Any) -> z3.BoolRef:
                return z3.If(z3.And(on, m == mpxn, z3.Or([r == x for x in members])), g(p, r, m, t), before(p, r, m, t))
            return replace(st, registered=registered, covers=None, assignments=None), []
        old = st.assignments or []
        new = fresh_rows(self.sorts, tag, len(old))
        in_group = self._in_group(st, roles)
        cons: list[z3.BoolRef] = []
        for a, b in zip(old, new, strict=True):
            same = _same_row(a, b)
            changed = z3.And(z3.Or(z3.Not(a.used), in_group(a)), z3.Or(z3.Not(b.used), in_group(b)))
            cons.append(z3.If(on, z3.Or(same, changed), same))
            cons += [z3.And(T_MIN <= b.start, b.start <= T_MAX), z3.And(T_MIN <= b.end, b.end <= T_MAX)]
        after = with_rows(self.sorts, st, new)
        return after, cons + list(after.constraints)

    def arbitrary(self, s: SymState) -> tuple[SymState, list[z3.BoolRef]]:
        """Any state of the reachable shape from `s`: anchors anything; with the allowed events, `now`
        no earlier, fewer DCC Users, and the allowed groups' Registration Data for the device anything.
        Each is preserved by every step, so every reachable state has this shape."""
        st, _, _ = self._anchors("cur", s)
        cons: list[z3.BoolRef] = []
        for ev in self.events:
            if ev.target == "now":
                now = z3.Int(f"cur_now_{ev.name}", ctx=self.ctx)
                cons.append(now >= st.now)
                st = replace(st, now=now)
            elif ev.target == "dcc_user":
                gone = z3.Function(f"cur_gone_{ev.name}", z3.IntSort(ctx=self.ctx), z3.BoolSort(ctx=self.ctx))
                before = st.dcc_user
                st = replace(st, dcc_user=lambda x, _b=before, _g=gone: z3.And(_b(x), z3.Not(_g(x))))
            else:
                st, more = self._registration(st, f"cur_{ev.name}", z3.BoolVal(True, ctx=self.ctx), ev.roles)
                cons += more
        return st, cons


def _without(dcc: Any, on: z3.BoolRef, leaver: z3.ArithRef) -> Callable[[Any], z3.BoolRef]:
    return lambda x: z3.And(dcc(x), z3.Not(z3.And(on, x == leaver)))


# ---- bounded model checking --------------------------------------------------

@dataclass
class Run:
    """A bounded search's find: the model of a run of `depth` steps."""

    depth: int
    model: z3.ModelRef
    comp: PropertyCompiler
    binders: list[Binding]
    states: list[SymState]
    steps: list[Step]


@dataclass
class Bmc:
    run: Run | None
    depth_reached: int  # every depth up to this one has no run
    reason: str | None  # why the search stopped early (unknown)
    solver_calls: int = 0


def bmc(sorts: Sorts, program: ir.Program, ruleset: ir.RuleSet, shape: p.RunProp, depth: int,
        timeout_ms: int, rlimit: int, seed: int, rows: int = ROWS) -> Bmc:
    """Look for a run of at most `depth` steps from a state satisfying INIT to one satisfying the goal."""
    comp = PropertyCompiler(sorts, program, [ruleset], rows)
    env: dict[str, Binding] = {}
    binders = comp.bind(shape.binders, env)
    s0 = env[shape.origin].value
    solver = new_solver(sorts.ctx, timeout_ms, rlimit, seed)
    solver.add(comp.constraints)
    if shape.init is not None:
        solver.add(comp.boolean(shape.init, env))
    unroll = Unroller(comp, list(shape.events), bounded=True)
    states, steps = [s0], []
    result = Bmc(None, -1, None)
    for k in range(depth + 1):
        if k > 0:
            step, cons = unroll.step(states[-1], k)
            solver.add(cons)
            steps.append(step)
            states.append(step.state)
        solver.push()
        solver.add(comp.at(env, shape.var, states[-1], shape.goal))
        verdict = solver.check()
        result.solver_calls += 1
        if verdict == z3.sat:
            requests = [Binding(f"step{i}", Prim.REQUEST, st.request) for i, st in enumerate(steps, 1)]
            result.solver_calls += simplify(solver, comp, [*binders, *requests], extra=_trace_preferences(s0, steps))
            result.run = Run(k, solver.model(), comp, binders, states, steps)
            return result
        if verdict == z3.unknown:
            result.reason = f"the solver gave up at depth {k}: {solver.reason_unknown()}"
            return result
        solver.pop()
        result.depth_reached = k
    return result


def _trace_preferences(s0: SymState, steps: list[Step]) -> list[z3.BoolRef]:
    """A reviewer reads requests more easily than events, small changes, and round dates:
    prefer them where the run allows."""
    from redline.smt.properties import NICE_START
    prefs = [s.kind == 0 for s in steps]
    prev = s0
    for s in steps:
        old, new = prev.assignments or [], s.state.assignments or []
        if old is not new:
            prefs += [_same_row(a, b) for a, b in zip(old, new, strict=True)]
            prefs += [x for b in new for x in (b.open_ended, b.start == NICE_START)]
        if s.state.now is not prev.now:  # time that passes, by whole seconds rather than a microsecond
            prefs.append(s.state.now % SECOND == 0)
        prev = s.state
    return prefs


def _same_row(a: Any, b: Any) -> z3.BoolRef:
    return z3.And(a.used == b.used, a.party == b.party, a.role == b.role, a.mpxn == b.mpxn, a.start == b.start,
                  a.open_ended == b.open_ended, a.end == b.end)


# ---- unbounded proofs ----------------------------------------------------------

@dataclass
class Induction:
    status: str  # proved | unknown
    method: str | None  # "1-induction" | "inductive invariant"
    invariant: list[str]
    reason: str | None
    solver_calls: int
    smt2: str | None = None  # the proof's obligations in SMT-LIB2, for a second solver


def _owner(var: str, cell_enum: str, cell: str) -> p.PExpr:
    return p.Apply(fn=Builtin.OWNER, args=(p.Ref(name=var, sort=Prim.STATE), p.EnumConst(enum=cell_enum, member=cell)),
                   sort=Prim.PARTY)


def candidates(shape: p.RunProp, cell_enum: str) -> list[p.PExpr]:
    """Facts an invariant may need about the trust-anchor cells the property names: each cell's
    owner is, or is not, each party the property binds, or the cell's owner in the initial state."""
    cells_named: dict[str, None] = {}
    for part in (shape.init, shape.body):
        for x in p.walk(part) if part is not None else ():
            if isinstance(x, p.EnumConst) and x.enum == cell_enum:
                cells_named.setdefault(x.member)
            elif isinstance(x, p.SetConst) and x.enum == cell_enum:
                cells_named.update(dict.fromkeys(x.members))
    t, s = shape.var, shape.origin
    parties: list[p.PExpr] = [p.Ref(name=b.name, sort=Prim.PARTY) for b in shape.binders if b.sort is Prim.PARTY]
    out: list[p.PExpr] = []
    for cell in cells_named:
        for party in [_owner(s, cell_enum, cell), *parties]:
            out.append(p.Eq(left=_owner(t, cell_enum, cell), right=party, negated=False))
            out.append(p.Eq(left=_owner(t, cell_enum, cell), right=party, negated=True))
    return out


class _Obligations:
    """Fresh compilations of initiation, consecution and safety for a candidate invariant."""

    def __init__(self, sorts: Sorts, program: ir.Program, ruleset: ir.RuleSet, shape: p.RunProp,
                 timeout_ms: int, rlimit: int, seed: int) -> None:
        self.sorts, self.program, self.ruleset, self.shape = sorts, program, ruleset, shape
        self.events = list(shape.events)
        self.timeout_ms, self.rlimit, self.seed = timeout_ms, rlimit, seed
        self.calls = 0

    def _setup(self) -> tuple[PropertyCompiler, dict[str, Binding], SymState, z3.Solver]:
        comp = PropertyCompiler(self.sorts, self.program, [self.ruleset], None)
        env: dict[str, Binding] = {}
        comp.bind(self.shape.binders, env)
        s = env[self.shape.origin].value
        solver = new_solver(self.sorts.ctx, self.timeout_ms, self.rlimit, self.seed)
        if self.shape.init is not None:
            solver.add(comp.boolean(self.shape.init, env))
        return comp, env, s, solver

    def _check(self, solver: z3.Solver) -> z3.CheckSatResult:
        self.calls += 1
        return solver.check()

    def _initiation(self, inv: list[p.PExpr]) -> z3.Solver:
        comp, env, s, solver = self._setup()
        solver.add(comp.constraints)
        solver.add(z3.Not(z3.And([comp.at(env, self.shape.var, s, c) for c in inv])))
        return solver

    def _consecution(self, inv: list[p.PExpr]) -> tuple[z3.Solver, list[z3.BoolRef]]:
        comp, env, s, solver = self._setup()
        var = self.shape.var
        unroll = Unroller(comp, self.events, bounded=False)
        t, shape_cons = unroll.arbitrary(s)
        step, cons = unroll.step(t, 1)
        after = [comp.at(env, var, step.state, c) for c in inv]
        solver.add(shape_cons + cons + [comp.at(env, var, t, c) for c in inv])
        solver.add(comp.constraints)
        solver.add(z3.Not(z3.And(after)))
        return solver, after

    def _safety(self, inv: list[p.PExpr]) -> z3.Solver:
        comp, env, s, solver = self._setup()
        var = self.shape.var
        t, shape_cons = Unroller(comp, self.events, bounded=False).arbitrary(s)
        solver.add(shape_cons + [comp.at(env, var, t, c) for c in inv])
        solver.add(comp.constraints)
        solver.add(z3.Not(comp.at(env, var, t, self.shape.invariant)))
        return solver

    def initiation(self, inv: list[p.PExpr]) -> z3.CheckSatResult:
        return self._check(self._initiation(inv))

    def consecution(self, inv: list[p.PExpr]) -> tuple[z3.CheckSatResult, list[bool]]:
        """Unsat iff `inv` is preserved by every step; else which conjuncts the step broke."""
        solver, after = self._consecution(inv)
        verdict = self._check(solver)
        if verdict != z3.sat:
            return verdict, []
        m = solver.model()
        return verdict, [bool(z3.is_true(m.eval(a, model_completion=True))) for a in after]

    def safety(self, inv: list[p.PExpr]) -> z3.CheckSatResult:
        return self._check(self._safety(inv))

    def smt2(self, inv: list[p.PExpr]) -> str:
        """The three obligations as one SMT-LIB2 query, unsat iff each is: their disjunction.
        A second solver re-checking the proof reads this."""
        parts = [z3.And(list(x.assertions())) for x in (self._initiation(inv), self._consecution(inv)[0], self._safety(inv))]
        return smt2_text([z3.Or(parts)])


def induction(sorts: Sorts, program: ir.Program, ruleset: ir.RuleSet, shape: p.RunProp,
              timeout_ms: int, rlimit: int, seed: int) -> Induction:
    """Prove the invariant over every run: 1-induction, else Houdini over the candidates."""
    ob = _Obligations(sorts, program, ruleset, shape, timeout_ms, rlimit, seed)
    target = shape.invariant

    def done(method: str, inv: list[p.PExpr]) -> Induction | None:
        # The independent re-check: each obligation in a fresh compilation and a fresh solver.
        if ob.initiation(inv) == z3.unsat and ob.consecution(inv)[0] == z3.unsat and ob.safety(inv) == z3.unsat:
            return Induction("proved", method, [p.show(c) for c in inv], None, ob.calls, ob.smt2(inv))
        return None

    verdict, _ = ob.consecution([target])
    if verdict == z3.unsat and ob.initiation([target]) == z3.unsat:
        found = done("1-induction", [target])
        if found:
            return found
    pool = [target, *candidates(shape, sorts.vocab.cell)]
    pool = [c for c in pool if ob.initiation([c]) == z3.unsat]
    while pool:
        verdict, kept = ob.consecution(pool)
        if verdict == z3.unsat:
            break
        if verdict == z3.unknown:
            return Induction("unknown", None, [], "the solver gave up on a consecution check", ob.calls)
        pool = [c for c, ok in zip(pool, kept, strict=True) if ok]
    if not pool or ob.safety(pool) != z3.unsat:
        return Induction("unknown", None, [], "no inductive invariant found among the candidates", ob.calls)
    # Keep only what the proof needs, so that a reviewer reads a short invariant.
    for c in list(pool):
        trial = [x for x in pool if x is not c]
        if trial and ob.consecution(trial)[0] == z3.unsat and ob.safety(trial) == z3.unsat:
            pool = trial
    found = done("inductive invariant", pool)
    if found:
        return found
    return Induction("unknown", None, [], "the invariant did not survive its re-check", ob.calls)
