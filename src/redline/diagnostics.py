"""Diagnostics: stable codes and one constructor per code.

All user-facing wording of rule-file errors lives here. Passes return lists
of `Diagnostic` values; only the CLI renders them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from redline.source import Span
from redline.suggest import closest, closest_srvs, did_you_mean


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
    return Diagnostic("E101", f"unknown {kind} `{name}`{did_you_mean(name, candidates)}", span)


def unknown_generic(span: Span, name: str, candidates: Iterable[str]) -> Diagnostic:
    """A `property` with no `holds` (an acknowledgement) naming no generic property."""
    return Diagnostic("E101", f"`{name}` is not a generic property, so a `property` with no `holds` cannot "
                              f"acknowledge it{did_you_mean(name, candidates)}", span)


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
    return Diagnostic("E103", f"SRV `{srv}` is not in the DUIS catalogue{closest_srvs(srv, candidates)}", span)


def unknown_assumption(span: Span, name: str, candidates: Iterable[str]) -> Diagnostic:
    return Diagnostic("E104", f"unknown assumption `{name}`{did_you_mean(name, candidates)}", span)


def missing_target(span: Span, kind: str, name: str, base: str, candidates: Iterable[str]) -> Diagnostic:
    # A new Service Request is a change to DUIS itself: the catalogue holds DUIS's SRVs, one for every rule set.
    # A modification amends the rows its base has, and adds a new SRV with `add row` (check/redlines.py).
    new_srv = (f" (a new SRV is added with `add row \"{name}\" \"clause\" {{ ... }}`, giving every field of a catalogue "
               "row; every other rule set then has it with `eligible_roles = {}`, so rejects it)") if kind == "catalogue row" else ""
    return Diagnostic(
        "E105",
        f"cannot amend {kind} `{name}`: rule set `{base}` has no such {kind}{did_you_mean(name, candidates)}{new_srv}",
        span,
    )


def row_exists(span: Span, srv: str, base: str) -> Diagnostic:
    """`add row` of an SRV the rule set amended already has."""
    return Diagnostic("E108", f"cannot add catalogue row `{srv}`: rule set `{base}` already has it; "
                              f"write `amend row \"{srv}\"` to change its fields", span)


def rows_disagree(span: Span, srv: str, modification: str, first_modification: str, fields: Iterable[str],
                  first: Span) -> Diagnostic:
    """Two modifications add one SRV with rows that differ beyond `eligible_roles`: DUIS has one message."""
    shown = ", ".join(f"`{f}`" for f in fields)
    return Diagnostic(
        "E109",
        f"modifications `{first_modification}` and `{modification}` both add SRV `{srv}` with different rows "
        f"(they differ in {shown}); only `eligible_roles` may differ, as every rule set shares DUIS's SRVs",
        span, notes=(f"`{first_modification}` adds it at {where(first)}",),
    )


def row_needs_eligible_roles(span: Span, srv: str) -> Diagnostic:
    """`add row` in a world whose `Service` has no `eligible_roles` column."""
    return Diagnostic(
        "E209",
        f"cannot add catalogue row `{srv}`: the rules declare no field `eligible_roles` of `Service`",
        span, notes=("every other rule set is given the new SRV with `eligible_roles = {}`, so that no User Role may "
                     "send it there; without that column they could not be told to refuse it. Add the row to the "
                     "catalogue instead",),
    )


def unknown_ruleset(span: Span, name: str, candidates: Iterable[str]) -> Diagnostic:
    return Diagnostic("E106", f"unknown rule set `{name}`{did_you_mean(name, candidates)}", span)


def cyclic_modification(span: Span, name: str) -> Diagnostic:
    return Diagnostic("E107", f"modification `{name}` amends itself through a cycle", span)


# ---- types ----------------------------------------------------------------

def type_mismatch(span: Span, what: str, expected: str, actual: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic("E201", f"{what}: expected {expected}, found {actual}", span, notes=(hint,) if hint else ())


def no_field(span: Span, record: str, name: str, candidates: Iterable[str]) -> Diagnostic:
    return Diagnostic("E202", f"`{record}` has no field `{name}`{did_you_mean(name, candidates)}", span)


def bad_effect_target(span: Span) -> Diagnostic:
    return Diagnostic("E203", "an effect can only set `device.trust_anchors[ROLE]`", span)


def unsupported_field(span: Span, record: str, name: str) -> Diagnostic:
    return Diagnostic(
        "E204",
        f"field `{record}.{name}` is declared but the interpreter has no value for it",
        span,
    )


def declared_clash(span: Span, record: str, name: str, first: Span | None = None) -> Diagnostic:
    notes = (f"first declared at {where(first)}",) if first is not None and first.source is not None else ()
    return Diagnostic("E210", f"`{record}` already has a field `{name}`; a declaration may only add new fields", span, notes=notes)


def bad_declaration(span: Span, why: str) -> Diagnostic:
    return Diagnostic("E211", why, span)


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
    return Diagnostic("E212", f"`{where}` must be {expected}, found {found}", span, notes=(why,))


def property_error(span: Span, why: str) -> Diagnostic:
    return Diagnostic("E401", why, span)


def unsupported(span: Span, what: str) -> Diagnostic:
    return Diagnostic("E402", f"unsupported: {what} is outside the fragment the prover encodes", span)


# ---- property bodies (check/properties.py); every one is an E401 ----------

def prop_not_quantified(span: Span) -> Diagnostic:
    return property_error(span, "a property body starts with `forall` or `exists`")


def prop_unknown_sort(span: Span, name: str) -> Diagnostic:
    return property_error(span, f"unknown binder type `{name}`; expected State, Request, Party, Device or an enum")


def prop_nested_state(span: Span) -> Diagnostic:
    return property_error(span, "a `State` may be bound only in the property's outermost quantifier")


def prop_not_boolean(span: Span, found: str) -> Diagnostic:
    return property_error(span, f"expected a truth value, found a {found}")


def prop_temporal_not_whole(span: Span, op: str) -> Diagnostic:
    return property_error(span, f"`{op}` is a temporal operator: it may stand only as the whole of a property's "
                                "conclusion (`forall s: State, ... . INIT implies always t from s . P`, or "
                                "`exists s: State, ... . INIT and reachable t from s . P`)")


def prop_bad_compare(span: Span, op: str, left: str, right: str) -> Diagnostic:
    return property_error(span, f"`{op}` compares a {left} with a {right}")


def prop_in_needs_set(span: Span, elem: str) -> Diagnostic:
    return property_error(span, f"`in` needs a set of {elem}")


def prop_unknown_srv(span: Span, srv: str, catalogue: Iterable[str]) -> Diagnostic:
    near = ", ".join(f"`{c}`" for c in closest(srv, catalogue))
    return property_error(span, f"SRV `{srv}` is not in the DUIS catalogue" + (f"; the closest SRVs are {near}" if near else ""))


def prop_set_without_type(span: Span) -> Diagnostic:
    return property_error(span, "a set literal needs a context that says its type")


def prop_set_members(span: Span, enum: str) -> Diagnostic:
    return property_error(span, f"a set of {enum} may hold only {enum} values")


def prop_unsupported_expr(span: Span) -> Diagnostic:
    return property_error(span, "this expression is not part of the property language")


def prop_unknown_name(span: Span, name: str, expected: str | None, candidates: Iterable[str]) -> Diagnostic:
    return property_error(span, f"unknown name `{name}`" + (f" (expected a {expected})" if expected else "") + did_you_mean(name, candidates))


def prop_field_of_non_request(span: Span, name: str, found: str) -> Diagnostic:
    return property_error(span, f"`.{name}` applies to a Request or an SRV here, not a {found}")


def prop_unknown_field(span: Span, name: str, fields: Iterable[str]) -> Diagnostic:
    fields = list(fields)
    return property_error(span, f"a Request here has no field `{name}`; it has {', '.join(fields)}" + did_you_mean(name, fields))


def prop_arity(span: Span, func: str, sorts: Iterable[str]) -> Diagnostic:
    sorts = list(sorts)
    return property_error(span, f"`{func}` takes {len(sorts)} argument(s): {', '.join(sorts)}")


def prop_argument(span: Span, func: str, expected: str, found: str) -> Diagnostic:
    return property_error(span, f"argument of `{func}`: expected a {expected}, found a {found}")


def prop_rulesets(span: Span, why: str) -> Diagnostic:
    """A builtin (or `within`) used under the wrong number of rule sets; `why` is its own rule."""
    return property_error(span, why)


def prop_literal_srv(span: Span, func: str) -> Diagnostic:
    return property_error(span, f"`{func}` needs a literal SRV")


def prop_unknown_function(span: Span, name: str, known: Iterable[str], declared: Iterable[str] = ()) -> Diagnostic:
    known, declared = list(known), list(declared)
    more = f"; the rule files declare {', '.join(declared)}" if declared else ""
    return property_error(span, f"unknown function `{name}`; the property language has {', '.join(known)}{more}"
                          + did_you_mean(name, [*known, *declared]))


def prop_unknown_record_field(span: Span, record: str, name: str, fields: Iterable[str]) -> Diagnostic:
    """A field a property reads that neither the world nor any `extend` declares."""
    fields = sorted(fields)
    what = "an SRV (a catalogue column)" if record == "Service" else f"a {record}"
    return property_error(span, f"{what} has no field `{name}`" + did_you_mean(name, fields))


def prop_field_type(span: Span, field: str, type_text: str) -> Diagnostic:
    return property_error(span, f"`{field}` is of type {type_text}, which a property cannot read: it has truth values, "
                                "parties, devices, SRVs, enum values and sets of them")


def prop_ambiguous_function(span: Span, name: str, kinds: Iterable[str]) -> Diagnostic:
    return property_error(span, f"`{name}` is declared as more than one of {', '.join(kinds)} with this many "
                                "arguments; rename one of the declarations")


def prop_not_a_state(span: Span, name: str) -> Diagnostic:
    return property_error(span, f"`{name}` is not a State bound here")


def prop_always_needs_forall(span: Span) -> Diagnostic:
    return property_error(span, "`always` is an invariant: write `forall s: State, ... . INIT implies always t from s . P`")


def prop_reachable_needs_exists(span: Span) -> Diagnostic:
    return property_error(span, "`reachable` asks for a witness: write `exists s: State, ... . INIT and (reachable t from s . P)` "
                                "(for recovery from every state, use `within K`)")


def prop_temporal_shape(span: Span) -> Diagnostic:
    return property_error(span, "a temporal property is `forall ... . INIT implies always t from s . P` or "
                                "`exists ... . INIT and (reachable t from s . P)`")


def prop_temporal_origin(span: Span, origin: str) -> Diagnostic:
    return property_error(span, f"a temporal property binds exactly one State, the one its runs start `from` (`{origin}`)")


def prop_temporal_pair(span: Span) -> Diagnostic:
    return property_error(span, "a temporal property is about one rule set, not a pair")


def prop_events_missing(span: Span, prop: str) -> Diagnostic:
    return property_error(span, f"temporal property `{prop}` must say which events it allows: "
                                "`allowing {}` for none, or `allowing {change_of_supplier, ...}`")


def prop_events_one_step(span: Span, prop: str) -> Diagnostic:
    return property_error(span, f"`allowing` names the events of a run: property `{prop}` is about one "
                                "request (`within` counts accepted requests only)")
