"""Property semantics: a property body compiled to Z3 and decided.

A body is `forall X . B` or `exists X . B`. The outermost binders become
free symbols; nested binders (over requests, parties and enums, never
states) become Z3 quantifiers. `forall` holds iff `not B` is unsatisfiable;
`exists` holds iff `B` is satisfiable.

Two encodings of Registration Data are used, each only where it is sound:
- *unbounded*: a predicate of (party, role, MPxN, instant), any timeline at
  all; `unsat` here is a proof over every state;
- *bounded*: at most K assignments (K = 1..3); every model is a real
  STATE.json, so `sat` here is a genuine counterexample or witness, but
  `unsat` proves nothing and is never reported as a proof.
A result the two cannot settle is `unknown`, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never

import z3

from redline.check import checked as ir
from redline.check import propir as p
from redline.check.propir import Builtin, DeclKind, EnumSort, Prim, ReqField, SetSort, Sort
from redline.check.types import BOOL, SetT, strip
from redline.smt.declared import Slot
from redline.smt.encode import Encoder, Opt, Outcome
from redline.smt.smt2 import smt2_text
from redline.smt.solver import new_solver
from redline.smt.symbolic import Sorts, SymRequest, SymState, bounded_state, well_formed
from redline.times import SECOND

# Times a decoded model may use: 2000-01-01 .. 2100-01-01, so every model is a valid ISO time
# (in microseconds, like every time: redline.times).
T_MIN, T_MAX = 946684800 * SECOND, 4102444800 * SECOND
BOUNDS = (1, 2, 3)


@dataclass
class Binding:
    name: str
    sort: Sort
    value: Any  # SymState, SymRequest, ArithRef or enum const


@dataclass
class Decided:
    status: str  # proved | refuted | unknown
    reason: str | None
    mode: str | None  # which encoding settled it
    model: z3.ModelRef | None
    binders: list[Binding]
    compiler: PropertyCompiler | None
    solver_calls: int
    used: list[tuple[str, list[str]]] | None = None  # (clause, assumptions) of the rules an unbounded proof needed


class PropertyCompiler:
    """Encode one checked property body for one rule set (or a pair, when relational).

    The body was checked (check/properties.py): every sort, builtin and rule-set count is right here."""

    def __init__(self, sorts: Sorts, program: ir.Program, rulesets: list[ir.RuleSet], bound: int | None,
                 selectors: bool = False) -> None:
        self.sorts, self.program, self.rulesets, self.bound = sorts, program, rulesets, bound
        self.encoders = [Encoder(sorts, rs) for rs in rulesets]
        if selectors:
            for i, enc in enumerate(self.encoders):
                enc.use_selectors(f"rs{i}_")
        self.catalogue = rulesets[0].catalogue
        self.catalogues = list({id(rs.catalogue): rs.catalogue for rs in rulesets}.values())
        self.constraints: list[z3.BoolRef] = []
        self.outcomes: dict[tuple[int, int, int], Outcome] = {}  # a memo of the encoding, by the symbols' identity
        # The objects the memo's ids name, held so that no id is reused by another state or request
        # (an `after(s, r)` is a new object each time, freed once used).
        self.keys: list[tuple[SymState, SymRequest]] = []
        # What the body judges of its outer binders, keyed by value (rule set index, state and request
        # binder names): the verdicts a model must be cross-checked against, none skipped.
        # (The memo's keys, not the outcomes: the memo stays the one owner of the encoded terms.)
        self.judged: dict[tuple[int, str, str], tuple[int, int, int]] = {}
        self.outer: list[Binding] = []
        self.states: list[SymState] = []
        self.counter = 0
        self.ctx = sorts.ctx

    # -- binders --

    def well_formed(self, r: SymRequest) -> z3.BoolRef:
        """A request every rule set's loader takes as input. Where their catalogues shape an SRV's requests
        differently (symbolic.reshaped_srvs), one only some take would be judged by the others as it can never
        be, and its counterexample would not replay (a proof over them is unknown in any case, prover.py)."""
        return z3.And([well_formed(self.sorts, c, r) for c in self.catalogues])

    def fresh(self, sort: Sort, name: str) -> Binding:
        self.counter += 1
        tag = f"{name}_{self.counter}"
        match sort:
            case Prim.STATE:
                st = bounded_state(self.sorts, tag, self.bound) if self.bound is not None else SymState.fresh(self.sorts, tag)
                self.constraints.extend(st.constraints)
                if self.bound is not None:  # decodable models: real times
                    for t in [st.now, *(x for a in st.assignments or [] for x in (a.start, a.end))]:
                        self.constraints.append(z3.And(T_MIN <= t, t <= T_MAX))
                self.states.append(st)
                return Binding(name, sort, st)
            case Prim.REQUEST:
                return Binding(name, sort, SymRequest.fresh(self.sorts, tag))
            case Prim.PARTY | Prim.DEVICE:  # ids, as the encoding of the rules has them
                return Binding(name, sort, z3.Int(tag, ctx=self.ctx))
            case EnumSort(name=enum):
                return Binding(name, sort, z3.Const(tag, self.sorts.enums[enum]))
            case Prim.BOOL | Prim.SRV | SetSort():
                raise AssertionError(f"no binder is of sort {sort}")  # the checker binds none
            case _:
                assert_never(sort)

    def bind(self, binders: tuple[p.Binder, ...], env: dict[str, Binding]) -> list[Binding]:
        """Fresh symbols for a quantifier's binders, added to `env`."""
        out = []
        for b in binders:
            binding = self.fresh(b.sort, b.name)
            env[b.name] = binding
            out.append(binding)
        return out

    def request_vars(self, r: SymRequest) -> list[z3.ExprRef]:
        return [r.sender, r.role, r.srv, r.has_rpr, r.rpr, r.has_owner, r.owner, r.has_exec, r.exec_time, r.has_range, r.lo, r.hi]

    def outcome(self, which: int, s: SymState, r: SymRequest) -> Outcome:
        key = (which, id(s), id(r))
        if key not in self.outcomes:
            self.outcomes[key] = self.encoders[which].outcome(s, r)
            self.keys.append((s, r))
            named = [next((b.name for b in self.outer if b.value is x), None) for x in (s, r)]
            if named[0] is not None and named[1] is not None:
                self.judged[(which, named[0], named[1])] = key
        return self.outcomes[key]

    # -- the body --
    def compile(self, body: p.OneStep) -> tuple[p.Quantifier, list[Binding], z3.BoolRef]:
        env: dict[str, Binding] = {}
        outer = self.bind(body.binders, env)
        self.outer = outer
        formula = self.boolean(body.body, env)
        for binding in outer:
            if binding.sort is Prim.REQUEST:
                formula = z3.And(self.well_formed(binding.value), formula) \
                    if body.kind is p.Quantifier.EXISTS else z3.Implies(self.well_formed(binding.value), formula)
        return body.kind, outer, formula

    def boolean(self, e: p.PExpr, env: dict[str, Binding]) -> z3.BoolRef:
        term: z3.BoolRef = self.term(e, env)
        return term

    def term(self, e: p.PExpr, env: dict[str, Binding]) -> Any:
        """A Bool as a BoolRef, a State or Request as itself, any other value as an Opt."""
        T = z3.BoolVal(True, ctx=self.ctx)
        match e:
            case p.And(items=items):
                return z3.And([self.boolean(x, env) for x in items])
            case p.Or(items=items):
                return z3.Or([self.boolean(x, env) for x in items])
            case p.Not(operand=o):
                return z3.Not(self.boolean(o, env))
            case p.Implies(premise=a, conclusion=b):
                return z3.Implies(self.boolean(a, env), self.boolean(b, env))
            case p.Quant():
                return self._quant(e, env)
            case p.Within():
                return self._within(e, env)
            case p.Eq(left=a, right=b, negated=neg):
                la = self.term(a, env)
                if isinstance(b, p.NullConst):
                    eq = z3.Not(la.some)
                else:
                    rb = self.term(b, env)
                    eq = z3.Or(z3.And(z3.Not(la.some), z3.Not(rb.some)), z3.And(la.some, rb.some, la.val == rb.val))
                return z3.Not(eq) if neg else eq
            case p.In(item=i, collection=coll, negated=neg):
                item = self.term(i, env)
                if isinstance(coll, p.SetConst):
                    members = [self.sorts.member(coll.enum, m) for m in sorted(set(coll.members))]
                    found = z3.And(item.some, z3.Or([item.val == m for m in members]))
                else:  # a set-valued field: a function member -> Bool
                    found = z3.And(item.some, self.term(coll, env)(item.val))
                return z3.Not(found) if neg else found
            case p.Ref(name=n, sort=sort):
                bound = env[n].value
                return bound if sort in (Prim.STATE, Prim.REQUEST) else Opt(T, bound)
            case p.EnumConst(enum=enum, member=m):
                return Opt(T, self.sorts.member(enum, m))
            case p.SrvConst(srv=srv):
                return Opt(T, self.sorts.srvs[srv])
            case p.SetConst():
                raise AssertionError("a set stands only on the right of `in`")
            case p.NullConst():
                raise AssertionError("`null` stands only on the right of `==` or `!=`")  # the checker puts it there  # the checker allows it nowhere else
            case p.Field(obj=o, name=f):
                return self._field(self.term(o, env), f)
            case p.Apply():
                return self._apply(e, [self.term(a, env) for a in e.args])
            case p.Declared():
                return self._declared(e, [self.term(a, env) for a in e.args])
            case _:
                assert_never(e)

    def _declared(self, e: p.Declared, args: list[Any]) -> Any:
        """A declared field or relation, from the slots smt/declared.py made of its declaration (the same
        terms the rules' encoding reads); a catalogue column from the catalogue's rows."""
        match e.kind:
            case DeclKind.REQUEST:
                r: SymRequest = args[0]
                return self._slot(r.ext[e.name], z3.BoolVal(True, ctx=self.ctx), None)
            case DeclKind.DEVICE:
                st: SymState = args[0]
                return self._slot(st.device_ext[e.name], st.in_smi, None)  # null when no device is in the SMI
            case DeclKind.PARTY:
                st, party = args
                return self._slot(st.party_ext[e.name], party.some, party.val)
            case DeclKind.RELATION:
                st, *xs = args
                return z3.And(*[x.some for x in xs], st.relations[e.name](*[x.val for x in xs]))
            case DeclKind.SERVICE:
                return self._column(args[0], e.name, e.sort)
            case _:
                assert_never(e.kind)

    def _slot(self, slot: Slot, some: z3.BoolRef, arg: Any) -> Any:
        """A slot's value where its record is there (`some`): null is false for a truth value, as in the rules."""
        given = z3.And(some, slot.has(arg))
        v = slot.value(arg)
        base = strip(slot.type)
        if base == BOOL:
            return z3.And(given, v)
        if isinstance(base, SetT):
            return lambda x: z3.And(given, v(x))
        return Opt(given, v)

    def _column(self, srv: Opt, column: str, sort: Sort) -> Any:
        """A catalogue column as a function of the (symbolic) SRV, grouping SRVs that share a value."""
        groups: dict[Any, list[z3.ExprRef]] = {}
        # The last rule set's rows: a relational property reads the columns its new rule set amends.
        for name, row in self.rulesets[-1].catalogue.items():
            value = row.get(column)
            groups.setdefault(frozenset(value) if isinstance(value, set | frozenset | list | tuple) else value, []).append(self.sorts.srvs[name])

        def one_of(srvs: list[z3.ExprRef]) -> z3.BoolRef:
            return z3.And(srv.some, z3.Or([srv.val == x for x in srvs] or [z3.BoolVal(False, ctx=self.ctx)]))
        match sort:
            case Prim.BOOL:
                return one_of([x for v, srvs in groups.items() if v for x in srvs])
            case SetSort(elem=enum):
                return lambda m: z3.Or([z3.And(one_of(srvs), z3.Or([m == self.sorts.member(enum, x) for x in sorted(v)]))
                                        for v, srvs in groups.items() if v] or [z3.BoolVal(False, ctx=self.ctx)])
            case EnumSort(name=enum):
                given = [(v, srvs) for v, srvs in groups.items() if v is not None]
                val: Any = next(iter(self.sorts.members[enum].values()))
                for v, srvs in given:
                    val = z3.If(z3.Or([srv.val == x for x in srvs]), self.sorts.member(enum, v), val)
                return Opt(z3.Or([one_of(srvs) for _, srvs in given] or [z3.BoolVal(False, ctx=self.ctx)]), val)
            case Prim.STATE | Prim.REQUEST | Prim.PARTY | Prim.DEVICE | Prim.SRV:
                raise AssertionError(f"no catalogue column is of sort {sort}")  # the catalogue holds none
            case _:
                assert_never(sort)

    def _field(self, r: SymRequest, f: ReqField) -> Opt:
        T = z3.BoolVal(True, ctx=self.ctx)
        match f:
            case ReqField.SENDER:
                return Opt(T, r.sender)
            case ReqField.ROLE:
                return Opt(T, r.role)
            case ReqField.SRV:
                return Opt(T, r.srv)
            case ReqField.REMOTE_PARTY_ROLE:
                return Opt(r.has_rpr, r.rpr)
            case ReqField.NEW_CERTIFICATE_OWNER:
                return Opt(r.has_owner, r.owner)
            case _:
                assert_never(f)

    def _apply(self, e: p.Apply, args: list[Any]) -> Any:
        """A builtin of the property language, on its arguments' terms (in the order of its signature)."""
        F = z3.BoolVal(False, ctx=self.ctx)
        match e.fn:
            case Builtin.ACCEPTED:
                s, r = args
                return self.outcome(0, s, r).accepted
            case Builtin.CHANGES:
                s, r = args
                return z3.Not(same_verdict(self.outcome(0, s, r), self.outcome(1, s, r)))
            case Builtin.AFTER:
                s, r = args
                return after(s, self.outcome(0, s, r))
            case Builtin.ACCEPTED_BY_BASE | Builtin.ACCEPTED_BY_MODIFICATION:
                s, r = args
                return self.outcome(0 if e.fn is Builtin.ACCEPTED_BY_BASE else 1, s, r).accepted
            case Builtin.AFTER_BASE | Builtin.AFTER_MODIFICATION:
                s, r = args
                return after(s, self.outcome(0 if e.fn is Builtin.AFTER_BASE else 1, s, r))
            case Builtin.INTENDED:
                s, r = args
                # Within a region and judged its way: `intends reject` declares requests the modification
                # refuses, so one it accepts there is not intended (nor one it refuses in an `intends
                # accept`), as `redline diff`'s intent check reads them; `intends change`, either way.
                # The region alone let a waiver drafted `intends reject` prove changes_only_intended.
                accepted = self.outcome(1, s, r).accepted
                way = {"accept": accepted, "reject": z3.Not(accepted)}
                return z3.Or([z3.And(self.encoders[1].condition(i.where, s, r), way.get(i.kind, z3.BoolVal(True, ctx=self.ctx)))
                              for i in self._intents()] or [F])
            case Builtin.OWNER:
                st, cell = args
                return Opt(z3.And(st.in_smi, st.anchor_set(cell.val)), st.anchor_owner(cell.val))
            case Builtin.IN_SMI:
                return args[0].in_smi
            case Builtin.GENERATION:
                return Opt(args[0].in_smi, args[0].generation)
            case Builtin.DEVICE_TYPE:
                return Opt(args[0].in_smi, args[0].device_type)
            case Builtin.SMI_STATUS:
                return Opt(args[0].in_smi, args[0].smi_status)
            case Builtin.SUITS:
                st = args[0]
                srv = e.args[1]
                assert isinstance(srv, p.SrvConst)  # the checker's rule: `suits` names its SRV
                row = self.catalogue[srv.srv]
                types, statuses = self.sorts.members_of("device_type"), self.sorts.members_of("smi_status")
                return z3.And(st.in_smi,
                              z3.Or([st.device_type == types[t] for t in sorted(row["device_types"])] or [F]),
                              z3.Or([st.smi_status == statuses[t] for t in sorted(row["smi_statuses"])] or [F]))
            case Builtin.ACTIVE:
                st, party = args
                return z3.And(party.some, st.dcc_user(party.val))
            case Builtin.HAS_ROLE:
                st, party, role = args
                return z3.And(party.some, st.has_role(party.val, role.val))
            case Builtin.REGISTERED:
                st, party, role = args
                return z3.And(party.some, st.registered(party.val, role.val, st.mpxn, st.now))
            case Builtin.EVER_REGISTERED:
                st, party = args
                return z3.And(party.some, self._ever_registered(st, party.val))
            case Builtin.CRITICAL | Builtin.NON_DEVICE:
                srvs = [self.sorts.srvs[x] for x, row in self.catalogue.items() if row.get(e.fn.value)]
                return z3.Or([args[0].srv == x for x in srvs]) if srvs else F
            case Builtin.ELIGIBLE:
                st, r = args
                return self._eligible(st, r)
            case Builtin.REGISTERED_THROUGHOUT:
                st, r, party, role = args
                return z3.And(party.some, self._registered_throughout(st, r, party.val, role.val))
            case Builtin.HAS_EXECUTION_TIME:
                return args[0].has_exec
            case Builtin.HAS_DATE_RANGE:
                return args[0].has_range
            case Builtin.DEVICE:
                return Opt(args[0].in_smi, args[0].device_id)
            case Builtin.ROLE_ALLOWED:
                r = args[0]
                return self._column_has(r.srv, "eligible_roles", self.sorts.enum_of("role"), r.role)
            case Builtin.DEVICE_SUITS:
                st, r = args
                return z3.And(st.in_smi,
                              self._column_has(r.srv, "device_types", self.sorts.enum_of("device_type"), st.device_type),
                              self._column_has(r.srv, "smi_statuses", self.sorts.enum_of("smi_status"), st.smi_status))
            case _:
                assert_never(e.fn)

    def _intents(self) -> list[ir.Intent]:
        """The intents of every modification from the older rule set (exclusive) to the newer: over a chain
        such as baseline -> mp107 -> m a change is intended if some modification on the way declared it
        (as `redline diff` reads them). None on the way, or no way: nothing is intended."""
        old, at = self.rulesets[0].name, self.rulesets[1]
        found: list[ir.Intent] = []
        seen: set[str] = set()
        while at.name != old and at.name not in seen and at.base is not None and at.base in self.program.rulesets:
            seen.add(at.name)
            found[:0] = at.intents
            at = self.program.rulesets[at.base]
        return found if at.name == old else []

    def _eligible(self, st: SymState, r: SymRequest) -> z3.BoolRef:
        """SRPD 6.1(f), stated here independently of the rules: the sender is registered in its role
        for the device's MPxN (i) throughout the date range, else (ii) at the execution time, else (iii) now."""
        return self._registered_throughout(st, r, r.sender, r.role)

    def _registered_throughout(self, st: SymState, r: SymRequest, party: z3.ArithRef, role: z3.ExprRef) -> z3.BoolRef:
        """`party` is registered in `role` for the device's MPxN throughout `r`'s relevant times: (i) its
        date range, else (ii) its execution time, else (iii) the state's now (SRPD 6.1(f))."""
        def throughout(lo: z3.ArithRef, hi: z3.ArithRef) -> z3.BoolRef:
            if st.covers is not None:
                return st.covers(party, role, st.mpxn, lo, hi)
            t = z3.Int(f"t_{self._fresh_id()}", ctx=self.ctx)
            return z3.ForAll([t], z3.Implies(z3.And(lo <= t, t <= hi), st.registered(party, role, st.mpxn, t)))
        return z3.And(st.in_smi, z3.If(r.has_range, throughout(r.lo, r.hi),
                                       z3.If(r.has_exec, throughout(r.exec_time, r.exec_time), throughout(st.now, st.now))))

    def _ever_registered(self, st: SymState, party: z3.ArithRef) -> z3.BoolRef:
        """The party is named in the device's Registration Data in some role at some instant, past or future."""
        if st.assignments is not None:
            return z3.Or([z3.And(a.used, a.party == party, a.mpxn == st.mpxn) for a in st.assignments] or [z3.BoolVal(False, ctx=self.ctx)])
        role, t = z3.Const(f"er_role_{self._fresh_id()}", self.sorts.sort_of("role")), z3.Int(f"er_t_{self._fresh_id()}", ctx=self.ctx)
        return z3.Exists([role, t], st.registered(party, role, st.mpxn, t))

    def at(self, env: dict[str, Binding], var: str, st: SymState, e: p.PExpr) -> z3.BoolRef:
        """`e` with the State variable `var` standing for `st`."""
        return self.boolean(e, {**env, var: Binding(var, Prim.STATE, st)})

    def _within(self, e: p.Within, env: dict[str, Binding]) -> z3.BoolRef:
        """`within K t from s . P`: P holds of s, or of a state some accepted request leads to, and so on K deep.
        Recovery counts accepted requests only: the environment is not relied on to help."""
        def reach(st: SymState, depth: int) -> z3.BoolRef:
            here = self.at(env, e.var, st, e.body)
            if depth == 0:
                return here
            r = SymRequest.fresh(self.sorts, f"w{self._fresh_id()}")
            out = self.outcome(0, st, r)
            deeper = reach(after(st, out), depth - 1)
            return z3.Or(here, z3.Exists(self.request_vars(r), z3.And(self.well_formed(r), out.accepted, deeper)))
        return reach(env[e.origin].value, e.depth)

    def _column_has(self, srv: z3.ExprRef, column: str, enum: str, value: z3.ExprRef) -> z3.BoolRef:
        """`value` is in the set-valued catalogue column of the (symbolic) SRV, grouping SRVs by their set."""
        groups: dict[frozenset[str], list[z3.ExprRef]] = {}
        for name, row in self.catalogue.items():
            groups.setdefault(frozenset(row.get(column) or ()), []).append(self.sorts.srvs[name])
        cases = [z3.And(z3.Or([srv == x for x in srvs]), z3.Or([value == self.sorts.member(enum, m) for m in sorted(members)]))
                 for members, srvs in groups.items() if members]
        return z3.Or(cases) if cases else z3.BoolVal(False, ctx=self.ctx)

    def _fresh_id(self) -> int:
        self.counter += 1
        return self.counter

    def _quant(self, e: p.Quant, env: dict[str, Binding]) -> z3.BoolRef:
        inner = dict(env)
        bound: list[z3.ExprRef] = []
        guards: list[z3.BoolRef] = []
        for binding in self.bind(e.binders, inner):
            if binding.sort is Prim.REQUEST:
                bound.extend(self.request_vars(binding.value))
                guards.append(self.well_formed(binding.value))
            else:
                bound.append(binding.value)
        body = self.boolean(e.body, inner)
        if e.kind is p.Quantifier.FORALL:
            return z3.ForAll(bound, z3.Implies(z3.And(guards), body)) if guards else z3.ForAll(bound, body)
        return z3.Exists(bound, z3.And(*guards, body))


def same_verdict(a: Outcome, b: Outcome) -> z3.BoolRef:
    """Same verdict: both accept, or both reject by the same check (by name) at the same layer with the same
    code. A rejection that moves to another check of the same layer and code (a check split, renamed or
    reordered) is a change, as `redline impact replay` counts it: the verdict cites another check and clause."""
    def rejects_with(o: Outcome, name: str, layer: str, code: str | None) -> z3.BoolRef:
        hits = [c.rejects for c in o.checks if (c.check.name, c.check.layer.value, c.check.code) == (name, layer, code)]
        return z3.Or(hits) if hits else z3.BoolVal(False, ctx=a.accepted.ctx)
    keys = {(c.check.name, c.check.layer.value, c.check.code) for o in (a, b) for c in o.checks}
    return z3.And(a.accepted == b.accepted, *[rejects_with(a, *k) == rejects_with(b, *k) for k in sorted(keys, key=str)])


def after(st: SymState, out: Outcome) -> SymState:
    """The state after a request's effects: only the device's trust anchors change."""
    from dataclasses import replace
    return replace(st, anchor_set=out.anchor_set_after, anchor_owner=out.anchor_owner_after)


def model_verdicts(d: Decided) -> dict[tuple[int, str, str], tuple[bool, list[str]]]:
    """What the model says each rule set (by index) does with each request in each state the body judged,
    by binder names: whether it accepts, and the checks that reject."""
    if d.model is None or d.compiler is None:
        return {}
    m = d.model
    return {key: (bool(z3.is_true(m.eval(out.accepted, model_completion=True))),
                  [c.check.name for c in out.checks if z3.is_true(m.eval(c.rejects, model_completion=True))])
            for key, out in ((k, d.compiler.outcomes[memo]) for k, memo in d.compiler.judged.items())}


CORE_RLIMIT = 3_000_000  # ten times the most any shipped proof's core takes (about 300 000)


def rules_used(sorts: Sorts, program: ir.Program, rulesets: list[ir.RuleSet], body: p.OneStep,
               timeout_ms: int, rlimit: int, seed: int) -> list[tuple[str, list[str]]] | None:
    """The checks, exceptions and effects an unbounded `unsat` needs: an unsat core over selectors.

    None when the core cannot be had (the caller then cites every rule, which is coarser but true).
    """
    comp = PropertyCompiler(sorts, program, rulesets, None, selectors=True)
    kind, _, formula = comp.compile(body)
    selectors = [sel for enc in comp.encoders for sel in (enc.selectors or {}).values()]
    # A core is a refinement: it never costs the proof's budget. Its cap is a resource count, not the
    # clock, so that whether it is found (and which rules a proof cites) is the same on every run.
    solver = new_solver(sorts.ctx, timeout_ms, min(rlimit, CORE_RLIMIT), seed)
    solver.add(comp.constraints)
    solver.add(z3.Not(formula) if kind is p.Quantifier.FORALL else formula)
    if solver.check(*[s[2] for s in selectors]) != z3.unsat:
        return None
    core = {str(x) for x in solver.unsat_core()}
    return [(cite, rests) for cite, rests, sel in selectors if str(sel) in core]


NICE_NOW, NICE_START = 1772366400 * SECOND, 1577836800 * SECOND  # 2026-03-01T12:00:00Z, 2020-01-01T00:00:00Z


def simplify(solver: z3.Solver, comp: PropertyCompiler, binders: list[Binding], extra: list[z3.BoolRef] | None = None) -> int:
    """Greedily make a model easier to read: keep each simplification the formula still allows.

    A reviewer should see an ordinary meter, only the roles and trust anchors
    that matter, and round dates. Returns the number of solver calls made.
    """
    requests = [b.value for b in binders if b.sort is Prim.REQUEST]
    parties = [b.value for b in binders if b.sort is Prim.PARTY]
    return prefer(solver, [*(extra or []), *readable(comp.sorts, comp.states, parties, requests)])


def readable(sorts: Sorts, states: list[SymState], parties: list[z3.ArithRef], requests: list[SymRequest]) -> list[z3.BoolRef]:
    """What makes a model easy to read, most wanted first: no optional payload, now and Registration Data
    on round dates, a commissioned meter, no trust anchors but Supplier and Network Operator, no roles held."""
    prefs: list[z3.BoolRef] = []
    parties = parties + [x for r in requests for x in (r.sender, r.owner)]
    # Member names, not enum names: a preference only, skipped where the vocabulary has no such member.
    statuses, types, cells = sorts.members_of("smi_status"), sorts.members_of("device_type"), sorts.members_of("cell")
    roles = sorts.members_of("role").values()
    for r in requests:
        prefs += [z3.Not(r.has_exec), z3.Not(r.has_range)]
    for st in states:
        prefs.append(st.now == NICE_NOW)
        prefs += [st.smi_status == statuses[x] for x in ("Commissioned",) if x in statuses]
        meters = [st.device_type == types[x] for x in ("ESME", "GSME") if x in types]
        prefs += [z3.Or(meters)] if meters else []
        for name, cell in cells.items():
            if name not in ("Supplier", "NetworkOperator"):
                prefs.append(z3.Not(st.anchor_set(cell)))
        for a in st.assignments or []:
            prefs += [z3.Not(a.used), a.open_ended, a.start == NICE_START]
        for party in parties:
            prefs.append(z3.And([z3.Not(st.has_role(party, r)) for r in roles]))
            prefs += [z3.Not(st.has_role(party, r)) for r in roles]
    return prefs


def prefer(solver: z3.Solver, prefs: list[z3.BoolRef]) -> int:
    """Keep each preference the solver's formula still allows, in order; returns the solver calls made."""
    calls = 0
    for pref in prefs:
        solver.push()
        solver.add(pref)
        calls += 1
        if solver.check() != z3.sat:
            solver.pop()
    solver.check()  # leave the solver holding a model of everything kept
    return calls


def decide(
    sorts: Sorts, program: ir.Program, rulesets: list[ir.RuleSet], body: p.OneStep,
    timeout_ms: int, rlimit: int, seed: int, smt2: Callable[[str, str], None] | None = None,
) -> Decided:
    """Settle a property: a proof from the unbounded encoding, a model from a bounded one."""
    calls = 0
    reason: str | None = None

    def run(bound: int | None) -> tuple[p.Quantifier, PropertyCompiler, z3.Solver, list[Binding]]:
        nonlocal calls
        comp = PropertyCompiler(sorts, program, rulesets, bound)
        kind, binders, formula = comp.compile(body)
        query = [*comp.constraints, z3.Not(formula) if kind is p.Quantifier.FORALL else formula]
        solver = new_solver(sorts.ctx, timeout_ms, rlimit, seed)
        solver.add(query)
        if smt2 is not None:
            smt2("unbounded" if bound is None else f"bounded{bound}", smt2_text(query))
        calls += 1
        return kind, comp, solver, binders

    def bounded(k: int) -> Decided | None:
        nonlocal reason, calls
        kind, bcomp, bsolver, bbinders = run(k)
        bresult = bsolver.check()
        if bresult == z3.sat:
            status = "refuted" if kind is p.Quantifier.FORALL else "proved"
            calls += simplify(bsolver, bcomp, bbinders)
            return Decided(status, None, f"bounded{k}", bsolver.model(), bbinders, bcomp, calls)
        if bresult == z3.unknown:
            reason = bsolver.reason_unknown()
            gave_up()
        return None

    def gave_up() -> None:
        # The clock may have stopped that search, at a point (and so with terms made) that differs from
        # run to run: the searches after it run in a context of their own.
        nonlocal sorts
        sorts = sorts.fresh()

    # The smallest bounded search first: it finds most models at once, and
    # spares the unbounded search the quantifier alternation it is slow on.
    found = bounded(BOUNDS[0])
    if found is not None:
        return found
    kind, comp, solver, binders = run(None)
    result = solver.check()
    if result == z3.unsat:
        # forall: no counterexample in any state; exists: no witness in any state.
        calls += 1
        return Decided("proved" if kind is p.Quantifier.FORALL else "refuted", None, "unbounded", None, binders, comp, calls,
                       used=rules_used(sorts, program, rulesets, body, timeout_ms, rlimit, seed))
    if result == z3.unknown:
        reason = solver.reason_unknown()
        gave_up()
    for k in BOUNDS[1:]:
        found = bounded(k)
        if found is not None:
            return found
    if reason is None:
        reason = f"a model exists only with more than {BOUNDS[-1]} Registration Data assignments"
    return Decided("unknown", reason, None, None, binders, comp, calls)
