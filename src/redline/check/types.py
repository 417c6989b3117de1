"""Types of the rule language.

Records (Party, Device, Request, Service) are declared in the rule files;
their values are identifiers, and field access looks the record up in the
state (or, for Service, in the rule set's catalogue). Enums are declared in
the rule files too; only the layers are built in, because the pipeline's
order depends on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Layer(Enum):
    """Where a check runs, in pipeline order."""

    DSP = "DSP"
    S1SP = "S1SP"
    Device = "Device"

    @property
    def order(self) -> int:
        return list(Layer).index(self)


@dataclass(frozen=True, slots=True)
class Prim:
    name: str  # Bool, Time, Text, MPxN, DateRange, Times, Timed, Null

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class EnumT:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class RecordT:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class SetT:
    elem: EnumT

    def __str__(self) -> str:
        return f"set of {self.elem}"


@dataclass(frozen=True, slots=True)
class MapT:
    key: EnumT
    value: Type

    def __str__(self) -> str:
        return f"map {self.key} to {self.value}"


@dataclass(frozen=True, slots=True)
class OptT:
    inner: Type

    def __str__(self) -> str:
        return f"optional {self.inner}"


Type = Prim | EnumT | RecordT | SetT | MapT | OptT

BOOL = Prim("Bool")
TIME = Prim("Time")
TEXT = Prim("Text")
MPXN = Prim("MPxN")
DATERANGE = Prim("DateRange")
TIMES = Prim("Times")  # a Time or a DateRange: what `throughout` ranges over
TIMED = Prim("Timed")  # a predicate of time, such as `registered(...)`
NULL = Prim("Null")

PRIMS = {t.name: t for t in (BOOL, TIME, TEXT, MPXN, DATERANGE)}

# The records the interpreter can supply, with the fields it knows how to
# read from STATE.json and REQUEST.json. A world declaration may declare
# only these; Service fields come from the catalogue, so any are allowed.
RECORDS = ("Party", "Device", "Request", "Service")
KNOWN_FIELDS: dict[str, frozenset[str] | None] = {
    "Party": frozenset({"roles", "dcc_user"}),
    "Device": frozenset({"type", "generation", "smi_status", "mpxn", "trust_anchors"}),
    "Request": frozenset({
        "sender", "role", "srv", "device", "remote_party_role",
        "new_certificate_owner", "execution_time", "date_range",
    }),
    "Service": None,
}


def strip(t: Type) -> Type:
    return t.inner if isinstance(t, OptT) else t


def optional(t: Type) -> Type:
    return t if isinstance(t, OptT) or t == NULL else OptT(t)


def is_time_like(t: Type) -> bool:
    return strip(t) in (TIME, DATERANGE, TIMES)
