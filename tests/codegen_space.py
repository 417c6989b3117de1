"""The finite space the generated validators are checked over exhaustively.

Every combination of SRV (all of the catalogue), User Role, device type,
generation and, for SRVs that replace a trust anchor, target cell; with
every pattern of the relations the rules look at:

- the sender is or is not a DCC User, and does or does not hold the role;
- the device is in the SMI, is not (E19), or is not given;
- its SMI status is one every Device SRV allows (Commissioned), one only
  commissioning SRVs allow (Pending), or one no SRV allows (Withdrawn), so
  `smi_status in srv.smi_statuses` is both true and false for every SRV
  whose set is neither empty nor full;
- the sender owns no trust anchor cell, the Supplier cell, the Network
  Operator cell, both, or every cell (so owning the authorising cell is
  true and false for every target);
- the sender is or is not registered in its role at the device's MPxN
  throughout the relevant times, each of 6.1(f)'s three time cases: the
  time of the check, an execution time, a date range.

One state holds, for each of the 28 senders (7 roles x DCC User x holds
the role), a device of the state's type, generation and status with that
sender's trust anchor pattern and registration; requests vary the SRV,
sender, time case and target. Requests on an unknown or absent device are
only sent in the first state (the state cannot matter to them beyond the
sender). Nothing here is random.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import product
from typing import Any

from redline.check.checked import carries_certificate

STATUSES = ("Commissioned", "Pending", "Withdrawn")
ANCHOR_PATTERNS = ("none", "Supplier", "NetworkOperator", "both", "all")
TIME_CASES = ("now", "execution_time", "date_range")
T_REG, T_NOW, T_LATER, T_END = "2020-01-01T00:00:00Z", "2026-03-01T12:00:00Z", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"
T_EXEC = "2026-06-01T00:00:00Z"
OTHER = "90-B3-D5-1F-30-FF-00-00"  # owns every cell the sender does not, and is every new owner
UNKNOWN_DEVICE = "00-DB-FF-FF-FF-FF-FF-FF"


def party_id(i: int) -> str:
    return f"90-B3-D5-1F-30-{i:02X}-00-00"


def device_id(i: int) -> str:
    return f"00-DB-00-00-00-00-00-{i:02X}"


def senders(roles: Sequence[str]) -> list[tuple[str, str, bool, bool]]:
    """(party id, role, DCC User?, holds the role?) for every pattern."""
    out = []
    for n, (role, dcc, holds) in enumerate(product(roles, (True, False), (True, False)), 1):
        out.append((party_id(n), role, dcc, holds))
    return out


def state_keys(enums: Mapping[str, Sequence[str]]) -> list[tuple[str, str, str, str, bool]]:
    return list(product(enums["DeviceType"], enums["Generation"], STATUSES, ANCHOR_PATTERNS, (True, False)))


def make_state(key: tuple[str, str, str, str, bool], enums: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    dtype, generation, status, anchors, registered = key
    cells = list(enums["RemotePartyRole"])
    parties: dict[str, Any] = {OTHER: {"roles": [], "dcc_user": True}}
    devices: dict[str, Any] = {}
    registration: dict[str, Any] = {}
    for n, (pid, role, dcc, holds) in enumerate(senders(enums["UserRole"]), 1):
        parties[pid] = {"roles": [role] if holds else [r for r in enums["UserRole"] if r != role][:2], "dcc_user": dcc}
        owned = {"none": (), "Supplier": ("Supplier",), "NetworkOperator": ("NetworkOperator",),
                 "both": ("Supplier", "NetworkOperator"), "all": tuple(cells)}[anchors]
        mpxn = f"19{n:011d}"
        devices[device_id(n)] = {"type": dtype, "generation": generation, "smi_status": status, "mpxn": mpxn,
                                 "trust_anchors": {c: pid if c in owned else OTHER for c in cells}}
        if role != "OU":  # OU is not a registration role; its eligibility is an exception (A3)
            # Registered at every relevant time, or only from later on.
            registration[mpxn] = [{"role": role, "party": pid, "from": T_REG if registered else T_LATER, "to": T_END}]
    return {"now": T_NOW, "parties": parties, "devices": devices, "registration": registration}


def requests(catalogue: Mapping[str, Mapping[str, Any]], enums: Mapping[str, Sequence[str]],
             first_state: bool) -> Iterator[dict[str, Any]]:
    cells = list(enums["RemotePartyRole"])
    for srv, row in catalogue.items():
        # where the SRV only carries a certificate (6.23), REQUEST.json may also leave it out
        targets: list[str | None] = (list(cells) + ([] if row.get("replaces_trust_anchor") else [None])
                                     if carries_certificate(row) else [None])
        for n, (pid, role, _, _) in enumerate(senders(enums["UserRole"]), 1):
            devices: list[str | None] = [device_id(n)] + ([UNKNOWN_DEVICE, None] if first_state else [])
            # A certificate carried without replacing a cell (6.23) is also the sender's own: rules about it compare owners.
            owners = [OTHER] if row.get("replaces_trust_anchor") or not carries_certificate(row) else [OTHER, pid]
            for device, case, target, owner in product(devices, TIME_CASES, targets, owners):
                q: dict[str, Any] = {"sender": pid, "role": role, "srv": srv, "device": device}
                if target is not None:
                    q["remote_party_role"], q["new_certificate_owner"] = target, owner
                if case == "execution_time":
                    q["execution_time"] = T_EXEC
                elif case == "date_range":
                    q["date_range"] = {"from": T_REG, "to": T_NOW}  # from the first instant of the registration
                yield q


def space(catalogue: Mapping[str, Mapping[str, Any]], enums: Mapping[str, Sequence[str]],
          relations: Sequence[str] = ()) -> Iterator[tuple[dict[str, Any], Iterator[dict[str, Any]]]]:
    """(state, its requests) for every state pattern; each declared relation is given, holding no tuple."""
    for i, key in enumerate(state_keys(enums)):
        state = make_state(key, enums)
        state["relations"] = {name: [] for name in relations}
        yield state, requests(catalogue, enums, i == 0)
