"""Diagnostics: stable codes and one constructor per code.

All user-facing wording of rule-file errors lives here. Passes return lists
of `Diagnostic` values; only the CLI renders them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from redline.source import Span


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    severity: Severity = Severity.ERROR
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    cands = list(candidates)
    found = difflib.get_close_matches(name, cands, n=n, cutoff=0.6)
    if not found:
        lowered = {c.lower(): c for c in cands}
        found = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)]
    return found


def _suggest(name: str, candidates: Iterable[str]) -> str:
    found = closest(name, candidates)
    if not found:
        return ""
    return "; did you mean " + " or ".join(f"`{c}`" for c in found) + "?"


# ---- syntax ---------------------------------------------------------------

def syntax_error(span: Span, found: str, expected: Iterable[str]) -> Diagnostic:
    exp = sorted(set(expected))
    shown = ", ".join(exp[:8]) + (", ..." if len(exp) > 8 else "")
    return Diagnostic("E001", f"unexpected {found}; expected {shown}", span)


# What a reviewer used to other languages reaches for, and what this one says instead.
_OPERATOR_HINTS = {"&": "write `and` (not `&&` or `&`)", "|": "write `or` (not `||` or `|`)",
                   "!": "write `not X` (and `!=` for inequality)"}


def bad_character(span: Span, ch: str) -> Diagnostic:
    hint = _OPERATOR_HINTS.get(ch)
    return Diagnostic("E002", f"unexpected character {ch!r}", span, notes=(hint,) if hint else ())


def unterminated_string(span: Span) -> Diagnostic:
    return Diagnostic("E001", 'unterminated string: a string must close with `"` on the same line', span)


def bad_time(span: Span, text: str, why: str) -> Diagnostic:
    return Diagnostic("E003", f"invalid time `{text}`: {why}", span)


def nesting_too_deep(span: Span, limit: int) -> Diagnostic:
    return Diagnostic("E004", f"nested more than {limit} levels deep here; a chain of `and` or `or` does not nest", span)


def definition_too_deep(span: Span, name: str, depth: int, limit: int) -> Diagnostic:
    return Diagnostic("E004", f"definition `{name}` expands to expressions nested {depth} levels deep, through the "
                      f"definitions it uses; at most {limit} are allowed", span)


def string_too_long(span: Span, length: int, limit: int) -> Diagnostic:
    return Diagnostic("E005", f"a string of {length:,} characters; a string is at most {limit:,} characters", span)


# ---- names ----------------------------------------------------------------

def unknown_name(span: Span, kind: str, name: str, candidates: Iterable[str]) -> Diagnostic:
    return Diagnostic("E101", f"unknown {kind} `{name}`{_suggest(name, candidates)}", span)


def where(span: Span) -> str:
    """`path:line:col` of a span, for a note that points at another place."""
    if span.source is None:
        return "an unknown place"
    line, col = span.source.line_col(span.start)
    return f"{span.source.path}:{line}:{col}"


def duplicate(span: Span, kind: str, name: str, first: Span | None = None) -> Diagnostic:
    notes = (f"first defined at {where(first)}",) if first is not None and first.source is not None else ()
    return Diagnostic("E102", f"{kind} `{name}` is defined more than once", span, notes=notes)


def unknown_srv(span: Span, srv: str, candidates: Iterable[str]) -> Diagnostic:
    found = closest(srv, candidates, n=3)
    hint = ("; the closest SRVs are " + ", ".join(f"`{c}`" for c in found)) if found else ""
    return Diagnostic("E103", f"SRV `{srv}` is not in the DUIS catalogue{hint}", span)


def unknown_assumption(span: Span, name: str, candidates: Iterable[str]) -> Diagnostic:
    return Diagnostic("E104", f"unknown assumption `{name}`{_suggest(name, candidates)}", span)


def missing_target(span: Span, kind: str, name: str, base: str, candidates: Iterable[str]) -> Diagnostic:
    return Diagnostic(
        "E105",
        f"cannot amend {kind} `{name}`: rule set `{base}` has no such {kind}{_suggest(name, candidates)}",
        span,
    )


def unknown_ruleset(span: Span, name: str, candidates: Iterable[str]) -> Diagnostic:
    return Diagnostic("E106", f"unknown rule set `{name}`{_suggest(name, candidates)}", span)


def cyclic_modification(span: Span, name: str) -> Diagnostic:
    return Diagnostic("E107", f"modification `{name}` amends itself through a cycle", span)


# ---- types ----------------------------------------------------------------

def type_mismatch(span: Span, what: str, expected: str, actual: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic("E201", f"{what}: expected {expected}, found {actual}", span, notes=(hint,) if hint else ())


def no_field(span: Span, record: str, name: str, candidates: Iterable[str]) -> Diagnostic:
    return Diagnostic("E202", f"`{record}` has no field `{name}`{_suggest(name, candidates)}", span)


def bad_effect_target(span: Span) -> Diagnostic:
    return Diagnostic("E203", "an effect can only set `device.trust_anchors[ROLE]`", span)


def unsupported_field(span: Span, record: str, name: str) -> Diagnostic:
    return Diagnostic(
        "E204",
        f"field `{record}.{name}` is declared but the interpreter has no value for it",
        span,
    )


def missing_field(span: Span, record: str, name: str) -> Diagnostic:
    return Diagnostic("E205", f"row is missing field `{name}` of `{record}`", span)


def not_allowed_here(span: Span, what: str) -> Diagnostic:
    return Diagnostic("E206", f"{what} is not allowed here", span)


def bad_call(span: Span, name: str, why: str) -> Diagnostic:
    return Diagnostic("E207", f"`{name}`: {why}", span)


# ---- scenarios ------------------------------------------------------------

def bad_scenario(span: Span, why: str) -> Diagnostic:
    return Diagnostic("E301", why, span)


# ---- lints (warnings) -----------------------------------------------------

def no_eligible_role(span: Span, srv: str) -> Diagnostic:
    return Diagnostic(
        "W001",
        f"SRV `{srv}` lists no eligible User Role: every request for it is rejected with E2",
        span,
        Severity.WARNING,
    )


def second_catalogue(span: Span, name: str, first: str) -> Diagnostic:
    return Diagnostic("E102", f"catalogue `{name}`: the rules already have catalogue `{first}`; there is one DUIS catalogue", span)


def layer_order(span: Span, check: str, layer: str, after: str) -> Diagnostic:
    return Diagnostic(
        "E208",
        f"check `{check}` at {layer} comes after a check at {after}; checks run in layer order DSP, S1SP, Device",
        span,
    )


def missing_declaration(span: Span, what: str) -> Diagnostic:
    return Diagnostic("E209", f"the rules declare no {what}", span)


def vocabulary_shape(span: Span, where: str, expected: str, found: str, why: str) -> Diagnostic:
    """A world declaration that does not give an enum the part the back ends need it in."""
    return Diagnostic("E210", f"`{where}` must be {expected}, found {found}", span, notes=(why,))


def bad_invariant(span: Span, why: str) -> Diagnostic:
    return Diagnostic("E211", why, span)


def property_error(span: Span, why: str) -> Diagnostic:
    return Diagnostic("E401", why, span)


def unsupported(span: Span, what: str) -> Diagnostic:
    return Diagnostic("E402", f"unsupported: {what} is outside the fragment the prover encodes", span)
