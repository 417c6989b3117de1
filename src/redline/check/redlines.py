"""Apply a modification's redlines to the rule set it amends.

A redline that names a check, effect or catalogue row the base does not
have is an error (E105): a modification must amend what exists.

A modification adds a new SRV with `add row` (every field of its catalogue
row, as a `row` of the catalogue gives them). DUIS has one set of messages
for every rule set, so every other rule set of the program that lacks the
SRV gets the same row with `eligible_roles = {}`: no User Role may send it
there, and it is rejected (E2 under the shipped rules). That is exactly a
row added to the catalogue with no eligible role and amended by the
modification, so no engine sees anything new (`NewRows`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, assert_never

from redline import ast
from redline import diagnostics as diag
from redline.check import checked as ir
from redline.check.exprs import Env, check_bool
from redline.check.rules import (
    add_define,
    check_check,
    check_effect,
    check_except,
    check_layer_order,
    full_row,
    row_fields,
)
from redline.check.types import Type
from redline.diagnostics import Diagnostic


@dataclass
class NewRows:
    """The SRVs the program's modifications add (`add row`), each with its row and who added it first."""

    declared: Mapping[str, Type]  # the declared columns of `Service`, which a row may leave out
    rows: dict[str, tuple[ir.Row, ast.Str, str]] = field(default_factory=dict)  # SRV -> (row, where, modification)

    @staticmethod
    def named(modifications: list[ast.ModificationDecl]) -> frozenset[str]:
        """The SRVs some modification adds: every rule set's rules, scenarios and properties may name them."""
        return frozenset(r.srv.value for m in modifications for r in m.redlines if isinstance(r, ast.AddRow))

    def add(self, srv: ast.Str, row: ir.Row, modification: str, out: list[Diagnostic]) -> None:
        first = self.rows.setdefault(srv.value, (row, srv, modification))
        differ = sorted(k for k in row.keys() | first[0].keys() if k != "eligible_roles" and row.get(k) != first[0].get(k))
        if differ:
            out.append(diag.rows_disagree(srv.span, srv.value, modification, first[2], differ, first[1].span))

    def complete(self, rulesets: Mapping[str, ir.RuleSet]) -> dict[str, ir.RuleSet]:
        """Every rule set with every added SRV, after the catalogue's own rows: its own row, or the first
        modification's row with no eligible User Role (so no W001: the row is DUIS's, the refusal this SEC's)."""
        done = {}
        for key, rs in rulesets.items():
            catalogue = {s: row for s, row in rs.catalogue.items() if s not in self.rows}
            for s, (row, _, _) in self.rows.items():
                catalogue[s] = rs.catalogue.get(s) or {**row, "eligible_roles": frozenset()}
            done[key] = replace(rs, catalogue=catalogue) if self.rows else rs
        return done


def apply_modification(
    env: Env, m: ast.ModificationDecl, base: ir.RuleSet, out: list[Diagnostic], reused: tuple[ast.Redline, ...],
    new_rows: NewRows,
) -> ir.RuleSet:
    """`base` with `reused` (redlines written in another modification) and then `m`'s own redlines applied."""
    name = m.name.name.lower()
    checks = list(base.checks)
    effects = list(base.effects)
    catalogue: dict[str, ir.Row | Mapping[str, Any]] = dict(base.catalogue)
    clauses = [m.cite]
    intents: list[ir.Intent] = []
    added: list[str] = []
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
            case ast.AddRow(srv=srv, cite=cite, fields=fields):
                if srv.value in base.catalogue:
                    out.append(diag.row_exists(srv.span, srv.value, base.name))
                    continue
                if srv.value in catalogue:
                    out.append(diag.duplicate(srv.span, "catalogue row", srv.value))
                    continue
                if "eligible_roles" not in env.records["Service"]:
                    out.append(diag.row_needs_eligible_roles(srv.span, srv.value))
                    continue
                errors = sum(d.is_error for d in out)
                row = full_row(env, new_rows.declared, srv, fields, out)
                if sum(d.is_error for d in out) == errors:
                    new_rows.add(srv, row, name, out)
                catalogue[srv.value] = row
                added.append(srv.value)
                clauses.append(cite)
            case _:
                assert_never(r)
    if reused:
        _note_reuse(out, first_reused, own_start if m.redlines else len(out), m)
    check_layer_order(checks, out)
    return ir.RuleSet(
        name=name, cite=m.cite, base=base.name, checks=tuple(checks), effects=tuple(effects),
        catalogue=catalogue, redline_clauses=tuple(dict.fromkeys(clauses)), intents=tuple(intents), added=tuple(added),
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
