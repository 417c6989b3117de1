"""Concrete values: STATE.json and REQUEST.json loaded, validated, indexed.

Loading fails closed: a missing or unknown field, a value outside its
vocabulary, a reference to a device that is not there, an invalid time or
an inverted range raises `InputError` naming the JSON path. Only the device
a request targets may be absent from the state: that is the DSP's own E19
check, not an input error.

A party id must be well formed, but need not be listed in `parties`: a party
the state does not list is one that is not a DCC User and holds no User Role,
its declared fields null (`UNLISTED`, and redline.check.checked's "Null
semantics"). The contract's own example names such a party as the new owner
of a certificate; a sender the state does not list is rejected by the DSP's
first check (E1), never accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redline.check import checked as ir
from redline.check.reads import Reads, reads
from redline.check.types import BOOL, DATERANGE, TIME, EnumT, MapT, OptT, RecordT, SetT, Type
from redline.ids import is_eui64, normalise
from redline.jsondoc import JsonObject
from redline.signers import parse_signer_key
from redline.suggest import closest_srvs, did_you_mean
from redline.times import TIME_RE, parse_iso

MAX_ASSOCIATION_DEPTH = 8


class InputError(Exception):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


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


def _obj(v: Any, where: str, required: set[str], optional: set[str] = frozenset()) -> JsonObject:  # type: ignore[assignment]
    if not isinstance(v, dict):
        raise InputError(where, f"expected an object, found {_show(v)}")
    for k in v:
        if k not in required and k not in optional:
            raise InputError(f"{where}.{k}", f"unknown field `{k}`{did_you_mean(k, required | optional)}")
    for k in sorted(required):
        if k not in v:
            raise InputError(where, f"missing field `{k}`")
    return v


def _enum(v: Any, where: str, members: tuple[str, ...], what: str) -> str:
    if not isinstance(v, str) or v not in members:
        raise InputError(where, f"unknown {what} {_show(v)}{did_you_mean(v, members) if isinstance(v, str) else ''}; expected one of {', '.join(members)}")
    return v


def _eui(v: Any, where: str, what: str) -> str:
    if not isinstance(v, str) or not is_eui64(v):
        raise InputError(where, f"{what} must be an Entity Identifier of eight hex pairs such as `90-B3-D5-1F-30-01-00-00`, found {_show(v)}")
    return normalise(v)


@dataclass(frozen=True, slots=True)
class PartyV:
    roles: frozenset[str]
    dcc_user: bool
    ext: Mapping[str, Any] = field(default_factory=dict)  # declared fields present in the JSON


# A party id the state's `parties` does not list: not a DCC User, no User Role, no declared field given.
UNLISTED = PartyV(roles=frozenset(), dcc_user=False, ext={})


@dataclass(frozen=True, slots=True)
class DeviceV:
    type: str
    generation: str
    smi_status: str
    mpxn: str | None  # resolved through associated devices (A5)
    trust_anchors: Mapping[str, str]
    own_mpxn: str | None
    associated_device: str | None
    ext: Mapping[str, Any] = field(default_factory=dict)  # declared fields present in the JSON


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
    relations: Mapping[str, frozenset[tuple[str, ...]]] = field(default_factory=dict)  # the declared relations given
    where: str = "$"


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
    ext: Mapping[str, Any] = field(default_factory=dict)  # declared fields present in the JSON


def load_state(data: Any, program: ir.Program, where: str = "$") -> State:
    enums = program.enums
    declared = program.declared
    party_ext, device_ext = declared.get("Party", {}), declared.get("Device", {})
    top = _obj(data, where, {"now", "parties", "devices", "registration"}, {"signing_certificates", *(["relations"] if program.relations else [])})
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
        b = _obj(body, pw, {"roles", "dcc_user"}, set(party_ext))
        if not isinstance(b["roles"], list):
            raise InputError(f"{pw}.roles", f"expected a list of User Roles, found {_show(b['roles'])}")
        roles = frozenset(_enum(r, f"{pw}.roles[{i}]", roles_enum, "User Role") for i, r in enumerate(b["roles"]))
        if not isinstance(b["dcc_user"], bool):
            raise InputError(f"{pw}.dcc_user", f"expected true or false, found {_show(b['dcc_user'])}")
        parties[key] = PartyV(roles=roles, dcc_user=b["dcc_user"], ext=b)  # declared values are read below
    devices_raw = top["devices"]
    if not isinstance(devices_raw, dict):
        raise InputError(f"{where}.devices", f"expected an object of devices, found {_show(devices_raw)}")
    staged: dict[str, tuple[JsonObject, str]] = {}
    for did, body in devices_raw.items():
        dw = f'{where}.devices["{did}"]'
        key = _eui(did, dw, "a device id")
        if key in staged:
            raise InputError(dw, f"device `{did}` is listed twice (ids compare without regard to case)")
        staged[key] = (_obj(body, dw, {"type", "generation", "smi_status"}, {"mpxn", "associated_device", "trust_anchors", *device_ext}), dw)
    devices: dict[str, DeviceV] = {}
    for did, (b, dw) in staged.items():
        anchors: dict[str, str] = {}
        raw_anchors = b.get("trust_anchors", {}) or {}
        if not isinstance(raw_anchors, dict):
            raise InputError(f"{dw}.trust_anchors", f"expected an object of role: party, found {_show(raw_anchors)}")
        for role, owner in raw_anchors.items():
            aw = f"{dw}.trust_anchors.{role}"
            _enum(role, aw, enums[vocab.cell], vocab.cell)
            if owner is None:
                continue
            anchors[role] = _eui(owner, aw, "a trust anchor owner")  # a party `parties` need not list (UNLISTED)
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
            ext=_declared_values(b, device_ext, dw, program, parties, staged),
        )
    devices = {did: _resolve_mpxn(did, d, devices, where) for did, d in devices.items()}
    parties = {pid: PartyV(p.roles, p.dcc_user, _declared_values(p.ext, party_ext, f'{where}.parties["{pid}"]', program, parties, staged))
               for pid, p in parties.items()}
    relations = _relations(top.get("relations"), program, parties, devices, f"{where}.relations")
    registration = _registration(top["registration"], program, f"{where}.registration")
    signers = _signing_certificates(top.get("signing_certificates", {}), roles_enum, f"{where}.signing_certificates")
    return State(now=now, parties=parties, devices=devices, registration=registration, raw=data, signing_certificates=signers,
                 relations=relations, where=where)


def _declared_values(body: Mapping[str, Any], fields: Mapping[str, Type], where: str, program: ir.Program,
                     parties: Mapping[str, Any], devices: Mapping[str, Any]) -> JsonObject:
    """The declared fields of one record, type-checked; an absent optional field is null, an absent
    required one stays absent (the rule sets that read it refuse the state in `load_request`)."""
    out: JsonObject = {}
    for name, t in fields.items():
        if name in body:
            out[name] = declared_value(body[name], t, f"{where}.{name}", program, parties, devices)
        elif isinstance(t, OptT):
            out[name] = None
    return out


def declared_value(v: Any, t: Type, where: str, program: ir.Program, parties: Mapping[str, Any], devices: Mapping[str, Any]) -> Any:
    """A JSON value of a declared type, as the interpreter holds values of that type."""
    if isinstance(t, OptT):
        return None if v is None else declared_value(v, t.inner, where, program, parties, devices)
    if isinstance(t, EnumT):
        return _enum(v, where, program.enums[t.name], t.name)
    if isinstance(t, SetT):
        if not isinstance(v, list):
            raise InputError(where, f"expected a list of {t.elem.name}, found {_show(v)}")
        return frozenset(_enum(x, f"{where}[{i}]", program.enums[t.elem.name], t.elem.name) for i, x in enumerate(v))
    if isinstance(t, MapT):
        if not isinstance(v, dict):
            raise InputError(where, f"expected an object of {t.key.name}: value, found {_show(v)}")
        return {_enum(k, f"{where}.{k}", program.enums[t.key.name], t.key.name):
                declared_value(x, t.value, f"{where}.{k}", program, parties, devices) for k, x in v.items()}
    if t == RecordT("Party"):
        return _eui(v, where, "a party id")  # a party `parties` need not list (UNLISTED)
    if t == RecordT("Device"):
        ident = _eui(v, where, "a device id")
        if ident not in devices:
            raise InputError(where, f"device `{v}` is not in `devices`")
        return ident
    if t == BOOL:
        if not isinstance(v, bool):
            raise InputError(where, f"expected true or false, found {_show(v)}")
        return v
    if t == TIME:
        return parse_time(v, where)
    if t == DATERANGE:
        r = _obj(v, where, {"from", "to"})
        lo, hi = parse_time(r["from"], f"{where}.from"), parse_time(r["to"], f"{where}.to")
        if hi < lo:
            raise InputError(where, f"inverted date range: `to` ({r['to']}) is before `from` ({r['from']})")
        return (lo, hi)
    if not isinstance(v, str) or not v.strip():
        raise InputError(where, f"expected a non-empty string, found {_show(v)}")
    return v


def _relations(raw: Any, program: ir.Program, parties: Mapping[str, Any], devices: Mapping[str, Any], where: str) -> dict[str, frozenset[tuple[str, ...]]]:
    """`{"joined": [["id1", "id2"], ...]}`: the tuples of each declared relation; every device id must be listed
    (a party id need not be: UNLISTED)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(where, f"expected an object of relation: list of tuples, found {_show(raw)}")
    out: dict[str, frozenset[tuple[str, ...]]] = {}
    for name, tuples in raw.items():
        rw = f"{where}.{name}"
        kinds = program.relations.get(name)
        if kinds is None:
            raise InputError(rw, f"unknown relation `{name}`{did_you_mean(name, program.relations)}; no loaded rule file declares it")
        if not isinstance(tuples, list):
            raise InputError(rw, f"expected a list of [{', '.join(kinds)}] tuples, found {_show(tuples)}")
        got = set()
        for i, tup in enumerate(tuples):
            if not isinstance(tup, list) or len(tup) != len(kinds):
                raise InputError(f"{rw}[{i}]", f"expected [{', '.join(kinds)}], found {_show(tup)}")
            got.add(tuple(declared_value(x, RecordT(k), f"{rw}[{i}][{j}]", program, parties, devices) for j, (k, x) in enumerate(zip(kinds, tup, strict=True))))
        out[name] = frozenset(got)
    return out


_READS: dict[int, tuple[ir.RuleSet, Reads]] = {}


def declared_reads(program: ir.Program, rs: ir.RuleSet) -> Reads:
    """What declared data `rs` reads (`reads`), computed once per rule set."""
    hit = _READS.get(id(rs))
    if hit is None or hit[0] is not rs:
        hit = (rs, reads(program, rs))
        _READS[id(rs)] = hit
    return hit[1]


def require_declared(state: State, request: Request, program: ir.Program, rs: ir.RuleSet, where: str) -> None:
    """A rule set that reads a declared field or relation needs it given (an optional field may be null)."""
    r = declared_reads(program, rs)
    if not r.fields and not r.relations:
        return
    sw = state.where
    for name in sorted(r.relations):
        if name not in state.relations:
            raise InputError(f"{sw}.relations", f"missing relation `{name}`: rule set `{rs.name}` reads it (give [] if no tuple holds)")
    for name in sorted(r.field_names("Device")):
        for did, d in state.devices.items():
            if name not in d.ext:
                raise InputError(f'{sw}.devices["{did}"]', f"missing declared field `{name}`: rule set `{rs.name}` reads it")
    for name in sorted(r.field_names("Party")):
        for pid, p in state.parties.items():
            if name not in p.ext:
                raise InputError(f'{sw}.parties["{pid}"]', f"missing declared field `{name}`: rule set `{rs.name}` reads it")
    for name in sorted(r.field_names("Request")):
        if name not in request.ext:
            raise InputError(where, f"missing declared field `{name}`: rule set `{rs.name}` reads it")


def _signing_certificates(raw: Any, roles: tuple[str, ...], where: str) -> dict[str, tuple[str, str]]:
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
        pid = _eui(b["party"], f"{kw}.party", "a party id")  # a party `parties` need not list (UNLISTED)
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
    return DeviceV(d.type, d.generation, d.smi_status, cur.own_mpxn, d.trust_anchors, d.own_mpxn, d.associated_device, d.ext)


def _registration(raw: Any, program: ir.Program, where: str) -> dict[tuple[str, str], tuple[Assignment, ...]]:
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
            pid = _eui(b["party"], f"{aw}.party", "a party id")  # Registration Data may name a party `parties` does not list
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
    request_ext = program.declared.get("Request", {})
    b = _obj(data, where, {"sender", "role", "srv"}, {"device", "remote_party_role", "new_certificate_owner", "execution_time", "date_range", *request_ext})
    sender = _eui(b["sender"], f"{where}.sender", "the sender")  # unlisted: no DCC User, so E1 rejects it (UNLISTED)
    role = _enum(b["role"], f"{where}.role", program.roles(), "User Role")
    srv = b["srv"]
    if not isinstance(srv, str):
        raise InputError(f"{where}.srv", f"expected an SRV string such as \"6.15.1\", found {_show(srv)}")
    if srv not in ruleset.catalogue:
        raise InputError(f"{where}.srv", f"SRV {_show(srv)} is not in the DUIS catalogue{closest_srvs(srv, ruleset.catalogue)}")
    row = ruleset.catalogue[srv]
    device_id = _eui(b["device"], f"{where}.device", "the device") if b.get("device") is not None else None
    rpr, owner = b.get("remote_party_role"), b.get("new_certificate_owner")
    # docs/formats.md: required where the SRV replaces a trust anchor; where it only carries a certificate
    # (6.23, 6.21, 8.5) they may be given, both or neither; absent for every other SRV.
    if row.get("replaces_trust_anchor") or (ir.carries_certificate(row) and (rpr is not None or owner is not None)):
        if rpr is None or owner is None:
            raise InputError(where, f"SRV {srv} replaces a trust anchor: give `remote_party_role` and `new_certificate_owner`"
                             if row.get("replaces_trust_anchor") else
                             f"SRV {srv} carries a certificate: give both `remote_party_role` and `new_certificate_owner`, or neither")
        rpr = _enum(rpr, f"{where}.remote_party_role", program.cells(), program.vocab.cell)
        owner = _eui(owner, f"{where}.new_certificate_owner", "the new certificate owner")  # need not be listed (UNLISTED)
    elif rpr is not None or owner is not None:
        raise InputError(where, f"SRV {srv} carries no certificate: `remote_party_role` and `new_certificate_owner` must be absent")
    exec_time = parse_time(b["execution_time"], f"{where}.execution_time") if b.get("execution_time") is not None else None
    rng = None
    if b.get("date_range") is not None:
        r = _obj(b["date_range"], f"{where}.date_range", {"from", "to"})
        lo, hi = parse_time(r["from"], f"{where}.date_range.from"), parse_time(r["to"], f"{where}.date_range.to")
        if hi < lo:
            raise InputError(f"{where}.date_range", f"inverted date range: `to` ({r['to']}) is before `from` ({r['from']})")
        rng = (lo, hi)
    request = Request(
        sender=sender, role=role, srv=srv, device_id=device_id,
        device=device_id if device_id in state.devices else None,
        remote_party_role=rpr, new_certificate_owner=owner,
        execution_time=exec_time, date_range=rng, raw=data,
        ext=_declared_values(b, request_ext, where, program, state.parties, state.devices),
    )
    require_declared(state, request, program, ruleset, where)
    return request
