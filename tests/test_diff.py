"""`redline diff`: the exact difference of two rule sets, complete, with replayed witnesses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def diff_with(capsys: pytest.CaptureFixture[str], rules: Path, modification: str, name: str) -> dict[str, object]:
    (rules / f"{name}.redline").write_text(modification)
    code, out, err = run(capsys, "diff", "baseline", name, "--format", "json", "--rules", str(rules))
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_mp107_diff_is_complete_and_small(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "diff", "baseline", "MP107", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert d["old"] == "baseline" and d["new"] == "mp107" and d["complete"] is True
    assert d["intent"]["status"] == "satisfied"
    assert 1 <= len(d["changes"]) <= 5
    # Counts are request shapes (SRV, role, device, target cell); a shape can lie in several regions
    # (one state accepted, another rejected), so the total is their union: 6.15.1 from ED or GT on a
    # SMETS1 device the SRV suits (12 type and status pairs), any of the 7 target cells.
    assert d["count"] == 2 * 12 * 7 and d["counts"] == "request shapes"
    assert max(c["count"] for c in d["changes"]) == d["count"] <= sum(c["count"] for c in d["changes"])
    for c in d["changes"]:
        assert "srv == 6.15.1" in c["conditions"] and "device.generation == SMETS1" in c["conditions"]
        assert "role in {ED, GT}" in c["conditions"] and c["exact"] is True
        assert c["before"]["code"] == "E4" and "MP107 Modification Report, Annex B (redlined SRPD)" in c["clauses"]
    [accepted] = [c for c in d["changes"] if c["after"]["verdict"] == "accept"]
    assert "request.remote_party_role == NetworkOperator" in accepted["conditions"] and accepted["count"] == 2 * 12
    # Only the 24 shapes targeting the NO cell hold an acceptance; in the rest the rejection only moves.
    assert d["rejection_moves"]["shapes"] == 144 and d["rejection_moves"]["of"] == 168
    assert d["rejection_moves"]["transitions"] == {"DSP E4 -> S1SP, no DUIS code": 144}
    # The witness replays: E4 before, accepted after.
    w = accepted["witness"]
    (tmp_path / "s.json").write_text(json.dumps(w["state"]))
    (tmp_path / "r.json").write_text(json.dumps(w["request"]))
    for ruleset, verdict in (("baseline", "reject"), ("mp107", "accept")):
        code, out, _ = run(capsys, "validate", "--ruleset", ruleset, "--format", "json", "--state", str(tmp_path / "s.json"), str(tmp_path / "r.json"))
        assert code == 0 and json.loads(out)["verdict"] == verdict


def test_no_difference_between_a_rule_set_and_itself(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", "mp107", "mp107", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert d["changes"] == [] and d["complete"] is True and d["count"] == 0


def test_an_eligibility_matrix_change(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    d = diff_with(capsys, rules_copy, 'modification widen "test" amends baseline\n'
                  '  amend row "4.1.1" "test: RSA may read registers" { eligible_roles = {IS, GS, ED, GT, RSA} }\n', "widen")
    assert d["complete"] is True and d["changes"]
    for c in d["changes"]:
        assert "srv == 4.1.1" in c["conditions"] and "role == RSA" in c["conditions"]
        assert c["before"]["code"] == "E2"


def test_a_removed_check(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    rules = rules_copy
    (rules / "x.redline").write_text(
        'modification with_x "test" amends baseline\n'
        '  add check only_ou_reads "test: 4.8.1 only for an Other User" at DSP reject E2\n'
        '    applies when srv == "4.8.1"\n'
        '    requires role == OU\n'
        'modification without_x "test" amends with_x\n'
        '  remove check only_ou_reads "test: the check goes"\n')
    code, out, _ = run(capsys, "diff", "with_x", "without_x", "--format", "json", "--rules", str(rules))
    assert code == 0
    d = json.loads(out)
    assert d["complete"] is True and d["changes"]
    for c in d["changes"]:
        assert "srv == 4.8.1" in c["conditions"] and c["before"]["code"] == "E2"
        assert not any(x.startswith("role") and "OU" in x and "in" not in x for x in c["conditions"])


def test_a_diff_too_large_to_enumerate_says_so(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    rules = rules_copy
    (rules / "ns.redline").write_text('modification no_status "test" amends baseline\n'
                                      '  remove check smi_status_suits_srv "test: no SMI status check"\n')
    code, out, _ = run(capsys, "diff", "baseline", "no_status", "--limit", "50", "--format", "json", "--rules", str(rules))
    assert code == 0
    d = json.loads(out)
    assert d["complete"] is False and "more than 50" in d["reason"]


def test_an_added_check_on_the_payload(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    d = diff_with(capsys, rules_copy, 'modification no_ranges "test" amends baseline\n'
                  '  add check no_range_for_4_6_1 "test: no date range on 4.6.1" at DSP reject E2\n'
                  '    applies when srv == "4.6.1"\n'
                  '    requires request.date_range == null\n', "no_ranges")
    assert d["complete"] is True and d["changes"]
    for c in d["changes"]:
        assert "srv == 4.6.1" in c["conditions"]
        assert "request.date_range != null" in c["conditions"]
        assert c["after"]["code"] == "E2" and c["before"]["verdict"] == "accept"


def test_a_changed_effect(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    d = diff_with(capsys, rules_copy, 'modification no_cos "test" amends baseline\n'
                  '  remove effect change_of_supplier_credentials "test: 6.23 changes nothing"\n', "no_cos")
    assert d["complete"] is True and d["changes"]
    for c in d["changes"]:
        assert "srv == 6.23" in c["conditions"]
        assert c["before"]["verdict"] == "accept" and c["after"]["verdict"] == "accept"


def test_an_unknown_rule_set_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "diff", "baseline", "mp108")
    assert code == 2 and "unknown rule set `mp108`" in err


def _mp107_with(rules: Path, old: str, new: str) -> Path:
    text = (rules / "mp107.redline").read_text()
    assert old in text
    (rules / "mp107.redline").write_text(text.replace(old, new))
    return rules


def test_mp107_declares_its_intent_and_meets_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "diff", "baseline", "mp107", "--format", "json")
    intent = json.loads(out)["intent"]
    assert code == 0 and intent["status"] == "satisfied" and intent["violations"] == []
    assert [d["kind"] for d in intent["declared"]] == ["change", "accept"]


def test_an_intent_too_narrow_is_violated_with_a_witness(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    rules = _mp107_with(rules_copy, 'where srv == "6.15.1" and device.generation == SMETS1 and role in NetworkOperator\n',
                        'where srv == "6.15.1" and device.generation == SMETS1 and role in NetworkOperator and request.remote_party_role == NetworkOperator\n')
    code, out, _ = run(capsys, "diff", "baseline", "mp107", "--format", "json", "--rules", str(rules))
    assert code == 1
    intent = json.loads(out)["intent"]
    assert intent["status"] == "violated"
    [v] = [v for v in intent["violations"] if v["problem"].startswith("a difference lies outside")]
    assert v["witness"]["request"]["remote_party_role"] != "NetworkOperator"
    assert v["before"] != v["after"]


def test_an_intent_too_wide_is_violated_with_a_witness(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    rules = _mp107_with(rules_copy, "and sender.dcc_user and role in sender.roles and sender == device.trust_anchors[NetworkOperator]",
                        "and sender.dcc_user and role in sender.roles")
    code, out, _ = run(capsys, "diff", "baseline", "mp107", "--format", "json", "--rules", str(rules))
    assert code == 1
    [v] = json.loads(out)["intent"]["violations"]
    assert v["kind"] == "accept" and "not every request" in v["problem"]
    assert v["after"]["verdict"] == "reject" and v["after"]["layer"] == "S1SP"


def test_an_intent_where_nothing_changes_is_violated(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    rules = _mp107_with(rules_copy, "  intends change \"MP107 §1", '  intends change "test" where srv == "4.1.1"\n  intends change "MP107 §1')
    code, out, _ = run(capsys, "diff", "baseline", "mp107", "--format", "json", "--rules", str(rules))
    assert code == 1
    problems = [v["problem"] for v in json.loads(out)["intent"]["violations"]]
    assert "nothing changes where this intent says it does" in problems


def test_an_intent_that_does_not_type_check_is_bad_input(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    rules = _mp107_with(rules_copy, "where srv == \"6.15.1\" and device.generation == SMETS1 and role in NetworkOperator\n",
                        "where srv == \"6.15.1\" and device.generation == SMETS3\n")
    code, _, err = run(capsys, "diff", "baseline", "mp107", "--rules", str(rules))
    assert code == 2 and "SMETS3" in err and "error[" in err
