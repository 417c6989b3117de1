"""The exact semantic difference of two rule sets, as regions of requests.

A request is described by facts: its finite attributes (SRV, User Role,
whether the device is in the SMI and, if it is, its type, generation and SMI
status, and the target cell of an SRV that has one) and the truth of each
condition the two rule sets test (`sender_is_eligible`, `role in
srv.eligible_roles`, ...). A model of "the verdicts differ" from the bounded
encoding (a real state) gives all its facts; they are generalised into a
cube by dropping every fact that the solver proves, over every state, the
difference does not need (an unsat core, then one drop at a time). The cube
is blocked whole and the search goes on, so a change costs a solver call per
region, not per class. Completeness is then proved with the unbounded
encoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3

from redline import progress
from redline.check import checked as ir
from redline.jsondoc import JsonObject
from redline.smt.decode import DEVICE_ID, Decoder
from redline.smt.encode import Encoder, Outcome, source_text
from redline.smt.properties import prefer, readable, same_verdict
from redline.smt.solver import new_solver
from redline.smt.symbolic import Sorts, SymRequest, SymState, bounded_state, reshaped_srvs, unshaped_reason, well_formed

# The finite attributes of a request, in the order a sentence names them; a device's
# attributes are facts only of a device in the SMI, the target only of an SRV that has one.
FINITE = ["srv", "role", "device", "generation", "device_type", "smi_status", "target"]
# Generalisation tries to drop the finite attributes first, so that a rule's own condition
# (`device.type in srv.device_types`, `role in NetworkOperator`) stands for them where it can.
DETAILS = ["device_type", "smi_status", "target", "generation", "device"]
# each finite attribute that is an enum -> the part its enum plays (check.checked.Vocabulary)
PART_OF = {"role": "role", "device_type": "device_type", "generation": "generation", "smi_status": "smi_status", "target": "cell"}

Facts = dict[str, frozenset[Any]]
Observed = dict[str, str | bool]  # what one model says of each finite attribute and condition, by its name


@dataclass(frozen=True)
class Judgement:
    """What a rule set does with a request in a model: rejected by a check, or accepted with effects."""
    verdict: str  # accept | reject
    layer: str | None
    code: str | None
    clause: str | None
    check: str | None
    effects: tuple[str, ...]  # the names of the effects that fire, sorted


@dataclass(frozen=True)
class Witness:
    """A real state and request, as STATE.json and REQUEST.json."""
    state: JsonObject
    request: JsonObject


@dataclass(frozen=True)
class RawCube:
    facts: Facts  # each finite attribute's allowed values, each condition's truth ({True} or {False})
    before: Judgement
    after: Judgement
    exact: bool  # proved: every request with these facts changes so; else only the one found does


@dataclass
class RawDiff:
    cubes: list[RawCube]
    complete: bool
    reason: str | None
    solvers: Solvers  # for the witnesses and counts of the regions made of these cubes


def _same(a: Outcome, b: Outcome, sorts: Sorts) -> z3.BoolRef:
    cells = list(sorts.members_of("cell").values())
    return z3.And(same_verdict(a, b), *[z3.And(a.anchor_set_after(c) == b.anchor_set_after(c),
                                                a.anchor_owner_after(c) == b.anchor_owner_after(c)) for c in cells])


def base_constraints(sorts: Sorts, catalogue: Any, st: SymState, rq: SymRequest) -> list[z3.BoolRef]:
    """What every real state and well-formed request satisfies, plus one spelling of what
    the rules never read (the attributes of an absent device, the target of a request
    that has none), so that a model is one class, not many that differ in nothing."""
    canonical = [
        z3.Implies(z3.Not(st.in_smi), z3.And(st.device_type == sorts.first_of("device_type"),
                                             st.generation == sorts.first_of("generation"),
                                             st.smi_status == sorts.first_of("smi_status"))),
        z3.Implies(z3.Not(rq.has_rpr), rq.rpr == sorts.first_of("cell")),
    ]
    return [well_formed(sorts, catalogue, rq), *st.constraints, *canonical]


def _is(o: Outcome, want: Judgement) -> z3.BoolRef:
    """The outcome is `want`: rejected by the same check, or accepted with the same effects."""
    if want.verdict == "reject":
        return next(c.rejects for c in o.checks if c.check.name == want.check)
    return z3.And(o.accepted, *[e.active if e.effect.name in want.effects else z3.Not(e.active) for e in o.effects])


class Setup:
    """Both rule sets' judgement of one symbolic request in one symbolic state, and its facts."""

    def __init__(self, sorts: Sorts, old: ir.RuleSet, new: ir.RuleSet, st: SymState, rq: SymRequest) -> None:
        self.sorts, self.st, self.rq = sorts, st, rq
        eo, en = Encoder(sorts, old), Encoder(sorts, new)
        self.before, self.after = eo.outcome(st, rq), en.outcome(st, rq)
        self.changes = z3.Not(_same(self.before, self.after, sorts))
        # Requests both rule sets take as input: one only `new` takes has no verdict under `old` to compare, and
        # its witness would not replay (the diff says it is incomplete there: reshaped_srvs in semantic_diff).
        self.base = [*base_constraints(sorts, old.catalogue, st, rq), well_formed(sorts, new.catalogue, rq)]
        self.finite: dict[str, z3.ExprRef] = {"srv": rq.srv, "role": rq.role, "device": st.in_smi, "device_type": st.device_type,
                                              "generation": st.generation, "smi_status": st.smi_status, "target": rq.rpr}
        # A condition the two rule sets word alike but judge differently (an amended catalogue row,
        # a redefined name) is two facts, each saying whose it is.
        self.atoms: dict[str, z3.BoolRef] = dict(eo.atoms(st, rq))
        for label, term in en.atoms(st, rq):
            if label in self.atoms and not self.atoms[label].eq(term):
                self.atoms[f"{label} (under {old.name})"] = self.atoms.pop(label)
                label = f"{label} (under {new.name})"
            self.atoms.setdefault(label, term)
        # Whether an effect changes anything decides a difference in effects, and no condition says it.
        for ef in (*self.before.effects, *self.after.effects):
            label = f"device.trust_anchors[{source_text(ef.effect.cell)}] == {source_text(ef.effect.owner)}"
            self.atoms.setdefault(label, z3.And(st.anchor_set(ef.cell), st.anchor_owner(ef.cell) == ef.owner))

    def fact(self, name: str, value: Any) -> z3.BoolRef:
        if name in self.atoms:
            return self.atoms[name] if value else z3.Not(self.atoms[name])
        term = self.finite[name]
        if name == "device":
            return term == z3.BoolVal(value, ctx=self.sorts.ctx)
        is_value = term == (self.sorts.srvs[value] if name == "srv" else self.sorts.members_of(PART_OF[name])[value])
        if name == "target":
            return z3.And(self.rq.has_rpr, is_value)
        if name in ("device_type", "generation", "smi_status"):
            return z3.And(self.st.in_smi, is_value)
        return is_value

    def cube(self, facts: Facts) -> z3.BoolRef:
        # The true literal keeps a cube of no facts (a change to every request) in this diff's context.
        return z3.And([z3.BoolVal(True, ctx=self.st.now.ctx),
                       *[z3.Or([self.fact(n, v) for v in sorted(vs, key=str)]) for n, vs in facts.items()]])

    def goal(self, before: Judgement, after: Judgement) -> z3.BoolRef:
        return z3.And(self.changes, _is(self.before, before), _is(self.after, after))

    def facts_of(self, m: z3.ModelRef) -> Observed:
        def val(t: z3.ExprRef) -> Any:
            return m.eval(t, model_completion=True)
        out: Observed = {"srv": self.sorts.decode("Srv", val(self.rq.srv)), "role": str(val(self.rq.role)),
                               "device": z3.is_true(val(self.st.in_smi))}
        if out["device"]:
            out |= {k: str(val(self.finite[k])) for k in ("device_type", "generation", "smi_status")}
        if z3.is_true(val(self.rq.has_rpr)):
            out["target"] = str(val(self.rq.rpr))
        return out | {label: z3.is_true(val(t)) for label, t in self.atoms.items()}


def outcome_of(o: Outcome, m: z3.ModelRef) -> Judgement:
    def holds(t: Any) -> bool:
        return bool(z3.is_true(m.eval(t, model_completion=True)))
    failed = next((c.check for c in o.checks if holds(c.rejects)), None)
    effects = tuple(sorted(e.effect.name for e in o.effects if holds(e.active)))
    if failed is None:
        return Judgement("accept", None, None, None, None, effects)
    return Judgement("reject", failed.layer.value, failed.code, failed.cite, failed.name, ())


class Solvers:
    """The bounded and unbounded encodings of one diff, with a solver on each."""

    def __init__(self, sorts: Sorts, old: ir.RuleSet, new: ir.RuleSet, timeout_ms: int, rlimit: int, seed: int) -> None:
        self.sorts, self.catalogue = sorts, old.catalogue
        self.b = Setup(sorts, old, new, bounded_state(sorts, "d", 2), SymRequest.fresh(sorts, "q"))
        self.u = Setup(sorts, old, new, SymState.fresh(sorts, "u"), SymRequest.fresh(sorts, "v"))
        self.bs, self.us = new_solver(sorts.ctx, timeout_ms, rlimit, seed), new_solver(sorts.ctx, timeout_ms, rlimit, seed)
        self.timeout_ms, self.rlimit, self.seed = timeout_ms, rlimit, seed  # for the intent questions' solvers
        for s, setup in ((self.bs, self.b), (self.us, self.u)):
            s.add(*setup.base)
        self.calls = 0
        self.residual: dict[str, bool] = {}  # what is left of a shape's formula: can some state make it true?

    def check(self, s: z3.Solver, *assumptions: z3.BoolRef) -> Any:
        self.calls += 1
        return s.check(*assumptions)

    def generalise(self, facts: Observed, before: Judgement, after: Judgement) -> tuple[Facts, bool]:
        """The fewest of `facts` that still imply this change over every state (unbounded), or all of them,
        not exact, when even all do not (the change then rests on something no fact names)."""
        s, u = self.us, self.u
        s.push()
        s.add(z3.Not(u.goal(before, after)))
        names = list(facts)
        keep = {n: z3.Bool(f"keep_{i}", ctx=self.sorts.ctx) for i, n in enumerate(names)}
        s.add(*[z3.Implies(keep[n], u.fact(n, facts[n])) for n in names])
        # The rules' own conditions alone first, so that the core holds them rather than the attribute
        # values they stand for; then with the SRV and role; then everything.
        exact = any(self.check(s, *[keep[n] for n in names if n not in dropped]) == z3.unsat
                    for dropped in (FINITE, DETAILS, []))
        if exact:
            core = {str(x) for x in s.unsat_core()}
            kept = [n for n in names if str(keep[n]) in core]
            order = [n for n in ("srv", "role", *DETAILS) if n in kept] + [n for n in kept if n not in FINITE]
            for n in order:
                trial = [x for x in kept if x != n]
                if self.check(s, *[keep[x] for x in trial]) == z3.unsat:
                    kept = trial
            names = kept
        s.pop()
        return {n: frozenset([facts[n]]) for n in names}, exact

    def witness(self, facts: Facts, before: Judgement, after: Judgement) -> Witness | None:
        """A real state and request with these facts that changes so, made easy to read; None if the
        bounded encoding has none (or the solver gives up)."""
        s, b = self.bs, self.b
        level = s.num_scopes()  # `prefer` leaves a scope open for each preference it keeps
        s.push()
        s.add(b.cube(facts), b.goal(before, after))
        found = self.check(s) == z3.sat
        if found:
            self.calls += prefer(s, readable(self.sorts, [b.st], [], [b.rq]))
            d = Decoder(s.model(), self.sorts)
            request = d.request(b.st, b.rq)  # first: the state then lists the parties the request names
            w = Witness(d.state(b.st), request)
        s.pop(s.num_scopes() - level)
        return w if found else None

    def without_implied(self, facts: Facts) -> Facts:
        """`facts` without the conditions the others imply over every state (`srv.replaces_trust_anchor`
        beside `srv == 6.15.1`): what a region says, each thing once."""
        s, u = self.us, self.u
        out = dict(facts)
        for name in [n for n in facts if n not in FINITE]:
            rest = {n: v for n, v in out.items() if n != name}
            s.push()
            s.add(u.cube(rest), z3.Not(u.cube({name: facts[name]})))
            if self.check(s) == z3.unsat:
                out = rest
            s.pop()
        return out

    def _srvs(self, formula: z3.BoolRef) -> list[str]:
        """The SRVs of requests that can satisfy `formula`, one solver call each: far fewer than
        fixing each of the catalogue's SRVs in the formula in turn, which is mostly catalogue columns."""
        s, u = self.us, self.u
        s.push()
        s.add(formula)
        out: list[str] = []
        while (r := self.check(s)) == z3.sat:
            out.append(self.sorts.decode("Srv", s.model().eval(u.rq.srv, model_completion=True)))
            s.add(u.rq.srv != self.sorts.srvs[out[-1]])
        s.pop()
        if r == z3.unknown:  # then fix each SRV in turn after all: no SRV is left out of the count
            return sorted(self.sorts.srvs)
        return sorted(out)

    def shapes(self, cube: RawCube) -> list[tuple[Any, ...]] | None:
        """Every request shape (SRV, role, device absent or its generation, type and status, target cell)
        in which some state has the cube's facts and changes so; None if the solver gave up on one.

        Shapes do not depend on which conditions the rule sets test, so two diffs count alike. Each
        attribute is fixed in turn and the formula simplified, so a shape costs no solver call unless
        what is left of the formula is about the state (then one, shared by every shape that leaves it)."""
        u, sorts = self.u, self.sorts
        # An exact cube implies the change; an inexact one is held to it.
        found: list[tuple[Any, ...]] = []
        gave_up = False
        # base_constraints' spelling of a field the request does not have: its enum's first member
        absent = {name: next(iter(sorts.members_of(PART_OF[name]))) for name in ("device_type", "generation", "smi_status", "target")}

        def certificate(srv: str) -> str | None:
            """Whether a request for `srv` names a certificate: "always" (it replaces a cell with it),
            "maybe" (it carries one, which REQUEST.json may leave out), or None (never)."""
            row = self.catalogue[srv]
            return "always" if row.get("replaces_trust_anchor") else "maybe" if ir.carries_certificate(row) else None

        def has_certificate(b: bool) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
            return [(u.rq.has_rpr, z3.BoolVal(b, ctx=sorts.ctx)), (u.rq.has_owner, z3.BoolVal(b, ctx=sorts.ctx))]

        def pin(name: str, v: Any) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
            if name == "srv":
                mode = certificate(v)
                return [(u.rq.srv, sorts.srvs[v])] + ([] if mode == "maybe" else has_certificate(mode == "always"))
            if name == "device":
                return [(u.st.in_smi, z3.BoolVal(v, ctx=sorts.ctx))]
            if name == "target":  # None: the request names no certificate (base_constraints' spelling of the cell)
                cell = sorts.members_of(PART_OF[name])[v] if v is not None else sorts.first_of(PART_OF[name])
                return has_certificate(v is not None) + [(u.finite[name], cell)]
            return [(u.finite[name], sorts.members_of(PART_OF[name])[v])]

        def holds(f: z3.BoolRef) -> bool:
            nonlocal gave_up
            key = f.sexpr()
            if key not in self.residual:
                r = self.check(self.us, f)
                gave_up |= r == z3.unknown
                self.residual[key] = r != z3.unsat
            return self.residual[key]

        Suffix = tuple[tuple[str, Any], ...]
        # What lies below a formula depends only on it, the attributes left, and whether the device is in
        # the SMI and the SRV carries a certificate (has a target); formulas are hash-consed, so many branches share one walk.
        memo: dict[tuple[Any, ...], tuple[z3.BoolRef, list[Suffix]]] = {}

        def walk(f: z3.BoolRef, device: bool | None, carries: str | None, rest: list[str]) -> list[Suffix]:
            if z3.is_false(f):
                return []
            if not rest:
                return [()] if z3.is_true(f) or holds(f) else []
            key = (f.get_id(), len(rest), device, carries)
            if key not in memo:
                memo[key] = (f, below(f, device, carries, rest))  # f kept alive, so its id is not reused
            return memo[key][1]

        def below(f: z3.BoolRef, device: bool | None, carries: str | None, rest: list[str]) -> list[Suffix]:
            name, rest = rest[0], rest[1:]
            if name != "target" and name in absent and not device or name == "target" and not carries:
                # A field the request does not have: pinned to base_constraints' spelling, not part of the shape.
                return walk(z3.simplify(z3.substitute(f, *pin(name, None if name == "target" else absent[name]))), device, carries, rest)
            values: list[Any]
            if name in cube.facts:
                values = sorted(cube.facts[name], key=str)
            elif name == "target" and carries == "maybe":
                values = [None, *sorts.members_of(PART_OF[name])]
            elif name == "srv":
                values = sorted(sorts.srvs)
            else:
                values = [True, False] if name == "device" else list(sorts.members_of(PART_OF[name]))
            out: list[Suffix] = []
            for v in values:
                g = z3.simplify(z3.substitute(f, *pin(name, v)))
                d = v if name == "device" else device
                r = certificate(v) if name == "srv" else carries
                out += [((name, v), *tail) for tail in walk(g, d, r, rest)]
            return out

        formula = u.cube(cube.facts) if cube.exact else z3.And(u.cube(cube.facts), u.goal(cube.before, cube.after))
        tails = [(("srv", v), *tail) for v in self._srvs(formula)
                 for tail in walk(z3.simplify(z3.substitute(formula, *pin("srv", v))), None,
                                  certificate(v), FINITE[1:])]
        for suffix in tails:
            c = dict(suffix)
            found.append((c["srv"], c["role"], (c["generation"], c["device_type"], c["smi_status"]) if c["device"] else None, c.get("target")))
        return None if gave_up else found


def semantic_diff(sorts: Sorts, old: ir.RuleSet, new: ir.RuleSet, timeout_ms: int, rlimit: int, seed: int,
                  limit: int = 2000) -> RawDiff:
    z = Solvers(sorts, old, new, timeout_ms, rlimit, seed)
    z.bs.push()
    z.bs.add(z.b.changes)
    cubes: list[RawCube] = []
    reason = None
    while len(cubes) < limit:
        progress.note(f"diff {old.name} -> {new.name}: {len(cubes)} regions so far, {z.calls} solver calls")
        r = z.check(z.bs)
        if r == z3.unknown:
            reason = z.bs.reason_unknown()
            break
        if r == z3.unsat:
            break
        m = z.bs.model()
        before, after = outcome_of(z.b.before, m), outcome_of(z.b.after, m)
        facts, exact = z.generalise(z.b.facts_of(m), before, after)
        cubes.append(RawCube(facts, before, after, exact))
        z.bs.add(z3.Not(z.b.cube(facts)))
    else:
        reason = f"more than {limit} regions of requests differ; the regions below are the first {limit} (raise --limit)"
    z.bs.pop()
    complete = False
    if reason is None and (reshaped := reshaped_srvs([old, new])):
        # Regions are found among the requests `old`'s catalogue shapes; where `new` shapes an SRV's requests
        # otherwise, what changes for the requests only `new` takes as input is not looked at.
        reason = unshaped_reason([old, new], reshaped, so="the regions may not be all")
    if reason is None:
        # Completeness over every state: no difference outside the cubes found.
        z.us.push()
        z.us.add(z.u.changes, *[z3.Not(z.u.cube(c.facts)) for c in cubes])
        result = z.check(z.us)
        z.us.pop()
        complete = result == z3.unsat
        if result == z3.sat:
            reason = "a difference exists only in states with more than 2 Registration Data assignments"
        elif result == z3.unknown:
            reason = f"the solver could not prove completeness: {z.us.reason_unknown()}"
    return RawDiff(cubes, complete, reason, z)


@dataclass(frozen=True)
class IntentProblem:
    intent: ir.Intent
    problem: str
    witness: Witness | None  # a state and request showing it, where one exists
    before: Judgement | None = None
    after: Judgement | None = None


def check_intents(
    z: Solvers, old: ir.RuleSet, new: ir.RuleSet, declared: tuple[ir.Intent, ...] | None = None,
) -> tuple[list[IntentProblem], str | None]:
    """Both directions: every difference lies inside the declared intents, and each intent really happens.

    A violation with a witness comes from the bounded encoding (a real state);
    an emptiness ("nothing changes there") is proved on the unbounded one.
    Returns the problems and, if some question could not be settled, why.
    """
    sorts = z.sorts
    intents = list(new.intents if declared is None else declared)
    en = Encoder(sorts, new)
    problems: list[IntentProblem] = []
    unsettled: str | None = None

    def setup(bounded: bool) -> tuple[Setup, list[z3.BoolRef]]:
        s = z.b if bounded else z.u  # the diff's own encodings: building them again costs more than the questions
        return s, [en.condition(i.where, s.st, s.rq) for i in intents]

    bset, bconds = setup(True)
    uset, uconds = setup(False)

    def solve(s: Setup, goal: z3.BoolRef) -> tuple[Any, z3.ModelRef | None]:
        solver = new_solver(sorts.ctx, z.timeout_ms, z.rlimit, z.seed)
        solver.add(*s.base, goal)
        r = solver.check()
        return r, (solver.model() if r == z3.sat else None)

    def witness(m: z3.ModelRef) -> tuple[Witness, Judgement, Judgement]:
        d = Decoder(m, sorts)
        request = d.request(bset.st, bset.rq)  # first: the state then lists the parties the request names
        w = Witness(d.state(bset.st), request)
        return w, outcome_of(bset.before, m), outcome_of(bset.after, m)

    def find(goal_b: z3.BoolRef, goal_u: z3.BoolRef) -> tuple[str, z3.ModelRef | None]:
        """sat (with a real model), unsat (over every state), or unknown."""
        nonlocal unsettled
        r, m = solve(bset, goal_b)
        if r == z3.sat:
            return "sat", m
        r2, _ = solve(uset, goal_u)
        if r2 == z3.unsat:
            return "unsat", None
        unsettled = "an intent question needs more than 2 Registration Data assignments or the solver gave up"
        return "unknown", None

    if intents:
        outside, m = find(z3.And(bset.changes, z3.Not(z3.Or(bconds))), z3.And(uset.changes, z3.Not(z3.Or(uconds))))
        if outside == "sat" and m is not None:
            w, b, a = witness(m)
            problems.append(IntentProblem(ir.Intent(kind="change", cite="(all declared intents)", where=intents[0].where),
                                          "a difference lies outside every declared intent", w, b, a))
    for i, (bc, uc) in enumerate(zip(bconds, uconds, strict=True)):
        intent = intents[i]
        if intent.kind == "change":
            status, _ = find(z3.And(bset.changes, bc), z3.And(uset.changes, uc))
            if status == "unsat":
                problems.append(IntentProblem(intent, "nothing changes where this intent says it does", None))
            continue
        new_ok = bset.after.accepted if intent.kind == "accept" else z3.Not(bset.after.accepted)
        new_ok_u = uset.after.accepted if intent.kind == "accept" else z3.Not(uset.after.accepted)
        status, m = find(z3.And(bc, z3.Not(new_ok)), z3.And(uc, z3.Not(new_ok_u)))
        if status == "sat" and m is not None:
            w, b, a = witness(m)
            problems.append(IntentProblem(intent, f"not every request where this intent applies is {intent.kind}ed by `{new.name}`", w, b, a))
        old_differs = z3.Not(bset.before.accepted) if intent.kind == "accept" else bset.before.accepted
        old_differs_u = z3.Not(uset.before.accepted) if intent.kind == "accept" else uset.before.accepted
        status, _ = find(z3.And(bc, old_differs), z3.And(uc, old_differs_u))
        if status == "unsat":
            problems.append(IntentProblem(intent, f"`{old.name}` already {intent.kind}s everything here: nothing is newly {intent.kind}ed", None))
    return problems, unsettled


__all__ = ["DEVICE_ID", "IntentProblem", "Judgement", "Observed", "Witness", "RawCube", "RawDiff", "Setup", "Solvers", "base_constraints", "check_intents", "outcome_of", "semantic_diff"]
