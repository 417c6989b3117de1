"""Concrete values: STATE.json and REQUEST.json loaded, validated, indexed.

Loading fails closed: a missing or unknown field, a value outside its
vocabulary, a reference to a party or device that is not there, an invalid
time or an inverted range raises `InputError` naming the JSON path. Only
the device a request targets may be absent from the state: that is the
DSP's own E19 check, not an input error.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redline.check import checked as ir
from redline.diagnostics import closest
from redline.ids import is_eui64, normalise
from redline.signers import parse_signer_key
from redline.times import TIME_RE, parse_iso

MAX_ASSOCIATION_DEPTH = 8


class InputError(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def _hint(value: str, options: Any) -> str:
    found = difflib.get_close_matches(str(value), [str(o) for o in options], n=2, cutoff=0.5)
    return ("; did you mean " + " or ".join(f"`{f}`" for f in found) + "?") if found else ""


def parse_time(value: Any, where: str) -> int:
    """A time in microseconds (redline.times)."""
    if not isinstance(value, str) or TIME_RE.fullmatch(value) is None:
        raise InputError(where, f"expected an ISO 8601 UTC time such as `2026-03-01T12:00:00Z`, found {_show(value)}")
    try:
        return parse_iso(value)
    except ValueError as e:
        raise InputError(where, f"invalid time `{value}`: {e}") from None


def _show(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f"`{v}`" if len(v) < 60 else f"`{v[:57]}...`"
    return type(v).__name__ if not isinstance(v, (int, float)) else str(v)


def _obj(v: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    if not isinstance(v, dict):
        raise InputError(where, f"expected an object, found {_show(v)}")
    for k in v:
        if k not in required and k not in optional:
            raise InputError(f"{where}.{k}", f"unknown field `{k}`{_hint(k, required | optional)}")
    for k in sorted(required):
        if k not in v:
            raise InputError(where, f"missing field `{k}`")
    return v


def _enum(v: Any, where: str, members: tuple[str, ...], what: str) -> str:
    if not isinstance(v, str) or v not in members:
        raise InputError(where, f"unknown {what} {_show(v)}{_hint(v, members) if isinstance(v, str) else ''}; expected one of {', '.join(members)}")
    return v


def _eui(v: Any, where: str, what: str) -> str:
    if not isinstance(v, str) or not is_eui64(v):
        raise InputError(where, f"{what} must be an Entity Identifier of eight hex pairs such as `90-B3-D5-1F-30-01-00-00`, found {_show(v)}")
    return normalise(v)


@dataclass(frozen=True, slots=True)
class PartyV:
    roles: frozenset[str]
    dcc_user: bool


@dataclass(frozen=True, slots=True)
class DeviceV:
    type: str
    generation: str
    smi_status: str
    mpxn: str | None  # resolved through associated devices (A5)
    trust_anchors: Mapping[str, str]
    own_mpxn: str | None
    associated_device: str | None


@dataclass(frozen=True, slots=True)
class Assignment:
    party: str
    start: int
    end: int | None


@dataclass(frozen=True, slots=True)
class State:
    now: int
    parties: Mapping[str, PartyV]
    devices: Mapping[str, DeviceV]
    registration: Mapping[tuple[str, str], tuple[Assignment, ...]]  # (mpxn, role) -> assignments
    raw: Mapping[str, Any]
    # "<issuer>|<serial>" (canonical, see redline.signers) -> (party, User Role) of a signing certificate
    signing_certificates: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Request:
    sender: str
    role: str
    srv: str
    device_id: str | None
    device: str | None  # the id if the SMI knows the device, else None
    remote_party_role: str | None
    new_certificate_owner: str | None
    execution_time: int | None
    date_range: tuple[int, int] | None
    raw: Mapping[str, Any]


def load_state(data: Any, program: ir.Program, where: str = "$") -> State:
    enums = program.enums
    top = _obj(data, where, {"now", "parties", "devices", "registration"}, {"signing_certificates"})
    now = parse_time(top["now"], f"{where}.now")
    vocab = program.vocab
    roles_enum = enums[vocab.role]
    parties_raw = top["parties"]
    if not isinstance(parties_raw, dict):
        raise InputError(f"{where}.parties", f"expected an object of parties, found {_show(parties_raw)}")
    parties: dict[str, PartyV] = {}
    for pid, body in parties_raw.items():
        pw = f'{where}.parties["{pid}"]'
        key = _eui(pid, pw, "a party id")
        if key in parties:
            raise InputError(pw, f"party `{pid}` is listed twice (ids compare without regard to case)")
        b = _obj(body, pw, {"roles", "dcc_user"})
        if not isinstance(b["roles"], list):
            raise InputError(f"{pw}.roles", f"expected a list of User Roles, found {_show(b['roles'])}")
        roles = frozenset(_enum(r, f"{pw}.roles[{i}]", roles_enum, "User Role") for i, r in enumerate(b["roles"]))
        if not isinstance(b["dcc_user"], bool):
            raise InputError(f"{pw}.dcc_user", f"expected true or false, found {_show(b['dcc_user'])}")
        parties[key] = PartyV(roles=roles, dcc_user=b["dcc_user"])
    devices_raw = top["devices"]
    if not isinstance(devices_raw, dict):
        raise InputError(f"{where}.devices", f"expected an object of devices, found {_show(devices_raw)}")
    staged: dict[str, tuple[dict[str, Any], str]] = {}
    for did, body in devices_raw.items():
        dw = f'{where}.devices["{did}"]'
        key = _eui(did, dw, "a device id")
        if key in staged:
            raise InputError(dw, f"device `{did}` is listed twice (ids compare without regard to case)")
        staged[key] = (_obj(body, dw, {"type", "generation", "smi_status"}, {"mpxn", "associated_device", "trust_anchors"}), dw)
    devices: dict[str, DeviceV] = {}
    for did, (b, dw) in staged.items():
        anchors: dict[str, str] = {}
        raw_anchors = b.get("trust_anchors", {}) or {}
        if not isinstance(raw_anchors, dict):
            raise InputError(f"{dw}.trust_anchors", f"expected an object of role: party, found {_show(raw_anchors)}")
        for role, owner in raw_anchors.items():
            aw = f"{dw}.trust_anchors.{role}"
            _enum(role, aw, enums[vocab.cell], "RemotePartyRole")
            if owner is None:
                continue
            oid = _eui(owner, aw, "a trust anchor owner")
            if oid not in parties:
                raise InputError(aw, f"owner `{owner}` is not in `parties`")
            anchors[role] = oid
        has_mpxn, has_assoc = b.get("mpxn") is not None, b.get("associated_device") is not None
        if has_mpxn == has_assoc:
            raise InputError(dw, "give exactly one of `mpxn` (a meter) and `associated_device` (any other device)")
        if has_mpxn and not (isinstance(b["mpxn"], str) and b["mpxn"].strip()):
            raise InputError(f"{dw}.mpxn", f"expected an MPAN or MPRN string, found {_show(b['mpxn'])}")
        assoc = _eui(b["associated_device"], f"{dw}.associated_device", "an associated device") if has_assoc else None
        if assoc is not None and assoc not in staged:
            raise InputError(f"{dw}.associated_device", f"device `{b['associated_device']}` is not in `devices`")
        devices[did] = DeviceV(
            type=_enum(b["type"], f"{dw}.type", enums[vocab.device_type], "device type"),
            generation=_enum(b["generation"], f"{dw}.generation", enums[vocab.generation], "generation"),
            smi_status=_enum(b["smi_status"], f"{dw}.smi_status", enums[vocab.smi_status], "SMI status"),
            mpxn=None, trust_anchors=anchors, own_mpxn=b.get("mpxn"), associated_device=assoc,
        )
    devices = {did: _resolve_mpxn(did, d, devices, where) for did, d in devices.items()}
    registration = _registration(top["registration"], parties, program, f"{where}.registration")
    signers = _signing_certificates(top.get("signing_certificates", {}), parties, roles_enum, f"{where}.signing_certificates")
    return State(now=now, parties=parties, devices=devices, registration=registration, raw=data, signing_certificates=signers)


def _signing_certificates(raw: Any, parties: Mapping[str, PartyV], roles: tuple[str, ...], where: str) -> dict[str, tuple[str, str]]:
    """`{"<issuer name>|<serial>": {"party": ID, "role": ROLE}}`: whose certificate signs, in which User Role."""
    if not isinstance(raw, dict):
        raise InputError(where, f"expected an object of \"<issuer name>|<serial>\": {{party, role}}, found {_show(raw)}")
    out: dict[str, tuple[str, str]] = {}
    for key, body in raw.items():
        kw = f'{where}["{key}"]'
        try:
            canon = parse_signer_key(key)
        except ValueError as e:
            raise InputError(kw, str(e)) from None
        if canon in out:
            raise InputError(kw, f"the certificate `{canon}` is listed twice (issuer names and serials are compared normalised)")
        b = _obj(body, kw, {"party", "role"})
        pid = _eui(b["party"], f"{kw}.party", "a party id")
        if pid not in parties:
            raise InputError(f"{kw}.party", f"party `{b['party']}` is not in `parties`")
        out[canon] = (pid, _enum(b["role"], f"{kw}.role", roles, "User Role"))
    return out


def _resolve_mpxn(did: str, d: DeviceV, devices: dict[str, DeviceV], where: str) -> DeviceV:
    cur, seen = d, [did]
    while cur.own_mpxn is None:
        nxt = cur.associated_device
        assert nxt is not None
        if nxt in seen or len(seen) > MAX_ASSOCIATION_DEPTH:
            raise InputError(f'{where}.devices["{did}"].associated_device', "associations form a cycle or are too deep: " + " -> ".join([*seen, nxt]))
        seen.append(nxt)
        cur = devices[nxt]
    return DeviceV(d.type, d.generation, d.smi_status, cur.own_mpxn, d.trust_anchors, d.own_mpxn, d.associated_device)


def _registration(raw: Any, parties: Mapping[str, PartyV], program: ir.Program, where: str) -> dict[tuple[str, str], tuple[Assignment, ...]]:
    if not isinstance(raw, dict):
        raise InputError(where, f"expected an object of MPxN: assignments, found {_show(raw)}")
    out: dict[tuple[str, str], list[Assignment]] = {}
    paths: dict[int, tuple[str, str]] = {}  # id(assignment) -> its JSON path and `from`, for an invariant's message
    reg_roles = program.registration_roles()
    never = {r: inv for inv in program.invariants if inv.form == "never_registered" for r in inv.roles}
    for mpxn, items in raw.items():
        mw = f'{where}["{mpxn}"]'
        if not isinstance(items, list):
            raise InputError(mw, f"expected a list of assignments, found {_show(items)}")
        for i, a in enumerate(items):
            aw = f"{mw}[{i}]"
            b = _obj(a, aw, {"role", "party", "from"}, {"to"})
            if isinstance(b["role"], str) and b["role"] in never:
                inv = never[b["role"]]
                raise InputError(f"{aw}.role", f"`{b['role']}` is never in Registration Data: invariant `{inv.name}` ({inv.cite})")
            role = _enum(b["role"], f"{aw}.role", reg_roles, "registration role")
            pid = _eui(b["party"], f"{aw}.party", "a party id")
            if pid not in parties:
                raise InputError(f"{aw}.party", f"party `{b['party']}` is not in `parties`")
            start = parse_time(b["from"], f"{aw}.from")
            end = parse_time(b["to"], f"{aw}.to") if b.get("to") is not None else None
            if end is not None and end <= start:
                raise InputError(aw, f"`to` ({b['to']}) must be after `from` ({b['from']})")
            assignment = Assignment(pid, start, end)
            paths[id(assignment)] = (aw, b["from"])
            out.setdefault((mpxn, role), []).append(assignment)
    done = {k: tuple(sorted(v, key=lambda x: x.start)) for k, v in out.items()}
    for inv in program.invariants:
        if inv.form == "one_registered":
            for (_, role), assignments in done.items():
                if role in inv.roles:
                    _one_at_a_time(assignments, paths, inv)
    return done


def _one_at_a_time(assignments: tuple[Assignment, ...], paths: Mapping[int, tuple[str, str]], inv: ir.Invariant) -> None:
    """Two parties whose assignments (sorted by start) overlap break a `one_registered` invariant."""
    for i, a in enumerate(assignments):
        for b in assignments[i + 1:]:
            if a.end is not None and a.end <= b.start:
                break  # b, and every later one, starts after a ends
            if a.party != b.party:
                (bw, b_from), (aw, _) = paths[id(b)], paths[id(a)]
                raise InputError(bw, f"party `{b.party}` and party `{a.party}` ({aw}) are both registered in this role "
                                     f"for this MPxN at {b_from}: invariant `{inv.name}` ({inv.cite})")


def load_request(data: Any, state: State, program: ir.Program, ruleset: ir.RuleSet, where: str = "$") -> Request:
    b = _obj(data, where, {"sender", "role", "srv"}, {"device", "remote_party_role", "new_certificate_owner", "execution_time", "date_range"})
    sender = _eui(b["sender"], f"{where}.sender", "the sender")
    if sender not in state.parties:
        raise InputError(f"{where}.sender", f"party `{b['sender']}` is not in the state's `parties` (list a former User with \"dcc_user\": false)")
    role = _enum(b["role"], f"{where}.role", program.roles(), "User Role")
    srv = b["srv"]
    if not isinstance(srv, str):
        raise InputError(f"{where}.srv", f"expected an SRV string such as \"6.15.1\", found {_show(srv)}")
    if srv not in ruleset.catalogue:
        near = closest(str(srv), ruleset.catalogue, n=3)
        hint = ("; the closest SRVs are " + ", ".join(f"`{c}`" for c in near)) if near else ""
        raise InputError(f"{where}.srv", f"SRV {_show(srv)} is not in the DUIS catalogue{hint}")
    row = ruleset.catalogue[srv]
    device_id = _eui(b["device"], f"{where}.device", "the device") if b.get("device") is not None else None
    rpr, owner = b.get("remote_party_role"), b.get("new_certificate_owner")
    if row.get("replaces_trust_anchor"):
        if rpr is None or owner is None:
            raise InputError(where, f"SRV {srv} replaces a trust anchor: give `remote_party_role` and `new_certificate_owner`")
        rpr = _enum(rpr, f"{where}.remote_party_role", program.cells(), "RemotePartyRole")
        owner = _eui(owner, f"{where}.new_certificate_owner", "the new certificate owner")
        if owner not in state.parties:
            raise InputError(f"{where}.new_certificate_owner", f"party `{b['new_certificate_owner']}` is not in the state's `parties`")
    elif rpr is not None or owner is not None:
        raise InputError(where, f"SRV {srv} does not replace a trust anchor: `remote_party_role` and `new_certificate_owner` must be absent")
    exec_time = parse_time(b["execution_time"], f"{where}.execution_time") if b.get("execution_time") is not None else None
    rng = None
    if b.get("date_range") is not None:
        r = _obj(b["date_range"], f"{where}.date_range", {"from", "to"})
        lo, hi = parse_time(r["from"], f"{where}.date_range.from"), parse_time(r["to"], f"{where}.date_range.to")
        if hi < lo:
            raise InputError(f"{where}.date_range", f"inverted date range: `to` ({r['to']}) is before `from` ({r['from']})")
        rng = (lo, hi)
    return Request(
        sender=sender, role=role, srv=srv, device_id=device_id,
        device=device_id if device_id in state.devices else None,
        remote_party_role=rpr, new_certificate_owner=owner,
        execution_time=exec_time, date_range=rng, raw=data,
    )
