"""The synthetic fleet's declared data (impact/declared.py): a column for each declared field of one value and a
table for each declared relation, deterministic by seed like the rest of synth.py, so that a modification that
needs data the world does not hold yet can be asked about a generated fleet.

Illustrative values, not cited: a field takes one of its values uniformly (an enum's members, true or false, a
party, a day of the year before the snapshot, `x0` ... `x99` for Text), an optional field is null on a tenth of
the rows; a Device field names the device itself, a request's its device. A relation holds one tuple for a
hundredth of its first record's rows (a device or a party), its other arguments drawn uniformly.
"""

from __future__ import annotations

import duckdb

from redline.check import checked as ir
from redline.impact import declared
from redline.impact.params import FleetParams
from redline.impact.sql import lit, relation_columns
from redline.impact.synth import _u

# The raw table of each record and the column whose value makes a row's draws its own.
_ROWS = {"Party": ("raw_parties", "party"), "Device": ("raw_devices", "device"), "Request": ("raw_requests", "request_id")}
_TYPES = {"bool": "BOOLEAN", "time": "TIMESTAMP"}  # any other kind is a VARCHAR column
NULL_SHARE = 0.1
RELATION_SHARE = 0.01


def _pick(items: str, u: str) -> str:
    """One item of the SQL list `items`, chosen by `u` in [0, 1)."""
    return f"({items})[1 + floor({u} * len({items}))::BIGINT]"


def _value(c: declared.DeclaredColumn, p: FleetParams, record: str, key: str) -> str:
    u = _u(p.seed, key, f"{record}.{c.name}")
    match c.kind:
        case "enum":
            return _pick("[" + ", ".join(lit(m) for m in c.members) + "]", u)
        case "bool":
            return f"{u} < 0.5"
        case "time":
            return f"TIMESTAMP '{p.at[:10]} {p.at[11:19]}' - INTERVAL (floor({u} * 365)::BIGINT) DAY"
        case "text":
            return f"'x' || floor({u} * 100)::BIGINT"
    if c.refers == "Party":
        return _pick("(SELECT list(party ORDER BY party) FROM raw_parties)", u)
    # a Device: the device itself, a request's own device (or, for a request without one and a party, the first device)
    own = {"Device": "device", "Request": "device"}.get(record, "NULL")
    return f"COALESCE({own}, (SELECT min(device) FROM raw_devices))"


def add_declared(con: duckdb.DuckDBPyConnection, program: ir.Program, p: FleetParams) -> None:
    """Add the declared columns to the raw tables generated, and create raw_<relation> for each relation."""
    for record, (table, key) in _ROWS.items():
        if record == "Request" and not p.requests:
            continue
        for c in declared.columns(program, record):
            value = _value(c, p, record, key)
            if c.optional:
                value = f"CASE WHEN {_u(p.seed, key, f'{record}.{c.name}.null')} < {NULL_SHARE} THEN NULL ELSE {value} END"
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{c.name}" {_TYPES.get(c.kind, "VARCHAR")}')
            con.execute(f'UPDATE {table} SET "{c.name}" = {value}')
    for name, kinds in program.relations.items():
        first, key = _ROWS[kinds[0]]
        cols = relation_columns(kinds)
        others = [_pick(f"(SELECT list({_ROWS[k][1]} ORDER BY {_ROWS[k][1]}) FROM {_ROWS[k][0]})",
                        _u(p.seed, key, f"{name}.{i}")) for i, k in enumerate(kinds[1:], 2)]
        select = ", ".join([f"{key} AS {cols[0]}", *(f"{o} AS {c}" for o, c in zip(others, cols[1:], strict=True))])
        con.execute(f"""CREATE OR REPLACE TEMP TABLE raw_{name} AS SELECT DISTINCT {select} FROM {first}
                        WHERE {_u(p.seed, key, name)} < {RELATION_SHARE} ORDER BY ALL""")
