"""Generic properties (proofs/generic.redline) applied to one modification.

A generic property is written once over two placeholders, `base` and `modification`
(check/propir.py PLACEHOLDERS); `redline prove --modification NAME` and `redline report
--modification NAME` bind them to NAME and the rule set it amends. Its body was checked once
with the placeholders: it depends only on how many rule sets an expectation names, which
binding does not change.

An acknowledgement (a `property` with no body, next to a modification's own properties) says that
for that modification a generic property is expected otherwise, and why: a modification meant to
change SMETS2 verdicts refutes `smets2_verdicts_unchanged` by design. It overrides the expectation
of that one pair only; its reason travels with the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from redline import ast
from redline import diagnostics as diag
from redline.check import checked as ir
from redline.check.propir import BASE, MODIFICATION, PLACEHOLDERS, Expectation, Outcome
from redline.diagnostics import Diagnostic

PAIR = f"{BASE}..{MODIFICATION}"


def check_acknowledgements(decls: Sequence[ast.AcknowledgementDecl], generic: Sequence[ir.Property],
                           rulesets: Mapping[str, ir.RuleSet], out: list[Diagnostic]) -> tuple[ir.Acknowledgement, ...]:
    """Each acknowledgement, checked: it names a generic property bound to `base..modification`, and
    expects it under one concrete pair that property is bound to (a modification and the rule set it amends)."""
    by_name = {p.name: p for p in generic}
    found: dict[tuple[str, str], ast.Ident] = {}
    acks = []
    for d in decls:
        prop = by_name.get(d.name.name)
        if prop is None and not by_name:
            # proofs read without the library (`prove proofs/NAME.redline`): nothing to override, and its
            # names unknown; the pairs are still checked, and the names are wherever the library is loaded
            for x in d.expectations:
                _pair(d.name.name, x, rulesets, out)
            continue
        if prop is None:
            out.append(diag.unknown_generic(d.name.span, d.name.name, by_name))
            continue
        if all(x.key != PAIR for x in prop.expectations):
            out.append(diag.property_error(d.name.span, f"generic property `{prop.name}` is not expected under "
                                                        f"`{PAIR}`: there is no pair to acknowledge"))
            continue
        for x in d.expectations:
            pair = _pair(prop.name, x, rulesets, out)
            if pair is None:
                continue
            key = (prop.name, "..".join(pair))
            if key in found:
                out.append(diag.duplicate(x.ruleset.span, f"acknowledgement of `{prop.name}` under", key[1], found[key].span))
                continue
            found[key] = x.ruleset
            acks.append(ir.Acknowledgement(property=prop.name, rulesets=pair, outcome=Outcome(x.outcome), reason=d.cite))
    return tuple(acks)


def _pair(prop: str, x: ast.Expectation, rulesets: Mapping[str, ir.RuleSet], out: list[Diagnostic]) -> tuple[str, str] | None:
    """The (base, modification) an acknowledgement's expectation names, or None with its diagnostic."""
    names = [x.ruleset] if x.other is None else [x.ruleset, x.other]
    for n in names:
        if n.name.lower() in PLACEHOLDERS:
            out.append(diag.property_error(n.span, f"an acknowledgement names concrete rule sets, not the placeholder "
                                                   f"`{n.name.lower()}`: expect `{prop}` under BASE..NAME, e.g. `baseline..mp107`"))
            return None
        if n.name.lower() not in rulesets:
            out.append(diag.unknown_ruleset(n.span, n.name, rulesets))
            return None
    if x.other is None:
        out.append(diag.property_error(x.ruleset.span, f"`{prop}` is bound to a pair: acknowledge it under BASE..NAME, "
                                                       f"the modification and the rule set it amends, not `{x.ruleset.name}` alone"))
        return None
    old, new = x.ruleset.name.lower(), x.other.name.lower()
    base = rulesets[new].base
    if base != old:
        bound = f"`{base}..{new}`" if base is not None else "no pair"
        out.append(diag.property_error(x.ruleset.span, f"`{prop}` is never bound to `{old}..{new}`: "
                                                       f"`{new}` {'amends `' + base + '`' if base else 'amends nothing'}, "
                                                       f"so its generic properties are decided under {bound}"))
        return None
    return old, new


def instantiate(program: ir.Program, modification: ir.RuleSet) -> tuple[ir.Property, ...]:
    """Every generic property, its expectations naming `modification` and its base instead of the placeholders,
    and expecting what an acknowledgement of that pair says instead of the library, with its reason."""
    if modification.base is None:
        return ()
    names = {BASE: modification.base, MODIFICATION: modification.name}
    acks = {(a.property, "..".join(a.rulesets)): a for a in program.acknowledgements}

    def bind(p: ir.Property, x: Expectation) -> Expectation:
        bound = replace(x, rulesets=tuple(names.get(n, n) for n in x.rulesets))
        ack = acks.get((p.name, bound.key))
        return replace(bound, outcome=ack.outcome, acknowledged=ack.reason) if ack else bound
    return tuple(replace(p, expectations=tuple(bind(p, x) for x in p.expectations)) for p in program.generic)


def with_generic(program: ir.Program, modification: str) -> ir.Program:
    """`program` with the generic properties bound to `modification` after its own properties.
    A name a property of the program already has keeps the program's property (it is the more specific)."""
    mod = program.ruleset(modification)
    if mod is None:
        return program
    own = {p.name for p in program.properties}
    extra = tuple(p for p in instantiate(program, mod) if p.name not in own)
    return replace(program, properties=(*program.properties, *extra))
