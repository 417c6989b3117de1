"""Declared fields and relations (docs/formats.md "Declared fields") as Z3 terms, generically.

Every declared field gets a slot made from its type alone: a Device field is a
constant of the request's device (the only device the encoding keeps), a
Request field a constant of the request, a Party field a function over party
ids, a relation a Boolean function over the ids it relates. An optional
field carries a `has` flag beside its value. Types the encoding cannot hold
(maps, fields of fields) are refused by name where a rule reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import z3

from redline.check.types import BOOL, DATERANGE, TIME, EnumT, MapT, OptT, RecordT, SetT, Type
from redline.times import parse_iso


@dataclass(frozen=True)
class Slot:
    """One declared field: `value(arg)` is the Z3 term for the record `arg` (None for a constant)."""

    type: Type
    has: Callable[[Any], z3.BoolRef]  # true where the value is given (always, unless the type is optional)
    value: Callable[[Any], Any]  # a term of the base type; for a set, a function member -> Bool; for a range, (lo, hi)


def sort_of(sorts: Any, t: Type) -> z3.SortRef | None:
    """The Z3 sort of a scalar declared type; ids, times and texts are integers."""
    c = sorts.ctx
    if t == BOOL:
        return z3.BoolSort(ctx=c)
    if isinstance(t, EnumT):
        return sorts.enums[t.name]
    if isinstance(t, SetT | MapT) or t == DATERANGE:
        return None
    return z3.IntSort(ctx=c)


def slot(sorts: Any, name: str, t: Type, over_parties: bool) -> Slot | None:
    """Fresh symbols for one declared field, or None for a type the encoding does not hold (a map)."""
    c = sorts.ctx
    i, b = z3.IntSort(ctx=c), z3.BoolSort(ctx=c)
    optional = isinstance(t, OptT)
    base = t.inner if isinstance(t, OptT) else t
    if isinstance(base, MapT):
        return None

    def make(suffix: str, sort: z3.SortRef) -> Callable[[Any], Any]:
        if over_parties:
            f = z3.Function(f"{name}{suffix}", i, sort)
            return lambda p: f(p)
        k = z3.Const(f"{name}{suffix}", sort)
        return lambda _: k

    true = z3.BoolVal(True, ctx=c)
    has = make("_has", b) if optional else (lambda _: true)
    if isinstance(base, SetT):
        enum = sorts.enums[base.elem.name]
        if over_parties:
            g = z3.Function(f"{name}_member", i, enum, b)
            return Slot(t, has, lambda p: (lambda x: g(p, x)))
        g0 = z3.Function(f"{name}_member", enum, b)
        return Slot(t, has, lambda _: (lambda x: g0(x)))
    if base == DATERANGE:
        lo, hi = make("_from", i), make("_to", i)
        return Slot(t, has, lambda p: (lo(p), hi(p)))
    sort = sort_of(sorts, base)
    assert sort is not None
    return Slot(t, has, make("", sort))


def slots(sorts: Any, record: str, prefix: str) -> dict[str, Slot]:
    fields = sorts.declared.get(record, {})
    out = {}
    for name, t in sorted(fields.items()):
        if record != "Request" and (t.inner if isinstance(t, OptT) else t) == DATERANGE:
            continue  # no well-formedness for a state's ranges yet: refused where read
        s = slot(sorts, f"{prefix}_{record.lower()}_{name}", t, over_parties=(record == "Party"))
        if s is not None:
            out[name] = s
    return out


def relations(sorts: Any, prefix: str) -> dict[str, z3.FuncDeclRef]:
    c = sorts.ctx
    i, b = z3.IntSort(ctx=c), z3.BoolSort(ctx=c)
    return {name: z3.Function(f"{prefix}_rel_{name}", *([i] * len(kinds)), b) for name, kinds in sorted(sorts.relations.items())}


# The instants an ISO time in the JSON can name (years 0001 to 9999), so that every model decodes.
FIRST_TIME, LAST_TIME = parse_iso("0001-01-01T00:00:00Z"), parse_iso("9999-12-31T23:59:59Z") + 999_999


def well_formed(s: Slot, arg: Any, sorts: Any) -> list[z3.BoolRef]:
    """What the loader guarantees of a given value: a time it can parse, a date range not inverted."""
    base = s.type.inner if isinstance(s.type, OptT) else s.type
    if base == DATERANGE:
        lo, hi = s.value(arg)
        return [z3.Implies(s.has(arg), z3.And(FIRST_TIME <= lo, lo <= hi, hi <= LAST_TIME))]
    if base == TIME:
        t = s.value(arg)
        return [z3.Implies(s.has(arg), z3.And(FIRST_TIME <= t, t <= LAST_TIME))]
    return []


def is_ref(t: Type, record: str) -> bool:
    base = t.inner if isinstance(t, OptT) else t
    return base == RecordT(record)


def is_time(t: Type) -> bool:
    base = t.inner if isinstance(t, OptT) else t
    return base == TIME
