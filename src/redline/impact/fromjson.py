"""STATE.json and REQUEST.json as fleet tables (CSV), so that a world the interpreter judges can be
judged by the engine too: the scenarios and the equivalence tests go through the same loader as real data."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from redline.check import checked as ir
from redline.impact.sql import anchor_column
from redline.impact.tables import Column, schemas


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else ("true" if v is True else "false" if v is False else v) for v in row])


def _declared(cols: Sequence[Column], body: Mapping[str, Any]) -> list[Any]:
    """The record's declared fields, as its table's declared columns hold them (absent: empty)."""
    return [body.get(c.name) for c in cols if c.declared]


def write_state(state: Mapping[str, Any], program: ir.Program, root: Path) -> None:
    cols = schemas(program)
    cells = program.cells()
    _write(root / "parties.csv", [c.name for c in cols["parties"]],
           ((pid, p["dcc_user"], *_declared(cols["parties"], p)) for pid, p in state["parties"].items()))
    _write(root / "party_roles.csv", [c.name for c in cols["party_roles"]],
           ((pid, role) for pid, p in state["parties"].items() for role in p["roles"]))
    _write(root / "devices.csv", [c.name for c in cols["devices"]],
           ((did, d["type"], d["generation"], d["smi_status"], d.get("mpxn"), d.get("associated_device"),
             *((d.get("trust_anchors") or {}).get(c) for c in cells), *_declared(cols["devices"], d))
            for did, d in state["devices"].items()))
    assert [c.name for c in cols["devices"] if not c.declared][6:] == [anchor_column(c) for c in cells]
    for name, tuples in (state.get("relations") or {}).items():
        _write(root / f"{name}.csv", [c.name for c in cols[name]], tuples)
    _write(root / "registration.csv", [c.name for c in cols["registration"]],
           ((mpxn, a["role"], a["party"], a["from"], a.get("to")) for mpxn, items in state["registration"].items() for a in items))


def write_requests(requests: Iterable[tuple[int, str, Mapping[str, Any]]], program: ir.Program, root: Path) -> None:
    """(request_id, timestamp, REQUEST.json) rows: the time each request is judged at is its timestamp."""
    cols = schemas(program)["requests"]

    def row(rid: int, ts: str, r: Mapping[str, Any]) -> list[Any]:
        rng = r.get("date_range") or {}
        return [rid, ts, r["sender"], r["role"], r["srv"], r.get("device"), r.get("remote_party_role"),
                r.get("new_certificate_owner"), r.get("execution_time"), rng.get("from"), rng.get("to"), *_declared(cols, r)]
    _write(root / "requests.csv", [c.name for c in cols], (row(*x) for x in requests))
