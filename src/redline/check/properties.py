"""Check property bodies into the property IR (check/propir.py).

A body is checked once for each rule set (or pair) it is expected under,
since `accepted`, `changes`, `after` and `within` depend on how many rule
sets there are; its first error is its diagnostic. Names are resolved from
the program's declarations: binders, enum members (by the expected sort, or
by the one enum declaring them), groups where a set is expected, and the
fields and relations rule files declare (`World`). The builtins are typed by
the enums the declarations give each part (`Vocabulary`), never by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redline import ast
from redline import diagnostics as diag
from redline.check import propir as p
from redline.check.checked import Event, Vocabulary
from redline.check.propir import Builtin, EnumSort, Prim, ReqField, SetSort, Sort
from redline.check.types import BOOL, EnumT, RecordT, SetT, Type, strip
from redline.diagnostics import Diagnostic


@dataclass(frozen=True)
class Signature:
    args: tuple[Sort, ...]
    result: Sort
    rulesets: int | None = None  # how many rule sets it needs, if it reads the rules
    needs: str = ""  # what to say when it has the wrong number


_S, _R, _B, _P = Prim.STATE, Prim.REQUEST, Prim.BOOL, Prim.PARTY


def signatures(vocab: Vocabulary) -> dict[Builtin, Signature]:
    """Each builtin's signature, its enums those the declarations give each part (check/program.py)."""
    role, cell = EnumSort(vocab.role), EnumSort(vocab.cell)
    return {
        Builtin.ACCEPTED: Signature((_S, _R), _B, 1, "`accepted` needs one rule set; a relational property uses `changes`"),
        Builtin.CHANGES: Signature((_S, _R), _B, 2, "`changes` compares two rule sets: expect it under `old..new`"),
        Builtin.AFTER: Signature((_S, _R), _S, 1, "`after` needs one rule set"),
        Builtin.OWNER: Signature((_S, cell), _P),
        Builtin.IN_SMI: Signature((_S,), _B),
        Builtin.GENERATION: Signature((_S,), EnumSort(vocab.generation)),
        Builtin.DEVICE_TYPE: Signature((_S,), EnumSort(vocab.device_type)),
        Builtin.SMI_STATUS: Signature((_S,), EnumSort(vocab.smi_status)),
        Builtin.SUITS: Signature((_S, Prim.SRV), _B),
        Builtin.ACTIVE: Signature((_S, _P), _B),
        Builtin.HAS_ROLE: Signature((_S, _P, role), _B),
        Builtin.REGISTERED: Signature((_S, _P, role), _B),
        Builtin.EVER_REGISTERED: Signature((_S, _P), _B),
        Builtin.CRITICAL: Signature((_R,), _B),
        Builtin.NON_DEVICE: Signature((_R,), _B),
        Builtin.ELIGIBLE: Signature((_S, _R), _B),
        Builtin.ROLE_ALLOWED: Signature((_R,), _B),
        Builtin.DEVICE_SUITS: Signature((_S, _R), _B),
        # any party's registration over a request's relevant times (SRPD 6.1(f)(i)-(iii)), not only the sender's
        Builtin.REGISTERED_THROUGHOUT: Signature((_S, _R, _P, role), _B),
        Builtin.HAS_EXECUTION_TIME: Signature((_R,), _B),
        Builtin.HAS_DATE_RANGE: Signature((_R,), _B),
        Builtin.DEVICE: Signature((_S,), Prim.DEVICE),  # the request's device: null when it is not in the SMI
        Builtin.ACCEPTED_BY_BASE: Signature((_S, _R), _B, 2, "`accepted_by_base` compares two rule sets: expect it under `old..new`"),
        Builtin.ACCEPTED_BY_MODIFICATION: Signature((_S, _R), _B, 2,
                                                    "`accepted_by_modification` compares two rule sets: expect it under `old..new`"),
        Builtin.AFTER_BASE: Signature((_S, _R), _S, 2, "`after_base` compares two rule sets: expect it under `old..new`"),
        Builtin.AFTER_MODIFICATION: Signature((_S, _R), _S, 2, "`after_modification` compares two rule sets: expect it under `old..new`"),
        # within an `intends` region declared by a modification on the way from `old` to `new`
        Builtin.INTENDED: Signature((_S, _R), _B, 2, "`intended` reads the intents of the newer rule set: expect it under `old..new`"),
    }


def request_fields(vocab: Vocabulary) -> dict[ReqField, Sort]:
    return {
        ReqField.SENDER: _P, ReqField.ROLE: EnumSort(vocab.role), ReqField.SRV: Prim.SRV,
        ReqField.REMOTE_PARTY_ROLE: EnumSort(vocab.cell), ReqField.NEW_CERTIFICATE_OWNER: _P,
    }


def sort_of(t: Type) -> Sort | None:
    """The property sort of a declared (or catalogue) type, None for one the property language has no values of."""
    base = strip(t)
    if base == BOOL:
        return Prim.BOOL
    if isinstance(base, EnumT):
        return EnumSort(base.name)
    if isinstance(base, SetT):
        return SetSort(base.elem.name)
    if isinstance(base, RecordT) and base.name in ("Party", "Device", "Service"):
        return {"Party": Prim.PARTY, "Device": Prim.DEVICE, "Service": Prim.SRV}[base.name]
    return None


@dataclass(frozen=True)
class World:
    """What the property language can name beyond its builtins, from the declarations alone."""

    vocab: Vocabulary
    records: Mapping[str, Mapping[str, Type]]  # every field of every record (Service: the catalogue's columns)
    declared: Mapping[str, Mapping[str, Type]]  # the fields rule files added (check/program.py `declare`)
    relations: Mapping[str, tuple[str, ...]]

    def functions(self) -> dict[str, list[tuple[p.DeclKind, tuple[Sort, ...], Type | None]]]:
        """Declared Device and Party fields and relations, by name: how each is called, and its type."""
        out: dict[str, list[tuple[p.DeclKind, tuple[Sort, ...], Type | None]]] = {}
        for name, t in self.declared.get("Device", {}).items():
            out.setdefault(name, []).append((p.DeclKind.DEVICE, (_S,), t))
        for name, t in self.declared.get("Party", {}).items():
            out.setdefault(name, []).append((p.DeclKind.PARTY, (_S, _P), t))
        for name, kinds in self.relations.items():
            args = tuple(Prim.PARTY if k == "Party" else Prim.DEVICE for k in kinds)
            out.setdefault(name, []).append((p.DeclKind.RELATION, (_S, *args), None))
        return out


WITHIN_NEEDS = "`within` needs one rule set"


class _Refused(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _expected_text(s: Sort | None) -> str | None:
    """How an expected sort reads in an error (a set as `Set:ENUM`, as it always has)."""
    if s is None:
        return None
    return f"Set:{s.elem}" if isinstance(s, SetSort) else str(s)


@dataclass(frozen=True)
class _Shape:
    quant: p.Quantifier
    binders: tuple[ast.Binder, ...]
    init: tuple[ast.Expr, ...]
    op: ast.Temporal


def _run_shape(body: ast.Expr) -> _Shape | None:
    """The shape of a property over runs; None for a one-step property; refused if malformed."""
    if not isinstance(body, ast.Quant):
        return None
    inner = body.body
    init: tuple[ast.Expr, ...] = ()
    op: ast.Expr = inner
    if isinstance(inner, ast.Implies):
        init, op = (inner.premise,), inner.conclusion
    elif isinstance(inner, ast.And):
        *rest, op = inner.items
        init = tuple(rest)
    if not isinstance(op, ast.Temporal) or op.kind == "within":
        return None
    if op.kind == "always" and body.kind != "forall":
        raise _Refused(diag.prop_always_needs_forall(op.span))
    if op.kind == "reachable" and body.kind != "exists":
        raise _Refused(diag.prop_reachable_needs_exists(op.span))
    if (body.kind == "forall") != isinstance(inner, ast.Implies | ast.Temporal):
        raise _Refused(diag.prop_temporal_shape(op.span))
    states = [b for b in body.binders if b.type.name == "State"]
    if [b.name.name for b in states] != [op.origin.name]:
        raise _Refused(diag.prop_temporal_origin(op.origin.span, op.origin.name))
    return _Shape(p.Quantifier(body.kind), body.binders, init, op)


def check_body(decl: ast.PropertyDecl, keys: list[str], enums: Mapping[str, tuple[str, ...]],
               groups: Mapping[str, tuple[str, frozenset[str]]], catalogue: Mapping[str, Any],
               events: Mapping[str, Event], world: World) -> tuple[p.Body | None, Diagnostic | None]:
    """The checked body of a property expected under `keys` (`rs` or `old..new`), or its first error."""
    body = decl.body
    shape_error: Diagnostic | None = None
    try:
        shape = _run_shape(body)
        temporal = shape is not None
    except _Refused as r:
        shape, temporal, shape_error = None, True, r.diagnostic
    if not temporal and decl.allowing:
        return None, diag.prop_events_one_step(body.span, decl.name.name)
    checked: p.Body | None = None
    for key in keys:
        c = _Checker(enums, groups, catalogue, len(key.split("..")), world)
        try:
            if temporal:
                if ".." in key:
                    raise _Refused(diag.prop_temporal_pair(body.span))
                if shape_error is not None:
                    raise _Refused(shape_error)
                assert shape is not None
                checked = c.run(decl, shape, events)
            else:
                checked = c.one_step(body)
        except _Refused as r:
            return None, r.diagnostic
    return checked, None


class _Checker:
    def __init__(self, enums: Mapping[str, tuple[str, ...]], groups: Mapping[str, tuple[str, frozenset[str]]],
                 catalogue: Mapping[str, Any], rulesets: int, world: World) -> None:
        self.enums, self.groups, self.catalogue, self.rulesets = enums, groups, catalogue, rulesets
        self.world = world
        self.signatures = signatures(world.vocab)
        self.request_fields = request_fields(world.vocab)
        self.functions = world.functions()

    # -- whole bodies --
    def one_step(self, body: ast.Expr) -> p.OneStep:
        if not isinstance(body, ast.Quant):
            raise _Refused(diag.prop_not_quantified(body.span))
        env: dict[str, Sort] = {}
        binders = self.bind(body.binders, env, outer=True)
        return p.OneStep(kind=p.Quantifier(body.kind), binders=binders, body=self.boolean(body.body, env), span=body.span)

    def run(self, decl: ast.PropertyDecl, shape: _Shape, events: Mapping[str, Event]) -> p.RunProp:
        if decl.allowing is None:
            raise _Refused(diag.prop_events_missing(shape.op.span, decl.name.name))
        env: dict[str, Sort] = {}
        binders = self.bind(shape.binders, env, outer=True)
        parts = [self.boolean(x, env) for x in shape.init]
        init = None if not parts else parts[0] if len(parts) == 1 else p.And(items=tuple(parts))
        inner = {**env, shape.op.var.name: Prim.STATE}
        body = self.boolean(shape.op.body, inner)
        return p.RunProp(kind=shape.quant, binders=binders, init=init, op=p.RunOp(shape.op.kind), var=shape.op.var.name,
                         origin=shape.op.origin.name, body=body,
                         events=tuple(events[e.name] for e in decl.allowing if e.name in events), span=decl.body.span)

    # -- binders --
    def bind(self, binders: tuple[ast.Binder, ...], env: dict[str, Sort], outer: bool) -> tuple[p.Binder, ...]:
        out = []
        for b in binders:
            name = b.type.name
            sort: Sort
            if name in ("State", "Request", "Party", "Device"):
                sort = Prim(name)
            elif name in self.enums:
                sort = EnumSort(name)
            else:
                raise _Refused(diag.prop_unknown_sort(b.type.span, name))
            if sort is Prim.STATE and not outer:
                raise _Refused(diag.prop_nested_state(b.type.span))
            env[b.name.name] = sort
            out.append(p.Binder(name=b.name.name, sort=sort, span=b.name.span))
        return tuple(out)

    # -- expressions --
    def boolean(self, e: ast.Expr, env: dict[str, Sort]) -> p.PExpr:
        v = self.value(e, env, Prim.BOOL)
        if v.sort != Prim.BOOL:
            raise _Refused(diag.prop_not_boolean(e.span, str(v.sort)))
        return v

    def value(self, e: ast.Expr, env: dict[str, Sort], expected: Sort | None = None) -> p.PExpr:
        match e:
            case ast.And(items=items):
                return p.And(items=tuple(self.boolean(x, env) for x in items), span=e.span)
            case ast.Or(items=items):
                return p.Or(items=tuple(self.boolean(x, env) for x in items), span=e.span)
            case ast.Not(operand=o):
                return p.Not(operand=self.boolean(o, env), span=e.span)
            case ast.Implies(premise=a, conclusion=b):
                return p.Implies(premise=self.boolean(a, env), conclusion=self.boolean(b, env), span=e.span)
            case ast.Quant(kind=kind, binders=bs, body=b):
                inner = dict(env)
                binders = self.bind(bs, inner, outer=False)
                return p.Quant(kind=p.Quantifier(kind), binders=binders, body=self.boolean(b, inner), span=e.span)
            case ast.Temporal(kind="within"):
                return self._within(e, env)
            case ast.Temporal(kind=kind):
                raise _Refused(diag.prop_temporal_not_whole(e.span, kind))
            case ast.Compare(op=op, left=a, right=b):
                if isinstance(a, ast.NullLit):  # `null == x` reads as `x == null`
                    a, b = b, a
                left = self.value(a, env)
                right = p.NullConst(sort=left.sort, span=b.span) if isinstance(b, ast.NullLit) else self.value(b, env, left.sort)
                if left.sort != right.sort or left.sort in (Prim.BOOL, Prim.STATE, Prim.REQUEST) or isinstance(left.sort, SetSort):
                    raise _Refused(diag.prop_bad_compare(e.span, op, str(left.sort), str(right.sort)))
                return p.Eq(left=left, right=right, negated=op == "!=", span=e.span)
            case ast.In(item=i, collection=c, negated=neg):
                item = self.value(i, env)
                coll = self.value(c, env, SetSort(str(item.sort)))
                if coll.sort != SetSort(str(item.sort)) or not isinstance(item.sort, EnumSort):
                    raise _Refused(diag.prop_in_needs_set(c.span, str(item.sort)))
                return p.In(item=item, collection=coll, negated=neg, span=e.span)
            case ast.Name(id=ident):
                return self._name(ident, env, expected)
            case ast.Str(value=text):
                if text not in self.catalogue:
                    raise _Refused(diag.prop_unknown_srv(e.span, text, self.catalogue))
                return p.SrvConst(srv=text, span=e.span)
            case ast.SetLit(items=items):
                if not isinstance(expected, SetSort):
                    raise _Refused(diag.prop_set_without_type(e.span))
                enum = expected.elem
                names = [x.id.name for x in items if isinstance(x, ast.Name)]
                if len(names) != len(items) or any(n not in self.enums.get(enum, ()) for n in names):
                    raise _Refused(diag.prop_set_members(e.span, enum))
                return p.SetConst(enum=enum, members=tuple(names), span=e.span)
            case ast.Field(obj=o, name=n):
                return self._field(e, self.value(o, env), n.name)
            case ast.Call():
                return self._call(e, env)
        raise _Refused(diag.prop_unsupported_expr(e.span))

    def _name(self, ident: ast.Ident, env: dict[str, Sort], expected: Sort | None) -> p.PExpr:
        n = ident.name
        if n in env:
            return p.Ref(name=n, sort=env[n], span=ident.span)
        if isinstance(expected, SetSort):
            grp = self.groups.get(n)
            if grp and grp[0] == expected.elem:
                return p.SetConst(enum=expected.elem, members=tuple(sorted(grp[1])), group=n, span=ident.span)
        if isinstance(expected, EnumSort) and n in self.enums.get(expected.name, ()):
            return p.EnumConst(enum=expected.name, member=n, span=ident.span)
        owners = [en for en, ms in self.enums.items() if n in ms]
        if expected is None and len(owners) == 1:
            return p.EnumConst(enum=owners[0], member=n, span=ident.span)
        near = sorted({*env, *self.groups, *(m for ms in self.enums.values() for m in ms)})
        raise _Refused(diag.prop_unknown_name(ident.span, n, _expected_text(expected), near))

    def _field(self, e: ast.Field, obj: p.PExpr, name: str) -> p.PExpr:
        if obj.sort == Prim.SRV:  # a catalogue column, as the rules read `srv.NAME`
            return self._declared(e, p.DeclKind.SERVICE, name, (obj,), self.world.records.get("Service", {}), "Service")
        if obj.sort != Prim.REQUEST:
            raise _Refused(diag.prop_field_of_non_request(e.span, name, str(obj.sort)))
        try:
            f = ReqField(name)
        except ValueError:
            declared = self.world.declared.get("Request", {})
            if name in declared:
                return self._declared(e, p.DeclKind.REQUEST, name, (obj,), declared, "Request")
            raise _Refused(diag.prop_unknown_field(e.span, name, [*(x.value for x in self.request_fields), *declared])) from None
        return p.Field(obj=obj, name=f, sort=self.request_fields[f], span=e.span)

    def _declared(self, e: ast.Expr, kind: p.DeclKind, name: str, args: tuple[p.PExpr, ...],
                  fields: Mapping[str, Type], record: str) -> p.PExpr:
        """A declared field (or catalogue column) of `record`, typed by its declaration."""
        t = fields.get(name)
        if t is None:
            raise _Refused(diag.prop_unknown_record_field(e.span, record, name, fields))
        sort = sort_of(t)
        if sort is None:
            raise _Refused(diag.prop_field_type(e.span, f"{record}.{name}", str(t)))
        return p.Declared(kind=kind, name=name, args=args, sort=sort, span=e.span)

    def _call(self, e: ast.Call, env: dict[str, Sort]) -> p.PExpr:
        name = e.func.name
        try:
            fn = Builtin(name)
        except ValueError:
            if name in self.functions:
                return self._declared_call(e, env)
            raise _Refused(diag.prop_unknown_function(e.func.span, name, [b.value for b in self.signatures],
                                                      sorted(self.functions))) from None
        sig = self.signatures[fn]
        args = self._args(e, env, sig.args)
        if sig.rulesets is not None and self.rulesets != sig.rulesets:
            raise _Refused(diag.prop_rulesets(e.span, sig.needs))
        if fn is Builtin.SUITS and not isinstance(args[1], p.SrvConst):
            raise _Refused(diag.prop_literal_srv(e.span, name))
        return p.Apply(fn=fn, args=tuple(args), sort=sig.result, span=e.span)

    def _args(self, e: ast.Call, env: dict[str, Sort], want: tuple[Sort, ...]) -> list[p.PExpr]:
        name = e.func.name
        if len(e.args) != len(want):
            raise _Refused(diag.prop_arity(e.span, name, [str(s) for s in want]))
        args = []
        for a, w in zip(e.args, want, strict=True):
            v = self.value(a, env, w)
            if v.sort != w:
                raise _Refused(diag.prop_argument(a.span, name, str(w), str(v.sort)))
            args.append(v)
        return args

    def _declared_call(self, e: ast.Call, env: dict[str, Sort]) -> p.PExpr:
        """A declared Device field `NAME(s)`, Party field `NAME(s, p)` or relation `NAME(s, x, ...)`; a name
        declared as more than one of these is told apart by its number of arguments."""
        name = e.func.name
        options = self.functions[name]
        fitting = [o for o in options if len(o[1]) == len(e.args)] or options[:1]
        if len(fitting) > 1:
            raise _Refused(diag.prop_ambiguous_function(e.func.span, name, [o[0].value for o in fitting]))
        [(kind, want, t)] = fitting
        args = tuple(self._args(e, env, want))
        if t is None:
            return p.Declared(kind=kind, name=name, args=args, sort=Prim.BOOL, span=e.span)
        return self._declared(e, kind, name, args, {name: t}, kind.value)

    def _within(self, e: ast.Temporal, env: dict[str, Sort]) -> p.PExpr:
        if env.get(e.origin.name) != Prim.STATE:
            raise _Refused(diag.prop_not_a_state(e.origin.span, e.origin.name))
        if self.rulesets != 1:
            raise _Refused(diag.prop_rulesets(e.span, WITHIN_NEEDS))
        assert e.depth is not None  # the grammar gives `within` its depth
        body = self.boolean(e.body, {**env, e.var.name: Prim.STATE})
        return p.Within(depth=e.depth, var=e.var.name, origin=e.origin.name, body=body, span=e.span)
