"""Hostile and malformed input: every one is a precise refusal (exit 2), never an internal error (70).

Issue 15's reproducers, each kept as a class: JSON that ends mid-object,
XML encodings pyexpat cannot use, certificates `cryptography` cannot decode,
rule files nested too deep or with huge strings, unbounded reads (a device,
a pipe, a rule file too large), batches that must go on whatever one input
does, and DUIS read to the letter (signature wrapping, certificates out of
place, role codes, schema versions and times that are not what the schema
says). Everything runs through `redline.cli.main` in tmp_path.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cli_support import Result, Run
from duis_support import NO_A, fixture, krp, make_cert, state
from redline import loading, validation
from redline.cli import main

pytestmark = pytest.mark.usefixtures("cached_rules")
REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "stuck-smets1"


@pytest.fixture
def validate(tmp_path: Path, run: Run) -> Callable[..., Result]:
    """validate(request text or bytes, *flags) with the DUIS test state."""
    counter = iter(range(10_000))

    def go(request: str | bytes, *flags: str) -> Result:
        st = tmp_path / "state.json"
        st.write_text(json.dumps(state()))
        p = tmp_path / f"request-{next(counter)}.xml"
        p.write_bytes(request if isinstance(request, bytes) else request.encode())
        return run("validate", "--ruleset", "mp107", "--state", str(st), *flags, str(p))
    return go


# ---- exit 70 before: JSON, XML encodings, certificates ----------------------------

@pytest.mark.parametrize("text,where", [("{\n", ":2:1:"), ("[1,\n\n", ":3:1:"), ('{"a": 1,\r\n', ":2:1:")])
def test_json_ending_in_a_newline_is_located(tmp_path: Path, run: Run, text: str, where: str) -> None:
    bad = tmp_path / "request.json"
    bad.write_text(text)
    r = run("validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"), str(bad))
    assert r.code == 2 and f"{bad}{where} error[json]: invalid JSON" in r.err


@pytest.mark.parametrize("encoding", ["shift_jis", "utf-7", "utf-32", "idna", "euc-jp", "big5", "gb18030"])
def test_xml_encodings_pyexpat_cannot_use(validate: Callable[..., Result], encoding: str) -> None:
    r = validate(krp().replace('encoding="UTF-8"', f'encoding="{encoding}"'))
    assert r.code == 2 and "line 1: malformed XML: the encoding in the XML declaration cannot be read" in r.err


def _patched_certificate(old: bytes, new: bytes) -> str:
    der = base64.b64decode(make_cert("03", NO_A))
    assert old in der
    return base64.b64encode(der.replace(old, new, 1)).decode()


@pytest.mark.parametrize("old,new,why", [
    (b"\x06\x03\x55\x04\x2d", b"\x06\x03\x55\x04\x03", "BitString"),  # the owner's BIT STRING under CN: TypeError
    (b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x03", "version"),  # X.509 version 4: InvalidVersion
    (b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x7f", "version"),
])
def test_certificates_cryptography_cannot_decode(validate: Callable[..., Result], old: bytes, new: bytes, why: str) -> None:
    cert = _patched_certificate(old, new)
    r = validate(krp(signing=cert, key_agreement=cert))
    assert r.code == 2 and "the certificate cannot be decoded as X.509 DER" in r.err and why in r.err


# ---- rule files -----------------------------------------------------------------------

DEEP = {
    "implies": "true implies " * 500 + "true",
    "if": "if true then " * 500 + "true" + " else true" * 500,
    "forall": "forall p: Party . " * 500 + "true",
    "not": "not " * 500 + "true",
    "parens": "(" * 500 + "true" + ")" * 500,
}


@pytest.mark.parametrize("form", sorted(DEEP))
def test_deep_nesting_is_a_located_diagnostic(tmp_path: Path, run: Run, form: str) -> None:
    f = tmp_path / "deep.redline"
    f.write_text(f'ruleset deep "x"\n  check c "y" at DSP reject E4\n    requires {DEEP[form]}\n')
    r = run("fmt", str(f))
    assert r.code == 2
    head, line, caret = r.err.splitlines()[:3]
    assert head.startswith(f"{f}:3:") and "error[E004]: nested more than 100 levels deep here" in head
    assert line.startswith("   3 |     requires ") and caret.rstrip().endswith("^")
    r = run("check", "--rules", str(REPO / "rules"), str(f))
    assert r.code == 1 and "error[E004]" in r.err


def test_a_chain_of_definitions_is_bounded_where_it_goes_too_deep(tmp_path: Path, run: Run) -> None:
    """Each definition is shallow, but every pass expands them: before, `validate` said only "nested too deeply"."""
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    defines = [f"  define d{i} = " + "not " * 60 + (f"d{i - 1}" if i else "true") for i in range(40)]
    (rules / "chain.redline").write_text('ruleset chain "x"\n' + "\n".join(defines) + '\n  check c "y" at DSP reject E4\n    requires d39\n')
    r = run("validate", "--rules", str(rules), "--ruleset", "chain", "--state", str(EXAMPLE / "state.json"), str(EXAMPLE / "request.json"))
    assert r.code == 2
    lines = r.err.splitlines()
    at = next(i for i, line in enumerate(lines) if "error[E004]" in line)
    head, caret = lines[at], lines[at + 2]
    assert head.endswith("chain.redline:3:10: error[E004]: definition `d1` expands to expressions nested 122 levels deep, "
                         "through the definitions it uses; at most 100 are allowed")
    assert caret.endswith("^^")


def test_a_huge_string_literal_is_a_located_diagnostic(tmp_path: Path, run: Run) -> None:
    f = tmp_path / "long.redline"
    f.write_text(f'ruleset long "{"x" * 5000}"\n')
    r = run("fmt", str(f))
    assert r.code == 2 and f"{f}:1:14: error[E005]: a string of 5,002 characters; a string is at most 4,096" in r.err


def test_a_rule_file_is_bounded_in_size(tmp_path: Path, run: Run) -> None:
    f = tmp_path / "big.redline"
    f.write_bytes(b"#" * loading.MAX_RULE_FILE_BYTES + b"\n")
    r = run("fmt", str(f))
    assert r.code == 2 and f"{f}: larger than 1 MiB, the bound for a rule file; split it" in r.err


# ---- bounded reads ------------------------------------------------------------------

def test_state_from_a_device_is_bounded(run: Run) -> None:
    r = run("validate", "--ruleset", "mp107", "--state", "/dev/zero", str(EXAMPLE / "request.json"))
    assert r.code == 2 and "/dev/zero: larger than 64 MiB, the bound for a JSON file; give a larger --max-json-bytes" in r.err
    bound = str((EXAMPLE / "state.json").stat().st_size)  # the state fits; the request from /dev/zero does not
    r = run("validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"), "--max-json-bytes", bound, "/dev/zero")
    assert r.code == 2 and f"/dev/zero: larger than {int(bound):,} bytes" in r.err


def test_json_from_a_pipe_is_bounded_and_read_once(tmp_path: Path, run: Run) -> None:
    """A pipe that never ends is refused at the bound; a request from a pipe is read once (not re-opened)."""
    fifo = tmp_path / "state.fifo"
    os.mkfifo(fifo)

    def flood() -> None:
        try:
            with fifo.open("wb") as w:
                while True:
                    w.write(b" " * 65536)
        except BrokenPipeError:
            pass
    writer = threading.Thread(target=flood, daemon=True)
    writer.start()
    r = run("validate", "--ruleset", "mp107", "--state", str(fifo), "--max-json-bytes", "1000000", str(EXAMPLE / "request.json"))
    assert r.code == 2 and "larger than 1,000,000 bytes" in r.err
    writer.join(timeout=10)

    req = tmp_path / "request.fifo"
    os.mkfifo(req)
    body = (EXAMPLE / "request.json").read_bytes()
    feeder = threading.Thread(target=lambda: req.write_bytes(body), daemon=True)
    feeder.start()
    r = run("validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"), str(req))
    assert r.code == 0 and "mp107: ACCEPT" in r.out
    feeder.join(timeout=10)


# ---- batches --------------------------------------------------------------------------

def test_a_batch_gives_every_input_its_record(tmp_path: Path, run: Run) -> None:
    d = tmp_path / "requests"
    d.mkdir()
    good = krp()
    cert = _patched_certificate(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x03")
    inputs = {
        "01-good.xml": good,
        "02-truncated.json": "{\n",
        "03-encoding.xml": good.replace('encoding="UTF-8"', 'encoding="utf-7"'),
        "04-certificate.xml": krp(signing=cert, key_agreement=cert),
        "05-deep.xml": good.replace("<sr:ApplyTimeBasedCPVChecks>true</sr:ApplyTimeBasedCPVChecks>", "<sr:x>" * 1000 + "</sr:x>" * 1000),
        "06-deep.json": "[" * 100_000,
        "07-good.json": (EXAMPLE / "request.json").read_text(),
    }
    for name, text in inputs.items():
        (d / name).write_text(text)
    st = tmp_path / "state.json"
    st.write_text(json.dumps(state()))
    r = run("validate", "--ruleset", "mp107", "--state", str(st), str(d))
    records = r.lines()
    assert r.code == 2 and [Path(x["input"]).name for x in records] == sorted(inputs)
    assert [("error" in x) for x in records] == [False, True, True, True, True, True, False]
    assert "nested more than 64 deep" in records[4]["error"]


def test_a_bug_on_one_input_does_not_stop_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """An internal error on one input is that input's record; the others are still validated, and the exit is 70."""
    real = validation.validate_file

    def flaky(r: Any, path: Path) -> Any:
        if path.name == "b.json":
            raise KeyError("boom")
        return real(r, path)
    monkeypatch.setattr(validation, "validate_file", flaky)
    for name in ("a.json", "b.json", "c.json"):
        (tmp_path / name).write_bytes((EXAMPLE / "request.json").read_bytes())
    code = main(["validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"),
                 *(str(tmp_path / n) for n in ("a.json", "b.json", "c.json"))])
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert "b.json: internal error: KeyError: 'boom'" in err
    assert code == 70 and [Path(r["input"]).name for r in records] == ["a.json", "b.json", "c.json"]
    assert records[0]["verdict"] == records[2]["verdict"] == "accept"
    assert records[1]["error"].startswith("internal error: KeyError: 'boom'")


def test_batch_json_lines_are_strict_utf8_with_undecodable_file_names(tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    d = tmp_path / "requests"
    d.mkdir()
    with open(os.path.join(os.fsencode(d), b"r\xff\xfe.json"), "wb") as f:
        f.write((EXAMPLE / "request.json").read_bytes())
    with open(os.path.join(os.fsencode(d), b"s\xff.json"), "wb") as f:
        f.write(b"{\n")
    code = main(["validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"), str(d)])
    out = capfdbinary.readouterr().out
    records = [json.loads(line.decode("utf-8")) for line in out.splitlines()]
    assert code == 2 and len(records) == 2
    for line in out.splitlines():
        assert b"\\ud" not in line  # no lone surrogate escapes, which strict readers refuse
    assert records[0]["input"].endswith("r\\xff\\xfe.json") and records[0]["verdict"] == "accept"
    assert records[1]["input"].endswith("s\\xff.json") and "s\\xff.json:2:1: error[json]" in records[1]["error"]


# ---- DUIS to the letter ---------------------------------------------------------------

def _twice(text: str, element: str, extra: str = "") -> str:
    """`text` with `element` (its first occurrence, start to end tag) written twice."""
    start = text.index(f"<{element}>")
    end = text.index(f"</{element}>") + len(f"</{element}>")
    copy = text[start:end] if not extra else text[start:end].replace("3003", extra)
    return text[:end] + copy + text[end:]


@pytest.mark.parametrize("element", ["ds:Signature", "ds:KeyInfo", "ds:X509Data", "ds:X509IssuerSerial", "ds:X509SerialNumber",
                                     "sr:Header", "sr:Body", "sr:RequestID", "sr:CommandVariant", "sr:ServiceReference",
                                     "sr:ServiceReferenceVariant"])
def test_signature_wrapping_a_second_element_is_refused(validate: Callable[..., Result], element: str) -> None:
    r = validate(_twice(krp(), element, "1001"))
    assert r.code == 2 and f"{element}: appears 2 times in the request" in r.err, r.err


def test_a_second_execution_time_or_signature_anywhere_is_refused(validate: Callable[..., Result]) -> None:
    tariff = fixture("tariff-1.1.1.xml")
    r = validate(_twice(tariff, "sr:ExecutionDateTime"), "--role", "IS")
    assert r.code == 2 and "sr:ExecutionDateTime: appears 2 times in the request" in r.err
    sig = krp()[krp().index("<ds:Signature>"):krp().index("</ds:Signature>") + len("</ds:Signature>")]
    hidden = krp().replace("<sr:ApplyTimeBasedCPVChecks>", sig.replace("3003", "1001") + "<sr:ApplyTimeBasedCPVChecks>")
    r = validate(hidden)
    assert r.code == 2 and "ds:Signature: appears 2 times in the request" in r.err
    nested = tariff.replace("<sr:ExecutionDateTime>2026-04-01T00:00:00Z</sr:ExecutionDateTime>",
                            "<sr:Extra><sr:ExecutionDateTime>2026-04-01T00:00:00Z</sr:ExecutionDateTime></sr:Extra>")
    r = validate(nested, "--role", "IS")
    assert r.code == 2 and "`sr:ExecutionDateTime` is found elsewhere than as a child of the body's request element" in r.err


def test_certificates_only_where_duis_puts_them(validate: Callable[..., Result]) -> None:
    text = krp()
    start, end = text.index("<sr:ReplacementCertificates>"), text.index("</sr:ReplacementCertificates>") + len("</sr:ReplacementCertificates>")
    block = text[start:end]
    r = validate(text[:start] + "<sr:Extra>" + block + "</sr:Extra>" + text[end:])
    assert r.code == 2 and "replacement certificates are found elsewhere than as a child of the body's request element" in r.err
    r = validate(text.replace("<sr:Header>", "<sr:Header>" + block, 1))
    assert r.code == 2 and "more than one set of replacement certificates" in r.err
    deeper = text.replace("<sr:DigitalSigningCertificate>", "<sr:Inner><sr:DigitalSigningCertificate>", 1) \
                 .replace("</sr:DigitalSigningCertificate>", "</sr:DigitalSigningCertificate></sr:Inner>", 1)
    r = validate(deeper)
    assert r.code == 2 and "`sr:Inner` is not a certificate" in r.err
    assert validate(text).code == 0


@pytest.mark.parametrize("code", ["+3", "0_3", "٠٣", " 3", "3", "003", "0x3"])
def test_role_codes_are_two_ascii_hex_digits(validate: Callable[..., Result], code: str) -> None:
    r = validate(krp(role_code=code))
    assert r.code == 2 and "is not a GBCS role code (two hex digits)" in r.err


@pytest.mark.parametrize("version", ["5.٤", "５.4", "5.4 ", "5." + "4" * 10_000, "5.", "5.-1"])
def test_schema_versions_are_ascii(validate: Callable[..., Result], version: str) -> None:
    r = validate(krp().replace('schemaVersion="5.4"', f'schemaVersion="{version}"'))
    assert r.code == 2 and "is not supported; redline reads DUIS 5.x" in r.err and len(r.err) < 500


@pytest.mark.parametrize("when", ["2026-04-01 00:00:00Z", "20260401T000000Z", "2026-04-01T00:00Z", "2026-04-01T00:00:00+0100",
                                  "2026-04-01T00:00:00+01", "2026-W14-3T00:00:00Z", "2026-04-01T00:00:00.Z", "2026-04-01T00:00:00z",
                                  "２０２６-04-01T00:00:00Z", "2026-04-01T00:00:00+15:00", "2026-04-01T00:00:00+01:60",
                                  "2026-04-01T24:00:01Z", "2026-04-01T24:00:00.5Z", "10000-01-01T00:00:00Z", "-2026-04-01T00:00:00Z",
                                  "9999-12-31T24:00:00Z", "0001-01-01T00:00:00+01:00"])
def test_execution_times_are_xs_datetime(validate: Callable[..., Result], when: str) -> None:
    r = validate(fixture("tariff-1.1.1.xml").replace("2026-04-01T00:00:00Z", when), "--role", "IS")
    assert r.code == 2 and "ExecutionDateTime" in r.err, r.err


@pytest.mark.parametrize("when,mapped", [("2026-04-01T01:00:00+01:00", "2026-04-01T00:00:00Z"),
                                         ("2026-04-01T00:00:00.000Z", "2026-04-01T00:00:00Z"),
                                         ("2026-03-31T23:30:00-00:30", "2026-04-01T00:00:00Z"),
                                         ("2026-03-31T24:00:00Z", "2026-04-01T00:00:00Z")])
def test_xs_datetime_forms_map_to_utc(validate: Callable[..., Result], when: str, mapped: str) -> None:
    r = validate(fixture("tariff-1.1.1.xml").replace("2026-04-01T00:00:00Z", when), "--role", "IS", "--format", "json")
    assert r.code == 0 and json.loads(r.out)["request"]["execution_time"] == mapped


# ---- paths the file system refuses ----------------------------------------------------

@pytest.mark.parametrize("argv", [["check", "--rules", "{long}"], ["check", "{long}"], ["fmt", "{long}"],
                                  ["validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"), "{long}"],
                                  ["codegen", "--ruleset", "mp107", "-o", "{long}"], ["impact", "fleet", "{long}"],
                                  ["report", "--out", "{long}"]])
def test_a_path_too_long_for_the_file_system_is_bad_input(run: Run, argv: list[str]) -> None:
    """ENAMETOOLONG escaped every reader as an internal error (exit 70): a path the user gave is bad input."""
    long = "a" * 5000
    r = run(*[a.replace("{long}", long) for a in argv])
    assert r.code == 2 and f"redline: error: {long}" in r.err and "File name too long" in r.err


def test_a_configured_path_too_long_for_the_file_system_is_bad_input(tmp_path: Path, run: Run,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "redline.toml").write_text(f'rules = ["{"a" * 5000}"]\n')
    monkeypatch.chdir(tmp_path)
    r = run("check")
    assert r.code == 2 and "File name too long" in r.err
