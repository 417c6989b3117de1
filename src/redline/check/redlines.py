"""Apply a modification's redlines to the rule set it amends.

A redline that names a check, effect or catalogue row the base does not
have is an error (E105): a modification must amend what exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from redline import ast
from redline import diagnostics as diag
from redline.check import checked as ir
from redline.check.exprs import Env, check_bool
from redline.check.rules import add_define, check_check, check_effect, check_except, check_layer_order, row_fields
from redline.diagnostics import Diagnostic


def apply_modification(
    env: Env, m: ast.ModificationDecl, base: ir.RuleSet, out: list[Diagnostic], reused: tuple[ast.Redline, ...] = (),
) -> ir.RuleSet:
    """`base` with `reused` (redlines written in another modification) and then `m`'s own redlines applied."""
    name = m.name.name.lower()
    checks = list(base.checks)
    effects = list(base.effects)
    catalogue: dict[str, ir.Row | Mapping[str, Any]] = dict(base.catalogue)
    clauses = [m.cite]
    intents: list[ir.Intent] = []
    first_reused = len(out)

    def find(kind: str, ident: ast.Ident, items: list[Any]) -> int | None:
        for i, x in enumerate(items):
            if x.name == ident.name:
                return i
        out.append(diag.missing_target(ident.span, kind, ident.name, base.name, [x.name for x in items]))
        return None

    own_start = len(out)
    for k, r in enumerate((*reused, *m.redlines)):
        if k == len(reused):
            own_start = len(out)
        match r:
            case ast.AddCheck(check=decl, position=pos):
                c = check_check(env, decl, name, out)
                if c is None:
                    continue
                if any(x.name == c.name for x in checks):
                    out.append(diag.duplicate(decl.name.span, "check", c.name))
                    continue
                clauses.append(c.cite)
                if pos is None:  # at the end of its own layer, so the pipeline order holds
                    at = max((i + 1 for i, x in enumerate(checks) if x.layer.order <= c.layer.order), default=0)
                    checks.insert(at, c)
                else:
                    i = find("check", pos[1], checks)
                    if i is not None:
                        checks.insert(i if pos[0] == "before" else i + 1, c)
            case ast.RemoveCheck(name=ident, cite=cite):
                i = find("check", ident, checks)
                if i is not None:
                    del checks[i]
                    clauses.append(cite)
            case ast.AmendCheck(name=ident):
                i = find("check", ident, checks)
                if i is None:
                    continue
                c = checks[i]
                new_excepts = [check_except(env, e, name) for e in r.excepts]
                requires = check_bool(env, r.requires) if r.requires is not None else c.requires
                applies = check_bool(env, r.applies) if r.applies is not None else c.applies
                clauses.extend(e.cite for e in r.excepts)
                checks[i] = replace(
                    c,
                    exceptions=c.exceptions + tuple(e for e in new_excepts if e is not None),
                    requires=requires, applies=applies,
                )
            case ast.AddEffect(effect=decl):
                e = check_effect(env, decl, name, out)
                if e is not None:
                    effects.append(e)
                    clauses.append(e.cite)
            case ast.RemoveEffect(name=ident, cite=cite):
                i = find("effect", ident, effects)
                if i is not None:
                    del effects[i]
                    clauses.append(cite)
            case ast.AddDefine(define=d):
                add_define(env, d, out)
            case ast.Intent(kind=kind, cite=cite, where=where):
                cond = check_bool(env, where)
                if cond is not None:
                    intents.append(ir.Intent(kind=kind, cite=cite, where=cond))
            case ast.AmendRow(srv=srv, cite=cite, fields=fields):
                if srv.value not in catalogue:
                    out.append(diag.missing_target(srv.span, "catalogue row", srv.value, base.name, catalogue))
                    continue
                row = dict(catalogue[srv.value])
                row.update(row_fields(env, env.records["Service"], fields, out))
                if row.get("eligible_roles") == frozenset():
                    out.append(diag.no_eligible_role(srv.span, srv.value))
                catalogue[srv.value] = row
                clauses.append(cite)
    if reused:
        _note_reuse(out, first_reused, own_start if m.redlines else len(out), m)
    check_layer_order(checks, out)
    return ir.RuleSet(
        name=name, cite=m.cite, base=base.name, checks=tuple(checks), effects=tuple(effects),
        catalogue=catalogue, redline_clauses=tuple(dict.fromkeys(clauses)), intents=tuple(intents),
    )


def _note_reuse(out: list[Diagnostic], start: int, end: int, m: ast.ModificationDecl) -> None:
    """Say, on each diagnostic a reused redline raised, which composition applied it to which base."""
    assert m.reuses is not None
    where = ""
    if m.name.span.source is not None:
        line, col = m.name.span.source.line_col(m.name.span.start)
        where = f" at {m.name.span.source.path}:{line}:{col}"
    note = f"while applying the redlines of `{m.reuses.name}` to `{m.base.name}` (modification `{m.name.name}`{where})"
    for k in range(start, end):
        out[k] = replace(out[k], notes=(*out[k].notes, note))
