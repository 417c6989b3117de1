"""Declared fields in the fleet tables: a rule file's `extend Device/Party/Request { NAME: TYPE }` is one more
column of `devices`, `parties` or `requests`, named as declared, so that a modification needing data the world
does not hold yet can be asked about a fleet too (docs/formats.md "Declared fields and relations").

A field of one value (Bool, an enum, Time, Text, MPxN, a Party or Device id, or optional) is a column; a set, a
map, a DateRange and a declared relation are not, and a rule set that reads one is refused by name
(sql.Unsupported). A declared column may be left out of a file: it is then null in every row. As in
STATE.json, null is allowed for an optional field, and for any other only while no rule set that is asked
about reads it (`require`): the rule sets written before the declaration keep their answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from redline.check import checked as ir
from redline.check.reads import reads
from redline.check.types import BOOL, MPXN, TEXT, TIME, EnumT, OptT, Prim, RecordT, Type, strip

RECORD_TABLES = {"Device": "devices", "Party": "parties", "Request": "requests"}
# Each table's own columns (as given and as loaded): a declared field of the same name would be read as it.
OWN_COLUMNS = {
    "devices": {"device", "type", "generation", "smi_status", "mpxn", "associated_device"},
    "parties": {"party", "dcc_user", "roles"},
    "requests": {"request_id", "timestamp", "now", "sender", "role", "srv", "device", "remote_party_role",
                 "new_certificate_owner", "execution_time", "date_range_from", "date_range_to"},
}
INTERNAL = {"problem", "row_number", "bad", "key_hash"}  # what the loader adds to a checked table


@dataclass(frozen=True, slots=True)
class DeclaredColumn:
    name: str
    type: Type
    kind: str  # as tables.Column: id | enum | text | bool | time
    members: tuple[str, ...] = ()

    @property
    def refers(self) -> str:
        """Party or Device for a reference (its values are ids of that record), else empty."""
        t = strip(self.type)
        return t.name if isinstance(t, RecordT) else ""

    @property
    def optional(self) -> bool:
        return isinstance(self.type, OptT)


def column_kind(t: Type) -> str | None:
    """The column kind a declared type loads as, or None when it is not one value (a set, a map, a DateRange)."""
    t = strip(t)
    if isinstance(t, EnumT):
        return "enum"
    if isinstance(t, RecordT) and t.name in ("Party", "Device"):
        return "id"
    return {BOOL: "bool", TIME: "time", TEXT: "text", MPXN: "text"}.get(t) if isinstance(t, Prim) else None


def columns(program: ir.Program, record: str) -> tuple[DeclaredColumn, ...]:
    """The declared fields of `record` that are columns of its table, in declaration order."""
    table = RECORD_TABLES[record]
    out: list[DeclaredColumn] = []
    for name, t in program.declared.get(record, {}).items():
        kind = column_kind(t)
        if kind is None:
            continue
        # SQL names are compared without regard to case (in DuckDB and Spark alike): so are the clashes.
        low = name.lower()
        if low in OWN_COLUMNS[table] or low in INTERNAL or low.startswith(("trust_anchor_", "raw_")) or \
                any(c.name.lower() == low for c in out):
            raise ClashError(f"the declared field `{record}.{name}` has the name of a column the {table} table holds "
                             f"already (names compare without regard to case); rename it to use it with redline impact")
        inner = strip(t)
        members = tuple(program.enums[inner.name]) if isinstance(inner, EnumT) else ()
        out.append(DeclaredColumn(name, t, kind, members))
    return tuple(out)


class ClashError(Exception):
    """A declared field whose name the fleet tables use for something else."""


def required(program: ir.Program, rs: ir.RuleSet, record: str) -> list[DeclaredColumn]:
    """The declared columns of `record` that `rs` reads and that may not be null."""
    read = reads(program, rs).field_names(record)
    return [c for c in columns(program, record) if c.name in read and not c.optional]


def missing_value(con: duckdb.DuckDBPyConnection, program: ir.Program, rs: ir.RuleSet, record: str,
                  table: str, key: str) -> tuple[str, Any] | None:
    """The first (column, row key) of `table` where a declared field `rs` reads and may not be null is null."""
    for c in required(program, rs, record):
        row = con.execute(f'SELECT {key} FROM {table} WHERE "{c.name}" IS NULL ORDER BY {key} LIMIT 1').fetchone()
        if row is not None:
            return c.name, row[0]
    return None

