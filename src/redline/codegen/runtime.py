"""The fixed part of every generated validator, copied into it verbatim.

Everything after the EMBED marker below is standard library only and is
pasted, unchanged, into each module `redline codegen` writes; the generator
then appends the rule set's own tables, check functions and per-SRV plans,
which assign the placeholders declared here (RULESET, ENUMS, SRVS, CHECKS).
Keeping this text in a real module means ruff and mypy check it, and the
tests can import it.

The loaders below are a port of redline.interp.values, message for message,
so that the generated validator fails closed on exactly the inputs the
interpreter rejects, with the same text (the codegen tests hold them to
that on a corpus of malformed inputs). `validate_prepared` first tries a
fast path that only accepts what it can prove well-formed with a few dict
lookups; anything else goes through the faithful loader, which raises the
interpreter's error or yields the same values.
"""

from __future__ import annotations

# ---- EMBED: everything below is copied into generated modules ----
import binascii  # noqa: F401  (binascii and lru_cache: used by the spliced signers part)
import difflib
import re
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from functools import lru_cache  # noqa: F401
from typing import Any, TypeVar

# The oldest Python this module runs on (it is tested with ast.parse at that version, ruff and mypy).
PYTHON_FLOOR = (3, 9)
if sys.version_info < PYTHON_FLOOR:
    raise ImportError(f"this generated validator needs Python {PYTHON_FLOOR[0]}.{PYTHON_FLOOR[1]} or later;"
                      f" this is Python {sys.version.split()[0]}")

# A JSON document: STATE.json, REQUEST.json, a verdict. The name redline gives it (redline/jsondoc.py),
# repeated here because a generated module imports nothing of redline.
JsonObject = dict[str, Any]

# The public API; everything else may change when the module is generated again.
__all__ = ["CHECKS", "RULESET", "InputError", "Prepared", "prepare", "validate", "validate_prepared"]

# Both matched whole (fullmatch: `$` would also allow a final newline), in ASCII digits only.
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")
EUI64 = re.compile(r"[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}")
MAX_ASSOCIATION_DEPTH = 8
# Times are microseconds since the epoch, UTC, as in redline.times: fractions of a second are kept.
MAX_FRACTION_DIGITS = 6
SECOND = 1_000_000
EPOCH, MICROSECOND = datetime(1970, 1, 1), timedelta(microseconds=1)
EPOCH_UTC = datetime(1970, 1, 1, tzinfo=timezone.utc)  # noqa: UP017 (datetime.UTC is Python 3.11 and later)
# Microseconds in each valid two-digit hour, minute and second of a time.
HOURS = {f"{h:02}": 3600 * SECOND * h for h in range(24)}
MINUTES = {f"{m:02}": 60 * SECOND * m for m in range(60)}
SECONDS = {f"{s:02}": SECOND * s for s in range(60)}
MAX_CACHED = 1 << 16  # a prepared state remembers this many parsed times and device spellings, then stops adding

# Trace outcomes as the plans record them: four bits per check, in check order.
PASS, FAIL, SKIP, WAIVED = 0, 1, 2, 3  # WAIVED + j: waived by the check's j-th exception
SLOT_BITS = 4


class InputError(ValueError):
    """A malformed STATE or REQUEST: `where` is the JSON path, as the interpreter reports it."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


# ---- read-only verdicts --------------------------------------------------------
# Verdicts are shared between calls (one per outcome path, built on first use),
# which is what makes a request cost a few dict lookups. They are dict and list
# subclasses that refuse mutation; copy.copy / copy.deepcopy give plain ones.

def _read_only(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError("verdicts are shared and read-only: copy.deepcopy(verdict) gives a mutable copy")


class ReadOnlyDict(JsonObject):
    __slots__ = ()
    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __copy__(self) -> JsonObject:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> JsonObject:
        return {k: _thaw(v) for k, v in self.items()}

    def __reduce__(self) -> Any:
        return (dict, (_thaw(self),))


class ReadOnlyList(list[Any]):
    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return [_thaw(v) for v in self]

    def __reduce__(self) -> Any:
        return (list, (_thaw(self),))


def _thaw(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _thaw(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_thaw(x) for x in v]
    return v


# ---- the prepared state ---------------------------------------------------------

class Party:
    __slots__ = ("roles", "dcc_user", "ext")

    def __init__(self, roles: frozenset[str], dcc_user: bool, ext: JsonObject | None = None) -> None:
        self.roles, self.dcc_user = roles, dcc_user
        self.ext = NO_EXT if ext is None else ext  # declared fields (DECLARED) given in the JSON


# A party id the state's `parties` does not list: not a DCC User, no User Role, no declared field given
# (redline.interp.values.UNLISTED).
UNLISTED = Party(frozenset(), False, {})


class Device:
    __slots__ = ("type", "generation", "smi_status", "mpxn", "trust_anchors", "ext")

    def __init__(self, type: str, generation: str, smi_status: str, mpxn: str | None,
                 trust_anchors: dict[str, str], ext: JsonObject | None = None) -> None:
        self.type, self.generation, self.smi_status = type, generation, smi_status
        self.mpxn, self.trust_anchors = mpxn, trust_anchors
        self.ext = NO_EXT if ext is None else ext  # declared fields (DECLARED) given in the JSON


class Prepared:
    """A STATE checked and indexed once, for many requests. Do not change it after `prepare`."""

    __slots__ = ("now", "parties", "devices", "registration", "cover", "days", "aliases", "raw", "relations", "missing")

    def __init__(self, now: int, parties: dict[str, Party], devices: dict[str, Device],
                 registration: dict[tuple[str, str], tuple[tuple[str, int, int | None], ...]], raw: Any) -> None:
        self.now, self.parties, self.devices, self.registration, self.raw = now, parties, devices, registration, raw
        # (mpxn, role, party) -> that party's assignments merged into disjoint spans, so that
        # "registered throughout [lo, hi]" is one lookup and (usually) one comparison.
        cover: dict[tuple[str, str, str], list[tuple[int, int | None]]] = {}
        for (mpxn, role), items in registration.items():
            for party, start, end in items:  # sorted by start
                spans = cover.setdefault((mpxn, role, party), [])
                last = spans[-1] if spans else None
                if last is not None and (last[1] is None or start <= last[1]):
                    if last[1] is not None and (end is None or end > last[1]):
                        spans[-1] = (last[0], end)
                else:
                    spans.append((start, end))
        self.cover = {k: tuple(v) for k, v in cover.items()}
        # Memos of the request loader, so that repeated spellings take the fast path:
        # the days of times that parsed (see _time), and device ids the SMI does
        # not hold under that spelling (another case, or not at all) -> the device's id, or
        # None for "not in the SMI".
        self.days: dict[str, int] = {}
        self.aliases: dict[str, str | None] = {}
        # The declared relations given, and the first declared datum this rule set reads that the state
        # lacks, as (where, message): raised when a request is judged, as the interpreter does.
        self.relations: dict[str, frozenset[tuple[str, ...]]] = {}
        self.missing: tuple[str, str] | None = None


# ---- the placeholders the generated part assigns ----------------------------------

RULESET = ""
ENUMS: dict[str, tuple[str, ...]] = {}
VOCAB: dict[str, str] = {}  # part (role, cell, device_type, generation, smi_status) -> its enum
# the declared invariants on states: (form, name, clause, the User Roles it is about)
INVARIANTS: tuple[tuple[str, str, str, frozenset[str]], ...] = ()
USER_ROLES: frozenset[str] = frozenset()
REMOTE_PARTY_ROLES: frozenset[str] = frozenset()
CARRYING: frozenset[str] = frozenset()  # SRVs whose requests carry a certificate, whether or not they replace a cell
# check name, layer, code, clause; then (clause, origin) of each exception, in order
CHECKS: tuple[tuple[str, str, str | None, str, tuple[tuple[str, str], ...]], ...] = ()
Plan = Callable[..., JsonObject]
SRVS: dict[str, tuple[Any, Plan]] = {}  # SRV -> (its catalogue row, its plan)
# Declared fields (docs/formats.md "Declared fields"): record -> field -> type, a type being
# ("bool",), ("time",), ("range",), ("text",), ("enum", E), ("set", E), ("map", E, type),
# ("ref", "Party" | "Device") or ("opt", type); relation -> the records it relates; and what
# this rule set reads: ((record, field), ...) and (relation, ...).
DECLARED: dict[str, dict[str, tuple[Any, ...]]] = {}
RELATIONS: dict[str, tuple[str, ...]] = {}
READS_FIELDS: tuple[tuple[str, str], ...] = ()
READS_RELATIONS: tuple[str, ...] = ()
NO_EXT: JsonObject = {}
REQUEST_NULLS: JsonObject = {}  # the declared Request fields a request of the fast path's shape leaves null
FAST_PATH_NEEDS_MORE = False  # this rule set reads a declared Request field that may not be null


# ---- loading, failing closed (a port of redline.interp.values) -----------------------

def _hint(value: str, options: Any) -> str:
    found = _closest(str(value), options)
    return ("; did you mean " + " or ".join(f"`{f}`" for f in found) + "?") if found else ""


def _closest(name: str, candidates: Any, n: int = 3) -> list[str]:  # as redline.suggest.closest
    cands = [str(c) for c in candidates]
    found = difflib.get_close_matches(name, cands, n=n, cutoff=0.6)
    if not found:
        lowered = {c.lower(): c for c in cands}
        found = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)]
    return found


def _show(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f"`{v}`" if len(v) < 60 else f"`{v[:57]}...`"
    return type(v).__name__ if not isinstance(v, (int, float)) else str(v)


def _parse_iso(text: str) -> int:
    if TIME_RE.fullmatch(text) is None:
        raise ValueError(f"not an ISO 8601 UTC time: {text!r}")
    head, _, frac = text[:-1].partition(".")
    if len(frac) > MAX_FRACTION_DIGITS:
        raise ValueError(f"more than {MAX_FRACTION_DIGITS} digits after the decimal point"
                         " (times are kept to the microsecond)")
    when = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)  # noqa: UP017
    return (when - EPOCH_UTC) // MICROSECOND + int(frac.ljust(MAX_FRACTION_DIGITS, "0"))


def parse_time(value: Any, where: str) -> int:
    if not isinstance(value, str) or TIME_RE.fullmatch(value) is None:
        raise InputError(where, f"expected an ISO 8601 UTC time such as `2026-03-01T12:00:00Z`, found {_show(value)}")
    frac = value[20:-1]
    # The common case, 4x faster than strptime; anything odd takes the interpreter's way below.
    if len(frac) <= MAX_FRACTION_DIGITS:
        try:
            whole = (datetime.fromisoformat(value[:19]) - EPOCH) // MICROSECOND
            return whole + int(frac.ljust(MAX_FRACTION_DIGITS, "0"))
        except ValueError:
            pass
    try:
        return _parse_iso(value)
    except ValueError as e:
        raise InputError(where, f"invalid time `{value}`: {e}") from None


def _time(p: Prepared, value: Any, where: str) -> int:
    """`parse_time`, quicker for a whole-second time `YYYY-MM-DDTHH:MM:SSZ`: its day, from a
    memo of days seen in times that parsed, plus its clock, from tables of the valid
    hours, minutes and seconds. Anything else, or a new day, takes `parse_time`."""
    if type(value) is str and len(value) == 20 and value[13] == ":" and value[16] == ":" and value[19] == "Z":
        day = p.days.get(value[:11])
        if day is not None:
            h, m, s = HOURS.get(value[11:13]), MINUTES.get(value[14:16]), SECONDS.get(value[17:19])
            if h is not None and m is not None and s is not None:
                return day + h + m + s
    t = parse_time(value, where)
    if len(value) == 20 and value.isascii() and len(p.days) < MAX_CACHED:
        p.days[value[:11]] = t - HOURS[value[11:13]] - MINUTES[value[14:16]] - SECONDS[value[17:19]]
    return t


def _device_alias(p: Prepared, raw: Any) -> str | None:
    """A request's device id that the SMI does not hold under that spelling: the id it
    means (another case), or None when the SMI does not hold it at all (E19, not bad input)."""
    if type(raw) is str and raw in p.aliases:
        return p.aliases[raw]
    did = _eui(raw, "$.device", "the device")
    out = did if did in p.devices else None
    if len(p.aliases) < MAX_CACHED:
        p.aliases[raw] = out
    return out


def _obj(v: Any, where: str, required: frozenset[str], optional: frozenset[str] = frozenset()) -> JsonObject:
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
        hint = _hint(v, members) if isinstance(v, str) else ""
        raise InputError(where, f"unknown {what} {_show(v)}{hint}; expected one of {', '.join(members)}")
    return v


def _eui(v: Any, where: str, what: str) -> str:
    if not isinstance(v, str) or EUI64.fullmatch(v) is None:
        raise InputError(where, f"{what} must be an Entity Identifier of eight hex pairs"
                                f" such as `90-B3-D5-1F-30-01-00-00`, found {_show(v)}")
    return v.upper()


# ---- signing certificates: redline.signers, spliced in here when a module is generated -------
# STATE.json's `signing_certificates` are not used here (a DUIS request is the
# interpreter's to map), but a state the interpreter refuses is refused here too. In runtime.py
# this is an import of redline.signers; in a generated module it is signers.py's own text
# (codegen/module.py `SIGNERS_LINE`), so there is one reader of RFC 4514 names, never a port.
from redline.signers import parse_signer_key  # noqa: E402, I001



def prepare(data: Any, where: str = "$") -> Prepared:
    """Check STATE.json (failing closed, like the interpreter) and index it for many requests."""
    party_ext, device_ext = DECLARED.get("Party", {}), DECLARED.get("Device", {})
    top = _obj(data, where, frozenset({"now", "parties", "devices", "registration"}),
               frozenset({"signing_certificates", *(("relations",) if RELATIONS else ())}))
    now = parse_time(top["now"], f"{where}.now")
    roles_enum = ENUMS[VOCAB["role"]]
    parties_raw = top["parties"]
    if not isinstance(parties_raw, dict):
        raise InputError(f"{where}.parties", f"expected an object of parties, found {_show(parties_raw)}")
    parties: dict[str, Party] = {}
    for pid, body in parties_raw.items():
        pw = f'{where}.parties["{pid}"]'
        key = _eui(pid, pw, "a party id")
        if key in parties:
            raise InputError(pw, f"party `{pid}` is listed twice (ids compare without regard to case)")
        b = _obj(body, pw, frozenset({"roles", "dcc_user"}), frozenset(party_ext))
        if not isinstance(b["roles"], list):
            raise InputError(f"{pw}.roles", f"expected a list of User Roles, found {_show(b['roles'])}")
        roles = frozenset(_enum(r, f"{pw}.roles[{i}]", roles_enum, "User Role") for i, r in enumerate(b["roles"]))
        if not isinstance(b["dcc_user"], bool):
            raise InputError(f"{pw}.dcc_user", f"expected true or false, found {_show(b['dcc_user'])}")
        parties[key] = Party(roles, b["dcc_user"], b)  # declared values are read below
    devices_raw = top["devices"]
    if not isinstance(devices_raw, dict):
        raise InputError(f"{where}.devices", f"expected an object of devices, found {_show(devices_raw)}")
    staged: dict[str, tuple[JsonObject, str]] = {}
    for did, body in devices_raw.items():
        dw = f'{where}.devices["{did}"]'
        key = _eui(did, dw, "a device id")
        if key in staged:
            raise InputError(dw, f"device `{did}` is listed twice (ids compare without regard to case)")
        staged[key] = (_obj(body, dw, frozenset({"type", "generation", "smi_status"}),
                            frozenset({"mpxn", "associated_device", "trust_anchors", *device_ext})), dw)
    loaded: dict[str, tuple[Device, str | None, str | None]] = {}  # id -> (device, own mpxn, associated device)
    for did, (b, dw) in staged.items():
        anchors: dict[str, str] = {}
        raw_anchors = b.get("trust_anchors", {}) or {}
        if not isinstance(raw_anchors, dict):
            raise InputError(f"{dw}.trust_anchors", f"expected an object of role: party, found {_show(raw_anchors)}")
        for role, owner in raw_anchors.items():
            aw = f"{dw}.trust_anchors.{role}"
            _enum(role, aw, ENUMS[VOCAB["cell"]], VOCAB["cell"])
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
        device = Device(
            _enum(b["type"], f"{dw}.type", ENUMS[VOCAB["device_type"]], "device type"),
            _enum(b["generation"], f"{dw}.generation", ENUMS[VOCAB["generation"]], "generation"),
            _enum(b["smi_status"], f"{dw}.smi_status", ENUMS[VOCAB["smi_status"]], "SMI status"),
            None, anchors,
        )
        if device_ext:
            device.ext = _declared_values(b, device_ext, dw, parties, staged)
        loaded[did] = (device, b.get("mpxn"), assoc)
    devices: dict[str, Device] = {}
    for did, (device, own, _) in loaded.items():
        # A5: a device that is not a meter reaches an MPxN through what it is associated with.
        cur, seen = did, [did]
        while own is None:
            nxt = loaded[cur][2]
            assert nxt is not None
            if nxt in seen or len(seen) > MAX_ASSOCIATION_DEPTH:
                raise InputError(f'{where}.devices["{did}"].associated_device',
                                 "associations form a cycle or are too deep: " + " -> ".join([*seen, nxt]))
            seen.append(nxt)
            cur, own = nxt, loaded[nxt][1]
        device.mpxn = own
        devices[did] = device
    for pid, party in parties.items():
        party.ext = (_declared_values(party.ext, party_ext, f'{where}.parties["{pid}"]', parties, staged)
                     if party_ext else NO_EXT)
    relations = _relations(top.get("relations"), parties, devices, f"{where}.relations")
    registration = _registration(top["registration"], f"{where}.registration")
    _signing_certificates(top.get("signing_certificates", {}), roles_enum, f"{where}.signing_certificates")
    prepared = Prepared(now, parties, devices, registration, data)
    prepared.relations = relations
    prepared.missing = _missing(prepared, where)
    return prepared


def _declared_values(body: Mapping[str, Any], fields: Mapping[str, tuple[Any, ...]], where: str,
                     parties: Mapping[str, Any], devices: Mapping[str, Any]) -> JsonObject:
    out: JsonObject = {}
    for name, t in fields.items():
        if name in body:
            out[name] = _declared(body[name], t, f"{where}.{name}", parties, devices)
        elif t[0] == "opt":
            out[name] = None
    return out


def _declared(v: Any, t: tuple[Any, ...], where: str, parties: Mapping[str, Any], devices: Mapping[str, Any]) -> Any:
    """A JSON value of a declared type (a port of redline.interp.values.declared_value)."""
    kind = t[0]
    if kind == "opt":
        return None if v is None else _declared(v, t[1], where, parties, devices)
    if kind == "enum":
        return _enum(v, where, ENUMS[t[1]], t[1])
    if kind == "set":
        if not isinstance(v, list):
            raise InputError(where, f"expected a list of {t[1]}, found {_show(v)}")
        return frozenset(_enum(x, f"{where}[{i}]", ENUMS[t[1]], t[1]) for i, x in enumerate(v))
    if kind == "map":
        if not isinstance(v, dict):
            raise InputError(where, f"expected an object of {t[1]}: value, found {_show(v)}")
        return {_enum(k, f"{where}.{k}", ENUMS[t[1]], t[1]): _declared(x, t[2], f"{where}.{k}", parties, devices)
                for k, x in v.items()}
    if kind == "ref":
        if t[1] == "Party":
            return _eui(v, where, "a party id")  # a party `parties` need not list (UNLISTED)
        ident = _eui(v, where, "a device id")
        if ident not in devices:
            raise InputError(where, f"device `{v}` is not in `devices`")
        return ident
    if kind == "bool":
        if not isinstance(v, bool):
            raise InputError(where, f"expected true or false, found {_show(v)}")
        return v
    if kind == "time":
        return parse_time(v, where)
    if kind == "range":
        r = _obj(v, where, frozenset({"from", "to"}))
        lo, hi = parse_time(r["from"], f"{where}.from"), parse_time(r["to"], f"{where}.to")
        if hi < lo:
            raise InputError(where, f"inverted date range: `to` ({r['to']}) is before `from` ({r['from']})")
        return (lo, hi)
    if not isinstance(v, str) or not v.strip():
        raise InputError(where, f"expected a non-empty string, found {_show(v)}")
    return v


def _relations(
    raw: Any, parties: Mapping[str, Any], devices: Mapping[str, Any], where: str,
) -> dict[str, frozenset[tuple[str, ...]]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(where, f"expected an object of relation: list of tuples, found {_show(raw)}")
    out: dict[str, frozenset[tuple[str, ...]]] = {}
    for name, tuples in raw.items():
        rw = f"{where}.{name}"
        kinds = RELATIONS.get(name)
        if kinds is None:
            raise InputError(rw, f"unknown relation `{name}`{_hint(name, RELATIONS)}; no loaded rule file declares it")
        if not isinstance(tuples, list):
            raise InputError(rw, f"expected a list of [{', '.join(kinds)}] tuples, found {_show(tuples)}")
        got = set()
        for i, tup in enumerate(tuples):
            if not isinstance(tup, list) or len(tup) != len(kinds):
                raise InputError(f"{rw}[{i}]", f"expected [{', '.join(kinds)}], found {_show(tup)}")
            got.add(tuple(_declared(tup[j], ("ref", k), f"{rw}[{i}][{j}]", parties, devices)
                          for j, k in enumerate(kinds)))
        out[name] = frozenset(got)
    return out


def _missing(p: Prepared, where: str) -> tuple[str, str] | None:
    """The first declared datum this rule set reads that the state lacks (redline.interp.values.require_declared)."""
    for name in sorted(READS_RELATIONS):
        if name not in p.relations:
            return (f"{where}.relations",
                    f"missing relation `{name}`: rule set `{RULESET}` reads it (give [] if no tuple holds)")
    for record, table in (("Device", p.devices), ("Party", p.parties)):
        for name in sorted(n for r, n in READS_FIELDS if r == record):
            for ident, x in table.items():
                if name not in x.ext:
                    kind = "devices" if record == "Device" else "parties"
                    return (f'{where}.{kind}["{ident}"]',
                            f"missing declared field `{name}`: rule set `{RULESET}` reads it")
    return None


def _signing_certificates(raw: Any, roles: tuple[str, ...], where: str) -> None:
    if not isinstance(raw, dict):
        raise InputError(where, f"expected an object of \"<issuer name>|<serial>\": {{party, role}},"
                                f" found {_show(raw)}")
    seen: set[str] = set()
    for key, body in raw.items():
        kw = f'{where}["{key}"]'
        try:
            canon = parse_signer_key(key)
        except ValueError as e:
            raise InputError(kw, str(e)) from None
        if canon in seen:
            raise InputError(kw, f"the certificate `{canon}` is listed twice"
                                 " (issuer names and serials are compared normalised)")
        seen.add(canon)
        b = _obj(body, kw, frozenset({"party", "role"}))
        _eui(b["party"], f"{kw}.party", "a party id")  # a party `parties` need not list (UNLISTED)
        _enum(b["role"], f"{kw}.role", roles, "User Role")


def _registration(raw: Any, where: str) -> dict[tuple[str, str], tuple[tuple[str, int, int | None], ...]]:
    if not isinstance(raw, dict):
        raise InputError(where, f"expected an object of MPxN: assignments, found {_show(raw)}")
    out: dict[tuple[str, str], list[tuple[str, int, int | None]]] = {}
    paths: dict[int, tuple[str, str]] = {}  # id(assignment) -> its JSON path and `from`, for an invariant's message
    never = {r: (name, cite) for form, name, cite, roles in INVARIANTS if form == "never_registered" for r in roles}
    reg_roles = tuple(r for r in ENUMS[VOCAB["role"]] if r not in never)
    for mpxn, items in raw.items():
        mw = f'{where}["{mpxn}"]'
        if not isinstance(items, list):
            raise InputError(mw, f"expected a list of assignments, found {_show(items)}")
        for i, a in enumerate(items):
            aw = f"{mw}[{i}]"
            b = _obj(a, aw, frozenset({"role", "party", "from"}), frozenset({"to"}))
            if isinstance(b["role"], str) and b["role"] in never:
                name, cite = never[b["role"]]
                raise InputError(f"{aw}.role",
                                 f"`{b['role']}` is never in Registration Data: invariant `{name}` ({cite})")
            role = _enum(b["role"], f"{aw}.role", reg_roles, "registration role")
            # Registration Data may name a party `parties` does not list
            pid = _eui(b["party"], f"{aw}.party", "a party id")
            start = parse_time(b["from"], f"{aw}.from")
            end = parse_time(b["to"], f"{aw}.to") if b.get("to") is not None else None
            if end is not None and end <= start:
                raise InputError(aw, f"`to` ({b['to']}) must be after `from` ({b['from']})")
            assignment = (pid, start, end)
            paths[id(assignment)] = (aw, b["from"])
            out.setdefault((mpxn, role), []).append(assignment)
    done = {k: tuple(sorted(v, key=lambda x: x[1])) for k, v in out.items()}
    for form, name, cite, roles in INVARIANTS:
        if form != "one_registered":
            continue
        for (_, role), assignments in done.items():
            if role not in roles:
                continue
            for i, (a_party, _, a_end) in enumerate(assignments):
                for later in assignments[i + 1:]:
                    if a_end is not None and a_end <= later[1]:
                        break  # this one, and every later one, starts after assignment i ends
                    if a_party != later[0]:
                        (bw, b_from), (aw, _) = paths[id(later)], paths[id(assignments[i])]
                        raise InputError(bw, f"party `{later[0]}` and party `{a_party}` ({aw}) are both registered "
                                             f"in this role for this MPxN at {b_from}: invariant `{name}` ({cite})")
    return done


REQUEST_REQUIRED = frozenset({"sender", "role", "srv"})
REQUEST_OPTIONAL = frozenset({"device", "remote_party_role", "new_certificate_owner", "execution_time", "date_range"})
REQUEST_FIELDS = REQUEST_REQUIRED | REQUEST_OPTIONAL
# The fields the fast path reads from every request, and the nulls a sender may leave out of them.
OMITTED_NULLS = {"device": None, "execution_time": None, "date_range": None}


def _load_request(p: Prepared, data: Any, where: str = "$") -> tuple[Any, ...]:
    """The faithful loader: the interpreter's checks in the interpreter's order."""
    request_ext = DECLARED.get("Request", {})
    b = _obj(data, where, REQUEST_REQUIRED, REQUEST_OPTIONAL | frozenset(request_ext))
    sender = _eui(b["sender"], f"{where}.sender", "the sender")  # unlisted: no DCC User, so E1 rejects it (UNLISTED)
    role = _enum(b["role"], f"{where}.role", ENUMS[VOCAB["role"]], "User Role")
    srv = b["srv"]
    if not isinstance(srv, str):
        raise InputError(f"{where}.srv", f"expected an SRV string such as \"6.15.1\", found {_show(srv)}")
    if srv not in SRVS:
        near = _closest(str(srv), SRVS, n=3)
        hint = ("; the closest SRVs are " + ", ".join(f"`{c}`" for c in near)) if near else ""
        raise InputError(f"{where}.srv", f"SRV {_show(srv)} is not in the DUIS catalogue{hint}")
    row, plan = SRVS[srv]
    device = _eui(b["device"], f"{where}.device", "the device") if b.get("device") is not None else None
    rpr, owner = b.get("remote_party_role"), b.get("new_certificate_owner")
    if row.replaces_trust_anchor or (srv in CARRYING and (rpr is not None or owner is not None)):
        if rpr is None or owner is None:
            raise InputError(where, f"SRV {srv} replaces a trust anchor: give `remote_party_role` and"
                                    " `new_certificate_owner`" if row.replaces_trust_anchor else
                             f"SRV {srv} carries a certificate: give both `remote_party_role` and"
                             " `new_certificate_owner`, or neither")
        rpr = _enum(rpr, f"{where}.remote_party_role", ENUMS[VOCAB["cell"]], VOCAB["cell"])
        # the owner need not be listed (UNLISTED)
        owner = _eui(owner, f"{where}.new_certificate_owner", "the new certificate owner")
    elif rpr is not None or owner is not None:
        raise InputError(where, f"SRV {srv} carries no certificate:"
                                " `remote_party_role` and `new_certificate_owner` must be absent")
    exec_time = None
    if b.get("execution_time") is not None:
        exec_time = _time(p, b["execution_time"], f"{where}.execution_time")
    rng = None
    if b.get("date_range") is not None:
        r = _obj(b["date_range"], f"{where}.date_range", frozenset({"from", "to"}))
        lo, hi = _time(p, r["from"], f"{where}.date_range.from"), _time(p, r["to"], f"{where}.date_range.to")
        if hi < lo:
            raise InputError(f"{where}.date_range",
                             f"inverted date range: `to` ({r['to']}) is before `from` ({r['from']})")
        rng = (lo, hi)
    dev = p.devices.get(device) if device is not None else None
    rx = _declared_values(b, request_ext, where, p.parties, p.devices) if request_ext else NO_EXT
    if p.missing is not None:
        raise InputError(*p.missing)
    for name in sorted(n for r, n in READS_FIELDS if r == "Request"):
        if name not in rx:
            raise InputError(where, f"missing declared field `{name}`: rule set `{RULESET}` reads it")
    return (plan, p, sender, p.parties.get(sender, UNLISTED), role, srv, row, device if dev is not None else None, dev,
            rpr, owner, exec_time, rng, rx)


def validate_prepared(p: Prepared, request: Any) -> JsonObject:
    """The verdict for one REQUEST (a dict as json.load gives it) in a prepared state.

    The fast path takes a request of the contract's shape (docs/formats.md: every
    field given, null where unused, so that its size alone shows there is no
    unknown field) whose values a handful of lookups show to be well formed
    (ids spelt as the state spells them). It raises InputError itself only
    where the loader would raise the same error at the same point (a device
    id, a time). Anything else goes to `_validate_other`.
    """
    try:
        if type(request) is dict and p.missing is None and not FAST_PATH_NEEDS_MORE:
            sender = request["sender"]
            role = request["role"]
            row, plan = SRVS[request["srv"]]
            sp = p.parties[sender]  # a sender the state does not list (or spells otherwise) takes the loader's way
            if role in USER_ROLES:
                device = request["device"]
                exec_time = request["execution_time"]
                rng = request["date_range"]
                if row.srv in CARRYING:
                    rpr = request["remote_party_role"]
                    owner = request["new_certificate_owner"]
                    if len(request) != 8 or rpr not in REMOTE_PARTY_ROLES or owner not in p.parties:
                        raise KeyError  # an owner the state does not list: the loader checks how it is spelt
                elif len(request) != 6:
                    raise KeyError
                else:
                    rpr = owner = None
                dev = None
                if device is not None:
                    dev = p.devices.get(device)
                    if dev is None:  # another spelling, or not in the SMI (E19), or not an id (InputError)
                        device = _device_alias(p, device)
                        if device is not None:
                            dev = p.devices[device]
                if exec_time is not None:
                    exec_time = _time(p, exec_time, "$.execution_time")
                if rng is not None:
                    if type(rng) is not dict or len(rng) != 2 or "from" not in rng or "to" not in rng:
                        raise KeyError  # the loader names the unknown or missing field
                    lo, hi = _time(p, rng["from"], "$.date_range.from"), _time(p, rng["to"], "$.date_range.to")
                    if hi < lo:
                        raise KeyError
                    rng = (lo, hi)
                return plan(p, sender, sp, role, row.srv, row, device, dev, rpr, owner, exec_time, rng, REQUEST_NULLS)
    except (KeyError, TypeError):
        pass
    return _validate_other(p, request)


def _validate_other(p: Prepared, request: Any) -> JsonObject:
    """A request off the fast path: nulls left out are filled in and the fast path tried
    again; anything else goes through the faithful loader, which raises InputError or agrees."""
    if type(request) is dict and not request.keys() >= OMITTED_NULLS.keys() and request.keys() <= REQUEST_FIELDS:
        return validate_prepared(p, {**OMITTED_NULLS, **request})
    args = _load_request(p, request)
    return args[0](*args[1:])  # type: ignore[no-any-return]


def validate(state: Any, request: Any) -> JsonObject:
    """`validate_prepared(prepare(state), request)`: for one-off use; a service prepares once."""
    return validate_prepared(prepare(state), request)


# ---- what the plans call ---------------------------------------------------------

def _throughout(p: Prepared, party: Any, role: Any, mpxn: Any, times: Any) -> bool:
    """`registered(party, role, mpxn) throughout times`: every instant of a time or closed range."""
    if times is None or party is None or mpxn is None:
        return False
    lo, hi = times if type(times) is tuple else (times, times)
    for start, end in p.cover.get((mpxn, role, party), ()):
        if start <= lo:
            if end is None or end > hi:
                return True
        else:
            return False
    return False


_V = TypeVar("_V")


def _index(m: Mapping[Any, _V] | None, k: Any) -> _V | None:
    return None if m is None else m.get(k)


def _member(x: Any, c: Any) -> bool:
    return x is not None and x in (c or ())


def _set(items: tuple[Any, ...]) -> frozenset[Any]:
    return frozenset(v for v in items if v is not None)


def _party_field(p: Prepared, pid: Any, name: str) -> Any:
    if pid is None:
        return None
    party = p.parties.get(pid, UNLISTED)  # a party the state does not list: no DCC User, no role
    return getattr(party, name) if name in ("roles", "dcc_user") else party.ext.get(name)


def _device_field(p: Prepared, did: Any, name: str) -> Any:
    device = p.devices.get(did) if did is not None else None
    return None if device is None else getattr(device, name) if name in BUILTIN_DEVICE_FIELDS else device.ext.get(name)


BUILTIN_DEVICE_FIELDS = ("type", "generation", "smi_status", "mpxn", "trust_anchors")


def _related(p: Prepared, name: str, args: tuple[Any, ...]) -> bool:
    """A declared relation holds of these ids (false where any is null)."""
    return None not in args and args in p.relations.get(name, ())


def _service_field(srv: Any, name: str) -> Any:
    entry = SRVS.get(srv)
    return None if entry is None else getattr(entry[0], name)


def _bound(rng: tuple[int, int] | None, i: int) -> int | None:
    return None if rng is None else rng[i]


class _Verdicts(dict[int, JsonObject]):
    """Outcome key -> the shared verdict, built the first time a path is taken."""

    def __missing__(self, key: int) -> JsonObject:
        trace, failed = [], None
        for i, (name, layer, code, clause, exceptions) in enumerate(CHECKS):
            outcome = (key >> (SLOT_BITS * i)) & ((1 << SLOT_BITS) - 1)
            if outcome == FAIL:
                trace.append(ReadOnlyDict(check=name, layer=layer, outcome="fail", clause=clause))
                failed = (name, layer, code, clause)
                break
            if outcome >= WAIVED:
                cite, origin = exceptions[outcome - WAIVED]
                trace.append(ReadOnlyDict(check=name, layer=layer, outcome="skipped", clause=cite, waived_by=origin))
            else:
                shown = "pass" if outcome == PASS else "skipped"
                trace.append(ReadOnlyDict(check=name, layer=layer, outcome=shown, clause=clause))
        v = ReadOnlyDict(
            ruleset=RULESET,
            verdict="accept" if failed is None else "reject",
            layer=failed[1] if failed else None,
            code=failed[2] if failed else None,
            check=failed[0] if failed else None,
            clause=failed[3] if failed else None,
            # The S1SP is a DCC system too: only the device can reject what the DCC accepted.
            dcc_accepted=failed is None or failed[1] == "Device",
            effects=ReadOnlyList(),
            trace=ReadOnlyList(trace),
        )
        self[key] = v
        return v


VERDICTS = _Verdicts()


def _with_effects(v: JsonObject, effects: list[tuple[str, str, str]]) -> JsonObject:
    """An accept whose effects name this request's device and owner: a fresh verdict sharing the trace."""
    out = ReadOnlyDict(v)
    made = ReadOnlyList(ReadOnlyDict(device=d, trust_anchor=c, owner=o) for d, c, o in effects)
    dict.__setitem__(out, "effects", made)
    return out
