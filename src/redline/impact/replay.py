"""Log replay: every request's verdict under one rule set, the counts people ask for, and what changes
between two rule sets."""

from __future__ import annotations

from typing import Protocol

import duckdb

from redline.check import checked as ir
from redline.impact.sql import LOADED, Relations, anchor_column, lit, verdict_sql, verdicts_from
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
    """Judge the rows of `source`: `judged_<rule set>(request_id, failed, effects)` is materialised and
    `verdicts_<rule set>` is a view of it with the failing check's layer, code and name; returns the view's
    name. The checks' strings are not stored once per request: at 100 M requests they were gigabytes."""
    name = f"verdicts_{rs.name}"
    note(f"judging {source} under {rs.name}")
    drop_verdicts(con, name)
    judged = f"judged_{rs.name}"
    # Every reader of the verdicts orders or groups them: the rows need not keep the requests' order, which
    # costs the writing its ordered merge.
    kept = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(f"CREATE TEMP TABLE {judged} AS {verdict_sql(rs, program, source, relations=relations, narrow=True)}")
    finally:
        con.execute(f"SET preserve_insertion_order = {bool(kept and kept[0])}")
    con.execute(f"CREATE TEMP VIEW {name} AS {verdicts_from(judged, rs)}")
    return name


def drop_verdicts(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the verdicts `name` and what holds them, whichever judge made them: a view of a `judged_` table
    (`judge`), or a table (spark.SparkJudge)."""
    judged = "judged_" + name.removeprefix("verdicts_")
    if con.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?", [name]).fetchone() != (0,):
        con.execute(f"DROP VIEW {name}")
    con.execute(f"DROP TABLE IF EXISTS {name}")
    con.execute(f"DROP TABLE IF EXISTS {judged}")


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[JsonObject]:
    cur = con.execute(sql)
    names = [str(d[0]) for d in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def summary(con: duckdb.DuckDBPyConnection, table: str) -> JsonObject:
    """Counts: in all, accepted, and by SRV, role, sender and failing check."""
    # One join of the verdicts with the requests and one aggregation for the three breakdowns: the log can
    # hold billions of rows, and each pass over it is the cost.
    keys = ("srv", "role", "sender")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE summary_counts AS SELECT {", ".join(f"q.{k}" for k in keys)},
        grouping(q.srv, q.role, q.sender) AS g, count(*) AS requests, count(*) FILTER (WHERE v.accepted) AS accepted
        FROM {table} v JOIN requests q USING (request_id) GROUP BY GROUPING SETS ((q.srv), (q.role), (q.sender))""")

    def by(col: str) -> list[JsonObject]:
        mask = sum(1 << (len(keys) - 1 - i) for i, k in enumerate(keys) if k != col)  # grouping(): 1 for each key left out
        return _rows(con, f"""SELECT {col} AS key, requests, accepted FROM summary_counts WHERE g = {mask}
            ORDER BY requests DESC, key""")
    total = _rows(con, f"SELECT count(*) AS requests, count(*) FILTER (WHERE accepted) AS accepted FROM {table}")[0]
    checks = _rows(con, f"""SELECT layer, code, "check", count(*) AS requests FROM {table} WHERE NOT accepted
        GROUP BY ALL ORDER BY requests DESC, "check" """)
    out: JsonObject = {**total, "by_srv": by("srv"), "by_role": by("role"), "by_sender": by("sender"), "rejected_by": checks}
    con.execute("DROP TABLE summary_counts")
    return out


def _outcome(alias: str) -> str:
    return (f"CASE WHEN {alias}.accepted THEN 'accept' ELSE 'reject at ' || {alias}.layer || "
            f"COALESCE(' ' || {alias}.code, '') || ' by ' || {alias}.\"check\" END")


CHANGED = "changed_verdicts"  # the changed requests `changes(..., keep=True)` leaves for impact/regions.py's `tie`


def differ(cells: tuple[str, ...]) -> tuple[str, str]:
    """(the joins, the condition) saying that verdicts `a` and `b` of one request differ as `redline diff` says
    two verdicts differ: in outcome, layer, code or check, or in the device's trust anchors after the effects.
    Two effect lists that leave the cells alike (a write of the owner a cell already has, a cell written twice
    of which the last write is the same) are no change. Without `cells`, the effect lists are compared as text."""
    verdict = "(a.accepted, a.layer, a.code, a.\"check\") IS DISTINCT FROM (b.accepted, b.layer, b.code, b.\"check\")"
    if not cells:
        return "", f"({verdict} OR a.effects IS DISTINCT FROM b.effects)"

    def after(side: str, cell: str) -> str:  # the last write of the cell (`.*` is greedy), else what it holds
        return (f"COALESCE(NULLIF(regexp_extract(';' || {side}.effects, {lit('.*;' + cell + '=([^;]*)')}, 1), ''),"
                f" d.{anchor_column(cell)})")
    cells_differ = " OR ".join(f"{after('a', c)} IS DISTINCT FROM {after('b', c)}" for c in cells)
    joins = "JOIN requests q USING (request_id) LEFT JOIN devices d ON d.device = q.device"
    return joins, f"({verdict} OR (a.effects IS DISTINCT FROM b.effects AND ({cells_differ})))"


def changes(con: duckdb.DuckDBPyConnection, old: str, new: str, limit: int = 20, keep: bool = False,
            cells: tuple[str, ...] = ()) -> JsonObject:
    """The requests whose verdict (outcome, layer, code, check, effects on `cells`: `differ`) differs, by (old,
    new) outcome class, SRV and role (by `redline diff` region: impact/regions.py). With `keep`, the changed
    requests stay in table CHANGED (request_id, old, new and each side's accepted and check) for the caller to
    use and drop."""
    joins, differs = differ(cells)
    if joins:
        # The one pass over both verdict tables keeps the pairs whose verdict or effect lists differ (few); only
        # those are joined to their requests and devices to compare the cells after the effects: at 100 M
        # requests, joining every pair would cost more than the pass itself.
        fields = ("accepted", "layer", "code", "check", "effects")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE changed_pairs AS SELECT request_id,
            {", ".join(f'{x}."{f}" AS {x}_{f}' for x in "ab" for f in fields)} FROM {old} a JOIN {new} b USING (request_id)
            WHERE {differ(())[1]}""")
        old, new = (f"""(SELECT request_id, {", ".join(f'{x}_{f} AS "{f}"' for f in fields)} FROM changed_pairs)""" for x in "ab")
    # Every count below reads the (few) changed requests.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {CHANGED} AS SELECT request_id, {_outcome('a')} AS old,
        {_outcome('b')} AS new, a.accepted AS old_accepted, a."check" AS old_check, b.accepted AS new_accepted,
        b."check" AS new_check FROM {old} a JOIN {new} b USING (request_id) {joins} WHERE {differs}""")
    con.execute("DROP TABLE IF EXISTS changed_pairs")
    classes = _rows(con, f"""SELECT old, new, count(*) AS requests FROM {CHANGED} GROUP BY ALL
        ORDER BY requests DESC, old, new""")
    examples = _rows(con, f"SELECT request_id, old, new FROM {CHANGED} ORDER BY request_id LIMIT {int(limit)}")

    def by(col: str) -> list[JsonObject]:
        return _rows(con, f"""SELECT q.{col} AS key, count(*) AS requests FROM {CHANGED} JOIN requests q USING (request_id)
            GROUP BY q.{col} ORDER BY requests DESC, key""")
    out: JsonObject = {"changed": sum(int(c["requests"]) for c in classes), "classes": classes, "examples": examples,
                       "by_srv": by("srv"), "by_role": by("role")}
    if not keep:
        con.execute(f"DROP TABLE {CHANGED}")
    return out
