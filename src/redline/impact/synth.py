"""A synthetic fleet and request log, generated inside DuckDB and deterministic by seed.

Every random choice is `hash(seed, row, purpose)` reduced to [0, 1), so one seed gives the same
tables on every run and machine, and 35 million rows cost one SQL statement each, not a Python loop.
The result is the input tables (`raw_<table>`), checked by the same loader as real data.

Sites: one meter per MPxN, ESME or GSME. Parties: `suppliers` holding IS and GS, `dnos` holding ED,
`gts` holding GT, one Other User, and one former DCC User holding ED. Each site has its Supplier
(with `churn` of sites having changed Supplier during the last year, the old Supplier's
registration closed) and its Network Operator (ED for electricity, GT for gas) registered since
2015. The Supplier cell holds the registered Supplier; the Network Operator cell holds the
registered one except on `wrong_no_share` of sites, where another party of that role owns it.
Requests: `correction_share` of them are SRV 6.15.1 replacing the Network Operator cell with the
registered party, sent by the registered or the owning Network Operator; the rest spread over
`srv_mix`, sent by the site's Supplier (or, for one in ten, by a random party in a random role);
one whose SRV carries a certificate (6.23) carries the sender's own Supplier certificate.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from redline.impact.params import FleetParams
from redline.impact.sql import anchor_column, lit
from redline.impact.tables import TABLES
from redline.progress import note


def _u(seed: int, row: str, tag: str) -> str:
    """A pseudo-random number in [0, 1) for `row`, independent per `tag`."""
    return f"((hash({seed}, {row}, {lit(tag)}) % 1000000007) / 1000000007.0)"


def _eui(prefix: str, n: str) -> str:
    """An EUI-64 id: a fixed two-byte prefix and n in the last six bytes."""
    parts = ", ".join(f"({n} >> {s}) & 255" for s in (40, 32, 24, 16, 8, 0))
    return f"printf('{prefix}-%02X-%02X-%02X-%02X-%02X-%02X', {parts})"


def generate(con: duckdb.DuckDBPyConnection, p: FleetParams, cells: tuple[str, ...], carrying: frozenset[str]) -> None:
    """Create raw_parties, raw_party_roles, raw_devices, raw_registration and raw_requests."""
    s = p.seed
    note(f"generating {p.devices:,} devices")
    n_parties = p.suppliers + p.dnos + p.gts + 2
    con.execute(f"""CREATE OR REPLACE TEMP TABLE gen_parties AS
        SELECT i, {_eui('90-B3', 'i')} AS party,
               CASE WHEN i < {p.suppliers} THEN 'supplier' WHEN i < {p.suppliers + p.dnos} THEN 'dno'
                    WHEN i < {p.suppliers + p.dnos + p.gts} THEN 'gt' WHEN i = {n_parties - 2} THEN 'ou' ELSE 'former' END AS kind
        FROM range({n_parties}) t(i)""")
    con.execute("""CREATE OR REPLACE TEMP TABLE raw_parties AS
        SELECT party, kind <> 'former' AS dcc_user FROM gen_parties ORDER BY i""")
    con.execute("""CREATE OR REPLACE TEMP TABLE raw_party_roles AS
        SELECT party, unnest(CASE kind WHEN 'supplier' THEN ['IS', 'GS'] WHEN 'dno' THEN ['ED'] WHEN 'gt' THEN ['GT']
                                       WHEN 'ou' THEN ['OU'] ELSE ['ED'] END) AS role FROM gen_parties ORDER BY i""")
    # Each site picks parties by rank within their kind, joined from a table of ranks: a list of the
    # parties carried on every row made generation grow worse than linearly (72 s for 5 M sites).
    con.execute(f"""CREATE OR REPLACE TEMP TABLE gen_ranked AS
        SELECT kind, party, i - CASE kind WHEN 'supplier' THEN 0 WHEN 'dno' THEN {p.suppliers}
                                          ELSE {p.suppliers + p.dnos} END AS k
        FROM gen_parties WHERE kind IN ('supplier', 'dno', 'gt')""")
    ns, nn = p.suppliers, f"CASE WHEN elec THEN {p.dnos} ELSE {p.gts} END"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE gen_sites AS
        WITH b AS (SELECT i, {_u(s, 'i', 'fuel')} < {p.electricity_share} AS elec,
                          {_u(s, 'i', 'gen')} < {p.smets1_share} AS smets1,
                          {_u(s, 'i', 'status')} AS st, {_u(s, 'i', 'sup')} AS us, {_u(s, 'i', 'no')} AS un,
                          {_u(s, 'i', 'wrong')} < {p.wrong_no_share} AS wrong, {_u(s, 'i', 'churn')} < {p.churn} AS moved,
                          {_u(s, 'i', 'when')} AS uw
                   FROM range({p.devices}) t(i)),
             l AS (SELECT *, floor(us * {ns})::BIGINT AS ks, {nn} AS nlen, floor(un * ({nn}))::BIGINT AS kn,
                          CASE WHEN elec THEN 'dno' ELSE 'gt' END AS no_kind FROM b)
        SELECT i, {_eui('00-DB', 'i')} AS device, (CASE WHEN elec THEN 1900000000000 ELSE 7000000000 END + i)::VARCHAR AS mpxn,
               CASE WHEN elec THEN 'ESME' ELSE 'GSME' END AS type, CASE WHEN smets1 THEN 'SMETS1' ELSE 'SMETS2' END AS generation,
               CASE WHEN st < 0.95 THEN 'Commissioned' WHEN st < 0.97 THEN 'InstalledNotCommissioned'
                    WHEN st < 0.98 THEN 'Suspended' ELSE 'Decommissioned' END AS smi_status,
               CASE WHEN elec THEN 'IS' ELSE 'GS' END AS sup_role, CASE WHEN elec THEN 'ED' ELSE 'GT' END AS no_role,
               s1.party AS supplier, s2.party AS old_supplier, n1.party AS no,
               CASE WHEN wrong THEN n2.party ELSE n1.party END AS no_cell,
               moved, TIMESTAMP '{p.at[:10]} {p.at[11:19]}' - INTERVAL (1 + floor(uw * 364)::BIGINT) DAY AS moved_at
        FROM l
        LEFT JOIN gen_ranked s1 ON s1.kind = 'supplier' AND s1.k = l.ks
        LEFT JOIN gen_ranked s2 ON s2.kind = 'supplier' AND s2.k = (l.ks + 1) % {ns}
        LEFT JOIN gen_ranked n1 ON n1.kind = l.no_kind AND n1.k = l.kn
        LEFT JOIN gen_ranked n2 ON n2.kind = l.no_kind AND n2.k = (l.kn + 1) % l.nlen
        ORDER BY i""")
    anchors = ", ".join(
        ("supplier" if c == "Supplier" else "no_cell" if c == "NetworkOperator" else "NULL::VARCHAR") + f" AS {anchor_column(c)}"
        for c in cells)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE raw_devices AS
        SELECT device, type, generation, smi_status, mpxn, NULL::VARCHAR AS associated_device, {anchors}
        FROM gen_sites ORDER BY i""")
    con.execute("""CREATE OR REPLACE TEMP TABLE raw_registration AS
        SELECT mpxn, no_role AS role, no AS party, TIMESTAMP '2015-01-01 00:00:00' AS from_time, NULL::TIMESTAMP AS to_time FROM gen_sites
        UNION ALL
        SELECT mpxn, sup_role, CASE WHEN moved THEN old_supplier ELSE supplier END, TIMESTAMP '2020-01-01 00:00:00',
               CASE WHEN moved THEN moved_at END FROM gen_sites
        UNION ALL
        SELECT mpxn, sup_role, supplier, moved_at, NULL FROM gen_sites WHERE moved""")
    if p.requests:
        note(f"generating {p.requests:,} requests")
        _requests(con, p, carrying, "Supplier" if "Supplier" in cells else cells[0])


def _requests(con: duckdb.DuckDBPyConnection, p: FleetParams, carrying: frozenset[str], cell: str) -> None:
    s, total = p.seed, sum(w for _, w in p.srv_mix)
    bounds, acc = [], 0
    for srv, w in p.srv_mix:
        acc += w
        bounds.append(f"WHEN um < {acc / total} THEN {lit(srv)}")
    pick = "CASE " + " ".join(bounds) + f" ELSE {lit(p.srv_mix[-1][0])} END"
    con.execute(f"""CREATE OR REPLACE TEMP TABLE raw_requests AS
        WITH q AS (SELECT j, floor({_u(s, 'j', 'dev')} * {p.devices})::BIGINT AS i, {_u(s, 'j', 'kind')} AS uk,
                          {_u(s, 'j', 'mix')} AS um, {_u(s, 'j', 'who')} AS uw, {_u(s, 'j', 'ts')} AS ut
                   FROM range({p.requests}) t(j)),
             roles AS (SELECT list(party ORDER BY party, role) AS ps, list(role ORDER BY party, role) AS rs FROM raw_party_roles)
        SELECT j AS request_id,
               TIMESTAMP '{p.at[:10]} {p.at[11:19]}' - to_seconds(floor(ut * 30 * 86400)::BIGINT) AS "timestamp",
               CASE WHEN uk < {p.correction_share} THEN (CASE WHEN uw < 0.5 THEN g.no ELSE g.no_cell END)
                    WHEN uw < 0.9 THEN g.supplier ELSE roles.ps[1 + floor(uw * 10 % 1 * len(roles.ps))::BIGINT] END AS sender,
               CASE WHEN uk < {p.correction_share} THEN g.no_role
                    WHEN uw < 0.9 THEN g.sup_role ELSE roles.rs[1 + floor(uw * 10 % 1 * len(roles.rs))::BIGINT] END AS role,
               CASE WHEN uk < {p.correction_share} THEN '6.15.1' ELSE {pick} END AS srv,
               g.device,
               CASE WHEN uk < {p.correction_share} THEN 'NetworkOperator' END AS remote_party_role,
               CASE WHEN uk < {p.correction_share} THEN g.no END AS new_certificate_owner,
               NULL::TIMESTAMP AS execution_time, NULL::TIMESTAMP AS date_range_from, NULL::TIMESTAMP AS date_range_to
        FROM q JOIN gen_sites g USING (i) CROSS JOIN roles ORDER BY j""")
    mixed = sorted(carrying & {srv for srv, _ in p.srv_mix})
    if mixed:  # a request of the mix whose SRV carries a certificate carries the sender's own Supplier one, as 6.23 (CoS) does
        con.execute(f"""UPDATE raw_requests SET remote_party_role = {lit(cell)}, new_certificate_owner = sender
                        WHERE remote_party_role IS NULL AND srv IN ({", ".join(lit(x) for x in mixed)})""")


def write(con: duckdb.DuckDBPyConnection, out: Path, with_requests: bool, relations: tuple[str, ...] = ()) -> None:
    """Each generated table as `<table>.parquet` in `out`, and each declared relation's (impact/synth_declared.py)."""
    out.mkdir(parents=True, exist_ok=True)
    for table in (*TABLES, *relations):
        if table == "requests" and not with_requests:
            continue
        note(f"writing {table}")
        con.execute(f"COPY raw_{table} TO {lit(str(out / f'{table}.parquet'))} (FORMAT parquet)")
