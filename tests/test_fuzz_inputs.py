"""Fuzzing the input side: every input ends in a result or a precise refusal, never an internal error.

Targets, each fed mutations of real inputs (byte flips, truncations,
deletions, splices, tokens that mean something to the format, deep nesting,
huge literals) through `redline.cli.main`, the CLI's entry function, in
process:

- `state` / `request`: STATE.json and REQUEST.json for `redline validate`;
- `xml`: DUIS XML requests (the tests/duis/ fixtures, certificates filled);
- `der`: the certificate inside a 6.15.1 request, mutated as DER bytes;
- `rules`: a shipped rule file in a rules directory for `redline check`
  (the catalogue cut to the rows the rules name, so each run is quick).

Each run must exit 0, 1 or 2 (never 70), with no traceback and no "internal
error" on stderr. Each target also runs its seeds unmutated and asserts
that it saw results and refusals both (exit 0 and 2; 0 and 1 for `check`),
so a harness whose seeds were refused, or that stopped mutating, would fail.

The default run is short (a few seconds). For a long run set the number of
examples per target, and optionally a file for the exit codes seen:

    REDLINE_FUZZ_EXAMPLES=5000 REDLINE_FUZZ_COUNTS=fuzz-counts.json \\
        python -m pytest -q tests/test_fuzz_inputs.py

`REDLINE_FUZZ_COUNTS` receives `{target: {exit code: inputs}}`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from duis_support import NO_A, cos, fixture, krp, make_cert, state
from redline.cli import main

EXAMPLES = int(os.environ.get("REDLINE_FUZZ_EXAMPLES", "25"))
REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "stuck-smets1"
COUNTS: dict[str, Counter[int]] = {}

FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 25, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])

JSON_TOKENS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\n", b"null", b"NaN", b"-Infinity", b"1e999", b"1" * 40,
               b"\xff", b"\xc3", b"\x00", b'"\\ud800"', b'"parties": {}, "parties"', b"[" * 100_000, b'"' + b"x" * 100_000 + b'"']
XML_TOKENS = [b"<", b">", b"/", b"&", b";", b"&amp;", b"&x;", b"\x00", b"\xff", b"]]>", b"<![CDATA[", b"<!--", b"-->",
              b'<!DOCTYPE r [<!ENTITY x "y">]>', b'<?xml version="1.0" encoding="utf-32"?>', b'encoding="shift_jis"',
              b"<sr:x>" * 2000, b"<ds:Signature/>", b"<sr:Header/>", b"3000-12-31T00:00:00Z", b"5.\xd9\xa4", b"+3"]
DER_TOKENS = [b"\x00", b"\xff", b"\x30\x80", b"\x03\x01\x00", b"\x02\x01\x03", b"\x06\x03\x55\x04\x2d", b"\x06\x03\x55\x04\x03",
              b"\xa0\x03\x02\x01\x05", b"\x0c\x02+3", b"\x30\x84\xff\xff\xff\xff"]
RULE_TOKENS = [b"(", b")", b'"', b"\\", b"\n", b".", b"==", b"implies", b"forall p: Party . ", b"not ", b"#", b"\xc3\xa9",
               b"\x00", b"\xff", b"(" * 400, b"not " * 600, b"true implies " * 600, b'"' + b"x" * 6000 + b'"', b"2026-13-45T99:99:99Z"]


WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_.]*")


def mutations(tokens: list[bytes]) -> st.SearchStrategy[list[tuple[str, int, int, bytes]]]:
    kinds = st.sampled_from(["flip", "truncate", "delete", "insert", "splice", "word", "line"])
    return st.lists(st.tuples(kinds, st.integers(0, 1 << 20), st.integers(0, 1 << 20), st.sampled_from(tokens)), min_size=1, max_size=4)


def mutate(data: bytes, ops: list[tuple[str, int, int, bytes]]) -> bytes:
    for kind, a, b, token in ops:
        n = max(len(data), 1)
        i, j = sorted((a % n, b % n))
        if kind == "flip" and data:
            data = data[:i] + bytes([data[i] ^ (1 << (b % 8))]) + data[i + 1:]
        elif kind == "truncate":
            data = data[:i]
        elif kind == "delete":
            data = data[:i] + data[j:]
        elif kind == "insert":
            data = data[:i] + token + data[i:]
        elif kind == "word":  # one name in place of another: mostly well-formed, so the checker is reached
            words = list(WORD.finditer(data))
            if words:
                w, other = words[a % len(words)], words[b % len(words)]
                data = data[:w.start()] + other[0] + data[w.end():]
        elif kind == "line":  # a whole line gone: a clause, a field, a row's entry
            start, end = data.rfind(b"\n", 0, i) + 1, data.find(b"\n", i)
            data = data[:start] + (data[end + 1:] if end >= 0 else b"")
        else:  # a piece of the input written again elsewhere (a duplicated element, key or clause)
            data = data[:i] + data[i:j][:4096] + data[i:]
    return data


def run_cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def held(target: str, argv: list[str], allowed: tuple[int, ...] = (0, 1, 2)) -> None:
    code, err = run_cli(argv)
    COUNTS.setdefault(target, Counter())[code] += 1
    assert code in allowed and "Traceback" not in err and "internal error" not in err, (code, err[-2000:])


def report(target: str, must_see: tuple[int, ...]) -> None:
    seen = COUNTS.get(target, Counter())
    if EXAMPLES >= 10:
        assert all(seen[c] for c in must_see), f"{target}: the mutations never reached exit {must_see}: {dict(seen)}"
    path = os.environ.get("REDLINE_FUZZ_COUNTS")
    if path:
        known = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        known[target] = {str(k): v for k, v in sorted(seen.items())}
        Path(path).write_text(json.dumps(known, indent=2) + "\n")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _validate_argv(work: Path, state_bytes: bytes, request_bytes: bytes, suffix: str) -> list[str]:
    (work / "state.json").write_bytes(state_bytes)
    (work / f"request{suffix}").write_bytes(request_bytes)
    return ["validate", "--ruleset", "mp107", "--state", str(work / "state.json"), str(work / f"request{suffix}")]


def _fuzz(target: str, seeds: list[bytes], tokens: list[bytes], check: Callable[[bytes], None]) -> None:
    for seed in seeds:  # each seed as it is: a result, so a harness whose seeds are refused is caught by report()
        check(seed)

    @FUZZ
    @given(st.sampled_from(seeds), mutations(tokens))
    def one(seed: bytes, ops: list[tuple[str, int, int, bytes]]) -> None:
        check(mutate(seed, ops))
    one()


DUIS_STATE = json.dumps(state()).encode()


# The validate targets check the shipped rules once (cached_rules); the rules target must not, or it would see
# its first mutant only.
@pytest.mark.usefixtures("cached_rules")
def test_state_json(work: Path) -> None:
    request = (EXAMPLE / "request.json").read_bytes()
    _fuzz("state", [(EXAMPLE / "state.json").read_bytes(), DUIS_STATE], JSON_TOKENS,
          lambda s: held("state", _validate_argv(work, s, request, ".json")))
    report("state", (0, 2))


@pytest.mark.usefixtures("cached_rules")
def test_request_json(work: Path) -> None:
    state_bytes = (EXAMPLE / "state.json").read_bytes()
    seeds = [(EXAMPLE / "request.json").read_bytes(), json.dumps({**json.loads((EXAMPLE / "request.json").read_text()),
                                                                  "srv": "6.23", "remote_party_role": None}).encode()]
    _fuzz("request", seeds, JSON_TOKENS, lambda r: held("request", _validate_argv(work, state_bytes, r, ".json")))
    report("request", (0, 2))


@pytest.mark.usefixtures("cached_rules")
def test_duis_xml(work: Path) -> None:
    seeds = [t.encode() for t in (krp(), cos(), fixture("read-log-6.13.xml"), fixture("decommission-8.3.xml"), fixture("tariff-1.1.1.xml"))]
    _fuzz("xml", seeds, XML_TOKENS, lambda x: held("xml", _validate_argv(work, DUIS_STATE, x, ".xml")))
    report("xml", (0, 2))


@pytest.mark.usefixtures("cached_rules")
def test_certificate_der(work: Path) -> None:
    seeds = [base64.b64decode(make_cert(code, NO_A)) for code in ("03", "02")]

    def check(der: bytes) -> None:
        cert = base64.b64encode(der).decode()
        held("der", _validate_argv(work, DUIS_STATE, krp(signing=cert, key_agreement=cert).encode(), ".xml"))
    _fuzz("der", seeds, DER_TOKENS, check)
    report("der", (0, 2))


@pytest.fixture(scope="module")
def small_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped rules with the catalogue cut to the rows they name and a few more: `check` in well under a second."""
    rules = tmp_path_factory.mktemp("rules")
    for f in ("vocabulary", "world", "assumptions", "events", "baseline", "mp107"):
        shutil.copy(REPO / "rules" / f"{f}.redline", rules)
    text = (REPO / "rules" / "duis-catalogue.redline").read_text(encoding="utf-8")
    head, *rows = re.split(r"(?m)^(?=  row )", text)
    keep = [r for r in rows if r.startswith(('  row "1.1.1"', '  row "6.13"', '  row "6.15.1"', '  row "6.23"', '  row "8.3"'))]
    (rules / "duis-catalogue.redline").write_text(head + "".join(keep), encoding="utf-8")
    code, err = run_cli(["check", "--rules", str(rules), str(rules)])
    assert code == 0, err
    return rules


def test_rule_files(small_rules: Path, work: Path) -> None:
    names = ["baseline", "mp107", "vocabulary", "world", "duis-catalogue"]
    originals = {n: (small_rules / f"{n}.redline").read_bytes() for n in names}
    seeds = [n.encode() + b"\0" + originals[n] for n in names]  # the file's name rides along with its text

    def check(data: bytes) -> None:
        name, _, text = data.partition(b"\0")
        label = name.decode(errors="replace")
        target = label if label in originals else "baseline"
        try:
            (small_rules / f"{target}.redline").write_bytes(text if label in originals else data)
            held("rules", ["check", "--rules", str(small_rules), str(small_rules)])
        finally:
            (small_rules / f"{target}.redline").write_bytes(originals[target])
    _fuzz("rules", seeds, RULE_TOKENS, check)
    report("rules", (0, 1))
