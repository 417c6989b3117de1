"""Checking the parts of a rule set: checks, exceptions, effects, definitions and catalogue rows.

Shared by a base rule set (`program.py`) and a modification's redlines (`redlines.py`), which
is why they live apart from both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from redline import ast
from redline import diagnostics as diag
from redline.check import checked as ir
from redline.check.depth import expanded_depth
from redline.check.exprs import Env, check_bool, check_expr
from redline.check.types import BOOL, Layer, OptT, RecordT, SetT, Type, strip
from redline.diagnostics import Diagnostic
from redline.syntax.limits import MAX_NESTING


def row_fields(env: Env, fields: Mapping[str, Type], given: Sequence[ast.RowField], out: list[Diagnostic]) -> ir.Row:
    values: ir.Row = {}
    for f in given:
        if f.name.name not in fields:
            out.append(diag.no_field(f.name.span, "Service", f.name.name, fields))
            continue
        want = fields[f.name.name]
        got = check_expr(env, f.value, want)
        if got is None:
            continue
        if not isinstance(got, ir.Const):
            out.append(diag.type_mismatch(f.value.span, f"row field `{f.name.name}`", "a literal", "an expression"))
        elif strip(got.type) != strip(want):
            out.append(diag.type_mismatch(f.value.span, f"row field `{f.name.name}`", str(want), str(got.type)))
        else:
            values[f.name.name] = got.value
    return values


def full_row(env: Env, declared: Mapping[str, Type], srv: ast.Str, given: Sequence[ast.RowField],
             out: list[Diagnostic]) -> ir.Row:
    """A whole catalogue row (a `row` of the catalogue, a modification's `add row`): every column of
    `Service` given, its values type-checked; a declared column of a neutral type may be left out."""
    fields = env.records["Service"]
    values = row_fields(env, fields, given, out)
    for fname, ftype in fields.items():
        if fname not in values and not any(f.name.name == fname for f in given):
            # A declared column may be left out of rows it does not concern: it reads as false,
            # the empty set or null. A column of any other type has no neutral value.
            if fname in declared and (ftype == BOOL or isinstance(ftype, SetT | OptT)):
                values[fname] = False if ftype == BOOL else frozenset() if isinstance(ftype, SetT) else None
            else:
                out.append(diag.missing_field(srv.span, "Service", fname))
    if values.get("eligible_roles") == frozenset():
        out.append(diag.no_eligible_role(srv.span, srv.value))
    return values


def add_define(env: Env, d: ast.DefineDecl, out: list[Diagnostic]) -> None:
    if d.name.name in env.defines or d.name.name in env.variables:
        out.append(diag.duplicate(d.name.span, "definition", d.name.name))
        return
    value = check_expr(env, d.value)
    if value is None:
        return
    depth = expanded_depth(value, env.define_depths)
    if depth > MAX_NESTING:
        out.append(diag.definition_too_deep(d.name.span, d.name.name, depth, MAX_NESTING))
        return
    defined = ir.Defined(
        name=d.name.name, cite=d.cite, rests=tuple(r.name for r in d.rests), value=value, type=value.type, span=d.name.span,
    )
    env.defines[d.name.name] = defined
    env.define_depths[id(value)] = depth  # every use of the definition shares this value


def check_layer_order(checks: Sequence[ir.Check], out: list[Diagnostic]) -> None:
    highest = Layer.DSP
    for c in checks:
        if c.layer.order < highest.order:
            out.append(diag.layer_order(c.span, c.name, c.layer.value, highest.value))
        else:
            highest = c.layer


def check_except(env: Env, e: ast.Except, origin: str) -> ir.Exception_ | None:
    when = check_bool(env, e.when)
    if when is None:
        return None
    return ir.Exception_(cite=e.cite, when=when, rests=tuple(r.name for r in e.rests), origin=origin)


def check_check(env: Env, c: ast.CheckDecl, origin: str, out: list[Diagnostic]) -> ir.Check | None:
    try:
        layer = Layer[c.layer.name]
    except KeyError:
        out.append(diag.unknown_name(c.layer.span, "layer", c.layer.name, [x.name for x in Layer]))
        return None
    applies = check_bool(env, c.applies) if c.applies is not None else None
    requires = check_bool(env, c.requires) if c.requires is not None else None
    excepts = [check_except(env, e, origin) for e in c.excepts]
    if (c.applies is not None and applies is None) or (c.requires is not None and requires is None) or None in excepts:
        return None
    return ir.Check(
        name=c.name.name, cite=c.cite, layer=layer, code=c.code, applies=applies,
        exceptions=tuple(x for x in excepts if x is not None), requires=requires,
        rests=tuple(r.name for r in c.rests), origin=origin, span=c.name.span,
    )


def check_effect(env: Env, e: ast.EffectDecl, origin: str, out: list[Diagnostic]) -> ir.Effect | None:
    when = check_bool(env, e.when)
    target = check_expr(env, e.target)
    if target is None or when is None:
        return None
    ok = (
        isinstance(target, ir.GetIndex) and isinstance(target.obj, ir.GetField)
        and target.obj.name == "trust_anchors" and isinstance(target.obj.obj, ir.Var) and target.obj.obj.name == "device"
    )
    if not ok or not isinstance(target, ir.GetIndex):
        out.append(diag.bad_effect_target(e.target.span))
        return None
    owner = check_expr(env, e.value, RecordT("Party"))
    if owner is None:
        return None
    if strip(owner.type) != RecordT("Party"):
        out.append(diag.type_mismatch(e.value.span, "new owner", "Party", str(owner.type)))
        return None
    return ir.Effect(name=e.name.name, cite=e.cite, when=when, cell=target.key, owner=owner, rests=tuple(r.name for r in e.rests), origin=origin)
