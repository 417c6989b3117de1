"""Generic properties (proofs/generic.redline) applied to one modification.

A generic property is written once over two placeholders, `base` and `modification`
(check/propir.py PLACEHOLDERS); `redline prove --modification NAME` and `redline report
--modification NAME` bind them to NAME and the rule set it amends. Its body was checked once
with the placeholders: it depends only on how many rule sets an expectation names, which
binding does not change.
"""

from __future__ import annotations

from dataclasses import replace

from redline.check import checked as ir
from redline.check.propir import BASE, MODIFICATION, Expectation


def instantiate(program: ir.Program, modification: ir.RuleSet) -> tuple[ir.Property, ...]:
    """Every generic property, its expectations naming `modification` and its base instead of the placeholders."""
    if modification.base is None:
        return ()
    names = {BASE: modification.base, MODIFICATION: modification.name}

    def bind(x: Expectation) -> Expectation:
        return replace(x, rulesets=tuple(names.get(n, n) for n in x.rulesets))
    return tuple(replace(p, expectations=tuple(bind(x) for x in p.expectations)) for p in program.generic)


def with_generic(program: ir.Program, modification: str) -> ir.Program:
    """`program` with the generic properties bound to `modification` after its own properties.
    A name a property of the program already has keeps the program's property (it is the more specific)."""
    mod = program.ruleset(modification)
    if mod is None:
        return program
    own = {p.name for p in program.properties}
    extra = tuple(p for p in instantiate(program, mod) if p.name not in own)
    return replace(program, properties=(*program.properties, *extra))
