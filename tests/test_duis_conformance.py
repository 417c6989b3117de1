"""Conformance: every DUIS request of the DCC's Reference Test Data Set, and every SRV of the catalogue.

The RTDS templates live in ../shared/duis-rtds/ beside the repository (never
copied into it); the test is skipped, saying so, where that is absent. For
each file a state is built from what the file says, the same way for every
file: the sender holds the first eligible User Role of the SRV (from the
catalogue), is registered for it and owns the cells that authorise it, the
target device is of a type and SMI status the SRV suits, and the file's
signing certificate (`X509IssuerName|X509SerialNumber`, as written) maps to
the sender in that role. The expected SRV, sender, device and certificate
owner are read from the file independently of the adapter (regular
expressions over the text, and `cryptography` for the certificate).
Every request must then map and be accepted, except where the catalogue
lists no eligible role for its SRV (E2).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from duis_support import make_cert
from redline import cli
from redline.check.checked import Program, carries_certificate
from redline.cli import main
from redline.loading import load_program, repo_rules

RTDS = Path(__file__).resolve().parents[2] / "shared" / "duis-rtds"
FILES = sorted(RTDS.glob("*.XML")) if RTDS.is_dir() else []
PARTY_DCC = "90-B3-D5-1F-30-00-00-02"


@pytest.fixture(scope="module")
def program() -> Program:
    prog, diags = load_program(repo_rules(), [])
    assert prog is not None, diags
    return prog


def _one(pattern: str, text: str) -> str | None:
    m = re.search(pattern, text)
    return m.group(1).strip() if m else None


def _first(options: Any, order: tuple[str, ...]) -> str | None:
    found = [o for o in order if o in set(options)]
    return found[0] if found else None


def _certificate_facts(text: str) -> tuple[str, str] | None:
    block = _one(r"(?s)<sr:(?:Supplier)?ReplacementCertificates>(.*?)</sr:(?:Supplier)?ReplacementCertificates>", text)
    if block is None:
        return None
    der = base64.b64decode(_one(r"<sr:\w*Certificate>([^<]+)<", block) or "")
    subject = x509.load_der_x509_certificate(der).subject
    uid = subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)[0].value
    assert isinstance(uid, bytes)
    return str(subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value), "-".join(f"{b:02X}" for b in uid[-8:])


def build_case(text: str, program: Program) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state, expectations) for one request, from its text and the catalogue alone."""
    catalogue = program.rulesets["baseline"].catalogue
    enums = program.enums
    srv = _one(r"<sr:ServiceReferenceVariant>([^<]+)<", text)
    assert srv is not None and srv in catalogue
    row = catalogue[srv]
    request_id = _one(r"<sr:RequestID>([^<]+)<", text) or ""
    sender, target, _ = (p.upper() for p in request_id.split(":"))
    if row["non_device"]:
        device = _one(r"<sr:DeviceID>([^<]+)<", text) or _one(r"<sr:DeviceIDList>([^<]+)<", text)
        device = device.upper() if device else None
    else:
        device = target
    role = _first(row["eligible_roles"], enums["UserRole"]) or "OU"
    cert = _certificate_facts(text)
    parties: dict[str, Any] = {sender: {"roles": [role], "dcc_user": True}}
    if cert is not None:
        parties.setdefault(cert[1], {"roles": [], "dcc_user": True})
    anchors = {"Supplier": sender}
    rpr = _one(r"<sr:RemotePartyRole>([^<]+)<", text)
    if row["replaces_trust_anchor"] and rpr:
        anchors[rpr] = sender
    devices = {}
    if device is not None and not row["non_device"]:
        devices[device] = {
            "type": _first(row["device_types"], enums["DeviceType"]) or "ESME", "generation": "SMETS2",
            "smi_status": _first(row["smi_statuses"], enums["SmiStatus"]) or "Commissioned",
            "mpxn": "1900000000001", "trust_anchors": anchors,
        }
    issuer, serial = _one(r"<ds:X509IssuerName>([^<]+)<", text), _one(r"<ds:X509SerialNumber>([^<]+)<", text)
    state = {
        "now": "2026-03-01T12:00:00Z", "parties": parties, "devices": devices,
        "registration": {"1900000000001": [{"role": role, "party": sender, "from": "2000-01-01T00:00:00Z", "to": None}]}
        if role != "OU" else {},
        "signing_certificates": {f"{issuer}|{serial}": {"party": sender, "role": role}},
    }
    expect = {"srv": srv, "sender": sender, "device": device, "role": role, "certificate": cert,
              "eligible": bool(row["eligible_roles"])}
    return state, expect


@pytest.mark.skipif(not FILES, reason=f"{RTDS} is absent: the RTDS conformance test needs ../shared beside the repository")
def test_every_rtds_request_maps_and_validates(program: Program, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "load_program", lambda rules, extra: (program, []))
    assert len(FILES) == 111
    srvs, certificates, failures = set(), 0, []
    catalogue = program.rulesets["baseline"].catalogue
    for f in FILES:
        text = f.read_text(encoding="utf-8")
        state, expect = build_case(text, program)
        sp = tmp_path / "state.json"
        sp.write_text(json.dumps(state))
        code = main(["validate", "--ruleset", "mp107", "--format", "json", "--state", str(sp), str(f)])
        out, err = capsys.readouterr()
        if code != 0:
            failures.append(f"{f.name}: exit {code}: {err.strip()}")
            continue
        v = json.loads(out)
        q = v["request"]
        got = (q["srv"], q["sender"], q["device"], q["role"])
        want = (expect["srv"], expect["sender"], expect["device"], expect["role"])
        if got != want:
            failures.append(f"{f.name}: mapped {got}, expected {want}")
        if expect["certificate"] is not None:
            certificates += 1
            code_, owner = expect["certificate"]
            c = v["duis"].get("certificate") or {}
            if (c.get("role_code"), c.get("owner")) != (code_, owner):
                failures.append(f"{f.name}: certificate {c}, expected role {code_} owner {owner}")
            if carries_certificate(catalogue[q["srv"]]) and q.get("new_certificate_owner") != owner:  # every carrying SRV, not only 6.15.1
                failures.append(f"{f.name}: new_certificate_owner {q.get('new_certificate_owner')}, expected {owner}")
        outcome = (v["verdict"], v["code"])
        if outcome != (("accept", None) if expect["eligible"] else ("reject", "E2")):
            failures.append(f"{f.name}: {outcome} by {v['check']}")
        srvs.add(q["srv"])
    assert not failures, "\n".join(failures)
    assert len(srvs) == 76 and certificates == 13


def test_every_catalogue_srv_maps(program: Program, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A minimal request for each of the 129 SRVs, in one batch: device from the RequestID or the body as the catalogue says."""
    monkeypatch.setattr(cli, "load_program", lambda rules, extra: (program, []))
    catalogue = program.rulesets["baseline"].catalogue
    assert len(catalogue) == 129
    sender, dev = "90-B3-D5-1F-30-01-00-00", "00-DB-12-34-56-78-90-A0"
    cert = make_cert("02", sender)
    files = []
    for i, (srv, row) in enumerate(sorted(catalogue.items())):
        cv = 4 if row["critical"] else 8 if row["non_device"] else 1
        target = PARTY_DCC if row["non_device"] else dev
        body = f"<sr:DeviceID>{dev}</sr:DeviceID>" if row["non_device"] else ""
        if carries_certificate(row):
            body += (f"<sr:RemotePartyRole>Supplier</sr:RemotePartyRole><sr:ReplacementCertificates>"
                     f"<sr:DigitalSigningCertificate>{cert}</sr:DigitalSigningCertificate></sr:ReplacementCertificates>")
        sref = srv.rsplit(".", 1)[0] if srv.count(".") == 2 else srv
        p = tmp_path / f"{i:03d}.xml"
        p.write_text(f'<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header>'
                     f"<sr:RequestID>{sender}:{target}:{i}</sr:RequestID><sr:CommandVariant>{cv}</sr:CommandVariant>"
                     f"<sr:ServiceReference>{sref}</sr:ServiceReference><sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant>"
                     f"</sr:Header><sr:Body><sr:Op>{body}</sr:Op></sr:Body></sr:Request>")
        files.append(p)
    state = {"now": "2026-03-01T12:00:00Z", "parties": {sender: {"roles": ["IS"], "dcc_user": True}},
             "devices": {dev: {"type": "ESME", "generation": "SMETS2", "smi_status": "Commissioned", "mpxn": "1"}},
             "registration": {}}
    sp = tmp_path / "state.json"
    sp.write_text(json.dumps(state))
    code = main(["validate", "--ruleset", "baseline", "--role", "IS", "--state", str(sp), *map(str, files)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0, [r["error"] for r in lines if "error" in r]
    assert [r["request"]["srv"] for r in lines] == sorted(catalogue)
    for r in lines:
        assert r["request"]["device"] == dev
        assert r["duis"]["command_variant"] in ((4,) if catalogue[r["request"]["srv"]]["critical"] else (1, 8))
