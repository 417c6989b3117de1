"""A third campaign of modifications, of classes the first two lack, loaded as a reviewer loads one (a
redline.toml beside them) and run through the analyses that apply; each answers, or refuses by name.
Each request below is judged by `redline validate`, by the module `redline codegen` writes, by the
interpreter under both rule sets and by the fleet engine (tests/impact_support.py), and all agree.

- a new SRV row amended: refused by name (E105, which names `add row`); written as the documented workaround
  (a row no User Role may send, in a copy of the rules, amended by the modification) it works end to end.
- krp-withdrawn.redline: an SRV made unusable (no eligible User Role): every mis-set NO cell is stuck.
- a vocabulary change (a new trust anchor cell, a new User Role in the NetworkOperator group, a new SMI
  status and device type), in a copy of the shipped rules loaded with `shipped = false`.
- mp107-gt-restricted.redline: a modification of mp107, diffed against mp107 and against the baseline
  (where it breaks MP107's own declared intent, and the diff says so).
- no-to-sender.redline (+ -properties): an effect changed; P1 re-proved under mp107 and refuted under it,
  every candidate request replayed; a temporal property proved by induction under it, its mp107 trace replayed.
- mp107-ed-only-slip.redline: a restriction drafted as a new `requires` that MP107's inherited exception
  still waives: the diff finds no change and says the intent is violated.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from duis_support import krp
from duis_support import state as duis_state
from impact_support import disagreements, interpreter_stuck, state_from_raw
from modifications_support import MODS, import_file, project, refuted_generic, run
from redline.build import build
from redline.check import checked as ir
from redline.impact.fleet import analyse, correcting_srvs
from redline.impact.fromjson import write_state
from redline.impact.params import FleetParams
from redline.impact.synth import generate
from redline.impact.tables import Loader
from redline.loading import repo_rules, rule_files
from redline.source import Source
from redline.times import parse_iso
from test_next_modifications_2 import (
    METER,
    NOW,
    P1,
    P2,
    P3,
    P4,
    Case,
    diff,
    interpreted,
    one_world,
    request,
    said,
    world,
)

KRP_NO = {"remote_party_role": "NetworkOperator"}


def program_of(paths: list[Path]) -> ir.Program:
    program, diags = build([Source(f.as_posix(), f.read_text(encoding="utf-8")) for f in rule_files(paths)])
    assert program is not None, [str(d) for d in diags]
    return program


def shipped_and(*mods: str) -> ir.Program:
    return program_of([repo_rules(), *(MODS / m for m in mods)])


def judged(tmp: Path, capsys: pytest.CaptureFixture[str], program: ir.Program, base: str, name: str,
           cases: list[Case]) -> None:
    """Each case as the rules say: under both rule sets by the interpreter and the fleet engine, and under the
    modification by `redline validate` and the module `redline codegen` writes."""
    rulesets = [program.rulesets[base], program.rulesets[name]]
    code, _, err = run(capsys, "codegen", "--ruleset", name, "-o", str(tmp / f"gen_{name}.py"))
    assert code == 0, err
    generated = import_file(tmp / f"gen_{name}.py", f"nextmod3_{name}_{tmp.name}")
    for i, (state, req, want_base, want_mod) in enumerate(cases):
        (tmp / "s.json").write_text(json.dumps(state), encoding="utf-8")
        (tmp / "r.json").write_text(json.dumps(req), encoding="utf-8")
        code, out, err = run(capsys, "validate", "--ruleset", name, "--format", "json", "--state", str(tmp / "s.json"),
                             str(tmp / "r.json"))
        assert code == 0 and said(json.loads(out)) == want_mod, (i, out, err)
        got = [interpreted(program, rs, state, req) for rs in rulesets]
        assert [said(v) for v in got] == [want_base, want_mod], (i, got)
        module = copy.deepcopy(generated.validate(state, req))
        fields = ("verdict", "layer", "code", "check", "effects")
        assert {k: module[k] for k in fields} == {k: got[1][k] for k in fields}, i
    merged, requests = one_world(cases)
    assert disagreements(program, rulesets, merged, requests) == []


def stuck_everywhere(program: ir.Program, base: str, name: str, state: dict[str, Any] | None = None,
                     tmp: Path | None = None) -> dict[str, set[str]]:
    """The stuck devices of `impact fleet` under both rule sets, held to the interpreter's (every candidate
    correction judged), on a small synthetic fleet or on `state` written as fleet tables."""
    con, pair = duckdb.connect(), [program.rulesets[base], program.rulesets[name]]
    loader = Loader(con, program, pair[0].catalogue)
    if state is None:
        generate(con, FleetParams(devices=150, wrong_no_share=0.3, seed=5), program.cells(),
                 ir.carrying_srvs(pair[0].catalogue))
        loader.stage(with_requests=False)
        state = state_from_raw(con, program, NOW)
    else:
        assert tmp is not None
        write_state(state, program, tmp)
        loader.load_dir(tmp, with_requests=False)
    result = analyse(con, program, pair, parse_iso(NOW))
    out = {}
    for rs in pair:
        mis, stuck = interpreter_stuck(program, rs, state, correcting_srvs(rs, "NetworkOperator"))
        out[rs.name] = {r[0] for r in con.execute(f"SELECT device FROM stuck_{rs.name}").fetchall()}
        assert out[rs.name] == stuck and result["mis_set"] == len(mis), rs.name
    assert result["freed"] == len(out[base] - out[name])
    out["mis_set"] = mis
    return out


def mis_set(generation: str = "SMETS1") -> dict[str, Any]:
    """P2 (ED) owns the NO cell, but P3, an ED too, is the registered one."""
    state = world(generation)
    state["parties"][P3] = {"roles": ["ED"], "dcc_user": True}
    state["registration"]["1900000000001"][2]["party"] = P3
    return state


def test_a_new_srv_row_is_refused_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`amend row` of an SRV no rule set has is still E105, which now says how a new SRV is written (`add row`,
    tests/test_add_row.py); a second catalogue is refused."""
    (tmp_path / "m.redline").write_text(
        'modification new_srv "Illustrative: SRV 6.99" amends baseline\n\n'
        '  amend row "6.99" "Illustrative: a new SRV" { eligible_roles = {ED} }\n', encoding="utf-8")
    (tmp_path / "redline.toml").write_text('rules = ["m.redline"]\nshipped = true\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "check")[0] == 1
    for argv in (("diff", "baseline", "new_srv"), ("liveness", "--ruleset", "new_srv"),
                 ("codegen", "--ruleset", "new_srv", "-o", "g.py")):
        code, out, err = run(capsys, *argv)
        assert code == 2 and "error[E105]: cannot amend catalogue row `6.99`" in err, (argv, out, err)
        assert 'a new SRV is added with `add row "6.99" "clause" { ... }`' in err, err
    (tmp_path / "m.redline").write_text('catalogue extra "Illustrative" of Service\n', encoding="utf-8")
    code, _, err = run(capsys, "diff", "baseline", "mp107")
    assert code == 2 and "error[E102]" in err and "there is one DUIS catalogue" in err, err


def test_an_srv_withdrawn_is_refused_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "krp-withdrawn.redline", "krp-withdrawn-properties.redline"))
    code, _, err = run(capsys, "check")
    assert code == 0 and "warning[W001]: SRV `6.15.1` lists no eligible User Role" in err, err
    d = diff(capsys, "baseline", "krp_withdrawn")
    assert d["intent"]["status"] == "satisfied"
    assert {c["after"]["code"] for c in d["changes"]} == {"E2"}
    assert all(c["summary"].startswith("6.15.1 ") for c in d["changes"])
    code, out, _ = run(capsys, "liveness", "--ruleset", "krp_withdrawn", "--format", "json")
    dead = [r for r in json.loads(out)["rules"] if r["status"] == "dead"]
    assert code == 0 and [r["check"] for r in dead] == ["s1sp_registration"], dead  # dead in the baseline too
    judged(tmp_path, capsys, shipped_and("krp-withdrawn.redline"), "baseline", "krp_withdrawn", [
        (mis_set(), request(P2, "ED", "6.15.1", **KRP_NO, new_certificate_owner=P3),
         "reject DSP E4 by eligible_user", "reject DSP E2 by role_eligible_for_srv"),
        (world(), request(P1, "IS", "6.15.1", remote_party_role="Supplier", new_certificate_owner=P1),
         "accept", "reject DSP E2 by role_eligible_for_srv"),
        (world(), request(P1, "IS", "4.1.1"), "accept", "accept"),
    ])
    # a temporal property: proved by induction under krp_withdrawn; under the baseline a run of two steps (a change
    # of Network Operator, then the new NO's correction) frees the cell, and its last request replays
    code, out, err = run(capsys, "prove", str(MODS / "krp-withdrawn-properties.redline"), "--format", "json",
                         "--cex-dir", "cex")
    results = {r["ruleset"]: r for r in json.loads(out)["results"]}
    assert code == 0 and results["krp_withdrawn"]["settled_by"] == "unbounded", out + err
    trace = tmp_path / "cex" / "stuck_whatever_registration_does.baseline"
    steps = sorted(trace.glob("step-*-request.json"))
    assert [s.name for s in steps] == ["step-2-request.json"]  # step 1 is the event
    first = json.loads((trace / "state.json").read_text(encoding="utf-8"))
    last = json.loads((trace / "step-3-state.json").read_text(encoding="utf-8"))
    assert first["registration"] != last["registration"]
    verdicts = {}
    for rs, want in (("baseline", "accept"), ("krp_withdrawn", "reject DSP E2 by role_eligible_for_srv")):
        code, out, err = run(capsys, "validate", "--ruleset", rs, "--format", "json", "--state",
                             str(trace / "step-2-state.json"), str(steps[0]))
        verdicts[rs] = json.loads(out)
        assert code == 0 and said(verdicts[rs]) == want, out + err
    assert last["devices"][METER]["trust_anchors"]["NetworkOperator"] == verdicts["baseline"]["effects"][-1]["owner"]
    # no correction can be sent: every mis-set device is stuck, as the interpreter finds candidate by candidate
    stuck = stuck_everywhere(shipped_and("krp-withdrawn.redline"), "baseline", "krp_withdrawn")
    assert stuck["krp_withdrawn"] == stuck["mis_set"] and stuck["baseline"] < stuck["mis_set"]


def test_a_modification_of_mp107_diffed_against_both(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Against mp107 it does what it says; against the baseline it keeps MP107's changes for EDs, and it breaks
    MP107's own declared intent (§2: the owner, an active NO, can correct it) for GTs: the diff finds that."""
    monkeypatch.chdir(project(tmp_path, "mp107-gt-restricted.redline"))
    d = diff(capsys, "mp107", "mp107_gt_restricted")
    assert d["intent"]["status"] == "satisfied"
    assert {c["after"]["code"] for c in d["changes"]} == {"E4"}
    assert all(c["summary"].startswith("6.15.1 (Update Security Credentials (KRP)) sent as GT,") for c in d["changes"])
    d = diff(capsys, "baseline", "mp107_gt_restricted")
    # ED: MP107's changes; GT: only the check that rejects (E4 at the DSP, by the new check, citing its clause)
    assert all(" sent as ED," in c["summary"] or (" sent as GT," in c["summary"] and (c["before"]["clause"], c["after"]["clause"])
               == ("SRPD 6.1(f)", "Illustrative: a GT correcting a NO certificate is registered") and c["before"]["code"] == c["after"]["code"] == "E4")
               for c in d["changes"]), [c["summary"] for c in d["changes"]]
    mp107_intent, own = d["intent"]["violations"]
    assert mp107_intent["intent"].startswith("MP107 §2") and mp107_intent["kind"] == "accept", mp107_intent
    assert mp107_intent["witness"]["request"]["role"] == "GT"
    # ... and its own intent is no change against the baseline, which rejected these already
    assert own["kind"] == "reject" and own["problem"].startswith("`baseline` already rejects everything here"), own
    gt = mis_set()
    gt["parties"][P2]["roles"] = gt["parties"][P3]["roles"] = ["GT"]
    gt["registration"]["1900000000001"][2]["role"] = "GT"
    judged(tmp_path, capsys, shipped_and("mp107-gt-restricted.redline"), "mp107", "mp107_gt_restricted", [
        (gt, request(P2, "GT", "6.15.1", **KRP_NO, new_certificate_owner=P3), "accept",
         "reject DSP E4 by gt_still_registered"),
        (mis_set(), request(P2, "ED", "6.15.1", **KRP_NO, new_certificate_owner=P3), "accept", "accept"),
        (gt, request(P3, "GT", "6.15.1", **KRP_NO, new_certificate_owner=P3), "reject S1SP None by s1sp_certificate_owner",
         "reject S1SP None by s1sp_certificate_owner"),
    ])
    stuck = stuck_everywhere(shipped_and("mp107-gt-restricted.redline"), "mp107", "mp107_gt_restricted")
    assert stuck["mp107"] <= stuck["mp107_gt_restricted"]


def test_a_restriction_an_inherited_exception_still_waives_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "mp107-ed-only-slip.redline"))
    d = diff(capsys, "mp107", "mp107_ed_only")
    assert d["count"] == 0 and d["changes"] == [] and d["intent"]["status"] == "violated"
    assert d["intent"]["violations"][0]["problem"] == "nothing changes where this intent says it does"


def test_an_effect_changed_refutes_p1_and_the_counterexamples_replay(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """no_to_sender leaves a replaced NO cell to its sender: P1 is refuted under it (a state in which no candidate
    request puts the registered NO in the cell, each replayed), and the NO cell provably never leaves its owner
    (induction), which mp107 refutes with a one-request trace that replays."""
    monkeypatch.chdir(project(tmp_path, "no-to-sender.redline", "no-to-sender-properties.redline"))
    code, out, err = run(capsys, "prove", str(MODS / "no-to-sender-properties.redline"), "--format", "json",
                         "--cex-dir", "cex")
    results = {(r["property"], r["ruleset"]): r for r in json.loads(out)["results"]}
    assert code == 0 and all(r["status"] == r["expected"] for r in results.values()), out + err
    assert results[("no_cell_never_leaves_owner", "no_to_sender")]["settled_by"] == "unbounded"
    cex = tmp_path / "cex" / "recoverable_no_certificate_no_to_sender.no_to_sender"
    state = json.loads((cex / "state.json").read_text(encoding="utf-8"))
    registered = {r["party"] for rows in state["registration"].values() for r in rows}
    candidates = sorted(cex.glob("candidate-*.json"))
    assert candidates
    for candidate in candidates:
        code, out, err = run(capsys, "validate", "--ruleset", "no_to_sender", "--format", "json", "--state",
                             str(cex / "state.json"), str(candidate))
        verdict = json.loads(out)
        assert code == 0, err
        assert not {e["owner"] for e in verdict["effects"] if e["trust_anchor"] == "NetworkOperator"} & registered
    trace = tmp_path / "cex" / "no_cell_never_leaves_owner.mp107"
    code, out, err = run(capsys, "validate", "--ruleset", "mp107", "--format", "json", "--state",
                         str(trace / "step-1-state.json"), str(trace / "step-1-request.json"))
    verdict = json.loads(out)
    owner = json.loads((trace / "step-1-state.json").read_text(encoding="utf-8"))["devices"][METER]["trust_anchors"]
    assert verdict["verdict"] == "accept" and verdict["effects"][-1]["owner"] != owner["NetworkOperator"], out + err
    code, out, err = run(capsys, "validate", "--ruleset", "no_to_sender", "--format", "json", "--state",
                         str(trace / "step-1-state.json"), str(trace / "step-1-request.json"))
    assert json.loads(out)["effects"][-1]["owner"] == owner["NetworkOperator"], out + err
    code, out, err = run(capsys, "test")
    assert code == 0 and "ok   no_to_sender_keeps_the_wrong_owner" in out, out + err
    d = diff(capsys, "mp107", "no_to_sender")
    assert {(c["before"]["verdict"], c["after"]["verdict"]) for c in d["changes"]} == {("accept", "accept")}
    judged(tmp_path, capsys, shipped_and("no-to-sender.redline"), "mp107", "no_to_sender", [
        (mis_set(), request(P2, "ED", "6.15.1", **KRP_NO, new_certificate_owner=P3), "accept", "accept"),
        (mis_set("SMETS2"), request(P2, "ED", "6.15.1", **KRP_NO, new_certificate_owner=P3), "accept", "accept"),
        (world(), request(P1, "IS", "6.15.1", remote_party_role="Supplier", new_certificate_owner=P4), "accept", "accept"),
    ])
    stuck = stuck_everywhere(shipped_and("no-to-sender.redline"), "mp107", "no_to_sender")
    assert stuck["no_to_sender"] == stuck["mis_set"] and stuck["mp107"] < stuck["mis_set"]


WAN_CELL = """# A next modification in a changed vocabulary (tests/test_next_modifications_3.py).
modification wan_cell "Illustrative: the WanProvider certificate is replaced only by a Supplier" amends baseline

  add check wan_cell_by_supplier "Illustrative: WanProvider cell replaced only by a Supplier" at DSP reject E4
    applies when srv.replaces_trust_anchor and request.remote_party_role == WanProvider
    requires role in Supplier

  intends reject "Illustrative: a Network Operator may not replace the WanProvider cell"
    where srv.replaces_trust_anchor and request.remote_party_role == WanProvider and role in NetworkOperator
"""
IDNO = "90-B3-D5-1F-30-07-00-00"


def new_vocabulary(root: Path) -> Path:
    """The shipped rules and proofs copied, with a new trust anchor cell (WanProvider, GBCS code 6), a new User
    Role in the NetworkOperator group (IDNO, eligible for 6.15.1), a new device type and a new SMI status."""
    shutil.copytree(repo_rules(), root / "rules")
    shutil.copytree(repo_rules().parent / "proofs", root / "proofs")
    edits = {"vocabulary.redline": [
        ('TransCoS "5 transitionalCoS",', 'TransCoS "5 transitionalCoS", WanProvider "6 wanProvider",'),
        ('GT "Gas Transporter",', 'GT "Gas Transporter", IDNO "Independent Distribution Network Operator",'),
        ("group NetworkOperator of UserRole = {ED, GT}", "group NetworkOperator of UserRole = {ED, GT, IDNO}"),
        ('CAD "consumer access device",', 'CAD "consumer access device", SCHF "SMETS1 communications hub function",'),
        ("Suspended,", "Suspended, Recovered,")],
        "duis-catalogue.redline": []}
    for name, pairs in edits.items():
        path = root / "rules" / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        if name == "duis-catalogue.redline":  # the 6.15.1 row's eligible roles gain IDNO
            at = text.index("eligible_roles = {IS, GS, ED, GT}", text.index('row "6.15.1" {'))
            text = text[:at] + "eligible_roles = {IS, GS, ED, GT, IDNO}" + text[at + len("eligible_roles = {IS, GS, ED, GT}"):]
        path.write_text(text, encoding="utf-8")
    (root / "rules" / "wan.redline").write_text(WAN_CELL, encoding="utf-8")
    (root / "redline.toml").write_text('rules = ["rules"]\nproofs = ["proofs"]\nshipped = false\n', encoding="utf-8")
    return root


def test_a_new_cell_role_device_type_and_smi_status(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(new_vocabulary(tmp_path / "project"))
    program = program_of([tmp_path / "project" / "rules"])
    assert "WanProvider" in program.cells() and "IDNO" in program.groups["NetworkOperator"][1]
    d = diff(capsys, "baseline", "wan_cell")
    assert d["intent"]["status"] == "satisfied" and d["changes"]
    assert all("request.remote_party_role == WanProvider" in c["summary"] for c in d["changes"])
    assert {c["after"]["code"] for c in d["changes"]} == {"E4"}
    code, out, _ = run(capsys, "liveness", "--ruleset", "wan_cell", "--format", "json")
    assert code == 0 and next(r for r in json.loads(out)["rules"] if r["check"] == "wan_cell_by_supplier")["status"] == "live"

    state = world("SMETS1")
    state["parties"][IDNO] = {"roles": ["IDNO"], "dcc_user": True}
    state["devices"][METER]["trust_anchors"]["WanProvider"] = P2
    idno_meter = copy.deepcopy(state)
    idno_meter["devices"][METER]["trust_anchors"]["NetworkOperator"] = IDNO
    idno_meter["registration"]["1900000000001"][2] |= {"role": "IDNO", "party": IDNO}
    wan = {"remote_party_role": "WanProvider"}
    judged(tmp_path, capsys, program, "baseline", "wan_cell", [
        (state, request(P2, "ED", "6.15.1", **wan, new_certificate_owner=P1), "accept",
         "reject DSP E4 by wan_cell_by_supplier"),
        (state, request(P1, "IS", "6.15.1", **wan, new_certificate_owner=P1), "reject S1SP None by s1sp_certificate_owner",
         "reject S1SP None by s1sp_certificate_owner"),
        (idno_meter, request(IDNO, "IDNO", "6.15.1", **KRP_NO, new_certificate_owner=P2), "accept", "accept"),
        (idno_meter, request(IDNO, "IDNO", "4.1.1"), "reject DSP E2 by role_eligible_for_srv",
         "reject DSP E2 by role_eligible_for_srv"),
        (world(type_="SCHF"), request(P1, "IS", "4.1.1"), "reject DSP E11 by srv_suits_device_type",
         "reject DSP E11 by srv_suits_device_type"),
        (world(status="Recovered"), request(P1, "IS", "4.1.1"), "reject DSP E5 by smi_status_suits_srv",
         "reject DSP E5 by smi_status_suits_srv"),
    ])
    # the fleet tables gain the cell's column; an IDNO-registered device whose NO cell an ED holds is mis-set
    mis = copy.deepcopy(idno_meter)
    mis["devices"][METER]["trust_anchors"]["NetworkOperator"] = P2
    (tmp_path / "fleet").mkdir()
    stuck = stuck_everywhere(program, "baseline", "wan_cell", mis, tmp_path / "fleet")
    assert "trust_anchor_WanProvider" in (tmp_path / "fleet" / "devices.csv").read_text(encoding="utf-8").splitlines()[0]
    assert stuck["mis_set"] == {METER} and stuck["baseline"] == stuck["wan_cell"] == {METER}
    assert run(capsys, "impact", "generate", "gen", "--devices", "60", "--requests", "100", "--threads", "1")[0] == 0
    code, out, err = run(capsys, "impact", "replay", "gen", "--ruleset", "baseline", "--ruleset", "wan_cell",
                         "--format", "json", "--threads", "1")
    assert code == 0 and json.loads(out)["changes"]["changed"] == 0, err  # the synthetic requests name no WanProvider

    # DUIS: a replacement wanProvider certificate is refused by name (the mapping knows GBCS codes 0-5 and 8)
    (tmp_path / "duis-state.json").write_text(json.dumps(duis_state()), encoding="utf-8")
    (tmp_path / "krp.xml").write_text(krp("06"), encoding="utf-8")
    code, out, err = run(capsys, "validate", "--ruleset", "wan_cell", "--state", str(tmp_path / "duis-state.json"),
                         str(tmp_path / "krp.xml"))
    assert code == 2 and "role code 06 (wanProvider) is not a Remote Party role" in err, out + err


def test_recovery_kept_is_refuted_by_an_accepted_correction_that_no_longer_corrects(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """no_to_sender still accepts the owner's correction of a mis-set NO certificate but leaves the cell its own:
    recovery is lost everywhere (every mis-set device stuck, above). The generic `recovery_kept` asked only that
    the modification accept the recovering request, and was proved: with an intent covering the change, a clean
    bundle for a modification under which no mis-set certificate can ever be corrected. It asks that the request
    still put the party back, and its counterexample replays."""
    monkeypatch.chdir(project(tmp_path, "no-to-sender.redline"))
    replay = refuted_generic(tmp_path, capsys, "no_to_sender", "recovery_kept")
    req = json.loads((replay / "request.json").read_text(encoding="utf-8"))
    owners = {}
    for rs in ("mp107", "no_to_sender"):
        code, out, err = run(capsys, "validate", "--ruleset", rs, "--format", "json", "--state",
                             str(replay / "state.json"), str(replay / "request.json"))
        verdict = json.loads(out)
        assert code == 0 and verdict["verdict"] == "accept", err
        owners[rs] = [e["owner"] for e in verdict["effects"] if e["trust_anchor"] == req["remote_party_role"]][-1]
    assert owners == {"mp107": req["new_certificate_owner"], "no_to_sender": req["sender"]} and req["sender"] != req["new_certificate_owner"]


def test_a_new_srv_is_a_row_no_role_may_send_that_the_modification_opens(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The semantics of `add row` (tests/test_add_row.py), written by hand: the new SRV is a catalogue row in a
    copy of the rules with no eligible User Role, so every rule set before rejects it (E2), and the modification
    amends the row to give it its roles. The diff is then exactly the new SRV for its new role."""
    shutil.copytree(repo_rules(), tmp_path / "rules")
    catalogue = tmp_path / "rules" / "duis-catalogue.redline"
    text = catalogue.read_text(encoding="utf-8")
    start = text.index('  row "6.32" {')
    end = text.index("\n  }\n", start) + 5
    row = (text[start:end].replace('"6.32"', '"6.99"').replace('"Read CHF Sub GHz Channel Log"', '"Illustrative new SRV"')
           .replace("eligible_roles = {IS, GS, RSA}", "eligible_roles = {}"))
    assert row != text[start:end]
    catalogue.write_text(text[:end] + row + text[end:], encoding="utf-8")
    (tmp_path / "new.redline").write_text(
        'modification new_srv "Illustrative: SRV 6.99 for Import Suppliers" amends baseline\n\n'
        '  amend row "6.99" "Illustrative: an Import Supplier may send 6.99" { eligible_roles = {IS} }\n\n'
        '  intends change "Illustrative: only 6.99 sent by an IS"\n    where srv == "6.99" and role == IS\n',
        encoding="utf-8")
    (tmp_path / "redline.toml").write_text('rules = ["rules", "new.redline"]\nshipped = false\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "check")
    assert code == 0 and "SRV `6.99` lists no eligible User Role" in err, err
    d = diff(capsys, "baseline", "new_srv")
    assert d["complete"] and d["intent"]["status"] == "satisfied", d["intent"]
    assert d["changes"] and all(c["conditions"][:2] == ["srv == 6.99", "role == IS"] for c in d["changes"]), d["changes"]
    assert {c["before"]["code"] for c in d["changes"]} == {"E2"}
    assert "accept" in {c["after"]["verdict"] for c in d["changes"]}
