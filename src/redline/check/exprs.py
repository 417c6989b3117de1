"""Name resolution and type checking of expressions.

Bare names are resolved by the type the context expects: in
`device.generation == SMETS1` the right side is read as a `Generation`, in
`role in NetworkOperator` as a group of `UserRole`, and a string compared
with `srv` must be an SRV of the catalogue. This is what lets rules read
like the regulation without qualified names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import assert_never

from redline import ast
from redline import diagnostics as diag
from redline.check import checked as ir
from redline.check.types import (
    BOOL,
    DATERANGE,
    MPXN,
    NULL,
    TEXT,
    TIME,
    TIMED,
    TIMES,
    EnumT,
    MapT,
    OptT,
    RecordT,
    SetT,
    Type,
    optional,
    strip,
)
from redline.diagnostics import Diagnostic
from redline.times import parse_iso


@dataclass
class Env:
    enums: Mapping[str, tuple[str, ...]]
    groups: Mapping[str, tuple[str, frozenset[str]]]
    records: Mapping[str, Mapping[str, Type]]
    srvs: frozenset[str]
    variables: dict[str, Type]
    defines: dict[str, ir.Defined] = field(default_factory=dict)
    relations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # declared relation -> its records
    define_depths: dict[int, int] = field(default_factory=dict)  # id(a definition's value) -> its expanded depth (check.depth)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, d: Diagnostic) -> None:
        self.diagnostics.append(d)

    def role_type(self) -> EnumT:
        """The User Role enum: the element of `Party.roles` (its shape is checked before any expression)."""
        roles = self.records["Party"]["roles"]
        assert isinstance(roles, SetT)
        return roles.elem


def _compatible(a: Type, b: Type) -> bool:
    if a == NULL or b == NULL:
        return True
    return strip(a) == strip(b)


def check_expr(env: Env, e: ast.Expr, expected: Type | None = None) -> ir.Expr | None:
    match e:
        case ast.Name():
            return _name(env, e, expected)
        case ast.Str():
            return _string(env, e, expected)
        case ast.TimeLit():
            try:
                return ir.Const(value=parse_iso(e.text), type=TIME, span=e.span)
            except ValueError:
                return None  # reported by the parser
        case ast.BoolLit():
            return ir.Const(value=e.value, type=BOOL, span=e.span)
        case ast.NullLit():
            return ir.Const(value=None, type=NULL, span=e.span)
        case ast.SetLit():
            return _set(env, e, expected)
        case ast.Field():
            return _field(env, e)
        case ast.Index():
            return _index(env, e)
        case ast.Call():
            return _call(env, e)
        case ast.Compare():
            return _compare(env, e)
        case ast.In():
            return _in(env, e)
        case ast.Throughout():
            return _throughout(env, e)
        case ast.And() | ast.Or():
            items = [check_bool(env, x) for x in e.items]
            if any(x is None for x in items):
                return None
            cls = ir.AndE if isinstance(e, ast.And) else ir.OrE
            return cls(items=tuple(x for x in items if x is not None), type=BOOL, span=e.span)
        case ast.Not():
            inner = check_bool(env, e.operand)
            return None if inner is None else ir.NotE(operand=inner, type=BOOL, span=e.span)
        case ast.Implies():
            premise, conclusion = check_bool(env, e.premise), check_bool(env, e.conclusion)
            if premise is None or conclusion is None:
                return None
            return ir.OrE(items=(ir.NotE(operand=premise, type=BOOL, span=e.premise.span), conclusion), type=BOOL, span=e.span)
        case ast.If():
            return _if(env, e, expected)
        case ast.Quant():
            env.error(diag.not_allowed_here(e.span, "a quantifier (`forall`/`exists`)"))
            return None
        case ast.Temporal():
            env.error(diag.not_allowed_here(e.span, f"a temporal operator (`{e.kind}`)"))
            return None
        case _:
            assert_never(e)


def check_bool(env: Env, e: ast.Expr) -> ir.Expr | None:
    out = check_expr(env, e, BOOL)
    if out is not None and strip(out.type) != BOOL:
        env.error(diag.type_mismatch(e.span, "condition", "a truth value", str(out.type)))
        return None
    return out


def _name(env: Env, e: ast.Name, expected: Type | None) -> ir.Expr | None:
    n = e.id.name
    if n in env.defines:
        d = env.defines[n]
        return ir.Defined(name=d.name, cite=d.cite, rests=d.rests, value=d.value, type=d.type, span=e.span)
    if n in env.variables:
        return ir.Var(name=n, type=env.variables[n], span=e.span)
    target = strip(expected) if expected is not None else None
    if isinstance(target, EnumT):
        if n in env.enums.get(target.name, ()):
            return ir.Const(value=n, type=target, span=e.span)
        owners = [en for en, members in env.enums.items() if n in members]
        if owners:
            group = env.groups.get(n)
            hint = (f"`{n}` is also a group of {target.name}: test membership with `in`, e.g. `role in {n}`"
                    if group is not None and group[0] == target.name else None)
            env.error(diag.type_mismatch(e.span, f"`{n}`", target.name, f"a {owners[0]}", hint))
            return None
        candidates = [*env.enums.get(target.name, ()), *env.variables, *env.defines]
        env.error(diag.unknown_name(e.id.span, f"{target.name} value or name", n, candidates))
        return None
    if isinstance(target, SetT):
        grp = env.groups.get(n)
        if grp is not None and grp[0] == target.elem.name:
            return ir.Const(value=grp[1], type=target, span=e.span)
        groups = [g for g, (en, _) in env.groups.items() if en == target.elem.name]
        env.error(diag.unknown_name(e.id.span, f"group of {target.elem.name}", n, [*groups, *env.variables]))
        return None
    # No expectation: an enum member that only one enum has is unambiguous.
    owners = [en for en, members in env.enums.items() if n in members]
    if len(owners) == 1:
        return ir.Const(value=n, type=EnumT(owners[0]), span=e.span)
    candidates = [*env.variables, *env.defines, *(m for ms in env.enums.values() for m in ms)]
    env.error(diag.unknown_name(e.id.span, "name", n, candidates))
    return None


def _string(env: Env, e: ast.Str, expected: Type | None) -> ir.Expr | None:
    target = strip(expected) if expected is not None else None
    if target == RecordT("Service"):
        if e.value not in env.srvs:
            env.error(diag.unknown_srv(e.span, e.value, env.srvs))
            return None
        return ir.Const(value=e.value, type=RecordT("Service"), span=e.span)
    if target == MPXN:
        return ir.Const(value=e.value, type=MPXN, span=e.span)
    if isinstance(target, RecordT):
        return ir.Const(value=e.value, type=target, span=e.span)
    return ir.Const(value=e.value, type=TEXT, span=e.span)


def _set(env: Env, e: ast.SetLit, expected: Type | None) -> ir.Expr | None:
    target = strip(expected) if expected is not None else None
    elem: Type | None = target.elem if isinstance(target, SetT) else None
    items = [check_expr(env, x, elem) for x in e.items]
    if any(x is None for x in items):
        return None
    checked = [x for x in items if x is not None]
    if elem is None:
        if not checked:
            env.error(diag.type_mismatch(e.span, "empty set", "a known element type", "no context"))
            return None
        first = strip(checked[0].type)
        if not isinstance(first, (EnumT, RecordT)):
            env.error(diag.type_mismatch(e.span, "set element", "an enum value or SRV", str(first)))
            return None
        elem = first
    for x, src in zip(checked, e.items, strict=True):
        if strip(x.type) != elem:
            found = strip(x.type)
            if isinstance(found, RecordT) and str(found) == str(elem):  # a record where its enum was expected
                env.error(diag.type_mismatch(src.span, "set element", "an enum value or SRV",
                                             f"a {found} (sets of records are not supported: write `a == x or a == y`)"))
            else:
                env.error(diag.type_mismatch(src.span, "set element", str(elem), str(x.type)))
            return None
    set_type = SetT(elem) if isinstance(elem, EnumT) else SetT(EnumT(str(elem)))
    if all(isinstance(x, ir.Const) for x in checked):
        return ir.Const(value=frozenset(x.value for x in checked if isinstance(x, ir.Const)), type=set_type, span=e.span)
    return ir.SetE(items=tuple(checked), type=set_type, span=e.span)


def _field(env: Env, e: ast.Field) -> ir.Expr | None:
    obj = check_expr(env, e.obj)
    if obj is None:
        return None
    base = strip(obj.type)
    if base == DATERANGE and e.name.name in ("from", "to"):
        return ir.GetField(obj=obj, record="DateRange", name=e.name.name, type=optional(TIME), span=e.span)
    if not isinstance(base, RecordT):
        env.error(diag.type_mismatch(e.obj.span, f"`.{e.name.name}`", "a record", str(obj.type)))
        return None
    fields = env.records.get(base.name, {})
    if e.name.name not in fields:
        env.error(diag.no_field(e.name.span, base.name, e.name.name, fields))
        return None
    ftype = fields[e.name.name]
    if isinstance(obj.type, OptT):
        ftype = optional(ftype)
    return ir.GetField(obj=obj, record=base.name, name=e.name.name, type=ftype, span=e.span)


def _index(env: Env, e: ast.Index) -> ir.Expr | None:
    obj = check_expr(env, e.obj)
    if obj is None:
        return None
    base = strip(obj.type)
    if not isinstance(base, MapT):
        env.error(diag.type_mismatch(e.obj.span, "indexing", "a map", str(obj.type)))
        return None
    key = check_expr(env, e.key, base.key)
    if key is None:
        return None
    if strip(key.type) != base.key:
        env.error(diag.type_mismatch(e.key.span, "map key", str(base.key), str(key.type)))
        return None
    return ir.GetIndex(obj=obj, key=key, type=optional(base.value), span=e.span)


def _compare(env: Env, e: ast.Compare) -> ir.Expr | None:
    # Check the side that is not a bare name first, so the name can be read in its type.
    left_first = not (_needs_context(env, e.left) and not _needs_context(env, e.right))
    if left_first:
        left = check_expr(env, e.left)
        right = check_expr(env, e.right, left.type) if left is not None else None
    else:
        right = check_expr(env, e.right)
        left = check_expr(env, e.left, right.type) if right is not None else None
    if left is None or right is None:
        return None
    if not _compatible(left.type, right.type):
        env.error(diag.type_mismatch(e.span, f"`{e.op}`", f"both sides of one type (left is {left.type})", str(right.type),
                                     _quoted_enum_hint(env, e, left.type, right.type)))
        return None
    return ir.Eq(left=left, right=right, negated=e.op == "!=", type=BOOL, span=e.span)


def _quoted_enum_hint(env: Env, e: ast.Compare, left: Type, right: Type) -> str | None:
    """A string compared with an enum whose member it spells: the reviewer meant the bare member."""
    for lit, other in ((e.right, left), (e.left, right)):
        enum = strip(other)
        if isinstance(lit, ast.Str) and isinstance(enum, EnumT) and lit.value in env.enums.get(enum.name, ()):
            return f"enum values are written bare: `{lit.value}`, not `\"{lit.value}\"`"
    return None


def _needs_context(env: Env, e: ast.Expr) -> bool:
    """A literal or bare enum name whose type comes from the other side."""
    if isinstance(e, (ast.Str, ast.SetLit, ast.NullLit)):
        return True
    return isinstance(e, ast.Name) and e.id.name not in env.variables and e.id.name not in env.defines


def _in(env: Env, e: ast.In) -> ir.Expr | None:
    item = check_expr(env, e.item)
    if item is None:
        return None
    base = strip(item.type)
    if not isinstance(base, (EnumT, RecordT)):
        env.error(diag.type_mismatch(e.item.span, "`in`", "an enum value or SRV on the left", str(item.type)))
        return None
    elem = base if isinstance(base, EnumT) else EnumT(base.name)
    coll = check_expr(env, e.collection, SetT(elem))
    if coll is None:
        return None
    if strip(coll.type) != SetT(elem):
        env.error(diag.type_mismatch(e.collection.span, "`in`", f"a set of {elem}", str(coll.type)))
        return None
    return ir.Member(item=item, collection=coll, negated=e.negated, type=BOOL, span=e.span)


def _throughout(env: Env, e: ast.Throughout) -> ir.Expr | None:
    pred = check_expr(env, e.predicate)
    times = check_expr(env, e.times)
    if pred is None or times is None:
        return None
    if not isinstance(pred, ir.Registered):
        env.error(diag.type_mismatch(e.predicate.span, "`throughout`", "a predicate of time such as `registered(...)`", str(pred.type)))
        return None
    if strip(times.type) not in (TIME, DATERANGE, TIMES):
        env.error(diag.type_mismatch(e.times.span, "`throughout`", "a time or a date range", str(times.type)))
        return None
    return ir.ThroughoutE(predicate=pred, times=times, type=BOOL, span=e.span)


def _related(env: Env, e: ast.Call) -> ir.Expr | None:
    want = env.relations[e.func.name]
    if len(e.args) != len(want):
        env.error(diag.bad_call(e.span, e.func.name, f"takes ({', '.join(want)}), got {len(e.args)} argument(s)"))
        return None
    args = []
    for src, rec in zip(e.args, want, strict=True):
        got = check_expr(env, src, RecordT(rec))
        if got is None:
            return None
        if strip(got.type) != RecordT(rec):
            env.error(diag.type_mismatch(src.span, f"argument of `{e.func.name}`", rec, str(got.type)))
            return None
        args.append(got)
    return ir.Related(name=e.func.name, args=tuple(args), type=BOOL, span=e.span)


def _call(env: Env, e: ast.Call) -> ir.Expr | None:
    if e.func.name in env.relations:
        return _related(env, e)
    if e.func.name != "registered":
        env.error(diag.unknown_name(e.func.span, "function", e.func.name, ["registered", *env.relations]))
        return None
    if len(e.args) != 3:
        env.error(diag.bad_call(e.span, "registered", f"takes (party, role, mpxn), got {len(e.args)} argument(s)"))
        return None
    party = check_expr(env, e.args[0], RecordT("Party"))
    role = check_expr(env, e.args[1], env.role_type())
    mpxn = check_expr(env, e.args[2], MPXN)
    if party is None or role is None or mpxn is None:
        return None
    for got, want, src in ((party, RecordT("Party"), e.args[0]), (role, env.role_type(), e.args[1]), (mpxn, MPXN, e.args[2])):
        if strip(got.type) != want:
            env.error(diag.type_mismatch(src.span, "argument of `registered`", str(want), str(got.type)))
            return None
    return ir.Registered(party=party, role=role, mpxn=mpxn, type=TIMED, span=e.span)


def _if(env: Env, e: ast.If, expected: Type | None) -> ir.Expr | None:
    cond = check_bool(env, e.cond)
    then = check_expr(env, e.then, expected)
    other = check_expr(env, e.otherwise, expected if expected is not None else (then.type if then else None))
    if cond is None or then is None or other is None:
        return None
    a, b = strip(then.type), strip(other.type)
    if a == b:
        result: Type = then.type if then.type == other.type else optional(a)
    elif {a, b} <= {TIME, DATERANGE, TIMES}:
        result = OptT(TIMES) if (isinstance(then.type, OptT) or isinstance(other.type, OptT)) else TIMES
    elif NULL in (a, b):
        result = optional(b if a == NULL else a)
    else:
        env.error(diag.type_mismatch(e.otherwise.span, "`else` branch", str(then.type), str(other.type)))
        return None
    return ir.IfE(cond=cond, then=then, otherwise=other, type=result, span=e.span)
