"""A DUIS XML Service Request mapped to redline's REQUEST.json.

What comes from where (DUIS 5.x, `http://www.dccinterface.co.uk/ServiceUserGateway`):

- `sr:Request/@schemaVersion` must be 5.x.
- `sr:Header/sr:RequestID` is `sender:target:counter`. The sender is the
  first Entity Identifier. For a Device SRV the target is the device; for a
  Non-Device SRV (per the catalogue) the target is the DCC, and the device is
  the body's `DeviceID` (or a one-entry `DeviceIDList`) where it names one,
  else null.
- `sr:ServiceReferenceVariant` is the SRV and must be in the catalogue;
  `sr:ServiceReference` must be its Service Reference: the SRV itself or its
  prefix before a last `.N` (checked by that rule, not against the
  catalogue's `service_reference`, which reads `6.2` for 6.20.1 and 6.20.2).
- `sr:CommandVariant` is 1-8 and must suit the SRV: 4-6 for a Critical SRV,
  1-3 or 7 for any other Device SRV, 7 or 8 for a Non-Device SRV.
- `ExecutionDateTime` (a child of the body's request element) is the
  execution time, except DUIS's cancellation marker 3000-12-31T00:00:00Z,
  which cancels a future-dated request and so sets none (the check is then
  made at the time it is carried out).
- `ReadLogPeriod/StartDateTime`..`EndDateTime` is the date range.
- Replacement certificates (`ReplacementCertificates`,
  `SupplierReplacementCertificates`: 6.15.1, 6.21, 6.23, and 8.5's ACB
  certificate) are decoded: every one must carry the same role code and
  owner; the role code must agree with `RemotePartyRole` where the body gives
  one (6.23's are Supplier certificates). The request carries
  `remote_party_role` and `new_certificate_owner` wherever the catalogue says
  the SRV carries a certificate (`carries_certificate`: 6.15.1, 6.21, 6.23,
  8.5), whether or not it replaces a trust anchor; they are also reported
  under `duis.certificate`. A certificate in the body of an SRV the
  catalogue says carries none is reported there only.
- The sender's User Role comes from the signing credential
  (`ds:Signature//ds:X509IssuerSerial`, looked up in the state's
  `signing_certificates`), whose party must be the RequestID's sender; a
  role given on the command line (`--role`) takes its place, and the
  signature is then not looked up (the RTDS templates, for one, all carry
  the same placeholder signature whoever sends them).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from redline.check.checked import carries_certificate
from redline.duis.certs import OrgCertificate, decode_certificate
from redline.duis.errors import DuisError
from redline.ids import is_eui64, normalise
from redline.jsondoc import JsonObject
from redline.signers import signer_key
from redline.suggest import closest_srvs

SR = "http://www.dccinterface.co.uk/ServiceUserGateway"
DS = "http://www.w3.org/2000/09/xmldsig#"
_SR, _DS = f"{{{SR}}}", f"{{{DS}}}"
SCHEMA_VERSION = re.compile("5\\.[0-9]{1,6}")  # ASCII digits only (\d would take any script's), matched whole
# xs:dateTime's lexical form, to the letter (ASCII digits; a zone is required, as DUIS times are UTC).
XS_DATETIME = re.compile("(-?[0-9]{4,})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\\.([0-9]+))?"
                         "(Z|[+-][0-9]{2}:[0-9]{2})")
# Elements that decide a verdict: a second one anywhere in the request (signature wrapping) is refused,
# since what is read could then differ from what a signature check covers.
UNIQUE = (f"{_SR}Header", f"{_SR}Body", f"{_SR}RequestID", f"{_SR}CommandVariant", f"{_SR}ServiceReference",
          f"{_SR}ServiceReferenceVariant", f"{_SR}ExecutionDateTime", f"{_SR}ReadLogPeriod", f"{_DS}Signature",
          f"{_DS}KeyInfo", f"{_DS}X509Data", f"{_DS}X509IssuerSerial", f"{_DS}X509IssuerName", f"{_DS}X509SerialNumber")
CERTIFICATE_WRAPPER = f"{_SR}SupplierOrNetworkOperatorCertificates"
HEADER_FIELDS = ("RequestID", "CommandVariant", "ServiceReference", "ServiceReferenceVariant")
CANCELLATION = datetime(3000, 12, 31, tzinfo=UTC)
CERTIFICATE_SETS = {"ReplacementCertificates": None, "SupplierReplacementCertificates": "Supplier"}
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class Mapped:
    request: JsonObject  # REQUEST.json, as docs/formats.md has it
    duis: JsonObject  # what the XML says beside it: request id, command variant, signer, certificate


def _child(e: ET.Element, tag: str) -> ET.Element | None:
    """The one child with this tag (Element.find would take a namespace's dots for a path); a second is refused."""
    found = [c for c in e if c.tag == tag]
    if len(found) > 1:
        raise DuisError(_qname(e.tag), f"`{_qname(tag)}` appears {len(found)} times; a DUIS request has one")
    return found[0] if found else None


def _qname(tag: str) -> str:
    """`{namespace}Name` as DUIS writes it (`sr:Name`, `ds:Name`)."""
    ns, _, name = tag.rpartition("}")
    prefix = {_SR: "sr:", _DS: "ds:"}.get(ns + "}", "")
    return prefix + name


def _refuse_duplicates(root: ET.Element) -> None:
    for tag in UNIQUE:
        n = sum(1 for _ in root.iter(tag))
        if n > 1:
            raise DuisError(_qname(tag), f"appears {n} times in the request; a DUIS request has at most one "
                            "(with two, what is read could differ from what is signed)")


def _text(e: ET.Element | None, where: str, what: str) -> str:
    if e is None:
        raise DuisError(where, f"missing {what}")
    t = (e.text or "").strip()
    if not t:
        raise DuisError(where, f"{what} is empty")
    if len(t) > MAX_TEXT:
        raise DuisError(where, f"{what} is {len(t):,} characters long; at most {MAX_TEXT} are expected")
    return t


def _time(e: ET.Element, where: str) -> tuple[datetime, str]:
    """(the instant to the second, in UTC; its fraction of a second as written, trailing zeros dropped).

    The lexical form is xs:dateTime's exactly; what a fraction means is for `redline.times` to say."""
    t = _text(e, where, f"`{e.tag.rpartition('}')[2]}`")
    m = XS_DATETIME.fullmatch(t)
    if m is None:
        zone = "" if XS_DATETIME.fullmatch(t + "Z") is None else "; it has no time zone, and DUIS times are given in UTC (`...Z`)"
        raise DuisError(where, f"`{t}` is not an xs:dateTime such as `2026-03-01T12:00:00Z`{zone}")
    year, month, day, hour, minute, second, fraction, zone_text = m.groups()
    try:
        offset = timedelta(0) if zone_text == "Z" else _offset(zone_text)
        end_of_day = hour == "24" and minute == second == "00" and not (fraction or "").strip("0")  # xs:dateTime's 24:00:00
        when = datetime(int(year), int(month), int(day), 0 if end_of_day else int(hour), int(minute), int(second),
                        tzinfo=timezone(offset)) + timedelta(days=end_of_day)
        utc = when.astimezone(UTC)
    except ValueError as e:
        raise DuisError(where, f"`{t}` is not a valid time: {e}") from None
    except OverflowError:
        raise DuisError(where, f"`{t}` is out of range") from None
    if utc.year < 1970:
        raise DuisError(where, f"`{t}` is before 1970")
    return utc, (fraction or "").rstrip("0")


def _offset(text: str) -> timedelta:
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes > 59 or hours * 60 + minutes > 14 * 60:
        raise ValueError("a time zone offset is at most 14:00")
    return (-1 if text[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes)


def _iso(when: tuple[datetime, str]) -> str:
    instant, fraction = when
    return instant.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def _eui(text: str, where: str, what: str) -> str:
    if not is_eui64(text):
        raise DuisError(where, f"{what} `{text}` is not an Entity Identifier of eight hex pairs such as `90-B3-D5-1F-30-01-00-00`")
    return normalise(text)


def map_request(root: ET.Element, catalogue: Mapping[str, Mapping[str, Any]],
                signing_certificates: Mapping[str, tuple[str, str]], role_override: str | None = None) -> Mapped:
    """Map a parsed DUIS request; DuisError naming the element for anything it cannot map."""
    if root.tag != f"{_SR}Request":
        ns, _, name = root.tag.rpartition("}")
        found = f"`{name}` in namespace `{ns.lstrip('{')}`" if ns else f"`{name}` in no namespace"
        raise DuisError("root element", f"expected `Request` in namespace `{SR}` (a DUIS Service Request), found {found}")
    version = root.get("schemaVersion")
    if version is None:
        raise DuisError("sr:Request", "missing attribute `schemaVersion` (DUIS 5.x)")
    if not SCHEMA_VERSION.fullmatch(version):
        shown = version if len(version) <= 20 else version[:20] + "..."
        raise DuisError("sr:Request/@schemaVersion", f"schema version `{shown}` is not supported; redline reads DUIS 5.x")
    _refuse_duplicates(root)
    header = _child(root, f"{_SR}Header")
    if header is None:
        raise DuisError("sr:Request", "missing element `sr:Header`")
    h = {f: _text(_child(header, f"{_SR}{f}"), f"sr:Header/sr:{f}", f"header field `sr:{f}`") for f in HEADER_FIELDS}

    srv = h["ServiceReferenceVariant"]
    row = catalogue.get(srv)
    if row is None:
        raise DuisError("sr:Header/sr:ServiceReferenceVariant", f"SRV `{srv}` is not in the DUIS catalogue{closest_srvs(srv, catalogue)}")
    sref = h["ServiceReference"]
    if (srv != sref and not srv.startswith(sref + ".")) or srv.count(".") - sref.count(".") > 1:
        raise DuisError("sr:Header/sr:ServiceReference", f"Service Reference `{sref}` does not match SRV {srv}: "
                        "an SRV is its Service Reference or that followed by `.N`")
    critical, non_device = bool(row["critical"]), bool(row["non_device"])
    cv = _command_variant(h["CommandVariant"], srv, critical, non_device)

    parts = h["RequestID"].split(":")
    if len(parts) != 3:
        raise DuisError("sr:Header/sr:RequestID", f"`{h['RequestID']}` is not of the form `sender:target:counter`")
    sender = _eui(parts[0], "sr:Header/sr:RequestID", "the sender")
    target = _eui(parts[1], "sr:Header/sr:RequestID", "the target")
    if not parts[2].isdigit() or not parts[2].isascii() or len(parts[2]) > 20 or int(parts[2]) >= 2**64:
        raise DuisError("sr:Header/sr:RequestID", f"the counter `{parts[2]}` is not a whole number below 2^64")

    body = _child(root, f"{_SR}Body")
    if body is None:
        raise DuisError("sr:Request", "missing element `sr:Body`")
    ops = list(body)
    if len(ops) != 1:
        raise DuisError("sr:Body", f"expected one request element in the body, found {len(ops)}")
    op = ops[0]
    op_name = op.tag.rpartition("}")[2]
    op_where = f"sr:Body/sr:{op_name}"

    device = _body_device(op, op_where) if non_device else target
    request: JsonObject = {"sender": sender, "role": None, "srv": srv, "device": device}

    duis: JsonObject = {"request_id": h["RequestID"], "command_variant": cv, "schema_version": version,
                            "service_reference": h["ServiceReference"], "cancellation": False}
    exec_el = _child(op, f"{_SR}ExecutionDateTime")
    if exec_el is None and next(root.iter(f"{_SR}ExecutionDateTime"), None) is not None:
        raise DuisError(f"{op_where}/sr:ExecutionDateTime", "`sr:ExecutionDateTime` is found elsewhere than as a child of "
                        "the body's request element, where DUIS puts it")
    if exec_el is not None:
        when = _time(exec_el, f"{op_where}/sr:ExecutionDateTime")
        if when == (CANCELLATION, ""):
            duis["cancellation"] = True
        else:
            request["execution_time"] = _iso(when)
    period = next(op.iter(f"{_SR}ReadLogPeriod"), None)  # at most one in the request (UNIQUE)
    if period is not None:
        pw = f"{op_where}/sr:ReadLogPeriod"
        start, end = _child(period, f"{_SR}StartDateTime"), _child(period, f"{_SR}EndDateTime")
        if start is None or end is None:
            raise DuisError(pw, "a read log period needs `sr:StartDateTime` and `sr:EndDateTime`")
        request["date_range"] = {"from": _iso(_time(start, f"{pw}/sr:StartDateTime")),
                                 "to": _iso(_time(end, f"{pw}/sr:EndDateTime"))}

    cert = _certificate(root, op, op_where)
    if cert is not None:
        rpr, new_cert = cert
        duis["certificate"] = {"remote_party_role": rpr, "owner": new_cert.owner, "role_code": f"{new_cert.role_code:02X}"}
        if carries_certificate(row):
            request["remote_party_role"], request["new_certificate_owner"] = rpr, new_cert.owner
    elif row.get("replaces_trust_anchor"):
        raise DuisError(op_where, f"SRV {srv} replaces a trust anchor, but the body has no `sr:ReplacementCertificates`")
    elif carries_certificate(row):
        raise DuisError(op_where, f"SRV {srv} carries a certificate, but the body has no `sr:ReplacementCertificates` "
                        "or `sr:SupplierReplacementCertificates`")

    request["role"], duis["signer"], duis["role_from"] = _role(root, sender, signing_certificates, role_override)
    return Mapped(request=request, duis=duis)


def _command_variant(text: str, srv: str, critical: bool, non_device: bool) -> int:
    where = "sr:Header/sr:CommandVariant"
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 8:
        raise DuisError(where, f"Command Variant `{text}` is not one of 1-8")
    cv = int(text)
    if critical and cv not in (4, 5, 6):
        raise DuisError(where, f"Command Variant {cv} does not suit SRV {srv}, a Critical request (4, 5 or 6)")
    if non_device and cv not in (7, 8):
        raise DuisError(where, f"Command Variant {cv} does not suit SRV {srv}, a Non-Device request (7 or 8)")
    if not critical and not non_device and cv not in (1, 2, 3, 7):
        raise DuisError(where, f"Command Variant {cv} does not suit SRV {srv}, a Non-Critical Device request (1, 2, 3 or 7)")
    return cv


def _body_device(op: ET.Element, where: str) -> str | None:
    """The device a Non-Device request's body names, if it names exactly one."""
    direct = _child(op, f"{_SR}DeviceID")
    if direct is not None:
        return _eui(_text(direct, f"{where}/sr:DeviceID", "`sr:DeviceID`"), f"{where}/sr:DeviceID", "the device")
    listed = _child(op, f"{_SR}DeviceIDList")
    if listed is None:
        return None
    lw = f"{where}/sr:DeviceIDList"
    ids = [(c.text or "").strip() for c in listed] if len(listed) else [(listed.text or "").strip()]
    ids = [i for i in ids if i]
    return _eui(ids[0], lw, "the device") if len(ids) == 1 else None


def _certificate(root: ET.Element, op: ET.Element, where: str) -> tuple[str, OrgCertificate] | None:
    """The Remote Party role and the decoded replacement certificate(s), which must agree.

    Certificates are read only where DUIS puts them: a set of replacement certificates is a child of
    the body's request element, and holds certificates, directly or in one
    `sr:SupplierOrNetworkOperatorCertificates`; one anywhere else is refused, not ignored."""
    anywhere = sum(1 for name in CERTIFICATE_SETS for _ in root.iter(f"{_SR}{name}"))
    sets = [(e, CERTIFICATE_SETS[name]) for e in op for name in CERTIFICATE_SETS if e.tag == f"{_SR}{name}"]
    if len(sets) > 1 or anywhere > 1:
        raise DuisError(where, "the request has more than one set of replacement certificates")
    if anywhere > len(sets):
        raise DuisError(where, "replacement certificates are found elsewhere than as a child of the body's request "
                        "element, where DUIS puts them")
    if not sets:
        return None
    holder, implied = sets[0]
    hw = f"{where}/sr:{holder.tag[len(_SR):]}"
    inner = list(holder)
    if len(inner) == 1 and inner[0].tag == CERTIFICATE_WRAPPER:
        inner = list(inner[0])
    leaves = [e for e in inner if len(e) == 0 and e.tag.startswith(_SR) and e.tag.endswith("Certificate")]
    if len(leaves) != len(inner):
        odd = next(e for e in inner if e not in leaves)
        raise DuisError(hw, f"`{_qname(odd.tag)}` is not a certificate: replacement certificates hold certificates "
                        "only, directly or in one `sr:SupplierOrNetworkOperatorCertificates`")
    if not leaves:
        raise DuisError(hw, "no certificate in the replacement certificates")
    certs = [(decode_certificate(e.text, f"{hw}//sr:{e.tag.rpartition('}')[2]}"), e.tag.rpartition("}")[2]) for e in leaves]
    first, first_name = certs[0]
    for c, name in certs[1:]:
        if (c.role_code, c.owner) != (first.role_code, first.owner):
            raise DuisError(hw, f"the replacement certificates disagree: `{first_name}` is role {first.role_code:02X} owned by "
                            f"{first.owner}, `{name}` is role {c.role_code:02X} owned by {c.owner}")
    rpr_els = [c for c in op if c.tag == f"{_SR}RemotePartyRole"]
    if len(rpr_els) > 1:
        raise DuisError(f"{where}/sr:RemotePartyRole", "more than one `RemotePartyRole` beside replacement certificates")
    stated = _text(rpr_els[0], f"{where}/sr:RemotePartyRole", "`sr:RemotePartyRole`") if rpr_els else implied
    if stated is not None and stated != first.remote_party_role:
        source = "`sr:RemotePartyRole`" if rpr_els else f"`sr:{holder.tag[len(_SR):]}`"
        raise DuisError(f"{hw}//sr:{first_name}", f"the certificate's role code {first.role_code:02X} ({first.remote_party_role}) "
                        f"disagrees with {source}, which says `{stated}`")
    return first.remote_party_role, first


def _role(root: ET.Element, sender: str, signing: Mapping[str, tuple[str, str]], override: str | None) -> tuple[str, str | None, str]:
    """(User Role, signer key or None, where the role came from)."""
    serial_el: ET.Element | None = root
    for step in ("Signature", "KeyInfo", "X509Data", "X509IssuerSerial"):
        serial_el = _child(serial_el, f"{_DS}{step}") if serial_el is not None else None
    key = None
    if serial_el is not None:
        sw = "ds:Signature//ds:X509IssuerSerial"
        issuer = _text(_child(serial_el, f"{_DS}X509IssuerName"), f"{sw}/ds:X509IssuerName", "`ds:X509IssuerName`")
        serial = _text(_child(serial_el, f"{_DS}X509SerialNumber"), f"{sw}/ds:X509SerialNumber", "`ds:X509SerialNumber`")
        try:
            key = signer_key(issuer, serial)
        except ValueError as e:
            raise DuisError(sw, str(e)) from None
    if override is not None:  # the command line speaks for the signer: the signature is not looked up
        return override, key, "--role"
    known = signing.get(key) if key is not None else None
    if known is not None:
        if known[0] != sender:
            raise DuisError("ds:Signature", f"the request is signed with `{key}`, the certificate of party {known[0]}, "
                            f"but its RequestID names {sender} as the sender")
        return known[1], key, "signing_certificates"
    if key is None:
        raise DuisError("ds:Signature", "the request names no signing certificate (`ds:X509IssuerSerial`), so the sender's "
                        "User Role is unknown: give it with --role")
    raise DuisError("ds:Signature", f"the signing certificate `{key}` is not in the state's `signing_certificates`, so the "
                    "sender's User Role is unknown: add it there or give --role")
