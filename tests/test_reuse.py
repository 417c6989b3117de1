"""Redlines written once and applied to more than one base: `amends BASE with redlines of OTHER`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.cli import main

GT_WAIVER = '''
modification gt_waiver "test: no DSP RDP check for a Gas Transporter's 6.15.1" amends baseline
  amend check eligible_user
    except "test §1" when srv == "6.15.1" and role == GT
  intends change "test §1" where srv == "6.15.1" and role == GT

modification gt_waiver_after_mp107 "test: the same redlines over mp107" amends mp107 with redlines of gt_waiver
'''


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def diff_json(capsys: pytest.CaptureFixture[str], rules: Path, old: str, new: str) -> dict[str, object]:
    code, out, err = run(capsys, "diff", old, new, "--format", "json", "--rules", str(rules))
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_reused_redlines_make_the_same_rule_set(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    (rules_copy / "again.redline").write_text(
        'modification mp107_again "MP107, its redlines reused" amends baseline with redlines of mp107\n')
    d = diff_json(capsys, rules_copy, "mp107", "mp107_again")
    assert d["count"] == 0 and d["changes"] == [] and d["complete"] is True
    # ...and differs from baseline exactly as mp107 does, intent included
    again, original = diff_json(capsys, rules_copy, "baseline", "mp107_again"), diff_json(capsys, rules_copy, "baseline", "mp107")
    assert again["count"] == original["count"] and len(again["changes"]) == len(original["changes"])  # type: ignore[arg-type]
    assert again["intent"]["status"] == "satisfied"  # type: ignore[index]


def test_a_diff_over_a_chain_checks_every_modifications_intents(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    (rules_copy / "gt.redline").write_text(GT_WAIVER)
    d = diff_json(capsys, rules_copy, "baseline", "gt_waiver_after_mp107")
    intent = d["intent"]
    assert intent["status"] == "satisfied", intent  # type: ignore[index]
    declared = {i["clause"] for i in intent["declared"]}  # type: ignore[index]
    assert "test §1" in declared and any(c.startswith("MP107 §1") for c in declared)
    # One step down the chain only gt_waiver's intent is checked, and it is honestly violated: mp107
    # already waives the check for every Network Operator, so over mp107 the redlines change nothing.
    code, out, err = run(capsys, "diff", "mp107", "gt_waiver_after_mp107", "--format", "json", "--rules", str(rules_copy))
    d2 = json.loads(out)
    assert code == 1 and d2["count"] == 0, err
    assert [i["clause"] for i in d2["intent"]["declared"]] == ["test §1"]
    assert [v["problem"] for v in d2["intent"]["violations"]] == ["nothing changes where this intent says it does"]


def test_a_reused_intent_that_does_not_hold_is_reported_over_every_base(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    # The waiver changes SMETS1 requests only (6.1(f) does not apply to Critical SMETS2 ones), so an
    # intent that says SMETS2 is wrong over baseline and, reused, over the chain through mp107 too.
    (rules_copy / "gt.redline").write_text(GT_WAIVER.replace(
        'intends change "test §1" where srv == "6.15.1" and role == GT',
        'intends change "test §1" where srv == "6.15.1" and role == GT and device.generation == SMETS2'))
    for old, new in (("baseline", "gt_waiver"), ("baseline", "gt_waiver_after_mp107")):
        code, out, err = run(capsys, "diff", old, new, "--format", "json", "--rules", str(rules_copy))
        assert code == 1, err
        intent = json.loads(out)["intent"]
        assert intent["status"] == "violated", (old, new, intent)  # type: ignore[index]
        assert any(v["intent"] == "test §1" and "nothing changes" in v["problem"]
                   for v in intent["violations"]), intent  # type: ignore[index]


def test_reuse_errors_are_precise(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    (rules_copy / "bad.redline").write_text(
        'modification a1 "x" amends baseline with redlines of b1\n'
        'modification b1 "x" amends baseline with redlines of a1\n'
        'modification c1 "x" amends baseline with redlines of baseline\n'
        'modification d1 "x" amends mp107\n'
        '  remove check eligible_user "x"\n'
        'modification e1 "x" amends baseline with redlines of d1\n'
        'modification f1 "x" amends e1\n'
        '  amend check eligible_user\n'
        '    except "y" when srv == "6.15.1"\n'
    )
    code, _, err = run(capsys, "check", "--rules", str(rules_copy))
    assert code == 1
    assert "bad.redline:2:54: error[E107]" in err and "bad.redline:1:54: error[E107]" in err
    assert "bad.redline:3:54: error[E101]: unknown modification `baseline`" in err
    # d1 removes eligible_user from mp107; reused over baseline that works, so e1 lacks the check f1 amends
    assert "bad.redline:8:15: error[E105]: cannot amend check `eligible_user`: rule set `e1`" in err
    assert "Traceback" not in err


def test_a_reused_redline_that_misses_its_new_base_names_both(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    (rules_copy / "bad.redline").write_text(
        'modification adds "x" amends mp107\n'
        '  add check extra "x" at DSP reject E2\n'
        '    requires role in srv.eligible_roles\n'
        'modification amends_extra "x" amends mp107\n'
        '  amend check extra\n'
        '    except "y" when srv == "6.15.1"\n'
        'modification over_baseline "x" amends baseline with redlines of amends_extra\n'
    )
    code, _, err = run(capsys, "check", "--rules", str(rules_copy))
    assert code == 1
    assert "cannot amend check `extra`: rule set `mp107` has no such check" in err
    assert "cannot amend check `extra`: rule set `baseline` has no such check" in err
    assert "while applying the redlines of `amends_extra` to `baseline` (modification `over_baseline` at" in err


def test_fmt_keeps_the_reuse_clause(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "m.redline"
    f.write_text(GT_WAIVER.lstrip())
    code, out, err = run(capsys, "fmt", str(f))
    assert code == 0, err
    assert "amends mp107 with redlines of gt_waiver" in out
