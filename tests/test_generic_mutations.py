"""A mutation campaign against the generic property library (proofs/generic.redline and no_check_made_dead):
small modifications (tests/modifications) that break one property's claim by its plain meaning, each of which
must refute it with a counterexample the interpreter replays under both rule sets, and near misses that must
not. Each prove call asks for one property, to keep the file's time small.

Bugs these found (each test below failed before its fix):
- takeover-effect.redline: no_new_takeover was proved though a Supplier certificate replacement now also hands
  the NO cell to its sender; the base accepted the request, with other effects. Now the base must leave the cell
  to the same owner.
- smets2-effect.redline: smets2_verdicts_unchanged was proved though a SMETS2 NO certificate replacement now
  leaves the sender's certificate in the meter; only verdicts were compared. Now the owner a request leaves in a
  trust anchor cell counts, as changes_only_intended counts it.
- reject-intent.redline: changes_only_intended was proved for waivers whose intent is drafted `intends reject`,
  while `redline diff` said the intent was violated; `intended` read the region, not its direction.
- remove-check.redline: no_check_made_dead was proved though a live check was removed (a removed check was
  skipped); and a check whose base liveness was unsettled was left out, so an unknown could read as proved.
- carry-row.redline: every relational property was proved for a row amendment that makes 4.1.1 replace the
  trust anchor it names (requests were quantified as the base's catalogue shapes them, and the base refuses a
  4.1.1 carrying a certificate as input): now unknown, naming the SRV; `redline diff`, which said complete with no change, is incomplete for the same reason.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from modifications_support import project, run
from redline.loading import repo_rules
from redline.props.generic import no_check_made_dead
from redline.props.liveness import DEFAULT_RLIMIT, liveness
from test_next_modifications_3 import shipped_and

GENERIC = str(repo_rules().parent / "proofs" / "generic.redline")


def prove(capsys: pytest.CaptureFixture[str], modification: str, prop: str) -> dict[str, Any]:
    """One generic property of `modification` (run from its project), its result as JSON; a refutation's
    counterexample is replayed by `redline validate` under both rule sets and must say what the result says."""
    code, out, err = run(capsys, "prove", GENERIC, "--modification", modification, "--property", prop,
                         "--format", "json", "--cex-dir", "cex")
    [result] = json.loads(out)["results"]
    assert result["status"] in ("proved", "refuted"), out + err  # never unknown on these small modifications
    assert code == (0 if result["status"] == "proved" else 1), out + err
    if result["status"] == "refuted":
        cex = next(Path("cex").glob(f"{prop}.*"))
        for key, want in result["counterexample"]["verdicts"].items():
            ruleset = key.split("@", 1)[1]
            code, out, err = run(capsys, "validate", "--ruleset", ruleset, "--format", "json",
                                 "--state", str(cex / "state.json"), str(cex / "request.json"))
            got = json.loads(out)
            assert code == 0 and {k: got[k] for k in ("verdict", "check", "effects")} == \
                {k: want[k] for k in ("verdict", "check", "effects")}, (key, out, err)
    return dict(result)


def owners(verdict: dict[str, Any], cell: str) -> list[str]:
    return [e["owner"] for e in verdict["effects"] if e["trust_anchor"] == cell]


def diff_intent(capsys: pytest.CaptureFixture[str], old: str, new: str) -> str:
    code, out, err = run(capsys, "diff", old, new, "--format", "json")
    status: str = json.loads(out)["intent"]["status"]
    assert code == (1 if status == "violated" else 0), out + err
    return status


def test_a_takeover_through_an_effect_is_new(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The base accepts a Supplier certificate replacement; the modification accepts it too but now also hands
    the NO cell to the sender: a new takeover, though the base accepted the request (it was proved)."""
    monkeypatch.chdir(project(tmp_path, "takeover-effect.redline"))
    r = prove(capsys, "takeover_effect", "no_new_takeover")
    assert r["status"] == "refuted"
    cex, v = r["counterexample"], r["counterexample"]["verdicts"]
    sender = cex["request"]["sender"]
    assert v["r@baseline"]["verdict"] == v["r@takeover_effect"]["verdict"] == "accept"
    assert owners(v["r@takeover_effect"], "NetworkOperator") == [sender] and owners(v["r@baseline"], "NetworkOperator") == []
    assert cex["state"]["devices"][cex["request"]["device"]]["trust_anchors"].get("NetworkOperator") != sender


def test_a_takeover_on_a_chain_over_mp107_is_new(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Over mp107: any Network Operator may now replace a SMETS1 NO certificate it does not own."""
    monkeypatch.chdir(project(tmp_path, "chain-takeover.redline"))
    r = prove(capsys, "chain_takeover", "no_new_takeover")
    v = r["counterexample"]["verdicts"]
    assert r["status"] == "refuted" and r["ruleset"] == "mp107..chain_takeover"
    assert v["r@mp107"]["verdict"] == "reject" and v["r@chain_takeover"]["verdict"] == "accept"


def test_near_miss_an_effect_that_moves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An effect that re-sets the NO cell to its owner only where the sender owns it changes nothing at all."""
    monkeypatch.chdir(project(tmp_path, "owner-keeps.redline"))
    for prop in ("no_new_takeover", "changes_only_intended", "smets2_verdicts_unchanged"):
        assert prove(capsys, "owner_keeps", prop)["status"] == "proved", prop


def test_a_smets2_effect_changed_is_outside_the_declared_scope(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every verdict the same, but a SMETS2 NO certificate replacement now leaves the sender's certificate in the
    meter: SMETS2 changed (it was proved "unchanged"). It is declared, so the diff and changes_only_intended agree."""
    monkeypatch.chdir(project(tmp_path, "smets2-effect.redline"))
    r = prove(capsys, "smets2_effect", "smets2_verdicts_unchanged")
    assert r["status"] == "refuted"
    cex, v = r["counterexample"], r["counterexample"]["verdicts"]
    assert cex["state"]["devices"][cex["request"]["device"]]["generation"] == "SMETS2"
    assert v["r@baseline"]["verdict"] == v["r@smets2_effect"]["verdict"] == "accept"
    assert owners(v["r@baseline"], "NetworkOperator") != owners(v["r@smets2_effect"], "NetworkOperator")
    assert prove(capsys, "smets2_effect", "changes_only_intended")["status"] == "proved"
    assert diff_intent(capsys, "baseline", "smets2_effect") == "satisfied"


def test_a_smets2_rejection_moved_to_the_dsp(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A new DSP check (E7) takes the device's signature rejections: SMETS2 verdicts change layer, and the device's
    check is made dead, as `redline liveness` says."""
    monkeypatch.chdir(project(tmp_path, "smets2-layer.redline"))
    r = prove(capsys, "smets2_layer", "smets2_verdicts_unchanged")
    v = r["counterexample"]["verdicts"]
    assert r["status"] == "refuted"
    assert (v["r@baseline"]["layer"], v["r@smets2_layer"]["layer"], v["r@smets2_layer"]["code"]) == ("Device", "DSP", "E7")
    r = prove(capsys, "smets2_layer", "no_check_made_dead")
    assert r["status"] == "refuted" and "`device_signature`" in r["reason"]
    code, out, _ = run(capsys, "liveness", "--ruleset", "smets2_layer", "--format", "json")
    dead = {x["check"] for x in json.loads(out)["rules"] if x["status"] == "dead" and x["exception"] is None}
    assert code == 0 and "device_signature" in dead


def test_an_intends_reject_that_accepts_is_not_intended(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """MP107's waivers declared `intends reject`: the corrections they newly accept lie in the region but not its
    way. The diff says the intent is violated; the property said proved."""
    monkeypatch.chdir(project(tmp_path, "reject-intent.redline"))
    r = prove(capsys, "reject_intent", "changes_only_intended")
    v = r["counterexample"]["verdicts"]
    assert r["status"] == "refuted"
    assert v["r@baseline"]["verdict"] == "reject" and v["r@reject_intent"]["verdict"] == "accept"
    assert diff_intent(capsys, "baseline", "reject_intent") == "violated"


def test_near_miss_the_same_waivers_declared_their_way(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "accept-intent.redline"))
    assert prove(capsys, "accept_intent", "changes_only_intended")["status"] == "proved"
    assert diff_intent(capsys, "baseline", "accept_intent") == "satisfied"


def test_a_live_check_removed_is_made_dead(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`remove check` of a live check: it can reject nothing under the modification (it was skipped: proved)."""
    monkeypatch.chdir(project(tmp_path, "remove-check.redline"))
    r = prove(capsys, "remove_check", "no_check_made_dead")
    v = r["counterexample"]["verdicts"]
    assert r["status"] == "refuted" and "`s1sp_certificate_owner`" in r["reason"] and "(removed)" in r["reason"]
    assert v["r@baseline"]["check"] == "s1sp_certificate_owner" and v["r@remove_check"]["check"] != "s1sp_certificate_owner"


def test_a_check_unsettled_under_the_base_is_never_proved() -> None:
    """A check whose liveness under the base is unknown and is not live under the modification: the claim about it
    is unknown, never proved (it was left out of the question)."""
    program = shipped_and()
    base, mod = program.rulesets["baseline"], program.rulesets["mp107"]
    found = {rs.name: liveness(program, rs, 10_000, 0) for rs in (base, mod)}

    def status(name: str, check: str, to: str) -> None:
        rep = found[name]
        found[name] = replace(rep, rules=tuple(replace(x, status=to) if x.check == check and x.exception is None else x
                                               for x in rep.rules))
    assert no_check_made_dead(program, mod, 10_000, DEFAULT_RLIMIT, 0, dict(found)).status == "proved"
    status("baseline", "device_signature", "unknown")
    status("mp107", "device_signature", "dead")
    result = no_check_made_dead(program, mod, 10_000, DEFAULT_RLIMIT, 0, dict(found))
    assert result.status == "unknown" and "`device_signature` under baseline" in (result.reason or "")


def test_recovery_refused_through_a_declared_field(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A new check on a declared Request field (`urgent`) refuses recoveries not flagged urgent."""
    monkeypatch.chdir(project(tmp_path, "urgent-krp.redline"))
    r = prove(capsys, "urgent_krp", "recovery_kept")
    v = r["counterexample"]["verdicts"]
    assert r["status"] == "refuted" and v["r@urgent_krp"]["check"] == "urgent_only"
    assert r["counterexample"]["request"].get("urgent") in (False, None)


def test_a_row_that_now_carries_a_certificate_is_never_proved(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """4.1.1 made to replace a trust anchor: its requests with a certificate are input under the modification
    only, and requests were quantified as the base shapes them, so every relational property was proved (a new
    takeover by anyone eligible for 4.1.1). Now unknown, naming the SRV (exit 3)."""
    monkeypatch.chdir(project(tmp_path, "carry-row.redline"))
    code, out, err = run(capsys, "prove", GENERIC, "--modification", "carry_row", "--property", "no_new_takeover",
                         "--format", "json")
    [r] = json.loads(out)["results"]
    assert code == 3 and r["status"] == "unknown" and "SRV 4.1.1" in r["reason"], out + err
    # The diff looked only at requests the base takes as input, and said "complete, no change": now incomplete.
    code, out, err = run(capsys, "diff", "baseline", "carry_row", "--format", "json")
    d = json.loads(out)
    assert code == 3 and not d["complete"] and "SRV 4.1.1" in d["reason"] and "UNKNOWN" in err, out + err
    # The other way a region's witness carried a certificate the new side refuses as input: exit 70 on its replay.
    code, out, err = run(capsys, "diff", "carry_row", "baseline", "--format", "json")
    d = json.loads(out)
    assert code == 3 and not d["complete"] and "SRV 4.1.1" in d["reason"], out + err


def test_recovery_refused_through_the_relevant_times(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Eligibility judged at the time of the check, not throughout the request's relevant times (SRPD 6.1(f)):
    a recovery for a date range the party is registered throughout is refused."""
    monkeypatch.chdir(project(tmp_path, "times-now.redline"))
    r = prove(capsys, "times_now", "recovery_kept")
    v = r["counterexample"]["verdicts"]
    assert r["status"] == "refuted" and v["r@times_now"]["check"] in ("eligible_user", "s1sp_registration")
    assert r["counterexample"]["request"]["date_range"] or r["counterexample"]["request"]["execution_time"]


def test_near_miss_a_declared_field_read_on_smets1_only(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "legacy-smets1.redline"))
    assert prove(capsys, "legacy_smets1", "smets2_verdicts_unchanged")["status"] == "proved"
    assert prove(capsys, "legacy_smets1", "changes_only_intended")["status"] == "proved"


def test_an_incomplete_diff_with_no_region_is_not_read_as_no_change() -> None:
    """The bundle's first screen said "Nothing: every request is judged as before." above the line saying the diff
    was NOT complete (carry_row): the headline must not be the all clear the diff cannot give."""
    from types import SimpleNamespace

    from redline.report.answer import answer

    def first_line(complete: bool) -> str:
        diff = {"old": "baseline", "changes": [], "complete": complete, "reason": None if complete else "SRV 4.1.1 ...",
                "intent": {"status": "absent", "violations": []}}
        ev = SimpleNamespace(diff=diff, modification="carry_row", unsettled=[], view=None, results=[], assumptions=[])
        return answer(ev).none_found  # type: ignore[arg-type]
    assert first_line(True) == "Nothing: every request is judged as before."
    assert "NOT complete" in first_line(False) and "not a finding of no change" in first_line(False)
