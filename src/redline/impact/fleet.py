"""Fleet state: which devices are stuck with a trust anchor nobody can correct, and which a modification frees.

A device is *mis-set* when its `cell` (the Network Operator cell by default) is not owned by the
party registered for its MPxN in a role of `group` (ED or GT) at the instant asked about. It is
*stuck* under a rule set when, in addition, no candidate correction is accepted with the effect of
setting the cell to that party. The candidates are what `prove` tries for a state: every party, in
every User Role it holds, sending every SRV whose effects can write that cell, replacing it with the
registered party; they are judged by the same compiled query as a request log.
"""

from __future__ import annotations

import zlib
from typing import Any

import duckdb

from redline.check import checked as ir
from redline.codegen.fold import decided, fold
from redline.impact.replay import Judge, judge
from redline.impact.sql import Relations, anchor_column, lit, registered_at_device_only
from redline.jsondoc import JsonObject
from redline.progress import note
from redline.times import format_iso

BREAKDOWNS = {"network_operator": "x.registered", "generation": "x.generation", "device_type": "x.type",
              "smi_status": "x.smi_status"}


def correcting_srvs(rs: ir.RuleSet, cell: str) -> list[str]:
    """SRVs one of whose effects may write `cell` (decided per SRV by folding the catalogue in)."""
    out = []
    for srv in sorted(rs.catalogue):
        for ef in rs.effects:
            when, target = fold(ef.when, srv, rs.catalogue), fold(ef.cell, srv, rs.catalogue)
            if decided(when) is False:
                continue
            if isinstance(target, ir.Const) and target.value != cell:
                continue
            out.append(srv)
            break
    return out


def mis_set(con: duckdb.DuckDBPyConnection, program: ir.Program, at: int, cell: str, group: str) -> None:
    """`fleet_devices`: every device with its registered party (null if none) and whether the cell is mis-set."""
    roles = sorted(program.groups[group][1])
    con.execute(f"""CREATE OR REPLACE TEMP TABLE fleet_devices AS
        WITH reg AS (SELECT mpxn, min(party) AS registered FROM registration_islands
                     WHERE role IN ({', '.join(lit(r) for r in roles)}) AND start_us <= {at} AND (end_us IS NULL OR end_us > {at})
                     GROUP BY mpxn)
        SELECT d.device, d.type, d.generation, d.smi_status, d.mpxn, reg.registered,
               reg.registered IS NOT NULL AND d.{anchor_column(cell)} IS DISTINCT FROM reg.registered AS mis_set
        FROM devices d LEFT JOIN reg USING (mpxn)""")


def candidates(con: duckdb.DuckDBPyConnection, rs: ir.RuleSet, at: int, cell: str) -> str:
    """`candidates_<SRVs>`: the correction requests for every mis-set device, in the request relation's shape.
    Rule sets whose correcting SRVs are the same (and whose catalogues agree on which carry a certificate)
    share one table: the requests are the same, only their verdicts differ."""
    srvs = correcting_srvs(rs, cell)
    carrying = ir.carrying_srvs(rs.catalogue)  # such a request carries the registered party's certificate for the cell
    shape = tuple((s, s in carrying) for s in srvs)
    name = "candidates_" + str(zlib.crc32(repr(shape).encode()))
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [name]).fetchone() != (0,):
        return name
    srv_rows = ", ".join(f"({lit(s)}, {lit(c)})" for s, c in shape) or "(NULL, FALSE)"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT row_number() OVER () AS request_id, {at}::BIGINT AS now, p.party AS sender, u.role, k.srv,
               f.device, CASE WHEN k.carrying THEN {lit(cell)} END AS remote_party_role,
               CASE WHEN k.carrying THEN f.registered END AS new_certificate_owner,
               NULL::BIGINT AS execution_time, NULL::BIGINT AS date_range_from, NULL::BIGINT AS date_range_to
        FROM fleet_devices f
        CROSS JOIN (SELECT party, unnest(roles) AS role FROM parties) u
        JOIN parties p ON p.party = u.party
        CROSS JOIN (VALUES {srv_rows}) AS k(srv, carrying)
        WHERE f.mis_set AND k.srv IS NOT NULL""")
    return name


def scope(con: duckdb.DuckDBPyConnection) -> None:
    """The devices the candidates are about and the registration islands of their MPxNs: a few per cent
    of the fleet, so that judging the candidates builds its joins over those rows only (sql.Relations)."""
    con.execute("""CREATE OR REPLACE TEMP TABLE scope_devices AS
        SELECT d.* FROM devices d SEMI JOIN (SELECT device FROM fleet_devices WHERE mis_set) m USING (device)""")
    con.execute("""CREATE OR REPLACE TEMP TABLE scope_islands AS
        SELECT g.* FROM registration_islands g SEMI JOIN (SELECT DISTINCT mpxn FROM scope_devices) m USING (mpxn)""")


def stuck(con: duckdb.DuckDBPyConnection, rs: ir.RuleSet, program: ir.Program, at: int, cell: str,
          judging: Judge = judge) -> str:
    """`stuck_<rule set>(device)`: the mis-set devices no candidate correction frees under `rs`."""
    note(f"judging the corrections of mis-set devices under {rs.name}")
    source = candidates(con, rs, at, cell)
    # Every candidate's device is a scope device; its registration is in scope too when every
    # `registered(...)` asks about the device's own MPxN (else the whole of Registration Data is read).
    islands = "scope_islands" if registered_at_device_only(rs, program) else "registration_islands"
    verdicts = judging(con, rs, program, source, Relations(devices="scope_devices", islands=islands))
    name = f"stuck_{rs.name}"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT f.device FROM fleet_devices f WHERE f.mis_set AND f.device NOT IN (
          SELECT c.device FROM {source} c JOIN {verdicts} v USING (request_id)
          WHERE v.accepted AND list_contains(string_split(v.effects, ';'), {lit(cell)} || '=' || c.new_certificate_owner))""")
    return name


def analyse(con: duckdb.DuckDBPyConnection, program: ir.Program, rulesets: list[ir.RuleSet], at: int,
            visit_cost: float | None = None, cell: str = "NetworkOperator", group: str = "NetworkOperator",
            judging: Judge = judge) -> JsonObject:
    """Counts, shares and breakdowns of mis-set and stuck devices, and of those the last rule set frees."""
    note("finding mis-set devices")
    mis_set(con, program, at, cell, group)
    scope(con)
    tables = [stuck(con, rs, program, at, cell, judging) for rs in rulesets]
    flags = ", ".join(f"x.device IN (SELECT device FROM {t}) AS stuck_{i}" for i, t in enumerate(tables))
    note("counting")
    con.execute(f"CREATE OR REPLACE TEMP TABLE fleet_flags AS SELECT x.*, {flags} FROM fleet_devices x")
    sums = ", ".join(f"count(*) FILTER (WHERE stuck_{i}) AS stuck_{i}" for i in range(len(tables)))
    freed = ", count(*) FILTER (WHERE stuck_0 AND NOT stuck_1) AS freed" if len(tables) == 2 else ""

    def figures(where: str = "", key: str | None = None) -> list[tuple[Any, ...]]:
        group_by = f"SELECT {key} AS key, " if key else "SELECT "
        tail = " GROUP BY key ORDER BY key NULLS LAST" if key else ""
        return con.execute(f"""{group_by}count(*) AS devices, count(*) FILTER (WHERE mis_set) AS mis_set,
            count(*) FILTER (WHERE registered IS NULL) AS unregistered, {sums}{freed}
            FROM fleet_flags x {where}{tail}""").fetchall()

    def row(values: tuple[Any, ...]) -> JsonObject:
        n, wrong, unregistered, *rest = (int(v) for v in values)
        out: JsonObject = {"devices": n, "mis_set": wrong, "unregistered": unregistered, "stuck": {}}
        for rs, count in zip(rulesets, rest[:len(rulesets)], strict=True):
            out["stuck"][rs.name] = {"devices": count, "share": count / n if n else 0.0}
        if len(rulesets) == 2:
            out["freed"] = rest[-1]
            if visit_cost is not None:
                out["site_visits_saved_cost"] = rest[-1] * visit_cost
        return out

    result: JsonObject = {"rulesets": [rs.name for rs in rulesets], "at": format_iso(at), "cell": cell,
                              "candidate_srvs": {rs.name: correcting_srvs(rs, cell) for rs in rulesets},
                              "site_visit_cost": visit_cost, **row(figures()[0]), "by": {}}
    for name, key in BREAKDOWNS.items():
        result["by"][name] = [{"key": r[0], **row(r[1:])} for r in figures(key=key)]
    return result
