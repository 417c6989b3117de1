"""A fourth campaign of modifications, of classes the first three lack, loaded as a reviewer loads one (a
redline.toml beside them) and run through the analyses that apply. Each request below is judged by `redline
validate`, by the module `redline codegen` writes, by the interpreter under both rule sets and by the fleet
engine (tests/impact_support.py), and all agree.

- a rejection that moves to another check of the same layer and code (mp107-gt-restricted.redline against the
  baseline) is a change for `redline diff` as for `impact replay`; replay exited 70 ("BUG": a changed request in
  no region of the diff) because the diff compared only layer and code.
- duis-version.redline: a DUIS-release-style change (two `add row`s, one carrying a certificate, and two `amend
  row`s), and a release over it adding one more SRV and opening the first's new one to Suppliers.
- layer-move.redline: checks removed and added again at another layer (S1SP -> DSP E7; DSP E5 -> S1SP for
  SMETS1 only): nothing newly accepted or refused, every change a rejection that moves, and counted as changes.
- mixed-intents.redline: three intents of three kinds, one too broad and one that never happens: the diff names
  each.
- accredited.redline: a new check reads a declared Party field of the sender and of the new certificate's
  owner, which the state may not list (its declared fields null: refused).
- critical-now.redline: registration timing narrowed for SMETS1 Critical requests only.
- scheduled-except.redline: an `except when` keyed on catalogue columns, not an SRV.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modifications_support import project, run
from redline.impact.fromjson import write_requests, write_state
from test_next_modifications_2 import METER, P1, P2, P3, diff, interpreted, one_world, request, said, world
from test_next_modifications_3 import judged, shipped_and

KRP_NO = {"remote_party_role": "NetworkOperator"}
UNLISTED = "90-B3-D5-1F-30-09-00-00"


def unregistered_gt() -> dict[str, Any]:
    """A SMETS1 meter whose NO cell P2, a GT, owns, with no Network Operator registered for its MPxN."""
    state = world("SMETS1")
    state["parties"][P2]["roles"] = ["GT"]
    state["registration"]["1900000000001"] = state["registration"]["1900000000001"][:2]
    return state


def test_a_rejection_by_another_check_is_a_change_for_diff_and_replay(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Under the baseline an unregistered GT's SMETS1 6.15.1 is refused by eligible_user (DSP E4, SRPD 6.1(f)),
    under mp107_gt_restricted by its new check (DSP E4, its own clause). Replay counts it as a change, so the diff
    must have a region for it (it had none: replay said BUG and exited 70)."""
    monkeypatch.chdir(project(tmp_path, "mp107-gt-restricted.redline"))
    program = shipped_and("mp107-gt-restricted.redline")
    state = unregistered_gt()
    req = request(P2, "GT", "6.15.1", **KRP_NO, new_certificate_owner=P3)
    verdicts = [said(interpreted(program, program.rulesets[rs], state, req)) for rs in ("baseline", "mp107_gt_restricted")]
    assert verdicts == ["reject DSP E4 by eligible_user", "reject DSP E4 by gt_still_registered"]
    (tmp_path / "fleet").mkdir()
    write_state(state, program, tmp_path / "fleet")
    write_requests([(0, state["now"], req)], program, tmp_path / "fleet")
    code, out, err = run(capsys, "impact", "replay", "fleet", "--ruleset", "baseline", "--ruleset", "mp107_gt_restricted",
                         "--format", "json", "--threads", "1")
    assert code == 0 and "BUG" not in out + err, out + err
    assert json.loads(out)["changes"]["changed"] == 1
    d = diff(capsys, "baseline", "mp107_gt_restricted")
    assert "DSP E4 (eligible_user) -> DSP E4 (gt_still_registered)" in d["rejection_moves"]["sentence"]


def test_a_duis_release_adds_and_amends_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "duis-version.redline"))
    code, _, err = run(capsys, "check", "--all-warnings")
    assert code == 0 and "6.9" not in err, err
    d = diff(capsys, "baseline", "duis_v6")
    assert d["intent"]["status"] == "satisfied"
    srvs = {c["summary"].split(" ")[0] for c in d["changes"]}
    assert srvs == {"6.96", "6.97", "4.1.1", "6.15.1"}, srvs
    assert all(" sent as ED or GT," in c["summary"] and c["after"]["code"] == "E2"
               for c in d["changes"] if c["summary"].startswith("4.1.1"))
    d = diff(capsys, "duis_v6", "duis_v6_1")
    assert d["intent"]["status"] == "satisfied"
    assert {c["summary"].split(" ")[0] for c in d["changes"]} == {"6.95", "6.96"}
    assert all(" sent as GS or IS," in c["summary"] for c in d["changes"] if c["summary"].startswith("6.96"))
    d = diff(capsys, "baseline", "duis_v6_1")  # through duis_v6: both modifications' intents
    assert d["intent"]["status"] == "satisfied"
    program = shipped_and("duis-version.redline")
    chf, krp = world(type_="CHF"), {"remote_party_role": "NetworkOperator", "new_certificate_owner": P2}
    e2 = "reject DSP E2 by role_eligible_for_srv"
    judged(tmp_path, capsys, program, "baseline", "duis_v6", [
        (chf, request(P1, "IS", "6.97"), e2, "accept"),
        (chf, request(P2, "ED", "6.97"), e2, e2),
        (world(), request(P2, "ED", "6.96", **krp), e2, "accept"),
        (world(), request(P1, "IS", "6.96", **krp), e2, e2),
        (world(), request(P2, "ED", "4.1.1"), "accept", e2),
        (world(), request(P1, "IS", "4.1.1"), "accept", "accept"),
        (world(type_="PPMID"), request(P1, "IS", "6.15.1", remote_party_role="Supplier", new_certificate_owner=P1),
         "accept", "reject DSP E11 by srv_suits_device_type"),
    ])
    judged(tmp_path, capsys, program, "duis_v6", "duis_v6_1", [
        (world(), request(P1, "IS", "6.96", remote_party_role="Supplier", new_certificate_owner=P1), e2, "accept"),
        (world(), request(P3, "OU", "6.95", device=None), e2, "accept"),
        (world(), request(P2, "ED", "6.96", **krp), "accept", "accept"),
    ])
    # 6.96 carries a certificate under every rule set, so its request shape is the same everywhere
    (tmp_path / "s.json").write_text(json.dumps(world()), encoding="utf-8")
    (tmp_path / "r.json").write_text(json.dumps(request(P2, "ED", "6.96")), encoding="utf-8")
    for rs in ("baseline", "mp107", "duis_v6", "duis_v6_1"):
        code, _, err = run(capsys, "validate", "--ruleset", rs, "--state", "s.json", "r.json")
        assert code == 2 and "SRV 6.96 replaces a trust anchor: give `remote_party_role`" in err, (rs, err)


def test_checks_moved_between_layers_are_changes_that_only_move_rejections(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "layer-move.redline"))
    d = diff(capsys, "baseline", "owner_at_dsp")
    assert d["intent"]["status"] == "satisfied" and d["changes"]
    moves = d["rejection_moves"]
    assert moves["shapes"] == moves["of"] == d["count"] and list(moves["transitions"]) == ["S1SP, no DUIS code -> DSP E7"]
    d = diff(capsys, "baseline", "status_at_s1sp")
    assert d["intent"]["status"] == "satisfied" and d["rejection_moves"]["shapes"] == d["count"] > 0
    assert {c["before"]["code"] for c in d["changes"]} == {"E5"}
    program = shipped_and("layer-move.redline")
    s1 = world("SMETS1")
    judged(tmp_path, capsys, program, "baseline", "owner_at_dsp", [
        (s1, request(P2, "ED", "6.15.1", remote_party_role="Supplier", new_certificate_owner=P2),
         "reject S1SP None by s1sp_certificate_owner", "reject DSP E7 by owner_at_dsp"),
        (s1, request(P1, "IS", "6.15.1", remote_party_role="Supplier", new_certificate_owner=P1), "accept", "accept"),
        (world(), request(P2, "ED", "6.15.1", remote_party_role="Supplier", new_certificate_owner=P2),
         "reject Device None by device_signature", "reject Device None by device_signature"),
    ])
    judged(tmp_path, capsys, program, "baseline", "status_at_s1sp", [
        (world("SMETS1", status="Suspended"), request(P1, "IS", "4.1.1"), "reject DSP E5 by smi_status_suits_srv",
         "reject S1SP None by smi_status_at_s1sp"),
        (world(status="Suspended"), request(P1, "IS", "4.1.1"), "reject DSP E5 by smi_status_suits_srv",
         "reject DSP E5 by smi_status_not_smets1"),
        (world("SMETS1"), request(P1, "IS", "4.1.1"), "accept", "accept"),
    ])
    # impact replay counts the moved rejections as changes, each in a region of the diff
    merged, requests = one_world([(s1, request(P2, "ED", "6.15.1", remote_party_role="Supplier", new_certificate_owner=P2),
                                   "", ""), (s1, request(P1, "IS", "4.1.1"), "", "")])
    (tmp_path / "fleet").mkdir()
    write_state(merged, program, tmp_path / "fleet")
    write_requests(requests, program, tmp_path / "fleet")
    code, out, err = run(capsys, "impact", "replay", "fleet", "--ruleset", "baseline", "--ruleset", "owner_at_dsp",
                         "--format", "json", "--threads", "1")
    assert code == 0 and json.loads(out)["changes"]["changed"] == 1, out + err


def test_each_intent_that_is_too_broad_or_never_happens_is_named(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "mixed-intents.redline"))
    d = diff(capsys, "baseline", "rsa_reads")
    assert d["intent"]["status"] == "violated"
    problems = {v["intent"]: v for v in d["intent"]["violations"]}
    assert set(problems) == {"Illustrative: too broad, an RSA's 4.1.1 is accepted",
                             "Illustrative: never happens, an RSA's 6.15.1 is refused"}, problems
    broad = problems["Illustrative: too broad, an RSA's 4.1.1 is accepted"]
    assert broad["problem"] == "not every request where this intent applies is accepted by `rsa_reads`"
    assert broad["witness"]["request"]["srv"] == "4.1.1" and broad["witness"]["request"]["role"] == "RSA"
    never = problems["Illustrative: never happens, an RSA's 6.15.1 is refused"]
    assert never["problem"].startswith("`baseline` already rejects everything here")
    assert all(c["summary"].startswith("4.1.1 (Read Instantaneous Import Registers) sent as RSA,") for c in d["changes"])


def test_a_check_reading_a_declared_party_field_of_an_unlisted_owner(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "accredited.redline"))
    d = diff(capsys, "mp107", "accredited_no")
    assert d["intent"]["status"] == "satisfied" and {c["after"]["verdict"] for c in d["changes"]} == {"reject"}
    state = world("SMETS1")
    state["parties"][P2]["accredited"] = True
    state["parties"][P1]["accredited"] = True
    e4 = "reject DSP E4 by no_certificate_accredited"
    unaccredited = world("SMETS1")
    judged(tmp_path, capsys, shipped_and("accredited.redline"), "mp107", "accredited_no", [
        (state, request(P2, "ED", "6.15.1", **KRP_NO, new_certificate_owner=P1), "accept", "accept"),
        (state, request(P2, "ED", "6.15.1", **KRP_NO, new_certificate_owner=UNLISTED), "accept", e4),
        (state, request(P2, "ED", "6.15.1", **KRP_NO, new_certificate_owner=P3), "accept", e4),
        (unaccredited, request(P2, "ED", "6.15.1", **KRP_NO, new_certificate_owner=P2), "accept", e4),
        (state, request(P1, "IS", "6.15.1", remote_party_role="Supplier", new_certificate_owner=UNLISTED),
         "accept", "accept"),
    ])


def test_timing_narrowed_and_an_exception_keyed_on_catalogue_columns(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "critical-now.redline"))
    d = diff(capsys, "baseline", "critical_now")
    assert d["intent"]["status"] == "satisfied" and {c["after"]["verdict"] for c in d["changes"]} == {"reject"}
    # P1 is the Import Supplier until 10 March: eligible at an execution time before then, but P4 is not yet now
    later = "2026-03-11T00:00:00Z"
    judged(tmp_path, capsys, shipped_and("critical-now.redline"), "baseline", "critical_now", [
        (world("SMETS1"), request(P1, "IS", "6.15.1", remote_party_role="Supplier", new_certificate_owner=P1,
                                  execution_time="2026-03-05T00:00:00Z"), "accept", "accept"),
        (world("SMETS1") | {"devices": {METER: world("SMETS1")["devices"][METER] | {"trust_anchors": {"Supplier": "90-B3-D5-1F-30-04-00-00"}}}},
         request("90-B3-D5-1F-30-04-00-00", "IS", "6.15.1", remote_party_role="Supplier",
                 new_certificate_owner="90-B3-D5-1F-30-04-00-00", execution_time=later),
         "accept", "reject DSP E4 by critical_registered_now"),
        (world(), request("90-B3-D5-1F-30-04-00-00", "IS", "6.15.1", remote_party_role="Supplier",
                          new_certificate_owner="90-B3-D5-1F-30-04-00-00", execution_time=later),
         "reject Device None by device_signature", "reject Device None by device_signature"),
    ])
    monkeypatch.chdir(project(tmp_path, "scheduled-except.redline"))
    d = diff(capsys, "baseline", "scheduled_except")
    assert d["intent"]["status"] == "satisfied" and {c["after"]["verdict"] for c in d["changes"]} == {"accept"}
