"""An independent oracle for Service Request verdicts, written from the sources, not from rules/.

It reads nothing of redline (no rule file, no interpreter, no loader): only a STATE.json and a
REQUEST.json as plain dicts, and the DUIS SRV matrix (the CSV of ../shared/domain, read by the test).
Each step cites the source it comes from:

  [D§n]   ../shared/domain/DOMAIN.md, section n
  [MP107] the MP107 Modification Report, §1 Summary and §3 Solution
  [CSV]   ../shared/domain/duis-srv-matrix.csv (the DCC's DUIS matrix)
  [A*]    a modelling assumption DOMAIN.md §9 names (docs/assumptions.md)

Two tables are not in any source: which device types an SRV suits (A6) and which SMI statuses
(A9). The oracle takes them as an argument (`suits`), so that E11 and E5 are judged against
the table the project chose, and every other step against the sources alone.

The verdict is a small dict: verdict, layer, code, check (the step's name, see STEP_NAMES), clause
keyword, dcc_accepted, effects, and `waived`: the checks MP107 waived on the way (check id -> the
section of the report whose change waived it).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

NETWORK_OPERATOR = {"ED", "GT"}  # [D§1] "Network Operator" means ED or GT
SUPPLIER = {"IS", "ES", "GS"}  # [D§1]
SMETS1, SMETS2 = "SMETS1", "SMETS2"


@dataclass(frozen=True)
class Srv:
    srv: str
    critical: bool
    non_device: bool
    eligible_roles: frozenset[str]
    future_dated: str


def read_matrix(path: Path) -> dict[str, Srv]:
    """[CSV] every SRV of DUIS 5.x, as the DCC's matrix gives it."""
    with path.open(newline="") as f:
        return {r["srv"]: Srv(r["srv"], r["critical"] == "True", r["non_device"] == "True",
                              frozenset(r["eligible_roles"].split()), r["future_dated_pattern"])
                for r in csv.DictReader(f)}


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def mpxn_of(state: dict[str, Any], device_id: str) -> str | None:
    """[D§3][A5] a meter's own MPxN; any other device reaches one through the device it hangs off."""
    seen: set[str] = set()
    d: str | None = device_id
    while d is not None and d not in seen:
        seen.add(d)
        dev = state["devices"][d]
        if dev.get("mpxn") is not None:
            return str(dev["mpxn"])
        d = dev.get("associated_device")
    return None


def registered_throughout(state: dict[str, Any], party: str, role: str, mpxn: str | None,
                          start: datetime, end: datetime) -> bool:
    """[D§4] Registration Data names `party` in `role` for `mpxn` at every instant of [start, end].

    An assignment holds from `from` (included) up to `to` (excluded) [docs/formats.md]; several
    assignments of the same party may chain.
    """
    if mpxn is None:
        return False
    spans = sorted((_t(a["from"]), _t(a["to"]) if a.get("to") else None)
                   for a in state["registration"].get(mpxn, [])
                   if a["party"].upper() == party.upper() and a["role"] == role)
    cur = start
    while True:
        best: datetime | None = None
        open_ended = False
        for f, t in spans:
            if f <= cur and (t is None or t > cur):
                if t is None:
                    open_ended = True
                elif best is None or t > best:
                    best = t
        if open_ended:
            return True
        if best is None:
            return False
        if best > end:
            return True
        cur = best  # `to` is excluded: the instant `best` needs another assignment


def relevant_times(state: dict[str, Any], request: dict[str, Any]) -> tuple[datetime, datetime]:
    """[D§5] SRPD 6.1(f): (i) every time within a requested date range (both ends, A10);
    (ii) else the time for execution; (iii) else the time of the check."""
    dr = request.get("date_range")
    if dr:
        return _t(dr["from"]), _t(dr["to"])
    if request.get("execution_time"):
        t = _t(request["execution_time"])
        return t, t
    now = _t(state["now"])
    return now, now


def eligible_user(state: dict[str, Any], request: dict[str, Any]) -> bool:
    """[D§4] an Eligible User: Registration Data names the sender in its role on the device's MPxN
    at the relevant time(s)."""
    start, end = relevant_times(state, request)
    return registered_throughout(state, request["sender"], request["role"],
                                 mpxn_of(state, _device_key(state, request["device"])), start, end)


def _device_key(state: dict[str, Any], device: str | None) -> str:
    assert device is not None
    for k in state["devices"]:
        if k.upper() == device.upper():
            return str(k)
    raise KeyError(device)


def _has_device(state: dict[str, Any], device: str | None) -> bool:
    return device is not None and any(k.upper() == device.upper() for k in state["devices"])


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.upper() == b.upper()


# The oracle's steps, by DOMAIN.md's name for them, and the check of rules/baseline.redline that
# should carry each (the id is the project's; the mapping is the only thing taken from it).
STEP_NAMES = {
    "E1 DCC User in role": "dcc_user_in_role",
    "E2 role eligible (matrix)": "role_eligible_for_srv",
    "E19 device in SMI": "device_in_smi",
    "E11 device type": "srv_suits_device_type",
    "E5 SMI status": "smi_status_suits_srv",
    "E4 SRPD 6.1(f)": "eligible_user",
    "S1SP certificate owner": "s1sp_certificate_owner",
    "S1SP registration": "s1sp_registration",
    "Device signature": "device_signature",
}
# A word each failing step's clause must contain: the clause the source gives for it.
CLAUSE_WORD = {
    "E1 DCC User in role": "SRPD 6.1", "E2 role eligible (matrix)": "DUIS", "E19 device in SMI": "SRPD 6.1",
    "E11 device type": "SRPD 6.1", "E5 SMI status": "SRPD 6.1", "E4 SRPD 6.1(f)": "SRPD 6.1(f)",
    "S1SP certificate owner": "MP107", "S1SP registration": "MP107", "Device signature": "GBCS",
}


def authorising_cell(srv: str, request: dict[str, Any]) -> str:
    """[D§5][A4] 6.15.1 replacing cell X is signed by the owner of cell X (XByX); any other Critical
    command by the owner of the Supplier cell."""
    if srv == "6.15.1":
        return str(request["remote_party_role"])
    return "Supplier"


def sender_owns(state: dict[str, Any], request: dict[str, Any], cell: str) -> bool:
    dev = state["devices"][_device_key(state, request["device"])]
    return _same((dev.get("trust_anchors") or {}).get(cell), request["sender"])


def oracle(state: dict[str, Any], request: dict[str, Any], matrix: dict[str, Srv],
           suits: dict[str, tuple[frozenset[str], frozenset[str]]], mp107: bool) -> dict[str, Any]:
    """The expected verdict of `request` in `state`, before (mp107=False) or after MP107."""
    srv = matrix[request["srv"]]
    sender = next(p for k, p in state["parties"].items() if _same(k, request["sender"]))
    role = request["role"]

    waived: dict[str, str] = {}

    def reject(step: str, layer: str, code: str | None) -> dict[str, Any]:
        return {"verdict": "reject", "layer": layer, "code": code, "check": STEP_NAMES[step],
                "clause_word": CLAUSE_WORD[step], "dcc_accepted": layer == "Device", "effects": [],
                "waived": dict(waived)}

    # ---- DSP, checks 1-6 in order, first failure rejects [D§5, A1] ----
    if not (sender["dcc_user"] and role in sender["roles"]):
        return reject("E1 DCC User in role", "DSP", "E1")
    if role not in srv.eligible_roles:  # [CSV]; 7.16, 8.5, 8.6 list none [D§2]
        return reject("E2 role eligible (matrix)", "DSP", "E2")
    device_request = not srv.non_device
    if device_request:
        if not _has_device(state, request.get("device")):
            return reject("E19 device in SMI", "DSP", "E19")
        dev = state["devices"][_device_key(state, request["device"])]
        types, statuses = suits[srv.srv]
        if dev["type"] not in types:  # [A6]
            return reject("E11 device type", "DSP", "E11")
        if dev["smi_status"] not in statuses:  # [A9]
            return reject("E5 SMI status", "DSP", "E5")
    generation = dev["generation"] if device_request else None
    # SRPD 6.1(f) [D§5]: Non-Critical, or Critical on SMETS1; never SMETS2 Critical.
    in_scope = (not srv.critical) or generation == SMETS1
    exempt = srv.non_device or role == "OU"  # [A2] 6.2: Non-Device exempt; [A3] OU eligible for any device
    if mp107 and srv.srv == "6.15.1" and role in NETWORK_OPERATOR:  # [MP107 §1]: sender is a NO
        exempt = True
        if in_scope:
            waived["eligible_user"] = "MP107 §1"
    if in_scope and not exempt and not eligible_user(state, request):
        return reject("E4 SRPD 6.1(f)", "DSP", "E4")

    # ---- S1SP: SMETS1 Critical [D§5, MP107 §1] ----
    if srv.critical and generation == SMETS1:
        if not sender_owns(state, request, authorising_cell(srv.srv, request)):  # (a) [A4]
            return reject("S1SP certificate owner", "S1SP", None)
        s1sp_exempt = mp107 and srv.srv == "6.15.1" and request.get("remote_party_role") == "NetworkOperator"  # [MP107 §3]
        if s1sp_exempt:
            waived["s1sp_registration"] = "MP107 §3"
        elif not eligible_user(state, request):  # (b) "like 6.1(f)"
            return reject("S1SP registration", "S1SP", None)

    # ---- Device: SMETS2 Critical [D§5] ----
    if srv.critical and generation == SMETS2 and not sender_owns(state, request, authorising_cell(srv.srv, request)):
        return reject("Device signature", "Device", None)

    # ---- Effects of a request accepted by every layer [D§6] ----
    effects = []
    if srv.srv == "6.15.1":
        effects.append({"device": _device_key(state, request["device"]), "trust_anchor": request["remote_party_role"],
                        "owner": request["new_certificate_owner"]})
    elif srv.srv == "6.23":  # [A8] the Supplier cell becomes the sender's
        effects.append({"device": _device_key(state, request["device"]), "trust_anchor": "Supplier",
                        "owner": request["sender"]})
    return {"verdict": "accept", "layer": None, "code": None, "check": None, "clause_word": None,
            "dcc_accepted": True, "effects": effects, "waived": waived}
