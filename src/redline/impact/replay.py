"""Log replay: every request's verdict under one rule set, the counts people ask for, and what changes
between two rule sets."""

from __future__ import annotations

from typing import Protocol

import duckdb

from redline.check import checked as ir
from redline.impact.sql import LOADED, Relations, verdict_sql
from redline.jsondoc import JsonObject
from redline.progress import note

VERDICT_COLUMNS = ("request_id", "accepted", "dcc_accepted", "layer", "code", "check", "effects")


class Judge(Protocol):
    """What judges requests: `verdicts_<rule set>` made in `con` for the rows of `source`, its name returned.
    `judge` below runs the query in DuckDB; `spark.SparkJudge` runs it on Spark and brings the table back."""

    def __call__(self, con: duckdb.DuckDBPyConnection, rs: ir.RuleSet, program: ir.Program, source: str = "requests",
                 relations: Relations = LOADED) -> str: ...


def judge(con: duckdb.DuckDBPyConnection, rs: ir.RuleSet, program: ir.Program, source: str = "requests",
          relations: Relations = LOADED) -> str:
    """Materialise `verdicts_<rule set>` for the rows of `source`; returns the table's name."""
    name = f"verdicts_{rs.name}"
    note(f"judging {source} under {rs.name}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {verdict_sql(rs, program, source, relations=relations)}")
    return name


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[JsonObject]:
    cur = con.execute(sql)
    names = [str(d[0]) for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def summary(con: duckdb.DuckDBPyConnection, table: str) -> JsonObject:
    """Counts: in all, accepted, and by SRV, role, sender and failing check."""
    def by(col: str) -> list[JsonObject]:
        return _rows(con, f"""SELECT q.{col} AS key, count(*) AS requests, count(*) FILTER (WHERE v.accepted) AS accepted
            FROM {table} v JOIN requests q USING (request_id) GROUP BY q.{col} ORDER BY requests DESC, key""")
    total = _rows(con, f"SELECT count(*) AS requests, count(*) FILTER (WHERE accepted) AS accepted FROM {table}")[0]
    checks = _rows(con, f"""SELECT layer, code, "check", count(*) AS requests FROM {table} WHERE NOT accepted
        GROUP BY ALL ORDER BY requests DESC, "check" """)
    return {**total, "by_srv": by("srv"), "by_role": by("role"), "by_sender": by("sender"), "rejected_by": checks}


def _outcome(alias: str) -> str:
    return (f"CASE WHEN {alias}.accepted THEN 'accept' ELSE 'reject at ' || {alias}.layer || "
            f"COALESCE(' ' || {alias}.code, '') || ' by ' || {alias}.\"check\" END")


def changes(con: duckdb.DuckDBPyConnection, old: str, new: str, limit: int = 20) -> JsonObject:
    """The requests whose verdict (outcome, layer, code, check, effects) differs, by (old, new) outcome class,
    SRV and role (by `redline diff` region: impact/regions.py)."""
    differ = ("(a.accepted, a.layer, a.code, a.\"check\", a.effects) IS DISTINCT FROM "
              "(b.accepted, b.layer, b.code, b.\"check\", b.effects)")
    classes = _rows(con, f"""SELECT {_outcome('a')} AS old, {_outcome('b')} AS new, count(*) AS requests
        FROM {old} a JOIN {new} b USING (request_id) WHERE {differ} GROUP BY ALL ORDER BY requests DESC, old, new""")
    examples = _rows(con, f"""SELECT request_id, {_outcome('a')} AS old, {_outcome('b')} AS new
        FROM {old} a JOIN {new} b USING (request_id) WHERE {differ} ORDER BY request_id LIMIT {int(limit)}""")

    def by(col: str) -> list[JsonObject]:
        return _rows(con, f"""SELECT q.{col} AS key, count(*) AS requests FROM {old} a JOIN {new} b USING (request_id)
            JOIN requests q USING (request_id) WHERE {differ} GROUP BY q.{col} ORDER BY requests DESC, key""")
    return {"changed": sum(int(c["requests"]) for c in classes), "classes": classes, "examples": examples,
            "by_srv": by("srv"), "by_role": by("role")}
