"""The illustrative redline cos_certificate_owner (rules/cos-certificate.redline): a rule about the
certificate a 6.23 carries without replacing a trust anchor with it (issue 13, carrying is not replacing).
End to end: scenarios, diff both ways, liveness, its properties, the generated validator, the bundle."""

from __future__ import annotations

import importlib.util
import json
import zlib
from pathlib import Path
from types import ModuleType

import pytest

import codegen_space
from duis_support import NO_A, SUPPLIER, cos
from redline.check.checked import carries_certificate, carrying_srvs
from redline.cli import main
from redline.interp import Validator, load_request, load_state
from redline.loading import load_program, repo_rules
from test_duis import Validate, validate  # noqa: F401 (the fixture)

ROOT = Path(__file__).resolve().parents[1]
NAME = "cos_certificate_owner"
PROGRAM, _ = load_program(repo_rules(), [])
assert PROGRAM is not None


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_catalogue_keeps_carrying_apart_from_replacing() -> None:
    catalogue = PROGRAM.rulesets["baseline"].catalogue
    assert carrying_srvs(catalogue) == {"6.15.1", "6.21", "6.23", "8.5"}
    assert [s for s, row in catalogue.items() if row["replaces_trust_anchor"]] == ["6.15.1"]
    # A replacing row carries whatever its column says; an older catalogue without the column carries where it replaces.
    assert carries_certificate({"replaces_trust_anchor": True, "carries_certificate": False})
    assert not carries_certificate({"replaces_trust_anchor": False})


def test_scenarios_pass(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "test", "--format", "json")
    assert code == 0
    ours = [r for r in json.loads(out)["results"] if r["scenario"].startswith(("cos_carries", "cos_ineligible", "krp_unchanged"))]
    assert len({r["scenario"] for r in ours}) == 5 and all(r["ok"] for r in ours), ours
    assert sum(r["ruleset"] == NAME for r in ours) == 5


@pytest.mark.parametrize("old,new", [("baseline", NAME), (NAME, "baseline")])
def test_diff_completes_both_ways(capsys: pytest.CaptureFixture[str], old: str, new: str) -> None:
    code, out, err = run(capsys, "diff", old, new, "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["complete"] is True and d["changes"]
    for c in d["changes"]:
        assert "srv == 6.23" in c["conditions"]
        before, after = (c["before"], c["after"]) if old == "baseline" else (c["after"], c["before"])
        assert before["verdict"] == "accept" and after["verdict"] == "reject"
        assert "replacing" not in c["witness"]["sentence"]  # a carried certificate is not said to replace a cell
    if old == "baseline":
        assert d["intent"]["status"] == "satisfied"


def test_liveness_of_the_new_check(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "liveness", "--ruleset", NAME, "--format", "json")
    assert code == 0, err
    rules = {(e["check"], e["exception"]): e["status"] for e in json.loads(out)["rules"]}
    assert rules[("cos_certificate_is_senders", None)] == "live"
    # What is dead here is dead in the baseline already (s1sp_registration, shadowed by 6.1(f)): nothing new.
    code, out, _ = run(capsys, "liveness", "--ruleset", "baseline", "--format", "json")
    dead_before = {(e["check"], e["exception"]) for e in json.loads(out)["rules"] if e["status"] != "live"}
    assert {k for k, v in rules.items() if v != "live"} == dead_before


def test_properties_hold_as_expected(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "prove", "--format", "json", str(ROOT / "proofs" / "cos-certificate.redline"))
    assert code == 0, err
    results = {(r["property"], r["ruleset"]): r["status"] for r in json.loads(out)["results"]}
    assert results == {
        ("cos_cell_is_the_carried_certificates", "baseline"): "refuted",
        ("cos_cell_is_the_carried_certificates", NAME): "proved",
        ("cos_redline_is_narrow", f"baseline..{NAME}"): "proved",
        ("cos_still_possible", "baseline"): "proved",
        ("cos_still_possible", NAME): "proved",
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    path = tmp_path_factory.mktemp("validators") / f"{NAME}.py"
    assert main(["codegen", "--ruleset", NAME, "-o", str(path)]) == 0
    spec = importlib.util.spec_from_file_location(f"generated_{NAME}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_validator_agrees_with_the_interpreter(generated: ModuleType) -> None:
    """Every 6.23 request of the exhaustive space, a third of the 6.15.1 ones and a slice of the rest, in an
    eighth of the state patterns. The sample is fixed (crc32, not `hash`, which changes per process), so
    a failure reproduces; the whole space is `bench/codegen_equivalence.py`'s."""
    rs = PROGRAM.rulesets[NAME]
    validator = Validator(rs)
    seen: set[tuple[str, str | None]] = set()
    for i, (state_json, requests) in enumerate(codegen_space.space(rs.catalogue, PROGRAM.enums, sorted(PROGRAM.relations))):
        if i % 8:
            continue
        state, prepared = load_state(state_json, PROGRAM), generated.prepare(state_json)
        for q in requests:
            every = {"6.23": 1, "6.15.1": 3}.get(q["srv"], 29)
            if zlib.crc32(json.dumps(q, sort_keys=True).encode()) % every:
                continue
            want = validator.validate(state, load_request(q, state, PROGRAM, rs)).to_json()
            assert generated.validate_prepared(prepared, q) == want, (state_json, q)
            if q["srv"] == "6.23":
                seen.add((want["verdict"], want["check"]))
    # The space reaches both sides of the new check.
    assert ("accept", None) in seen and ("reject", "cos_certificate_is_senders") in seen


@pytest.mark.usefixtures("cached_rules")
def test_rtds_shaped_cos_request(validate: Validate) -> None:  # noqa: F811
    """A DUIS 6.23 carrying another party's Supplier certificate, as the RTDS CS02b 6.23 requests do."""
    for owner, under_new in ((SUPPLIER, "accept"), (NO_A, "reject")):
        for ruleset, want in (("baseline", "accept"), (NAME, under_new)):
            r = validate(cos(owner=owner), "--format", "json", ruleset=ruleset)
            assert r.code == 0, r.err
            v = r.json()
            assert (v["request"]["remote_party_role"], v["request"]["new_certificate_owner"]) == ("Supplier", owner)
            assert v["verdict"] == want, (owner, ruleset, v)


def test_report_bundle_for_the_redline(tmp_path: Path) -> None:
    out = tmp_path / "ev"
    # The generic scope property is refuted (the redline checks every 6.23, SMETS2 included), as the
    # modification's proofs acknowledge, with the reason; every result is as expected.
    assert main(["report", "--modification", NAME, "--out", str(out), "--format", "json"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert all(r["status"] == r["expected"] for r in results["results"])
    scope = next(r for r in results["results"] if r["property"] == "smets2_verdicts_unchanged")
    assert scope["status"] == "refuted" and scope["acknowledged"].startswith("by design")
    assert scope["recheck"]["status"] == "agrees" and scope["counterexample"]["request"]["srv"] == "6.23"
    assert results["modification"] == NAME
    # The bundle holds this redline's properties and none of MP107's (nor of any other modification);
    # properties of the base alone (baseline's temporal ones) are the ground it stands on and stay.
    found = {r["property"] for r in results["results"]}
    assert {"cos_cell_is_the_carried_certificates", "cos_redline_is_narrow", "cos_still_possible"} <= found
    assert all(r["ruleset"] in {"baseline", NAME, f"baseline..{NAME}"} for r in results["results"])
    assert not found & {"no_takeover", "recoverable_no_certificate", "owner_registered_no_takeover"}
    assert results["diff"]["complete"] is True and (out / "report.html").is_file()
