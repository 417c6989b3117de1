"""DUIS XML requests in: mapping, the sender's role, certificates, hostile and bad input, batch.

Everything runs through `redline.cli.main` on the hand-written requests in
tests/duis/ (certificates made at test time), in tmp_path.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from duis_support import DEV, NO_A, NO_B, SUPPLIER, cos, fixture, krp, make_cert, state
from redline import cli
from redline.cli import main
from redline.inputs import BadInput
from redline.signers import parse_signer_key, signer_key

pytestmark = pytest.mark.usefixtures("cached_rules")


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)  # type: ignore[no-any-return]

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]


Validate = Callable[..., Result]


@pytest.fixture
def validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Validate:
    """validate(request_text_or_paths, *flags, state=..., ruleset=...) -> Result."""
    counter = iter(range(10_000))

    def run(request: str | bytes | list[Path], *flags: str, st: dict[str, Any] | None = None, ruleset: str = "mp107") -> Result:
        state_path = tmp_path / f"state-{next(counter)}.json"
        state_path.write_text(json.dumps(state() if st is None else st))
        if isinstance(request, list):
            paths = [str(p) for p in request]
        else:
            p = tmp_path / f"request-{next(counter)}.xml"
            p.write_bytes(request if isinstance(request, bytes) else request.encode())
            paths = [str(p)]
        capsys.readouterr()
        code = main(["validate", "--ruleset", ruleset, "--state", str(state_path), *flags, *paths])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


# ---- mapping -----------------------------------------------------------------

def test_krp_maps_sender_device_role_and_certificate(validate: Validate) -> None:
    r = validate(krp(), "--format", "json")
    assert r.code == 0, r.err
    v = r.json()
    assert v["request"] == {"sender": NO_B, "role": "ED", "srv": "6.15.1", "device": DEV,
                            "remote_party_role": "NetworkOperator", "new_certificate_owner": NO_A}
    assert v["duis"]["command_variant"] == 4
    assert v["duis"]["signer"] == "CN=Test Issuing CA,OU=07|3003"
    assert v["duis"]["role_from"] == "signing_certificates"
    assert v["duis"]["certificate"] == {"remote_party_role": "NetworkOperator", "owner": NO_A, "role_code": "03"}
    # the stuck-SMETS1 story: MP107 lets B hand the NO cell to A
    assert v["verdict"] == "accept"
    assert v["effects"] == [{"device": DEV, "trust_anchor": "NetworkOperator", "owner": NO_A}]


def test_krp_under_baseline_is_the_e4_reject(validate: Validate) -> None:
    v = validate(krp(), "--format", "json", ruleset="baseline").json()
    assert (v["verdict"], v["layer"], v["code"], v["check"]) == ("reject", "DSP", "E4", "eligible_user")


def test_mapped_request_replays_as_request_json(validate: Validate, tmp_path: Path) -> None:
    xml = validate(krp(), "--format", "json", ruleset="baseline").json()
    req = tmp_path / "mapped.json"
    req.write_text(json.dumps(xml["request"]))
    as_json = validate([req], "--format", "json", ruleset="baseline")
    assert as_json.code == 0
    assert as_json.json() == {k: v for k, v in xml.items() if k not in ("request", "duis")}
    assert "request" not in as_json.json()  # a REQUEST.json verdict is unchanged


def test_text_output_names_the_mapped_request(validate: Validate) -> None:
    r = validate(krp())
    assert r.code == 0
    first, second = r.out.splitlines()[:2]
    assert first.startswith("DUIS 6.15.1 (90-B3-D5-1F-30-03-00-00:00-DB-12-34-56-78-90-A0:42, Command Variant 4)")
    assert f"{NO_B} as ED (from signing_certificates)" in first and f"owned by {NO_A}" in first
    assert second.startswith("mp107: ACCEPT")


def test_date_range_from_read_log_period_in_utc(validate: Validate) -> None:
    v = validate(fixture("read-log-6.13.xml"), "--format", "json").json()
    assert v["request"]["device"] == DEV  # upper-cased
    assert v["request"]["date_range"] == {"from": "2026-02-01T00:00:00Z", "to": "2026-02-28T22:00:00Z"}
    assert "execution_time" not in v["request"]
    assert v["duis"]["schema_version"] == "5.1"


def test_execution_time_is_what_6_1_f_checks(validate: Validate) -> None:
    v = validate(fixture("tariff-1.1.1.xml"), "--format", "json").json()
    assert v["request"]["execution_time"] == "2026-04-01T00:00:00Z"
    assert v["verdict"] == "accept"
    st = state()
    st["registration"]["1900000000001"][0]["to"] = "2026-03-15T00:00:00Z"  # the Supplier leaves before execution
    v = validate(fixture("tariff-1.1.1.xml"), "--format", "json", st=st).json()
    assert (v["verdict"], v["code"]) == ("reject", "E4")


def test_cancellation_marker_sets_no_execution_time(validate: Validate) -> None:
    text = fixture("tariff-1.1.1.xml").replace("2026-04-01T00:00:00Z", "3000-12-31T00:00:00.00Z")
    v = validate(text, "--format", "json").json()
    assert "execution_time" not in v["request"] and v["duis"]["cancellation"] is True


def test_non_device_request_names_the_body_device(validate: Validate) -> None:
    v = validate(fixture("decommission-8.3.xml"), "--format", "json").json()
    assert v["request"] == {"sender": SUPPLIER, "role": "IS", "srv": "8.3", "device": DEV}
    assert v["duis"]["signer"] == "CN=Test Issuing CA,OU=07|1001"  # issuer spacing and the serial's zero normalised
    no_body_device = fixture("decommission-8.3.xml").replace("<sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID>", "")
    assert validate(no_body_device, "--format", "json").json()["request"]["device"] is None


def test_cos_certificate_is_carried_by_the_request(validate: Validate) -> None:
    v = validate(cos(owner=NO_A), "--format", "json").json()
    # 6.23 carries a certificate though it replaces no trust anchor in the catalogue: the request names it
    assert (v["request"]["remote_party_role"], v["request"]["new_certificate_owner"]) == ("Supplier", NO_A)
    assert v["duis"]["certificate"] == {"remote_party_role": "Supplier", "owner": NO_A, "role_code": "02"}
    assert v["request"]["execution_time"] == "2026-03-02T00:00:00Z"


# ---- the sender's User Role ---------------------------------------------------

def test_role_option_overrides_the_signing_certificate(validate: Validate) -> None:
    v = validate(krp(), "--format", "json", "--role", "GT").json()
    assert v["request"]["role"] == "GT" and v["duis"]["role_from"] == "--role"
    assert (v["verdict"], v["code"]) == ("reject", "E1")  # B is not a DCC User as GT


def test_no_role_anywhere_is_a_clear_error(validate: Validate) -> None:
    st = state()
    del st["signing_certificates"]
    r = validate(krp(), st=st)
    assert r.code == 2 and "Traceback" not in r.err
    assert "the signing certificate `CN=Test Issuing CA,OU=07|3003` is not in the state's `signing_certificates`" in r.err
    assert "--role" in r.err
    assert validate(krp(), "--role", "ED", st=st).code == 0


def test_unsigned_request_needs_role(validate: Validate) -> None:
    text = krp()
    text = text[: text.index("<ds:Signature>")] + "</sr:Request>\n"
    r = validate(text)
    assert r.code == 2 and "names no signing certificate" in r.err and "--role" in r.err
    assert validate(text, "--role", "ED").code == 0


def test_signer_must_be_the_sender(validate: Validate) -> None:
    r = validate(krp().replace("<ds:X509SerialNumber>3003", "<ds:X509SerialNumber>1001"))
    assert r.code == 2
    assert f"the certificate of party {SUPPLIER}, but its RequestID names {NO_B} as the sender" in r.err


def test_unknown_role_option(validate: Validate) -> None:
    r = validate(krp(), "--role", "XX")
    assert r.code == 2 and "--role: unknown User Role `XX`" in r.err


@pytest.mark.parametrize("key,body,message", [
    ("no bar here", {"party": NO_B, "role": "ED"}, "is not of the form `<issuer name>|<serial>`"),
    ("CN=X|12a", {"party": NO_B, "role": "ED"}, "is not a decimal integer"),
    ("=X|12", {"party": NO_B, "role": "ED"}, "is not an attribute"),
    ("CN=X|1", {"party": "90-B3-D5-1F-30-09-00", "role": "ED"}, "a party id must be an Entity Identifier"),
    ("CN=X|1", {"party": NO_B, "role": "XX"}, "unknown User Role"),
    ("CN=X|1", {"party": NO_B}, "missing field `role`"),
])
def test_signing_certificates_in_state_fail_closed(validate: Validate, key: str, body: dict[str, Any], message: str) -> None:
    r = validate(krp(), st=state(signing_certificates={key: body}))
    assert r.code == 2 and message in r.err and "signing_certificates" in r.err


def test_signing_certificates_listed_twice_after_normalising(validate: Validate) -> None:
    st = state(signing_certificates={"CN=X, OU=07|5": {"party": NO_B, "role": "ED"}, "cn=X,OU=07|005": {"party": NO_B, "role": "ED"}})
    r = validate(krp(), st=st)
    assert r.code == 2 and "listed twice" in r.err


def test_signer_key_normalisation() -> None:
    assert signer_key("CN=U1, OU=07", "1234567890") == "CN=U1,OU=07|1234567890"
    assert parse_signer_key("cn = U1 , ou=07|0001234567890") == "CN=U1,OU=07|1234567890"
    assert parse_signer_key(r"CN=A\, B,OU=07|1") == r"CN=A\, B,OU=07|1"  # an escaped comma stays in its value
    assert signer_key("OU=07,CN=U1", "1") != signer_key("CN=U1,OU=07", "1")  # RDN order is significant


# ---- certificates -----------------------------------------------------------------

def test_certificate_role_disagreeing_with_remote_party_role(validate: Validate) -> None:
    r = validate(krp(role_code="02"))
    assert r.code == 2
    assert "the certificate's role code 02 (Supplier) disagrees with `sr:RemotePartyRole`, which says `NetworkOperator`" in r.err


def test_cos_certificate_must_be_a_supplier_certificate(validate: Validate) -> None:
    cert = make_cert("03", NO_A)
    r = validate(fixture("cos-6.23.xml", SIGNING_CERT=cert, KEY_AGREEMENT_CERT=cert, TOP_UP_CERT=cert))
    assert r.code == 2 and "disagrees with `sr:SupplierReplacementCertificates`, which says `Supplier`" in r.err


def test_replacement_certificates_must_agree(validate: Validate) -> None:
    r = validate(krp(key_agreement=make_cert("03", SUPPLIER)))
    assert r.code == 2 and "the replacement certificates disagree" in r.err and SUPPLIER in r.err


@pytest.mark.parametrize("cert,message", [
    ("not base64 at all!", "the certificate is not base64"),
    ("AAAA", "cannot be decoded as X.509 DER"),
    ("", "the certificate element is empty"),
    (make_cert("03", None), "has no x500UniqueIdentifier"),
    (make_cert("03", NO_A, uid_octets=6), "x500UniqueIdentifier is 6 octets"),
    (make_cert("03", NO_A, ou_count=2), "has 2 OU attributes"),
    (make_cert("ZZ", NO_A), "is not a GBCS role code"),
    (make_cert("07", NO_A), "role code 07 (issuingAuthority) is not a Remote Party role"),
])
def test_undecodable_certificate(validate: Validate, cert: str, message: str) -> None:
    r = validate(krp(signing=cert))
    assert r.code == 2, r.out
    assert message in r.err and "sr:DigitalSigningCertificate" in r.err and "Traceback" not in r.err


# ---- hostile XML ---------------------------------------------------------------------

HOSTILE = {
    "billion laughs": ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
                       + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
                       + ']><r>&j;</r>', "an entity declaration `a` is refused"),
    "external entity file": ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
                             "an external entity declaration `x` (SYSTEM `file:///etc/passwd`) is refused"),
    "external entity http": ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><r>&x;</r>',
                             "an external entity declaration `x` (SYSTEM `http://127.0.0.1:9/x`) is refused"),
    "parameter entity": ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p"> %p;]><r/>',
                         "an external entity declaration `p`"),
    "external DTD": ('<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd"><r/>',
                     "an external reference to `http://127.0.0.1:9/r.dtd` is refused"),
    "DTD": ('<?xml version="1.0"?><!DOCTYPE r><r/>', "a document type declaration (<!DOCTYPE ...>) is refused"),
    "malformed": ("<sr:Request><sr:Header></sr:Request>", "malformed XML"),
    "undefined entity": ("<r>&nope;</r>", "line 1, column 4: malformed XML: undefined entity"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_xml_gets_a_clear_error_and_no_hang(validate: Validate, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text, message = HOSTILE[name]
    opened: list[Any] = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, addr: opened.append(addr))  # nothing may reach the network
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: opened.append(a))
    start = time.perf_counter()
    r = validate(text)
    assert time.perf_counter() - start < 5
    assert r.code == 2 and message in r.err and "Traceback" not in r.err
    assert opened == []


def test_oversize_input_is_refused_before_parsing(validate: Validate) -> None:
    big = krp().replace("<sr:ApplyTimeBasedCPVChecks>", "<!--" + "x" * 1_100_000 + "--><sr:ApplyTimeBasedCPVChecks>")
    r = validate(big)
    assert r.code == 2 and "larger than the 1,048,576-byte bound" in r.err
    assert validate(krp(), "--max-xml-bytes", "500").code == 2
    assert validate(big, "--max-xml-bytes", "2000000").code == 0


# ---- bad DUIS ---------------------------------------------------------------------------

def _without(text: str, element: str) -> str:
    start = text.index(f"<sr:{element}>")
    end = text.index(f"</sr:{element}>") + len(f"</sr:{element}>")
    return text[:start] + text[end:]


@pytest.mark.parametrize("edit,message", [
    (lambda t: t.replace("ServiceUserGateway", "ServiceUserGatewayX"), "expected `Request` in namespace `http://www.dccinterface.co.uk/ServiceUserGateway`"),
    (lambda t: t.replace('schemaVersion="5.4"', 'schemaVersion="4.0"'), "schema version `4.0` is not supported"),
    (lambda t: t.replace(' schemaVersion="5.4"', ""), "missing attribute `schemaVersion`"),
    (lambda t: _without(t, "RequestID"), "sr:Header/sr:RequestID: missing header field `sr:RequestID`"),
    (lambda t: _without(t, "CommandVariant"), "missing header field `sr:CommandVariant`"),
    (lambda t: _without(t, "ServiceReference"), "missing header field `sr:ServiceReference`"),
    (lambda t: _without(t, "ServiceReferenceVariant"), "missing header field `sr:ServiceReferenceVariant`"),
    (lambda t: _without(t, "Body"), "missing element `sr:Body`"),
    (lambda t: t.replace("6.15.1</sr:S", "6.16.1</sr:S"), "SRV `6.16.1` is not in the DUIS catalogue; the closest SRVs are"),
    (lambda t: t.replace(">6.15</sr:ServiceReference>", ">6.1</sr:ServiceReference>"), "Service Reference `6.1` does not match SRV 6.15.1"),
    (lambda t: t.replace("<sr:CommandVariant>4", "<sr:CommandVariant>1"), "Command Variant 1 does not suit SRV 6.15.1, a Critical request"),
    (lambda t: t.replace("<sr:CommandVariant>4", "<sr:CommandVariant>9"), "Command Variant `9` is not one of 1-8"),
    (lambda t: t.replace(":00-DB-12-34-56-78-90-A0:42", ":42"), "is not of the form `sender:target:counter`"),
    (lambda t: t.replace("90-B3-D5-1F-30-03-00-00:00", "90-B3-D5-1F-30-03:00"), "the sender `90-B3-D5-1F-30-03` is not an Entity Identifier"),
    (lambda t: t.replace(":42<", ":x42<"), "the counter `x42` is not a whole number"),
    (lambda t: _without(t, "ReplacementCertificates"), "SRV 6.15.1 replaces a trust anchor, but the body has no `sr:ReplacementCertificates`"),
    (lambda t: t.replace("<sr:RemotePartyRole>NetworkOperator", "<sr:RemotePartyRole>Nobody"), "which says `Nobody`"),
])
def test_bad_duis_gets_a_precise_error(validate: Validate, edit: Callable[[str], str], message: str) -> None:
    r = validate(edit(krp()))
    assert r.code == 2, r.out
    assert message in r.err and "Traceback" not in r.err


def test_mapped_request_is_checked_like_request_json(validate: Validate) -> None:
    # A party the state's `parties` does not list is no DCC User and holds no role (docs/formats.md), as in
    # REQUEST.json: such a sender is rejected at the DSP's first check, such a new owner goes into the cell.
    r = validate(krp().replace("90-B3-D5-1F-30-03-00-00:00", "90-B3-D5-1F-30-09-00-00:00"), "--role", "ED", "--format", "json")
    assert r.code == 0, r.err
    assert (r.json()["verdict"], r.json()["code"], r.json()["check"]) == ("reject", "E1", "dcc_user_in_role")
    r = validate(krp(owner="90-B3-D5-1F-30-09-00-00"), "--format", "json")
    assert r.code == 0, r.err
    assert r.json()["verdict"] == "accept" and r.json()["effects"][0]["owner"] == "90-B3-D5-1F-30-09-00-00"


def test_bad_execution_time(validate: Validate) -> None:
    r = validate(fixture("tariff-1.1.1.xml").replace("2026-04-01T00:00:00Z", "2026-04-01T00:00:00"))
    assert r.code == 2 and "has no time zone" in r.err
    r = validate(fixture("tariff-1.1.1.xml").replace("2026-04-01T00:00:00Z", "tomorrow"))
    assert r.code == 2 and "`tomorrow` is not an xs:dateTime" in r.err


def test_inverted_read_log_period(validate: Validate) -> None:
    r = validate(fixture("read-log-6.13.xml").replace("2026-02-01T00:00:00.00Z", "2026-03-01T00:00:00Z"))
    assert r.code == 2 and "inverted date range" in r.err


# ---- batch ---------------------------------------------------------------------------------

def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_batch_is_json_lines_in_input_order_and_goes_on_after_bad_input(validate: Validate, tmp_path: Path) -> None:
    files = [
        _write(tmp_path, "c.xml", krp()),
        _write(tmp_path, "a.xml", "<oops>"),
        _write(tmp_path, "b.json", json.dumps({"sender": SUPPLIER, "role": "IS", "srv": "4.1.1", "device": DEV})),
        _write(tmp_path, "d.xml", fixture("read-log-6.13.xml")),
    ]
    r = validate(files, ruleset="baseline")
    assert r.code == 2  # one input was bad
    recs = r.lines()
    assert [Path(x["input"]).name for x in recs] == ["c.xml", "a.xml", "b.json", "d.xml"]
    assert recs[0]["verdict"] == "reject" and recs[0]["code"] == "E4" and recs[0]["request"]["srv"] == "6.15.1"
    assert set(recs[1]) == {"input", "error"} and "malformed XML" in recs[1]["error"]
    assert recs[2]["verdict"] == "accept" and "request" not in recs[2]
    assert recs[3]["request"]["srv"] == "6.13"


def test_batch_exit_codes(validate: Validate, tmp_path: Path) -> None:
    files = [_write(tmp_path, "1.xml", krp()), _write(tmp_path, "2.xml", fixture("tariff-1.1.1.xml"))]
    assert validate(files, ruleset="mp107").code == 0
    assert validate(files, "--fail-on-reject", ruleset="mp107").code == 0
    assert validate(files, ruleset="baseline").code == 0  # a reject is a verdict, not an error
    assert validate(files, "--fail-on-reject", ruleset="baseline").code == 1


def test_batch_directory_takes_xml_and_json_sorted(validate: Validate, tmp_path: Path) -> None:
    d = tmp_path / "batch"
    d.mkdir()
    _write(d, "b.XML", krp())
    _write(d, "a.xml", fixture("decommission-8.3.xml"))
    _write(d, "notes.txt", "not a request")
    r = validate([d])
    assert r.code == 0
    assert [Path(x["input"]).name for x in r.lines()] == ["a.xml", "b.XML"]


def test_long_batches_show_progress_on_stderr(validate: Validate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "PROGRESS_MIN_INPUTS", 20)
    p = _write(tmp_path, "one.xml", krp())
    r = validate([p] * 20)
    assert r.code == 0 and len(r.lines()) == 20
    assert "redline: validated 20/20 (0 bad inputs)" in r.err
    assert validate([p] * 3).err == ""  # short batches stay quiet


def test_shipped_duis_example(validate: Validate) -> None:
    """examples/stuck-smets1-duis/ (the `make demo` line) tells the stuck-SMETS1 story in DUIS."""
    example = Path(__file__).resolve().parents[1] / "examples" / "stuck-smets1-duis"
    st = json.loads((example / "state.json").read_text())
    before = validate([example / "request.xml"], "--format", "json", st=st, ruleset="baseline").json()
    after = validate([example / "request.xml"], "--format", "json", st=st, ruleset="mp107").json()
    assert (before["verdict"], before["code"]) == ("reject", "E4")
    assert after["verdict"] == "accept" and after["request"]["new_certificate_owner"] == NO_A


def test_unknown_encoding_and_out_of_range_times(validate: Validate) -> None:
    r = validate(krp().replace('encoding="UTF-8"', 'encoding="UTF-9"'))
    assert r.code == 2 and "unknown encoding" in r.err
    for t, message in (("0001-01-01T00:00:00+01:00", "is out of range"), ("1969-12-31T00:00:00Z", "is before 1970")):
        r = validate(fixture("tariff-1.1.1.xml").replace("2026-04-01T00:00:00Z", t))
        assert r.code == 2 and message in r.err


def test_mutated_requests_never_cause_an_internal_error(tmp_path: Path) -> None:
    """Random cuts, insertions and splices of the fixtures: every outcome is a verdict or BadInput."""
    import random

    from redline.interp import Validator, load_state
    from redline.loading import load_program, repo_rules
    from redline.validation import Run, validate_file

    program, diags = load_program(repo_rules(), [])
    assert program is not None, diags
    rs = program.ruleset("mp107")
    assert rs is not None
    run = Run(program, rs, Validator(rs), load_state(state(), program), None, 1 << 20)
    seeds = [krp(), cos(), fixture("read-log-6.13.xml"), fixture("decommission-8.3.xml"), fixture("tariff-1.1.1.xml")]
    pieces = ["<", ">", "/", "&", ";", "9", "-", ":", "Z", "+", "\x00", "é", "sr:", "ds:", "3000-12-31T00:00:00Z"]
    rng = random.Random(20260301)
    f = tmp_path / "mutant.xml"
    outcomes = {"verdict": 0, "usage": 0}
    for _ in range(600):
        t = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            pos, op = rng.randrange(len(t)), rng.random()
            if op < 0.3:
                t = t[:pos] + t[pos + rng.randint(1, 30):]
            elif op < 0.7:
                t = t[:pos] + rng.choice(pieces) + t[pos:]
            else:
                a = rng.randrange(len(t))
                t = t[:pos] + t[a:a + rng.randint(1, 60)] + t[pos:]
        f.write_text(t, encoding="utf-8", errors="replace")
        try:
            validate_file(run, f)
            outcomes["verdict"] += 1
        except BadInput:
            outcomes["usage"] += 1
    assert outcomes["verdict"] >= 10 and outcomes["usage"] >= 300  # the mutants reach both sides
