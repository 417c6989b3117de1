"""Signing-certificate keys: one RFC 4514 reading for the interpreter and the generated validator (issue 15).

`redline.signers.rfc4514` is `cryptography`'s RFC 4514 reader and writer
written out in the standard library; every generated validator carries its text
(spliced in by the generator, not a port).
Held here: to cryptography on names built from the pieces that matter
(attribute types and OIDs, escapes, hex values, length limits), to the
runtime (which imports it) on the same names, and the generated `prepare` to the
interpreter's refusal of a state's `signing_certificates`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redline.cli import main
from redline.codegen import runtime
from redline.signers import parse_signer_key, rfc4514
from test_codegen import interpreted
from test_validate_cli import NO_B, REQUEST, STATE

ATTRS = ["CN", "OU", "O", "C", "L", "ST", "DC", "UID", "STREET", "Cn", "XX", "2.5.4.3", "2.5.4.11", "1.2.840.113549.1.9.1",
         "1.3.6.1.4.1.311.60.2.1.3", "0.9.2342.19200300.100.1.25", "1.39", "1.40", "3.1", "2.999", "1.2.٣",
         "1.2." + str(2**128 - 1), "1.2." + str(2**128), "1.2" + ".1" * 61, "1.2" + ".1" * 62, "2." + str(2**128 - 80)]
VALUES = ["a", "GB", "x y", " x", "x ", "\\ x", "x\\ ", "#4142", "#c3a9", "#ff", "#zz", "\\c3\\a9", "\\ff", "\\,", "a\\+b",
          "é", "\x00", '"', '\\"', ";", "<>", "#", "=", "a" * 64, "a" * 65, "\\#x", "x#", "\\\\", "\t", "\\"]
NAMES = st.lists(
    st.tuples(st.sampled_from(ATTRS), st.sampled_from(["=", " = ", "=="]), st.lists(st.sampled_from(VALUES), min_size=1, max_size=2),
              st.sampled_from([",", "+", ", ", ";"])),
    min_size=1, max_size=3,
).map(lambda parts: "".join(a + eq + "".join(v) + sep for a, eq, v, sep in parts)[:-1])
PIECES = st.lists(st.sampled_from([*ATTRS, *VALUES, "=", ",", "+", " ", "|", "01"]), min_size=1, max_size=8).map("".join)


def by_cryptography(text: str) -> tuple[str, str | None] | None:
    """cryptography's reading, or None where it panics (a Rust overflow: `rfc4514` refuses those)."""
    try:
        return "ok", x509.Name.from_rfc4514_string(text).rfc4514_string()
    except ValueError:
        return "error", None
    except BaseException as e:  # pyo3's PanicException derives from BaseException
        if type(e).__name__ != "PanicException":
            raise
        return None


def outcome(f: Any, text: str) -> tuple[str, str | None]:
    try:
        return "ok", f(text)
    except ValueError as e:
        return "error", str(e) if f is not rfc4514 else None


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(NAMES, PIECES))
def test_rfc4514_reads_and_writes_as_cryptography_does(text: str) -> None:
    want = by_cryptography(text)
    if want is not None:
        assert outcome(rfc4514, text) == want


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(NAMES, PIECES), st.sampled_from(["|1", "|0012", "|x", "", "|٣"]))
def test_the_runtime_reads_keys_as_the_interpreter_does(text: str, serial: str) -> None:
    assert outcome(runtime.parse_signer_key, text + serial) == outcome(parse_signer_key, text + serial)


def test_an_oid_that_makes_cryptography_panic_is_refused_as_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = f"2.{2**128 - 80}=x|1"
    with pytest.raises(ValueError, match="is not an RFC 4514 distinguished name"):
        parse_signer_key(key)
    state = copy.deepcopy(STATE)
    state["signing_certificates"] = {key: {"party": NO_B, "role": "ED"}}
    sp, rp = tmp_path / "state.json", tmp_path / "request.json"
    sp.write_text(json.dumps(state), encoding="utf-8")
    rp.write_text(json.dumps(REQUEST), encoding="utf-8")
    assert main(["validate", "--ruleset", "mp107", "--state", str(sp), str(rp)]) == 2
    err = capsys.readouterr().err
    assert "is not an RFC 4514 distinguished name" in err and "Traceback" not in err


SIGNERS_BAD = [
    ("not_an_object", ["CN=X|1"]),
    ("null", None),
    ("no_bar", {"no bar here": {"party": NO_B, "role": "ED"}}),
    ("bad_serial", {"CN=X|12a": {"party": NO_B, "role": "ED"}}),
    ("no_attribute", {"=X|12": {"party": NO_B, "role": "ED"}}),
    ("not_rfc4514", {"CN=a\"b|12": {"party": NO_B, "role": "ED"}}),
    ("party_too_short", {"CN=X|1": {"party": "90-B3-D5-1F-30-09-00", "role": "ED"}}),
    ("party_not_an_id", {"CN=X|1": {"party": NO_B + "\n", "role": "ED"}}),
    ("unknown_role", {"CN=X|1": {"party": NO_B, "role": "XX"}}),
    ("missing_role", {"CN=X|1": {"party": NO_B}}),
    ("extra_field", {"CN=X|1": {"party": NO_B, "role": "ED", "colour": "red"}}),
    ("listed_twice", {"CN=X, OU=07|5": {"party": NO_B, "role": "ED"}, "cn=X,OU=07|005": {"party": NO_B, "role": "ED"}}),
    ("listed_twice_by_oid", {"CN=X|5": {"party": NO_B, "role": "ED"}, "2.5.4.3=#58|5": {"party": NO_B, "role": "ED"}}),
]


@pytest.mark.parametrize("signers", [pytest.param(s, id=i) for i, s in SIGNERS_BAD])
def test_generated_prepare_refuses_signing_certificates_as_the_interpreter_does(
        generated_validators: dict[str, ModuleType], signers: Any) -> None:
    state = dict(STATE, signing_certificates=signers)
    for name, module in generated_validators.items():
        want = interpreted(name, state, REQUEST)
        assert want[0] == "error" and "signing_certificates" in want[1], want
        with pytest.raises(module.InputError) as e:
            module.prepare(state)
        assert str(e.value) == want[1]


def test_generated_prepare_takes_good_signing_certificates(generated_validators: dict[str, ModuleType]) -> None:
    # a party `parties` does not list is no DCC User and holds no role, but not bad input (docs/formats.md)
    for party in (NO_B, "90-B3-D5-1F-30-09-00-00"):
        state = dict(STATE, signing_certificates={"CN=U1, OU=07|3003": {"party": party, "role": "ED"}})
        for name, module in generated_validators.items():
            assert module.validate(state, REQUEST) == interpreted(name, state, REQUEST)[1]
