"""Holding the compiled SQL to the interpreter: the same worlds and requests judged by both.

Used by tests/test_impact.py and bench/impact.py. A verdict is compared as (accepted, layer, code,
check, effects), effects as `cell=owner` joined by `;` in the rule set's effect order.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from redline.check import checked as ir
from redline.impact.fromjson import write_requests, write_state
from redline.impact.replay import judge
from redline.impact.sql import anchor_column
from redline.impact.tables import Loader
from redline.interp import Validator, load_request, load_state
from redline.times import format_iso, parse_iso

Verdict = tuple[bool, str | None, str | None, str | None, str]
Requests = Sequence[tuple[int, str, Mapping[str, Any]]]  # (request id, timestamp, REQUEST.json)


def engine_verdicts(program: ir.Program, rulesets: Sequence[ir.RuleSet], state: Mapping[str, Any],
                    requests: Requests) -> dict[str, dict[int, Verdict]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_state(state, program, root)
        write_requests(requests, program, root)
        con = duckdb.connect()
        Loader(con, program, rulesets[0].catalogue).load_dir(root, with_requests=True)
        out = {}
        for rs in rulesets:
            table = judge(con, rs, program)
            rows = con.execute(f'SELECT request_id, accepted, layer, code, "check", effects FROM {table}').fetchall()
            out[rs.name] = {int(r[0]): (bool(r[1]), r[2], r[3], r[4], str(r[5])) for r in rows}
        return out


def interpreter_verdicts(program: ir.Program, rulesets: Sequence[ir.RuleSet], state: Mapping[str, Any],
                         requests: Requests) -> dict[str, dict[int, Verdict]]:
    loaded = load_state(state, program)
    out: dict[str, dict[int, Verdict]] = {}
    for rs in rulesets:
        validator, got = Validator(rs), {}
        for rid, ts, raw in requests:
            at = dataclasses.replace(loaded, now=parse_iso(ts))
            v = validator.validate(at, load_request(dict(raw), at, program, rs)).to_json()
            effects = ";".join(f"{e['trust_anchor']}={e['owner']}" for e in v["effects"])
            got[rid] = (v["verdict"] == "accept", v["layer"], v["code"], v["check"], effects)
        out[rs.name] = got
    return out


def disagreements(program: ir.Program, rulesets: Sequence[ir.RuleSet], state: Mapping[str, Any],
                  requests: Requests) -> list[str]:
    sql = engine_verdicts(program, rulesets, state, requests)
    interp = interpreter_verdicts(program, rulesets, state, requests)
    by_id = {rid: raw for rid, _, raw in requests}
    return [f"{rs.name} request {rid} {dict(by_id[rid])}: interpreter {want}, SQL {sql[rs.name].get(rid)}"
            for rs in rulesets for rid, want in interp[rs.name].items() if sql[rs.name].get(rid) != want]


def state_from_raw(con: duckdb.DuckDBPyConnection, program: ir.Program, now: str) -> dict[str, Any]:
    """The raw_<table> relations of a connection (a synthetic fleet) as STATE.json."""
    parties: dict[str, Any] = {p: {"roles": [], "dcc_user": bool(u)} for p, u in
                               con.execute("SELECT party, dcc_user FROM raw_parties").fetchall()}
    for p, role in con.execute("SELECT party, role FROM raw_party_roles").fetchall():
        parties[p]["roles"].append(role)
    cells = program.enums["RemotePartyRole"]
    cols = ", ".join(anchor_column(c) for c in cells)
    devices = {}
    for row in con.execute(f"SELECT device, type, generation, smi_status, mpxn, associated_device, {cols} FROM raw_devices").fetchall():
        body: dict[str, Any] = {"type": row[1], "generation": row[2], "smi_status": row[3],
                                "trust_anchors": {c: o for c, o in zip(cells, row[6:], strict=True) if o is not None}}
        body["mpxn" if row[4] is not None else "associated_device"] = row[4] if row[4] is not None else row[5]
        devices[row[0]] = body
    registration: dict[str, list[dict[str, Any]]] = {}
    for mpxn, role, party, start, end in con.execute(
            "SELECT mpxn, role, party, epoch_us(from_time), epoch_us(to_time) FROM raw_registration").fetchall():
        item = {"role": role, "party": party, "from": format_iso(start)}
        if end is not None:
            item["to"] = format_iso(end)
        registration.setdefault(mpxn, []).append(item)
    return {"now": now, "parties": parties, "devices": devices, "registration": registration}


def interpreter_stuck(program: ir.Program, rs: ir.RuleSet, state: Mapping[str, Any], srvs: Sequence[str],
                      cell: str = "NetworkOperator", group: str = "NetworkOperator") -> tuple[set[str], set[str]]:
    """(mis-set, stuck) devices by the interpreter: every party in every role it holds sends every
    correcting SRV, replacing `cell` with the party registered in a role of `group`."""
    loaded = load_state(state, program)
    validator, roles = Validator(rs), program.groups[group][1]
    mis, stuck = set(), set()
    for did, dev in loaded.devices.items():
        registered = sorted({a.party for r in roles for a in loaded.registration.get((dev.mpxn or "", r), ())
                             if a.start <= loaded.now and (a.end is None or a.end > loaded.now)})
        if not registered or dev.trust_anchors.get(cell) == registered[0]:
            continue
        mis.add(did)
        freed = False
        for srv in srvs:
            replaces = ir.carries_certificate(rs.catalogue[srv])
            for pid, party in loaded.parties.items():
                for role in sorted(party.roles):
                    raw: dict[str, Any] = {"sender": pid, "role": role, "srv": srv, "device": did}
                    if replaces:
                        raw |= {"remote_party_role": cell, "new_certificate_owner": registered[0]}
                    v = validator.validate(loaded, load_request(raw, loaded, program, rs))
                    owners = [o for d, c, o in v.effects if (d, c) == (did, cell)]  # a later effect on the cell wins
                    freed = freed or (v.accepted and owners[-1:] == [registered[0]])
        if not freed:
            stuck.add(did)
    return mis, stuck
