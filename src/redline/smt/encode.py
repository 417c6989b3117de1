"""Encode a rule set's judgement of one symbolic request in one symbolic state.

`Encoder(sorts, ruleset).outcome(state, request)` gives Z3 terms for every
check's applicability, waivers, requirement and failure, for acceptance,
for the check that rejects, and for the effects. It mirrors
interp/validate.py and interp/compile.py clause by clause, with the null
semantics of redline.check.checked (an optional value is an `Opt`: null
where `some` is false); the differential tests hold the two to the same
answers on random concrete inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias, assert_never

import z3

from redline.check import checked as ir
from redline.check.types import BOOL, DATERANGE, KNOWN_FIELDS, NULL, TIME, TIMES, EnumT, RecordT, SetT, strip
from redline.smt.symbolic import Sorts, SymRequest, SymState
from redline.source import Span


class Unsupported(Exception):
    """A construct outside the encoded fragment (see the package docstring)."""

    def __init__(self, what: str, span: Span) -> None:
        super().__init__(what)
        self.what = what
        self.span = span


@dataclass(frozen=True)
class Opt:
    """An optional scalar: `val` means something only where `some` holds."""

    some: z3.BoolRef
    val: z3.ExprRef | None  # None only for the literal `null`


@dataclass(frozen=True)
class SetV:
    contains: Callable[[z3.ExprRef], z3.BoolRef]


@dataclass(frozen=True)
class MapV:
    get: Callable[[Opt], Opt]


@dataclass(frozen=True)
class TimesV:
    some: z3.BoolRef
    lo: z3.ArithRef
    hi: z3.ArithRef


class _Request:
    """The value of the variable `request`: only its fields can be used."""


Value: TypeAlias = "z3.BoolRef | Opt | SetV | MapV | TimesV | _Request"


@dataclass
class CheckTerms:
    check: ir.Check
    applies: z3.BoolRef
    waivers: list[tuple[ir.Exception_, z3.BoolRef]]
    requires: z3.BoolRef
    fails: z3.BoolRef  # applies, not waived, requirement false
    rejects: z3.BoolRef  # every earlier check passed or was skipped, and this one fails


@dataclass
class EffectTerms:
    effect: ir.Effect
    active: z3.BoolRef  # the request is accepted, its device is in the SMI, `when` holds, cell and owner are set
    cell: z3.ExprRef
    owner: z3.ArithRef


@dataclass
class Outcome:
    checks: list[CheckTerms]
    accepted: z3.BoolRef
    effects: list[EffectTerms]
    anchor_set_after: Callable[[z3.ExprRef], z3.BoolRef]
    anchor_owner_after: Callable[[z3.ExprRef], z3.ArithRef]


class Encoder:
    def __init__(self, sorts: Sorts, ruleset: ir.RuleSet) -> None:
        self.sorts = sorts
        self.ruleset = ruleset
        self.ctx = sorts.ctx
        self.catalogue: Mapping[str, Mapping[str, Any]] = ruleset.catalogue
        # With selectors, each check, exception and effect takes part only where its selector holds;
        # an unsat core over the selectors names the rules a proof actually used.
        self.selectors: dict[str, tuple[str, list[str], z3.BoolRef]] | None = None

    def use_selectors(self, prefix: str) -> None:
        self.selectors = {}
        for c in self.ruleset.checks:
            self.selectors[f"check {c.name}"] = (c.cite, list(c.rests), z3.Bool(f"{prefix}use_check_{c.name}", ctx=self.ctx))
            for i, x in enumerate(c.exceptions):
                self.selectors[f"exception {c.name} {i}"] = (x.cite, list(x.rests), z3.Bool(f"{prefix}use_exception_{c.name}_{i}", ctx=self.ctx))
        for e in self.ruleset.effects:
            self.selectors[f"effect {e.name}"] = (e.cite, list(e.rests), z3.Bool(f"{prefix}use_effect_{e.name}", ctx=self.ctx))

    def _selected(self, key: str, term: z3.BoolRef) -> z3.BoolRef:
        if self.selectors is None:
            return term
        return z3.And(self.selectors[key][2], term)

    # ---- the judgement ---------------------------------------------------

    def outcome(self, st: SymState, rq: SymRequest) -> Outcome:
        env = _Env(self, st, rq)
        checks: list[CheckTerms] = []
        passed_so_far: z3.BoolRef = self.true
        for c in self.ruleset.checks:
            applies = env.boolean(c.applies) if c.applies is not None else self.true
            waivers = [(x, self._selected(f"exception {c.name} {i}", env.boolean(x.when))) for i, x in enumerate(c.exceptions)]
            requires = env.boolean(c.requires) if c.requires is not None else self.true
            waived = z3.Or([w for _, w in waivers]) if waivers else self.false
            fails = self._selected(f"check {c.name}", z3.And(applies, z3.Not(waived), z3.Not(requires)))
            checks.append(CheckTerms(c, applies, waivers, requires, fails, z3.And(passed_so_far, fails)))
            passed_so_far = z3.And(passed_so_far, z3.Not(fails))
        accepted = passed_so_far
        effects = []
        for e in self.ruleset.effects:
            when, cell, owner = env.boolean(e.when), env.opt(e.cell), env.opt(e.owner)
            assert cell.val is not None and owner.val is not None
            active = self._selected(f"effect {e.name}", z3.And(accepted, st.in_smi, when, cell.some, owner.some))
            effects.append(EffectTerms(e, active, cell.val, owner.val))

        def set_after(c: z3.ExprRef) -> z3.BoolRef:
            out = st.anchor_set(c)
            for ef in effects:
                out = z3.If(z3.And(ef.active, ef.cell == c), self.true, out)
            return out

        def owner_after(c: z3.ExprRef) -> z3.ArithRef:
            out = st.anchor_owner(c)
            for ef in effects:  # a later effect on the same cell wins, as applying the verdict's effects in order does
                out = z3.If(z3.And(ef.active, ef.cell == c), ef.owner, out)
            return out

        return Outcome(checks, accepted, effects, set_after, owner_after)

    def condition(self, e: ir.Expr, st: SymState, rq: SymRequest) -> z3.BoolRef:
        """Any checked truth-valued expression of the rule language, judged of this state and request."""
        return _Env(self, st, rq).boolean(e)

    def relations(self, st: SymState, rq: SymRequest) -> list[tuple[str, z3.BoolRef]]:
        """The state-dependent truths the rule set's checks and effects test (who is a DCC User, who holds
        a role, who owns a cell, who is registered), each labelled with its source text.

        Together with the request's finite attributes they decide every verdict, which is what lets
        `diff` describe a difference as a finite set of classes.
        """
        env = _Env(self, st, rq)
        found: dict[str, z3.BoolRef] = {}

        def visit(e: Any, defined_as: str | None = None) -> None:
            if isinstance(e, ir.Defined):
                visit(e.value, e.name)  # a relation the rules name reads by its name
                return
            relation = (
                isinstance(e, ir.ThroughoutE)
                or (isinstance(e, ir.Eq) and RecordT("Party") in (strip(e.left.type), strip(e.right.type)))
                # what the request's payload carries: a date range, an execution time, a new owner
                or (isinstance(e, ir.Eq) and {strip(e.left.type), strip(e.right.type)} & {TIME, DATERANGE, TIMES})
                or (isinstance(e, ir.GetField) and e.record == "Party" and strip(e.type) == BOOL)
                or (isinstance(e, ir.Member) and isinstance(e.collection, ir.GetField) and e.collection.record == "Party")
            )
            if relation:
                label = defined_as or source_text(e)
                if label not in found:
                    found[label] = env.boolean(e)  # means what its label says, `!=` included
                return
            for child in ir.children(e):
                visit(child)

        for c in self.ruleset.checks:
            for x in (c.applies, c.requires, *(w.when for w in c.exceptions)):
                if x is not None:
                    visit(x)
        for ef in self.ruleset.effects:
            for x in (ef.when, ef.cell, ef.owner):
                visit(x)
        return sorted(found.items())

    def atoms(self, st: SymState, rq: SymRequest) -> list[tuple[str, z3.BoolRef]]:
        """The truth-valued leaves of the rule set's conditions (`applies when`, `except when`, `requires`,
        an effect's `when`), each labelled with its source text, or its name where the rules define it.

        `diff` describes a region with these, so that it reads in the rules' own words.
        """
        env = _Env(self, st, rq)
        found: dict[str, z3.BoolRef] = {}

        def visit(e: Any) -> None:
            if isinstance(e, ir.AndE | ir.OrE | ir.NotE):
                for child in ir.children(e):
                    visit(child)
            elif isinstance(e, ir.IfE):
                visit(e.cond)
                if strip(e.type) == BOOL:
                    visit(e.then)
                    visit(e.otherwise)
            elif strip(e.type) == BOOL and not isinstance(e, ir.Const):
                label = e.name if isinstance(e, ir.Defined) else source_text(e)
                found.setdefault(label, env.boolean(e))

        for c in self.ruleset.checks:
            for x in (c.applies, c.requires, *(w.when for w in c.exceptions)):
                if x is not None:
                    visit(x)
        for ef in self.ruleset.effects:
            visit(ef.when)
        return list(found.items())

    @property
    def true(self) -> z3.BoolRef:
        return z3.BoolVal(True, ctx=self.ctx)

    @property
    def false(self) -> z3.BoolRef:
        return z3.BoolVal(False, ctx=self.ctx)


class _Env:
    def __init__(self, enc: Encoder, st: SymState, rq: SymRequest) -> None:
        self.enc, self.st, self.rq = enc, st, rq
        self.sorts = enc.sorts
        self.T, self.F = enc.true, enc.false

    # -- typed views --
    def boolean(self, e: ir.Expr) -> z3.BoolRef:
        v = self.value(e)
        if isinstance(v, z3.BoolRef):
            return v
        if isinstance(v, Opt) and strip(e.type) == BOOL and v.val is not None:
            return z3.And(v.some, v.val)
        if isinstance(v, Opt) and v.val is None:
            return self.F  # `null` (as an `if` branch): a null truth value counts as false
        raise Unsupported(f"a condition of type {e.type}", e.span)

    def truth(self, e: ir.Expr) -> Opt:
        """A side of `==` between truth values: the value and whether it is there, for `null` equals only
        `null` (the interpreter compares the values themselves). A condition reads a missing truth value as
        false (`boolean`); here a field of a missing record, an unset declared field or a catalogue row's
        empty cell is kept apart from `false`. Logical forms (and, or, not, ==, in, throughout, a relation)
        are never null."""
        t = strip(e.type)
        if t == NULL:
            return Opt(self.F, None)
        if isinstance(e, ir.Const):
            return Opt(self.T, z3.BoolVal(bool(e.value), ctx=self.enc.ctx))
        if isinstance(e, ir.Defined):
            return self.truth(e.value)
        if isinstance(e, ir.IfE):
            c, a, b = self.boolean(e.cond), self.truth(e.then), self.truth(e.otherwise)
            if a.val is None and b.val is None:
                return Opt(self.F, None)
            return Opt(z3.If(c, a.some, b.some), z3.If(c, self._bool_of(a), self._bool_of(b)))
        if isinstance(e, ir.GetField):
            return self._truth_field(e)
        if isinstance(e, ir.GetIndex | ir.Var | ir.Registered):
            raise Unsupported(f"`==` with {type(e).__name__} as a truth value", e.span)
        return Opt(self.T, self.boolean(e))

    def _bool_of(self, o: Opt) -> z3.BoolRef:
        return self.F if o.val is None else o.val  # a Bool-sorted value here

    def _truth_field(self, e: ir.GetField) -> Opt:
        """A truth-valued field with its presence: a declared field, a party's `dcc_user`, a catalogue column."""
        if _is_declared(e):
            v = self._declared(e, keep_null=True)
            assert isinstance(v, Opt)
            return v
        if e.record == "Party" and e.name == "dcc_user":
            obj = self.opt(e.obj)
            return Opt(self.F, None) if obj.val is None else Opt(obj.some, self.st.dcc_user(obj.val))
        if e.record == "Service":
            return self._service_truth(self.opt(e.obj), e)
        raise Unsupported(f"`==` with the field `{e.record}.{e.name}` as a truth value", e.span)

    def _service_truth(self, srv: Opt, e: ir.GetField) -> Opt:
        """A truth-valued catalogue column with its presence: a row whose cell is empty gives `null`."""
        known = self.sorts.srv_names.get(str(srv.val))
        if known is not None:
            v = self.enc.catalogue[known].get(e.name)
            return Opt(self.F, None) if v is None else Opt(srv.some, z3.BoolVal(bool(v), ctx=self.enc.ctx))
        if srv.val is None:
            return Opt(self.F, None)
        groups = self._srvs_by_value(e.name)
        return Opt(z3.And(srv.some, z3.Not(self._is_one_of(srv.val, groups.get(None, [])))),
                   self._is_one_of(srv.val, groups.get(True, [])))

    def _srvs_by_value(self, column: str) -> dict[Any, list[z3.ExprRef]]:
        """The catalogue's SRVs grouped by their value in `column`."""
        groups: dict[Any, list[z3.ExprRef]] = {}
        for s, row in self.enc.catalogue.items():
            groups.setdefault(row.get(column), []).append(self.sorts.srvs[s])
        return groups

    def _is_one_of(self, srv: z3.ExprRef, srvs: list[z3.ExprRef]) -> z3.BoolRef:
        return z3.Or([srv == s for s in srvs]) if srvs else self.F  # no SRV: false, in this context

    def opt(self, e: ir.Expr) -> Opt:
        v = self.value(e)
        if isinstance(v, Opt):
            return v
        raise Unsupported(f"a value of type {e.type} where a single value is needed", e.span)

    def times(self, e: ir.Expr) -> TimesV:
        v = self.value(e)
        if isinstance(v, TimesV):
            return v
        if isinstance(v, Opt) and strip(e.type) == TIME and v.val is not None:
            return TimesV(v.some, v.val, v.val)
        if isinstance(v, Opt) and v.val is None:
            zero = z3.IntVal(0, ctx=self.enc.ctx)
            return TimesV(self.F, zero, zero)
        raise Unsupported(f"a time or date range, not {e.type}", e.span)

    # -- the expression forms --
    def value(self, e: ir.Expr) -> Value:
        match e:
            case ir.Const():
                return self._const(e)
            case ir.Var(name=name):
                return self._var(name, e)
            case ir.Defined(value=v):
                return self.value(v)
            case ir.GetField():
                return self._field(e)
            case ir.GetIndex(obj=o, key=k):
                m = self.value(o)
                if not isinstance(m, MapV):
                    raise Unsupported("indexing something other than trust anchors", e.span)
                return m.get(self.opt(k))
            case ir.Eq(left=a, right=b, negated=neg):
                if strip(a.type) == BOOL or strip(b.type) == BOOL:
                    eq = self._eq(self.truth(a), self.truth(b))
                else:
                    eq = self._eq(self._comparable(a, b), self._comparable(b, a))
                return z3.Not(eq) if neg else eq
            case ir.Member(item=i, collection=c, negated=neg):
                item, coll = self.opt(i), self.value(c)
                if not isinstance(coll, SetV) or item.val is None:
                    raise Unsupported("`in` over something other than a set", e.span)
                found = z3.And(item.some, coll.contains(item.val))
                return z3.Not(found) if neg else found
            case ir.AndE(items=items):
                return z3.And([self.boolean(x) for x in items])
            case ir.OrE(items=items):
                return z3.Or([self.boolean(x) for x in items])
            case ir.NotE(operand=o):
                return z3.Not(self.boolean(o))
            case ir.IfE():
                return self._if(e)
            case ir.SetE(items=items):
                opts = [self.opt(x) for x in items]
                return SetV(lambda x: z3.Or([z3.And(o.some, o.val == x) for o in opts if o.val is not None]))
            case ir.ThroughoutE(predicate=p, times=t):
                return self._throughout(p, t)
            case ir.Registered():
                raise Unsupported("`registered(...)` outside `throughout`", e.span)
            case ir.Related(name=name, args=args):
                opts = [self.opt(x) for x in args]
                if any(o.val is None for o in opts):
                    return self.F
                return z3.And(*[o.some for o in opts], self.st.relations[name](*[o.val for o in opts]))
            case _:
                assert_never(e)

    def _const(self, e: ir.Const) -> Value:
        t = strip(e.type)
        if t == BOOL:
            return z3.BoolVal(bool(e.value), ctx=self.enc.ctx)
        if t == NULL:
            return Opt(self.F, None)
        if isinstance(t, EnumT) and isinstance(e.value, str):
            return Opt(self.T, self.sorts.member(t.name, e.value))
        if t == RecordT("Service"):
            return Opt(self.T, self.sorts.srvs[e.value])
        if t == TIME:
            return Opt(self.T, z3.IntVal(e.value, ctx=self.enc.ctx))
        if isinstance(t, SetT):
            members = [self.sorts.member(t.elem.name, m) if t.elem.name in self.sorts.enums else self.sorts.srvs[m] for m in sorted(e.value)]
            return SetV(lambda x: z3.Or([x == m for m in members]) if members else self.F)
        raise Unsupported(f"a constant of type {e.type}", e.span)

    def _var(self, name: str, e: ir.Expr) -> Value:
        st, rq = self.st, self.rq
        match name:
            case "request":
                return _Request()
            case "now":
                return Opt(self.T, st.now)
            case "sender":
                return Opt(self.T, rq.sender)
            case "role":
                return Opt(self.T, rq.role)
            case "srv":
                return Opt(self.T, rq.srv)
            case "device":
                return Opt(st.in_smi, st.device_id)
        raise Unsupported(f"the variable `{name}`", e.span)

    def _declared(self, e: ir.GetField, keep_null: bool = False) -> Value:
        """A declared field, from its slot (smt/declared.py); `some` says whether its record is there."""
        st, rq, name = self.st, self.rq, e.name
        if e.record == "Request":
            if not isinstance(e.obj, ir.Var):
                raise Unsupported("a field of a request other than this one", e.span)
            slot, some, arg = rq.ext.get(name), self.T, None
        elif e.record == "Device":
            if not _is_request_device(e.obj):
                raise Unsupported(f"the field `{name}` of a device other than the request's device", e.span)
            slot, some, arg = st.device_ext.get(name), self.opt(e.obj).some, None
        else:
            obj = self.opt(e.obj)
            if obj.val is None:
                return Opt(self.F, None)
            slot, some, arg = st.party_ext.get(name), obj.some, obj.val
        if slot is None:
            raise Unsupported(f"the declared field `{e.record}.{name}` of type {e.type}", e.span)
        given = z3.And(some, slot.has(arg))
        base = strip(slot.type)
        v = slot.value(arg)
        if base == BOOL and not keep_null:
            return z3.And(given, v)
        if isinstance(base, SetT):
            return SetV(lambda x: z3.And(given, v(x)))
        if base == DATERANGE:
            return TimesV(given, v[0], v[1])
        return Opt(given, v)

    def _field(self, e: ir.GetField) -> Value:
        st, rq, name = self.st, self.rq, e.name
        if _is_declared(e):
            return self._declared(e)
        if e.record == "Request":
            if not isinstance(e.obj, ir.Var):
                raise Unsupported("a field of a request other than this one", e.span)
            match name:
                case "sender" | "role" | "srv" | "device":
                    return self._var(name, e)
                case "remote_party_role":
                    return Opt(rq.has_rpr, rq.rpr)
                case "new_certificate_owner":
                    return Opt(rq.has_owner, rq.owner)
                case "execution_time":
                    return Opt(rq.has_exec, rq.exec_time)
                case "date_range":
                    return TimesV(rq.has_range, rq.lo, rq.hi)
            raise Unsupported(f"the request field `{name}`", e.span)
        if e.record == "DateRange":
            t = self.times(e.obj)
            return Opt(t.some, t.lo if name == "from" else t.hi)
        obj = self.opt(e.obj)
        if e.record == "Party":
            if obj.val is None:
                return Opt(self.F, None) if name != "roles" else SetV(lambda x: self.F)
            pid = obj.val
            if name == "dcc_user":
                return z3.And(obj.some, st.dcc_user(pid))
            if name == "roles":
                return SetV(lambda x: z3.And(obj.some, st.has_role(pid, x)))
        if e.record == "Device":
            # `device` is the only device whose fields the encoding keeps; a declared Device
            # reference can reach another, and its fields are refused rather than confused.
            if not _is_request_device(e.obj):
                raise Unsupported(f"the field `{name}` of a device other than the request's device", e.span)
            some = obj.some
            match name:
                case "type":
                    return Opt(some, st.device_type)
                case "generation":
                    return Opt(some, st.generation)
                case "smi_status":
                    return Opt(some, st.smi_status)
                case "mpxn":
                    return Opt(some, st.mpxn)
                case "trust_anchors":
                    return MapV(lambda k: Opt(z3.And(some, k.some, st.anchor_set(k.val)), st.anchor_owner(k.val))
                                if k.val is not None else Opt(self.F, None))
        if e.record == "Service":
            return self._service_field(obj, e)
        raise Unsupported(f"the field `{e.record}.{name}`", e.span)

    def _service_field(self, srv: Opt, e: ir.GetField) -> Value:
        """A catalogue column as a function of the symbolic SRV, grouping SRVs that share a value.

        A known SRV (a pinned request, or a property that names one) folds to
        the row's value: no 129-way case split for the solver or for Python.
        """
        known = self.sorts.srv_names.get(str(srv.val))
        if known is not None:
            return self._row_value(srv.some, self.enc.catalogue[known].get(e.name), e)
        groups = self._srvs_by_value(e.name)
        t = strip(e.type)
        assert srv.val is not None
        srv_val = srv.val

        def is_one_of(srvs: list[z3.ExprRef]) -> z3.BoolRef:
            return self._is_one_of(srv_val, srvs)

        if t == BOOL:
            return z3.And(srv.some, is_one_of(groups.get(True, [])))
        if isinstance(t, SetT):
            enum = t.elem.name

            def contains(x: z3.ExprRef) -> z3.BoolRef:
                cases = [z3.And(is_one_of(srvs), z3.Or([x == self.sorts.member(enum, m) for m in sorted(v)]))
                         for v, srvs in groups.items() if v]
                return z3.And(srv.some, z3.Or(cases)) if cases else self.F
            return SetV(contains)
        if isinstance(t, EnumT):  # an optional column's null rows are absent values, not members
            out: z3.ExprRef | None = None
            for v, srvs in groups.items():
                if v is not None:
                    m = self.sorts.member(t.name, v)
                    out = m if out is None else z3.If(is_one_of(srvs), m, out)
            if out is None:
                return Opt(self.F, None)
            return Opt(z3.And(srv.some, z3.Not(is_one_of(groups.get(None, [])))), out)
        raise Unsupported(f"the catalogue column `{e.name}` of type {e.type}", e.span)

    def _comparable(self, e: ir.Expr, other: ir.Expr) -> Opt:
        """A side of `==`; a date range can only be compared with `null`."""
        if strip(e.type) in (DATERANGE, TIMES):
            if other.type != NULL:
                raise Unsupported("`==` between date ranges", e.span)
            t = self.times(e)
            return Opt(t.some, t.lo)
        return self.opt(e)

    def _row_value(self, some: z3.BoolRef, v: Any, e: ir.GetField) -> Value:
        t = strip(e.type)
        if t == BOOL:
            return z3.And(some, z3.BoolVal(bool(v), ctx=self.enc.ctx))
        if isinstance(t, SetT):
            members = [self.sorts.member(t.elem.name, m) for m in sorted(v)]
            return SetV(lambda x: z3.And(some, z3.Or([x == m for m in members])) if members else self.F)
        if isinstance(t, EnumT):
            return Opt(self.F, None) if v is None else Opt(some, self.sorts.member(t.name, v))
        raise Unsupported(f"the catalogue column `{e.name}` of type {e.type}", e.span)

    def _eq(self, a: Opt, b: Opt) -> z3.BoolRef:
        if a.val is None and b.val is None:
            return self.T
        if a.val is None:
            return z3.Not(b.some)
        if b.val is None:
            return z3.Not(a.some)
        return z3.Or(z3.And(z3.Not(a.some), z3.Not(b.some)), z3.And(a.some, b.some, a.val == b.val))

    def _if(self, e: ir.IfE) -> Value:
        c = self.boolean(e.cond)
        if strip(e.type) == BOOL:
            return z3.If(c, self.boolean(e.then), self.boolean(e.otherwise))
        if strip(e.type) in (TIMES, DATERANGE):
            a, b = self.times(e.then), self.times(e.otherwise)
            return TimesV(z3.If(c, a.some, b.some), z3.If(c, a.lo, b.lo), z3.If(c, a.hi, b.hi))
        if isinstance(strip(e.type), SetT):
            sa, sb = self._set(e.then), self._set(e.otherwise)
            return SetV(lambda x: z3.If(c, sa.contains(x), sb.contains(x)))
        a2, b2 = self.opt(e.then), self.opt(e.otherwise)
        if a2.val is None and b2.val is None:
            return Opt(self.F, None)
        if a2.val is None:
            assert b2.val is not None
            return Opt(z3.And(z3.Not(c), b2.some), b2.val)
        if b2.val is None:
            return Opt(z3.And(c, a2.some), a2.val)
        return Opt(z3.If(c, a2.some, b2.some), z3.If(c, a2.val, b2.val))

    def _set(self, e: ir.Expr) -> SetV:
        v = self.value(e)
        if isinstance(v, SetV):
            return v
        if isinstance(v, Opt) and v.val is None:
            return SetV(lambda x: self.F)  # `null` where a set is read: no member
        raise Unsupported(f"a set, not {e.type}", e.span)

    def _throughout(self, p: ir.Registered, t: ir.Expr) -> z3.BoolRef:
        party, role, mpxn, times = self.opt(p.party), self.opt(p.role), self.opt(p.mpxn), self.times(t)
        if party.val is None or role.val is None or mpxn.val is None:
            return self.F
        if self.st.covers is not None:
            covered = self.st.covers(party.val, role.val, mpxn.val, times.lo, times.hi)
            return z3.And(party.some, role.some, mpxn.some, times.some, covered)
        ti = z3.Int("t", ctx=self.enc.ctx)
        covered = z3.ForAll([ti], z3.Implies(z3.And(times.lo <= ti, ti <= times.hi),
                                             self.st.registered(party.val, role.val, mpxn.val, ti)))
        return z3.And(party.some, role.some, mpxn.some, times.some, covered)



def _is_declared(e: ir.GetField) -> bool:
    """A field a rule file declared (smt/declared.py holds it), not one of the records' own."""
    builtin = KNOWN_FIELDS.get(e.record, frozenset())
    return builtin is not None and e.record in ("Request", "Device", "Party") and e.name not in builtin


def _is_request_device(e: ir.Expr) -> bool:
    """Is `e` the request's device (`device`, `request.device`, a definition or choice of them)?"""
    match e:
        case ir.Var(name="device"):
            return True
        case ir.GetField(record="Request", name="device", obj=ir.Var(name="request")):
            return True
        case ir.Defined(value=v):
            return _is_request_device(v)
        case ir.IfE(then=a, otherwise=b):
            return _is_request_device(a) and _is_request_device(b)
        case ir.Const(value=None):
            return True  # `null`: no device at all
        case (ir.Const() | ir.Var() | ir.GetField() | ir.GetIndex() | ir.Eq() | ir.Member() | ir.AndE() | ir.OrE()
              | ir.NotE() | ir.SetE() | ir.Registered() | ir.ThroughoutE() | ir.Related()):
            return False
        case _:
            assert_never(e)


def source_text(e: Any) -> str:
    span = e.span
    if span.source is None:
        return type(e).__name__
    text = span.source.text[span.start:span.end]
    return " ".join(text.split())
