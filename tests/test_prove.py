"""`redline prove`: the shipped properties give their expected results; what
the solver finds replays through the interpreter; bad properties are
diagnosed; the properties notice a broken modification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prove_support import Proved, properties_of
from redline.cli import main

ROOT = Path(__file__).resolve().parents[1]

# Loading the rules and proofs costs about 0.8 s of CPU a command, and most tests here run several on the same
# files; the ones that change a rule or a property write it to a directory of their own (a key of its own).
pytestmark = pytest.mark.usefixtures("cached_rules")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_shipped_properties_match_their_expectations(proved: Proved) -> None:
    assert proved.code == 0
    # The properties of proofs/mp107.redline, every one of them (the run also holds the other proof files').
    named = properties_of(ROOT / "proofs" / "mp107.redline")
    assert len(named) == 13
    results = [r for r in proved.results if r["property"] in named]
    got = {(r["property"], r["ruleset"]): r["status"] for r in results}
    assert got == {
        ("recoverable_no_certificate", "baseline"): "refuted",
        ("recoverable_no_certificate", "mp107"): "proved",
        ("no_takeover", "baseline"): "proved",
        ("no_takeover", "mp107"): "proved",
        ("smets2_unchanged", "baseline..mp107"): "proved",
        ("minimal_change", "baseline..mp107"): "proved",
        ("stuck_state_reachable", "baseline"): "proved",
        ("stuck_state_reachable", "mp107"): "refuted",
        ("recoverable_without_active_owner", "baseline"): "refuted",
        ("recoverable_without_active_owner", "mp107"): "refuted",
        ("registration_still_checked", "baseline"): "proved",
        ("registration_still_checked", "mp107"): "proved",
        ("only_eligible_roles", "baseline"): "proved",
        ("only_eligible_roles", "mp107"): "proved",
        ("only_suitable_devices", "baseline"): "proved",
        ("only_suitable_devices", "mp107"): "proved",
        ("change_of_supplier_is_eligible", "baseline"): "proved",
        ("change_of_supplier_is_eligible", "mp107"): "proved",
        ("critical_needs_supplier_owner", "baseline"): "proved",
        ("critical_needs_supplier_owner", "mp107"): "proved",
        ("non_device_requests_accepted", "baseline"): "proved",
        ("non_device_requests_accepted", "mp107"): "proved",
        ("other_user_needs_no_registration", "baseline"): "proved",
        ("other_user_needs_no_registration", "mp107"): "proved",
    }
    for r in results:
        assert r["proof"] == "one-step" and r["seconds"] >= 0
        assert r["clauses"], r["property"]
        assert r["status"] == r["expected"]
    # An unbounded proof cites what its unsat core needed: P1 after MP107 rests on MP107's two exceptions.
    p1 = next(r for r in results if r["property"] == "recoverable_no_certificate" and r["ruleset"] == "mp107")
    assert any(c.startswith("MP107 §1") for c in p1["clauses"]) and any(c.startswith("MP107 §3") for c in p1["clauses"])
    assert "SRPD 6.1" not in p1["clauses"]
    nd = next(r for r in results if r["property"] == "non_device_requests_accepted" and r["ruleset"] == "baseline")
    assert nd["clauses"] == ["SRPD 6.2"] and nd["assumptions"] == ["A2"]
    p1 = next(r for r in results if r["property"] == "recoverable_no_certificate" and r["ruleset"] == "baseline")
    state = p1["counterexample"]["state"]
    [device] = state["devices"].values()
    assert device["generation"] == "SMETS1"
    w, c = p1["counterexample"]["parties"]["w"], p1["counterexample"]["parties"]["c"]
    assert device["trust_anchors"]["NetworkOperator"] == w and w != c
    assert "A4" in p1["assumptions"]


def test_counterexamples_and_witnesses_replay_with_validate(capsys: pytest.CaptureFixture[str],
                                                           proved: Proved) -> None:
    assert proved.code == 0
    cex_dir = proved.cex_dir
    witness = cex_dir / "stuck_state_reachable.baseline"
    code, out, _ = run(capsys, "validate", "--ruleset", "baseline", "--format", "json",
                       "--state", str(witness / "state.json"), str(witness / "request.json"))
    assert code == 0
    verdict = json.loads(out)
    assert verdict["verdict"] == "accept"
    assert verdict["effects"][0]["trust_anchor"] == "NetworkOperator"
    # The P1 counterexample: the wrong owner's own correction is rejected by the RDP check.
    cex = cex_dir / "recoverable_no_certificate.baseline"
    candidates = sorted(cex.glob("candidate-*.json"))
    assert candidates
    for cand in candidates:
        code, out, _ = run(capsys, "validate", "--ruleset", "baseline", "--format", "json", "--state", str(cex / "state.json"), str(cand))
        assert code == 0
        v = json.loads(out)
        sets_no = [e for e in v["effects"] if e["trust_anchor"] == "NetworkOperator"]
        assert not sets_no or v["verdict"] == "reject"


def test_a_wrong_expectation_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = (ROOT / "proofs" / "mp107.redline").read_text().replace(
        "expect mp107 proved\n  rests on A4, A7", "expect mp107 refuted\n  rests on A4, A7", 1)
    (tmp_path / "p.redline").write_text(text)
    code, out, _ = run(capsys, "prove", "--property", "recoverable_no_certificate", "--rules", str(ROOT / "rules"), str(tmp_path))
    assert code == 1
    assert "FAIL recoverable_no_certificate [mp107]: PROVED (expected refuted)" in out


def test_the_properties_notice_a_broken_modification(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    """Drop MP107's S1SP exception: the NO can no longer fix the certificate, and P1 fails under mp107."""
    rules = rules_copy
    mp107 = rules / "mp107.redline"
    text = mp107.read_text()
    cut = text.index("  amend check s1sp_registration")
    mp107.write_text(text[:cut])
    code, out, _ = run(capsys, "prove", "--format", "json", "--property", "recoverable_no_certificate", "--rules", str(rules), str(ROOT / "proofs"))
    assert code == 1
    got = {r["ruleset"]: r["status"] for r in json.loads(out)["results"]}
    assert got == {"baseline": "refuted", "mp107": "refuted"}


def test_a_bad_property_body_is_a_diagnostic(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.redline").write_text(
        'property p "x"\n  expect baseline proved\n  holds forall s: State . acceptd(s)\n')
    code, _, err = run(capsys, "prove", "--rules", str(ROOT / "rules"), str(tmp_path))
    assert code == 2
    assert "bad.redline:3:" in err and "error[E401]" in err and "unknown function `acceptd`" in err
    assert "Traceback" not in err


def test_a_nested_state_binder_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.redline").write_text(
        'property p "x"\n  expect baseline proved\n  holds forall r: Request . exists s: State . accepted(s, r)\n')
    code, _, err = run(capsys, "prove", "--rules", str(ROOT / "rules"), str(tmp_path))
    assert code == 2
    assert "outermost" in err


def test_unknown_property_and_smt2_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "prove", "--property", "no_such", "--rules", str(ROOT / "rules"), str(ROOT / "proofs"))
    assert code == 2 and "unknown property `no_such`" in err
    out_dir = tmp_path / "smt2"
    code, _, _ = run(capsys, "prove", "--property", "no_takeover", "--smt2", str(out_dir), "--rules", str(ROOT / "rules"), str(ROOT / "proofs"))
    assert code == 0
    files = sorted(p.name for p in out_dir.iterdir() if p.name != ".redline-manifest.json")  # the manifest: output.py
    assert files and all(f.startswith("no_takeover.") and f.endswith(".smt2") for f in files)
    assert "(check-sat)" in (out_dir / files[0]).read_text()


def test_a_model_the_interpreter_disagrees_with_is_an_internal_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replay is real: an interpreter that rejected everything would contradict the P5 witness."""
    import redline.props.prover as prove_module
    from redline.interp import Validator

    class RejectAll(Validator):
        def validate(self, state, request):  # type: ignore[no-untyped-def]
            v = super().validate(state, request)
            first = self.ruleset.checks[0]
            return type(v)(v.ruleset, False, first, (), ((first, "fail", None),))

    monkeypatch.setattr(prove_module, "Validator", RejectAll)
    code, out, err = run(capsys, "prove", "--property", "stuck_state_reachable", "--rules", str(ROOT / "rules"), str(ROOT / "proofs"))
    assert code == 70
    assert "did not replay" in err and "stuck_state_reachable" not in out


def test_registration_still_checked_notices_a_wider_s1sp_waiver(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    """Waive the S1SP check for every 6.15.1 (not only the NO certificate): a NO could then replace
    the Supplier certificate without being registered, and the property says so."""
    rules = rules_copy
    mp107 = rules / "mp107.redline"
    mp107.write_text(mp107.read_text().replace(
        'when srv == "6.15.1" and request.remote_party_role == NetworkOperator', 'when srv == "6.15.1"'))
    code, out, _ = run(capsys, "prove", "--format", "json", "--property", "registration_still_checked",
                       "--rules", str(rules), str(ROOT / "proofs"))
    assert code == 1
    [mp] = [r for r in json.loads(out)["results"] if r["ruleset"] == "mp107"]
    assert mp["status"] == "refuted"
    req = mp["counterexample"]["request"]
    assert req["srv"] == "6.15.1" and req["role"] in ("ED", "GT") and req["remote_party_role"] != "NetworkOperator"


def test_a_rule_outside_the_encoded_fragment_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path, rules_copy: Path) -> None:
    """Text columns are not encoded: a rule that reads one is refused by the prover, not approximated."""
    rules = rules_copy
    (rules / "textual.redline").write_text(
        'modification textual "test" amends baseline\n'
        '  add before dcc_user_in_role check by_name "test" at DSP reject E2\n'
        '    requires srv.name != "Update Security Credentials (KRP)"\n'
    )
    (tmp_path / "p.redline").write_text('property p "x"\n  expect textual proved\n  holds forall s: State, r: Request . accepted(s, r) implies in_smi(s)\n')
    code, _, err = run(capsys, "prove", "--rules", str(rules), str(tmp_path))
    assert code == 2
    assert "error[E402]: unsupported" in err and "textual.redline:3:" in err


def test_a_solver_give_up_is_unknown_never_proved(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prove", "--format", "json", "--rlimit", "1", "--property", "no_takeover",
                       "--rules", str(ROOT / "rules"), str(ROOT / "proofs"))
    assert code == 3
    results = json.loads(out)["results"]
    assert results and all(r["status"] == "unknown" and r["reason"] for r in results)


def test_redline_check_type_checks_property_bodies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "bad.redline").write_text('property p "x"\n  expect baseline proved\n  holds forall s: State . owner(s, Suplier) == owner(s, Supplier)\n')
    code, _, err = run(capsys, "check", "--rules", str(ROOT / "rules"), str(tmp_path / "bad.redline"))
    assert code == 1
    assert "bad.redline:3:36: error[E401]: unknown name `Suplier`" in err and "did you mean `Supplier`?" in err


def test_a_cross_check_the_solver_gives_up_on_is_unknown_not_an_internal_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The candidates of a state-alone counterexample are each held to the encoding by one more solver call;
    a give-up there (a tiny budget) leaves the result unknown, never exit 70 and never a finding."""
    import redline.props.prover as prove_module
    monkeypatch.setattr(prove_module, "agrees", lambda *a: None)
    code, out, err = run(capsys, "prove", "--format", "json", "--property", "recoverable_no_certificate",
                         "--rules", str(ROOT / "rules"), str(ROOT / "proofs"))
    assert code == 3, err
    baseline = next(r for r in json.loads(out)["results"] if r["ruleset"] == "baseline")
    assert baseline["status"] == "unknown" and "gave up cross-checking candidate" in baseline["reason"]
    assert not baseline.get("counterexample")


def test_the_candidate_cross_check_runs_under_the_budget() -> None:
    from redline.interp import Validator, load_request, load_state
    from redline.loading import load_program
    from redline.props.concrete import concrete
    from redline.props.prover import anchors_after
    from redline.smt import Encoder, Sorts
    from redline.smt.concrete import agrees

    program, _ = load_program(ROOT / "rules", [])
    assert program is not None
    rs = program.rulesets["mp107"]
    state = load_state(json.loads((ROOT / "examples/stuck-smets1/state.json").read_text()), program)
    req = load_request(json.loads((ROOT / "examples/stuck-smets1/request.json").read_text()), state, program, rs)
    v = Validator(rs).validate(state, req)
    x = concrete(state, req)
    encoder = Encoder(Sorts(program, sorted(rs.catalogue)), rs)
    args = (encoder, x, v.accepted, v.failed.name if v.failed else None, anchors_after(x, v))
    assert agrees(*args) is True
    assert agrees(*args, 10_000, 1, 0) is None  # out of rlimit: unknown, not an exception


@pytest.mark.parametrize("flag", ["--cex-dir", "--smt2"])
def test_prove_outputs_follow_the_one_write_policy(flag: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Issue 15: --cex-dir and --smt2 followed symlinks and overwrote files silently. Now, as `report --out`
    (redline/output.py): a directory redline wrote is replaced whole; anything else is refused before any solving."""
    prove = ["prove", "--property", "stuck_state_reachable", "--rules", str(ROOT / "rules"), str(ROOT / "proofs")]
    out = tmp_path / "out"
    assert run(capsys, *prove, flag, str(out))[0] == 0
    first = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert ".redline-manifest.json" in first and len(first) > 1
    assert run(capsys, *prove, flag, str(out))[0] == 0  # its own output: replaced
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == first
    (out / "notes.txt").write_text("mine")
    code, _, err = run(capsys, *prove, flag, str(out))
    assert code == 2 and "notes.txt is not one of the files redline wrote" in err and "refusing to replace it" in err
    assert (out / "notes.txt").read_text() == "mine"
    link = tmp_path / "link"
    link.symlink_to(out)
    code, _, err = run(capsys, *prove, flag, str(link))
    assert code == 2 and "symbolic link" in err and (out / "notes.txt").read_text() == "mine"
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    code, _, err = run(capsys, *prove, flag, str(a_file))
    assert code == 2 and "exists and is not a directory" in err and a_file.read_text() == "mine"


def test_smt2_and_cex_dir_may_not_nest(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "prove", "--property", "no_takeover", "--cex-dir", str(tmp_path / "out"),
                       "--smt2", str(tmp_path / "out" / "smt2"), "--rules", str(ROOT / "rules"), str(ROOT / "proofs"))
    assert code == 2 and "neither inside the other" in err and not (tmp_path / "out").exists()
