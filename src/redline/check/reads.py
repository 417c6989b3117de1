"""Which declared fields and relations a rule set reads.

A declared field (docs/formats.md "Declared fields") is required in
STATE.json / REQUEST.json only by the rule sets that read it, so a rule set
keeps accepting the records it accepted before another file extended the
world. Reading is transitive: a check that uses a definition reads what the
definition reads (the IR holds a definition's value at every use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redline.check import checked as ir


@dataclass(frozen=True)
class Reads:
    fields: frozenset[tuple[str, str]]  # (record, field), declared ones only
    relations: frozenset[str]

    def field_names(self, record: str) -> frozenset[str]:
        return frozenset(n for r, n in self.fields if r == record)


def ruleset_exprs(rs: ir.RuleSet) -> list[Any]:
    out: list[Any] = []
    for c in rs.checks:
        out += [x for x in (c.applies, c.requires, *(w.when for w in c.exceptions)) if x is not None]
    for e in rs.effects:
        out += [e.when, e.cell, e.owner]
    return out


def reads(program: ir.Program, rs: ir.RuleSet) -> Reads:
    fields: set[tuple[str, str]] = set()
    relations: set[str] = set()

    def visit(e: Any) -> None:
        if isinstance(e, ir.GetField) and e.name in program.declared.get(e.record, {}):
            fields.add((e.record, e.name))
        elif isinstance(e, ir.Related):
            relations.add(e.name)
        for child in ir.children(e):
            visit(child)

    for x in ruleset_exprs(rs):
        visit(x)
    return Reads(frozenset(fields), frozenset(relations))
