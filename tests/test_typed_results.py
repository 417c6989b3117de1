"""Results are typed values with one JSON codec: the codec round-trips, and the solver/interpreter
cross-check of a finding raises when a verdict the solver gave was never replayed."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from redline.cli import main
from redline.codec import result_from_json, result_json
from redline.loading import load_program
from redline.props import ProofResult, ReplayError, prove
from redline.props.crosscheck import Judged, Said, cross_check

ROOT = Path(__file__).resolve().parents[1]


def test_a_solver_verdict_with_no_replayed_verdict_raises() -> None:
    solver = {Judged(0, "s", "r"): Said(True, None), Judged(1, "s", "r"): Said(False, "eligible_user")}
    interpreter = {Judged(0, "s", "r"): Said(True, None)}  # rule set 1's verdict on r is missing
    with pytest.raises(ReplayError, match=r"`r` in `s` under mp107, but the interpreter never replayed it"):
        cross_check(solver, interpreter, ["baseline", "mp107"])


def test_the_cross_check_compares_by_value_and_names_a_disagreement() -> None:
    solver = {Judged(0, "s", "r"): Said(False, "eligible_user")}
    cross_check(solver, {Judged(0, "s", "r"): Said(False, "eligible_user")}, ["mp107"])  # equal values, other objects
    cross_check({}, {Judged(0, "s", "r"): Said(True, None)}, ["mp107"])  # a verdict the body never judged is only shown
    with pytest.raises(ReplayError, match=r"\(reject eligible_user\) differs from the interpreter's \(accept\)"):
        cross_check(solver, {Judged(0, "s", "r"): Said(True, None)}, ["mp107"])


def test_a_finding_whose_request_is_not_replayed_is_an_internal_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Drop the decoded requests: the solver judged one, so the prover must refuse, not skip the check."""
    import redline.props.prover as prove_module
    real = prove_module.decode

    def without_requests(*args: Any) -> Any:
        return replace(real(*args), requests={})
    monkeypatch.setattr(prove_module, "decode", without_requests)
    code = main(["prove", "--property", "stuck_state_reachable", "--rules", str(ROOT / "rules"), str(ROOT / "proofs")])
    _, err = capsys.readouterr()
    assert code == 70
    assert "the interpreter never replayed it" in err


@pytest.fixture(scope="module")
def results() -> list[ProofResult]:
    program, _ = load_program(ROOT / "rules", [ROOT / "proofs"])
    assert program is not None
    return [r for name in ("stuck_state_reachable", "recoverable_no_certificate", "stuck_reachable")
            for r in prove(program, name, 10_000, 0, 0)]


def test_the_codec_round_trips_every_kind_of_result(results: list[ProofResult]) -> None:
    kinds = {(r.counterexample or r.witness) is not None and bool((r.counterexample or r.witness).trace)  # type: ignore[union-attr]
             for r in results}
    assert kinds == {True, False}, "a one-step finding and a multi-step trace are both covered"
    assert any(r.candidates for r in results) and any(len(r.rulesets) == 1 for r in results)
    for r in results:
        j = result_json(r)
        back = result_from_json(json.loads(json.dumps(j)))
        assert back == replace(r, seconds=round(r.seconds, 3))
        assert json.dumps(result_json(back)) == json.dumps(j)


def test_verdict_keys_are_typed_and_written_as_the_formats_say(results: list[ProofResult]) -> None:
    found = next(r.witness or r.counterexample for r in results if (r.witness or r.counterexample) and r.rulesets == ("baseline",)
                 and (r.witness or r.counterexample).verdicts)  # type: ignore[union-attr]
    assert found is not None and found.verdicts
    key = next(iter(found.verdicts))
    assert key.ruleset == "baseline" and "@" not in key.request
    assert f"{key.request}@baseline" in json.dumps([result_json(r) for r in results])
