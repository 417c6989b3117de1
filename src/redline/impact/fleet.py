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
from redline.codegen.fold import check_fails, decided, declared_read, fold
from redline.impact import declared
from redline.impact.replay import Judge, drop_verdicts, judge
from redline.impact.sql import SRV_TYPE, Relations, Unsupported, anchor_column, lit, registered_at_device_only
from redline.impact.tables import require_declared
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
    covering = (f"SELECT mpxn, party FROM registration_islands WHERE role IN ({', '.join(lit(r) for r in roles)}) "
                f"AND start_us <= {at} AND (end_us IS NULL OR end_us > {at})")
    verdict = f"reg.registered IS NOT NULL AND d.{anchor_column(cell)} IS DISTINCT FROM reg.registered AS mis_set"
    # Usually one party is registered for a device's MPxN in the group at an instant (the one-registered-party
    # invariant, checked at loading, says so per role), and a plain join finds it; should the join find several
    # rows for a device (several roles of the group), the lowest party is taken, as always, by grouping.
    for reg in (f"({covering}) reg(mpxn, registered)",
                f"(SELECT mpxn, min(party) AS registered FROM ({covering}) c GROUP BY mpxn) reg"):
        con.execute(f"""CREATE OR REPLACE TEMP TABLE fleet_devices AS
            SELECT d.device, d.type, d.generation, d.smi_status, reg.registered, {verdict}
            FROM devices d LEFT JOIN {reg} USING (mpxn)""")
        counts = con.execute("SELECT (SELECT count(*) FROM fleet_devices), (SELECT count(*) FROM devices)").fetchone()
        if counts is not None and counts[0] == counts[1]:
            return


def hopeless(rs: ir.RuleSet, srv: str, role: str) -> bool:
    """Whether `rs` rejects every request for `srv` sent in `role`, whatever its sender, device and time:
    some check, folded with the SRV and the role known, is decided to fail (it applies, no exception can
    waive it and its requirement is decided false). Such a candidate could free no device."""
    return any(check_fails(ch, srv, rs.catalogue, {"role": role}) for ch in rs.checks)


def candidates(con: duckdb.DuckDBPyConnection, rs: ir.RuleSet, program: ir.Program, at: int, cell: str) -> str:
    """`candidates_<shape>`: the correction requests for every mis-set device, in the request relation's shape
    (a view of `candidate_rows_<shape>`, each request's id its row's number). Only the (SRV, role) pairs that
    are not `hopeless` are generated: judging the others could only reject them. Rule sets whose pairs are
    the same (and whose catalogues agree on which carry a certificate) share one table: the requests are
    the same, only their verdicts differ."""
    carrying = ir.carrying_srvs(rs.catalogue)  # such a request carries the registered party's certificate for the cell
    roles = program.enums[program.vocab.role]
    shape = tuple((s, r, s in carrying) for s in correcting_srvs(rs, cell) for r in roles if not hopeless(rs, s, r))
    fields = _declared_fields(program, rs, sorted({s for s, _, _ in shape}))
    key = str(zlib.crc32(repr((shape, fields)).encode()))
    name, rows = f"candidates_{key}", f"candidate_rows_{key}"
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [rows]).fetchone() != (0,):
        return name
    pairs = ", ".join(f"({lit(s)}, {lit(r)}, {lit(c)})" for s, r, c in shape) or "(NULL, NULL, FALSE)"
    # The ids are the table's row ids, not a row_number() window: a window over every candidate (tens of
    # millions for a national fleet) runs on one core, the table is written on all of them.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {rows} AS
        SELECT f.registered, {at}::BIGINT AS now, u.party AS sender, u.role, CAST(k.srv AS {SRV_TYPE}) AS srv,
               f.device, CASE WHEN k.carrying THEN {lit(cell)} END AS remote_party_role,
               CASE WHEN k.carrying THEN f.registered END AS new_certificate_owner,
               NULL::BIGINT AS execution_time, NULL::BIGINT AS date_range_from, NULL::BIGINT AS date_range_to{
               "".join(f', {value} AS "{name}"' for name, value, _ in fields)}
        FROM fleet_devices f
        CROSS JOIN (SELECT party, unnest(roles) AS role FROM parties) u
        JOIN (VALUES {pairs}) AS k(srv, role, carrying) ON k.role = u.role{"".join(join for _, _, join in fields)}
        WHERE f.mis_set""")
    # The rows keep the party each correction is for (`registered`, read by `stuck`); the view, the request
    # relation the verdict query reads, leaves it out.
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT rowid AS request_id, * EXCLUDE (registered) FROM {rows}")
    return name


_SQL_TYPES = {"bool": "BOOLEAN", "time": "BIGINT"}  # a declared column's loaded type; any other kind is VARCHAR


def _declared_fields(program: ir.Program, rs: ir.RuleSet, srvs: list[str]) -> list[tuple[str, str, str]]:
    """(name, value, join) for each declared Request field, as the candidate requests give it. A field `rs` does
    not read for the candidate SRVs is null: no value of it changes a verdict. One it reads takes every value
    of its type, each in a copy of the candidates (a join), so that none that would be accepted is missed:
    a Bool's two, an enum's members, every loaded party, and null if it is optional. A field of any
    other type has too many values to try, and the question is refused, naming it."""
    read = declared_read(rs, srvs, "Request")
    out = []
    for i, c in enumerate(declared.columns(program, "Request")):
        if c.name not in read:
            out.append((c.name, f"NULL::{_SQL_TYPES.get(c.kind, 'VARCHAR')}", ""))
            continue
        if c.kind == "bool":
            values = "(TRUE), (FALSE)"
        elif c.kind == "enum":
            values = ", ".join(f"({lit(m)})" for m in c.members)
        elif c.refers == "Party":
            values = ""
        else:
            raise Unsupported(f"rule set `{rs.name}` reads the declared request field `{c.name}` ({c.type}) for the "
                              f"corrections of `{', '.join(srvs)}`: the fleet question tries every value of a field it "
                              "reads, and a field of this type has too many (a Bool, an enum or a Party it can try)")
        given = f"SELECT * FROM (VALUES {values}) v" if values else "SELECT party FROM parties"
        if c.optional:
            given += " UNION ALL SELECT NULL"
        out.append((c.name, f"x{i}.v", f" CROSS JOIN ({given}) x{i}(v)"))
    return out


def scope(con: duckdb.DuckDBPyConnection) -> None:
    """The devices the candidates are about and the registration islands of their MPxNs: a few per cent
    of the fleet, so that judging the candidates builds its joins over those rows only (sql.Relations).
    Candidates of an earlier analysis on this connection (another instant, or other tables) are dropped:
    `candidates` shares a table between rule sets of one analysis only."""
    for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND view_name LIKE 'candidates_%'").fetchall():
        con.execute(f"DROP VIEW {name}")
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE 'candidate_rows_%'").fetchall():
        con.execute(f"DROP TABLE {name}")
    con.execute("""CREATE OR REPLACE TEMP TABLE scope_devices AS
        SELECT d.* FROM devices d SEMI JOIN (SELECT device FROM fleet_devices WHERE mis_set) m USING (device)""")
    con.execute("""CREATE OR REPLACE TEMP TABLE scope_islands AS
        SELECT g.* FROM registration_islands g SEMI JOIN (SELECT DISTINCT mpxn FROM scope_devices) m USING (mpxn)""")


def stuck(con: duckdb.DuckDBPyConnection, rs: ir.RuleSet, program: ir.Program, at: int, cell: str,
          judging: Judge = judge, frugal: bool = False) -> str:
    """`stuck_<rule set>(device)`: the mis-set devices no candidate correction frees under `rs`."""
    note(f"judging the corrections of mis-set devices under {rs.name}")
    source = candidates(con, rs, program, at, cell)
    # Every candidate's device is a scope device; its registration is in scope too when every
    # `registered(...)` asks about the device's own MPxN (else the whole of Registration Data is read).
    islands = "scope_islands" if registered_at_device_only(rs, program) else "registration_islands"
    verdicts = judging(con, rs, program, source, Relations(devices="scope_devices", islands=islands))
    name = f"stuck_{rs.name}"
    # What the cell holds after the request: its last effect on the cell (a later effect on a cell wins, as
    # applying a verdict's effects in order does), not any of them.
    # `.*` is greedy, so the match is the last `;CELL=owner`; a cell is an enum member's name (no regex syntax)
    last = f"regexp_extract(';' || v.effects, {lit('.*;' + cell + '=([^;]*)')}, 1)"
    # A device is freed when that is its registered party, whoever's effect wrote it: a candidate of an SRV that
    # carries no certificate names no new owner, yet an effect may give the cell to its sender. The regular
    # expression runs only where the effects name the party for the cell at all (`contains`, far cheaper):
    # over every accepted candidate of a national fleet it cost about ten seconds.
    rows = source.replace("candidates_", "candidate_rows_", 1)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT f.device FROM fleet_devices f WHERE f.mis_set AND f.device NOT IN (
          SELECT c.device FROM {rows} c JOIN {verdicts} v ON v.request_id = c.rowid
          WHERE v.accepted AND contains(v.effects, {lit(cell + '=')} || c.registered) AND {last} = c.registered)""")
    if frugal:
        drop_verdicts(con, verdicts)
    return name


def analyse(con: duckdb.DuckDBPyConnection, program: ir.Program, rulesets: list[ir.RuleSet], at: int,
            visit_cost: float | None = None, cell: str = "NetworkOperator", group: str = "NetworkOperator",
            judging: Judge = judge, frugal: bool = False) -> JsonObject:
    """Counts, shares and breakdowns of mis-set and stuck devices, and of those the last rule set frees.

    `frugal`: the connection is this question's alone (`redline impact fleet`), so each table is dropped
    once nothing asks about it any more. For a national fleet that is most of the memory: Registration
    Data, once the registered parties and the mis-set devices' islands are found, and each rule set's
    verdicts on the candidates, once its stuck devices are."""
    require_declared(con, program, rulesets, ("Device", "Party"))
    note("finding mis-set devices")
    mis_set(con, program, at, cell, group)
    scope(con)
    if frugal and all(registered_at_device_only(rs, program) for rs in rulesets):
        con.execute("DROP VIEW registration_islands")
        con.execute("DROP TABLE checked_registration")
    tables = [stuck(con, rs, program, at, cell, judging, frugal) for rs in rulesets]
    note("counting")
    sums = ", ".join(f"count(*) FILTER (WHERE stuck_{i}) AS stuck_{i}" for i in range(len(tables)))
    freed = ", count(*) FILTER (WHERE stuck_0 AND NOT stuck_1) AS freed" if len(tables) == 2 else ""
    flags = "".join(f", s{i}.device IS NOT NULL AS stuck_{i}" for i in range(len(tables)))
    joins = "".join(f" LEFT JOIN {t} s{i} USING (device)" for i, t in enumerate(tables))
    keys = list(BREAKDOWNS.values())
    # Every figure in one pass over the fleet: the whole and each breakdown are grouping sets, and the
    # stuck devices (a few per cent) are joined in rather than flagged on a copy of every device.
    sets = ", ".join(["()", *(f"({k})" for k in keys)])
    order = ", ".join(f"{k} NULLS LAST" for k in keys)
    rows = con.execute(f"""SELECT GROUPING({", ".join(keys)}) AS grouping, {", ".join(keys)},
        count(*) AS devices, count(*) FILTER (WHERE mis_set) AS mis_set,
        count(*) FILTER (WHERE registered IS NULL) AS unregistered, {sums}{freed}
        FROM (SELECT x.*{flags} FROM fleet_devices x{joins}) x
        GROUP BY GROUPING SETS ({sets}) ORDER BY grouping DESC, {order}""").fetchall()
    everything = (1 << len(keys)) - 1  # GROUPING's bits: 1 for each key not grouped by

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
                              "site_visit_cost": visit_cost}
    by: dict[str, list[JsonObject]] = {name: [] for name in BREAKDOWNS}
    for r in rows:
        grouping, values, figures = r[0], r[1:1 + len(keys)], r[1 + len(keys):]
        if grouping == everything:
            result.update(row(figures))
        else:
            i = next(i for i in range(len(keys)) if not grouping >> (len(keys) - 1 - i) & 1)
            by[list(BREAKDOWNS)[i]].append({"key": values[i], **row(figures)})
    result["by"] = by
    return result
