"""A modification shown as a Panel member reads a redline: each rule it touches as the base's text, with
what it strikes and what it inserts, word by word inside a line. Both texts come from the checked program
(the rule set the modification amends, and the rule set it makes), so a modification that reuses another's
redlines (`amends BASE with redlines of OTHER`) is shown by what it does, not by what it says.

Also here: each property's formula as written in its proofs file, with file and line, for the bundle's
"one click from the claim" links.
"""

from __future__ import annotations

import difflib
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redline.check import checked as ir
from redline.check.text import expr_text, value_text
from redline.props.generic import NO_CHECK_MADE_DEAD


@dataclass(frozen=True)
class Piece:
    kind: str  # "same" | "del" | "ins"
    text: str


@dataclass(frozen=True)
class RuleChange:
    """One rule the modification touches: its base text struck and inserted into, line by line."""

    kind: str  # check | effect | row
    name: str
    cite: str  # the clause the rule comes from
    how: str  # amended | added | removed
    lines: tuple[tuple[Piece, ...], ...]
    clauses: tuple[str, ...]  # the clauses the inserted text cites


@dataclass(frozen=True)
class Formula:
    prop: str
    text: str  # the `holds` formula as written
    path: str
    line: int


def _rests(rests: tuple[str, ...]) -> str:
    return f" rests on {', '.join(rests)}" if rests else ""


def check_lines(c: ir.Check) -> list[str]:
    lines = [f'check {c.name} "{c.cite}" at {c.layer.value} reject' + (f" {c.code}" if c.code else "")]
    if c.applies is not None:
        lines.append(f"  applies when {expr_text(c.applies)}")
    lines += [f'  except "{x.cite}" when {expr_text(x.when)}{_rests(x.rests)}' for x in c.exceptions]
    if c.requires is not None:
        lines.append(f"  requires {expr_text(c.requires)}")
    if c.rests:
        lines.append(f"  rests on {', '.join(c.rests)}")
    return lines


def effect_lines(e: ir.Effect) -> list[str]:
    return [f'effect {e.name} "{e.cite}" when {expr_text(e.when)}',
            f"  set {expr_text(e.cell)} to {expr_text(e.owner)}{_rests(e.rests)}"]


def _words(line: str) -> list[str]:
    return re.findall(r"\s+|\S+", line)


def marked(old: list[str], new: list[str]) -> tuple[tuple[Piece, ...], ...]:
    """`old` turned into `new`: whole lines struck or inserted, and a line changed in place marked word by word."""
    out: list[tuple[Piece, ...]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            out += [(Piece("same", x),) for x in old[i1:i2]]
            continue
        paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for a, b in zip(old[i1:i1 + paired], new[j1:j1 + paired], strict=True):
            out.append(_marked_line(a, b))
        out += [(Piece("del", x),) for x in old[i1 + paired:i2]]
        out += [(Piece("ins", x),) for x in new[j1 + paired:j2]]
    return tuple(out)


def _marked_line(a: str, b: str) -> tuple[Piece, ...]:
    wa, wb = _words(a), _words(b)
    pieces: list[Piece] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=wa, b=wb, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(Piece("same", "".join(wa[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(Piece("del", "".join(wa[i1:i2])))
        if j2 > j1:
            pieces.append(Piece("ins", "".join(wb[j1:j2])))
    return tuple(pieces)


def _cites_inserted(old: list[str], new: list[str]) -> tuple[str, ...]:
    def cites(lines: list[str]) -> list[str]:
        return [m for line in lines for m in re.findall(r'(?:^check \w+|^effect \w+|except) "([^"]*)"', line.strip())]
    before = set(cites(old))
    return tuple(dict.fromkeys(c for c in cites(new) if c not in before))


def _change(kind: str, name: str, cite: str, old: list[str], new: list[str]) -> RuleChange | None:
    if old == new:
        return None
    how = "added" if not old else "removed" if not new else "amended"
    return RuleChange(kind, name, cite, how, marked(old, new), _cites_inserted(old, new))


def _row_lines(srv: str, row: Mapping[str, Any], fields: list[str]) -> list[str]:
    return [f'row "{srv}" ({row.get("name", srv)})'] + [f"  {f} = {value_text(row.get(f))}" for f in fields]


def rule_changes(program: ir.Program, name: str) -> list[RuleChange]:
    """Every check, effect and catalogue row that rule set `name` has otherwise than the one it amends."""
    new = program.ruleset(name)
    if new is None or new.base is None or new.base not in program.rulesets:
        return []
    old = program.rulesets[new.base]
    out: list[RuleChange | None] = []
    checks_old, checks_new = {c.name: c for c in old.checks}, {c.name: c for c in new.checks}
    for n in dict.fromkeys([*checks_old, *checks_new]):
        a, b = checks_old.get(n), checks_new.get(n)
        cite = (a or b).cite if (a or b) is not None else ""  # type: ignore[union-attr]
        out.append(_change("check", n, cite, check_lines(a) if a else [], check_lines(b) if b else []))
    effects_old, effects_new = {e.name: e for e in old.effects}, {e.name: e for e in new.effects}
    for n in dict.fromkeys([*effects_old, *effects_new]):
        x, y = effects_old.get(n), effects_new.get(n)
        cite = (x or y).cite if (x or y) is not None else ""  # type: ignore[union-attr]
        out.append(_change("effect", n, cite, effect_lines(x) if x else [], effect_lines(y) if y else []))
    for srv in sorted(set(old.catalogue) | set(new.catalogue)):
        ra, rb = old.catalogue.get(srv, {}), new.catalogue.get(srv, {})
        fields = [f for f in dict.fromkeys([*ra, *rb]) if ra.get(f) != rb.get(f)]
        if srv in new.added:  # a new SRV: the whole row (the base has it with no eligible User Role)
            out.append(_change("row", srv, str(rb.get("name") or srv), [], _row_lines(srv, rb, list(rb))))
        elif fields:
            out.append(_change("row", srv, str(rb.get("name") or ra.get("name") or srv),
                               _row_lines(srv, ra, fields), _row_lines(srv, rb, fields)))
    return [c for c in out if c is not None]


def formulas(program: ir.Program) -> dict[str, Formula]:
    """Each property's `holds` formula as its proofs file writes it, where it has a source."""
    out = {}
    for p in (*program.properties, *program.generic):  # a generic one bound to the modification reads as written
        span = p.body.span
        if span.source is None or p.name in out:  # an own property of the generic one's name is the one proved
            continue
        text = span.source.text
        first, _, rest = text[span.start:span.end].partition("\n")
        # continuation lines keep their layout relative to each other, two spaces in from the first
        body = first + "".join("\n  " + x for x in textwrap.dedent(rest).split("\n") if rest)
        out[p.name] = Formula(p.name, body, span.source.path, span.source.line_col(span.start)[0])
    # The one generic property the language cannot say (it names checks): its decision procedure instead.
    out.setdefault(NO_CHECK_MADE_DEAD, Formula(
        NO_CHECK_MADE_DEAD, "for every check c: live(c, base) implies live(c, modification)\n"
        "  (decided by redline liveness on both rule sets; each live check's witness replayed)",
        "src/redline/props/generic.py", 1))
    return out
