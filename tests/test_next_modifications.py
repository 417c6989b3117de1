"""Modifications of kinds the shipped examples lack, loaded as a reviewer loads one (a redline.toml beside
them, the shipped rules underneath), through every analysis that applies: each answers, or refuses by name
with exit 2, never a traceback or a wrong answer.

- tests/modifications/dno-region.redline: a check reading a declared Device and a declared Party field
  (`device.dno_region == sender.region`), with a one-step and a temporal property
  (tests/modifications/dno-region-properties.redline).
- tests/modifications/keep-sender.redline: a second effect on the cell an existing effect writes, which wins.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modifications_support import MODS, project, run

P1, P2, P3 = (f"90-B3-D5-1F-30-0{i}-00-00" for i in (1, 2, 3))
METER = "00-DB-12-34-56-78-90-A0"


def state(regions: bool = False, **device: object) -> dict[str, object]:
    """The stuck SMETS1 meter: P3 (an ED, not registered) owns its NO cell, P2 is the registered ED."""
    region = (lambda r: {"region": r}) if regions else (lambda r: {})
    return {
        "now": "2026-03-01T12:00:00Z",
        "parties": {P1: {"roles": ["IS"], "dcc_user": True}, P2: {"roles": ["ED"], "dcc_user": True, **region("North")},
                    P3: {"roles": ["ED"], "dcc_user": True, **region("South")}},
        "devices": {METER: {"type": "ESME", "generation": "SMETS1", "smi_status": "Commissioned", "mpxn": "1900000000001",
                            "trust_anchors": {"Supplier": P1, "NetworkOperator": P3}, **device}},
        "registration": {"1900000000001": [
            {"role": "IS", "party": P1, "from": "2020-01-01T00:00:00Z", "to": None},
            {"role": "ED", "party": P2, "from": "2015-01-01T00:00:00Z", "to": None}]},
    }


CORRECTION = {"sender": P3, "role": "ED", "srv": "6.15.1", "device": METER,
              "remote_party_role": "NetworkOperator", "new_certificate_owner": P2}


def test_dno_region_through_every_analysis(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "dno-region.redline", "dno-region-properties.redline"))
    assert run(capsys, "check")[0] == 0
    for old, new in (("mp107", "dno_region"), ("dno_region", "mp107")):
        code, out, err = run(capsys, "diff", old, new, "--format", "json")
        d = json.loads(out)
        assert code == 0 and d["complete"] and d["count"] > 0, err
        assert "device.dno_region != sender.region" in out
    assert json.loads(run(capsys, "diff", "mp107", "dno_region", "--format", "json")[1])["intent"]["status"] == "satisfied"
    code, out, err = run(capsys, "prove", str(MODS / "dno-region-properties.redline"), "--depth", "2")
    assert code == 0 and "4 results: 4 as expected" in out, out + err
    assert "with dno_region" in out  # the counterexample tells the declared value it rests on
    # validate and the generated validator agree: the NO outside the device's region is refused by the new check
    (tmp_path / "state.json").write_text(json.dumps(state(regions=True, dno_region="North")), encoding="utf-8")
    (tmp_path / "request.json").write_text(json.dumps(CORRECTION), encoding="utf-8")
    code, out, _ = run(capsys, "validate", "--ruleset", "dno_region", "--format", "json", "--state", "state.json", "request.json")
    verdict = json.loads(out)
    assert (code, verdict["verdict"], verdict["check"]) == (0, "reject", "no_in_region")
    assert json.loads(run(capsys, "validate", "--ruleset", "mp107", "--format", "json", "--state", "state.json",
                          "request.json")[1])["verdict"] == "accept"
    assert run(capsys, "codegen", "--ruleset", "dno_region", "-o", "gen.py")[0] == 0
    # the fleet tables hold the declared fields as columns: the synthetic fleet fills them, and impact answers
    assert run(capsys, "impact", "generate", "fleet", "--devices", "300", "--requests", "1000", "--wrong-no-share", "0.2",
               "--threads", "1")[0] == 0
    code, out, err = run(capsys, "impact", "fleet", "fleet", "--at", "2026-03-01T12:00:00Z", "--ruleset", "mp107",
                         "--ruleset", "dno_region", "--format", "json", "--threads", "1")
    fleet = json.loads(out)
    assert code == 0 and fleet["stuck"]["dno_region"]["devices"] > fleet["stuck"]["mp107"]["devices"], err  # it only restricts
    code, out, err = run(capsys, "impact", "replay", "fleet", "--ruleset", "mp107", "--ruleset", "dno_region",
                         "--format", "json", "--threads", "1")
    changes = json.loads(out)["changes"]
    assert code == 0 and changes["changed"] > 0 and {c["new"] for c in changes["classes"]} == {"reject at DSP E4 by no_in_region"}, err
    assert changes["by_region"]["outside_every_region"]["requests"] == 0
    assert sum(r["requests"] for r in changes["by_region"]["regions"]) == changes["changed"]


def test_keep_sender_frees_nothing_in_the_fleet(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Its second effect puts the sender back in the NO cell: the diff sees every correction undone, and the fleet
    analysis counts every mis-set device stuck (it counted them freed by the first effect)."""
    monkeypatch.chdir(project(tmp_path, "keep-sender.redline"))
    code, out, err = run(capsys, "diff", "mp107", "keep_sender", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["complete"], err
    (tmp_path / "state.json").write_text(json.dumps(state()), encoding="utf-8")
    (tmp_path / "request.json").write_text(json.dumps(CORRECTION), encoding="utf-8")
    code, out, _ = run(capsys, "validate", "--ruleset", "keep_sender", "--format", "json", "--state", "state.json", "request.json")
    assert [e["owner"] for e in json.loads(out)["effects"]] == [P2, P3]  # in order: the later one wins
    assert run(capsys, "impact", "generate", "fleet", "--devices", "300", "--requests", "2000", "--wrong-no-share", "0.2",
               "--threads", "1")[0] == 0
    # A correction carrying the sender's own certificate is written twice under keep_sender, to the same owner:
    # no change of verdict, as the diff says (it was counted changed, in no region: a BUG, exit 70).
    code, out, err = run(capsys, "impact", "replay", "fleet", "--ruleset", "mp107", "--ruleset", "keep_sender",
                         "--format", "json", "--threads", "1")
    replay = json.loads(out)["changes"]
    assert code == 0 and replay["by_region"]["outside_every_region"]["requests"] == 0, err
    # The diff's regions 1 and 3 of mp107..keep_sender overlap (an eligible ED correcting its own cell lies in both,
    # accepted under both): such a request is counted once, in the first, and the overlap is said.
    assert sum(r["requests"] for r in replay["by_region"]["regions"]) == replay["changed"]
    code, out, err = run(capsys, "impact", "fleet", "fleet", "--at", "2026-03-01T12:00:00Z", "--ruleset", "mp107",
                         "--ruleset", "keep_sender", "--format", "json", "--threads", "1")
    assert code == 0, err
    got = json.loads(out)
    assert got["mis_set"] > 0 and got["freed"] == 0, got


OPTIONAL_ENUM_COLUMN = """
extend Service "test: the SMI status an SRV needs on SMETS1, where it names one" { min_status: optional SmiStatus }
modification min_status "test: 6.15.1 on SMETS1 needs a Commissioned device" amends baseline
  amend row "6.15.1" "test" { min_status = Commissioned }
  add after role_eligible_for_srv check min_status "test" at DSP reject E2
    applies when device.generation == SMETS1
    requires srv.min_status == null or device.smi_status == srv.min_status
"""


def test_an_optional_enum_catalogue_column_left_null_is_encoded_as_null(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every row but one leaves `min_status` null: the Z3 encoding read the null rows as an enum member
    (an internal error, exit 70, in diff, prove, liveness and impact replay's regions)."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "min-status.redline").write_text(OPTIONAL_ENUM_COLUMN, encoding="utf-8")
    (tmp_path / "redline.toml").write_text('rules = ["rules"]\nshipped = true\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "diff", "baseline", "min_status", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["complete"] and d["changes"] and all(c["summary"].startswith("6.15.1") for c in d["changes"])
    code, out, err = run(capsys, "liveness", "--ruleset", "min_status", "--format", "json")
    assert code == 0, err
    assert {r["status"] for r in json.loads(out)["rules"] if r["origin"] == "min_status"} == {"live"}
