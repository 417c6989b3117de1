"""A second campaign of modifications of kinds the shipped examples and tests/test_next_modifications.py lack,
loaded as a reviewer loads one (a redline.toml beside them, the shipped rules underneath) and run through
every analysis that applies: each answers, or refuses by name with exit 2, never a traceback or a wrong answer.
Each request below is judged by `redline validate` under the base and the modification, by the module
`redline codegen` writes for each, and by the fleet engine (tests/impact_support.py), and all must agree.

- ed-daily-reads.redline: a User Role made eligible for an SRV (a catalogue row; only widens).
- cos-critical.redline: an SRV's Critical flag changed (6.23: the S1SP and the device now check it, the DSP's
  Eligible User check no longer does on SMETS2): a change of supplier is then refused by the S1SP.
- ou-consent.redline: a check only for SMETS2 ESMEs, reading a declared optional Bool field of the request.
- suspended-krp.redline: an `except when` added to an existing check (only widens), with a property proved and
  one refuted whose counterexample replays (suspended-krp-properties.redline).
- eligible-now.redline: a time-based rule changed (`throughout relevant_times` becomes `throughout now`).
- device-type-code.redline: a check removed and added again at another place with another response code.
- rsa-appointed.redline: a declared relation between a Party and a Device and a declared optional enum field of
  the request, read by a new check.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from duis_support import cos
from duis_support import state as duis_state
from impact_support import disagreements
from modifications_support import MODS, import_file, project, refuted_generic, run
from redline.build import build
from redline.check import checked as ir
from redline.interp import Validator, load_request, load_state
from redline.loading import repo_rules, rule_files
from redline.source import Source

P1, P2, P3, P4 = (f"90-B3-D5-1F-30-0{i}-00-00" for i in (1, 2, 3, 4))
METER = "00-DB-12-34-56-78-90-A0"
NOW = "2026-03-01T12:00:00Z"


def world(generation: str = "SMETS2", status: str = "Commissioned", type_: str = "ESME") -> dict[str, Any]:
    """P1 the Import Supplier until 10 March, P4 the incoming one from then, P2 the ED, P3 an Other User."""
    return {
        "now": NOW,
        "parties": {P1: {"roles": ["IS"], "dcc_user": True}, P2: {"roles": ["ED"], "dcc_user": True},
                    P3: {"roles": ["OU"], "dcc_user": True}, P4: {"roles": ["IS"], "dcc_user": True}},
        "devices": {METER: {"type": type_, "generation": generation, "smi_status": status, "mpxn": "1900000000001",
                            "trust_anchors": {"Supplier": P1, "NetworkOperator": P2}}},
        "registration": {"1900000000001": [
            {"role": "IS", "party": P1, "from": "2020-01-01T00:00:00Z", "to": "2026-03-10T00:00:00Z"},
            {"role": "IS", "party": P4, "from": "2026-03-10T00:00:00Z", "to": None},
            {"role": "ED", "party": P2, "from": "2015-01-01T00:00:00Z", "to": None}]},
    }


def request(sender: str, role: str, srv: str, **extra: Any) -> dict[str, Any]:
    return {"sender": sender, "role": role, "srv": srv, "device": METER} | extra


def said(verdict: dict[str, Any]) -> str:
    """A verdict in one short phrase: `accept`, or `reject LAYER CODE by CHECK`."""
    if verdict["verdict"] == "accept":
        return "accept"
    return f"reject {verdict['layer']} {verdict['code']} by {verdict['check']}"


Case = tuple[dict[str, Any], dict[str, Any], str, str]  # state, request, verdict under the base, under the modification


@functools.cache
def program_with(rules: str) -> ir.Program:
    shipped = [Source(f.relative_to(repo_rules()).as_posix(), f.read_text(encoding="utf-8"))
               for f in rule_files([repo_rules()])]
    program, diags = build(shipped + [Source(rules, (MODS / rules).read_text(encoding="utf-8"))])
    assert program is not None, [str(d) for d in diags]
    return program


def interpreted(program: ir.Program, rs: ir.RuleSet, state: dict[str, Any], req: dict[str, Any]) -> dict[str, Any]:
    loaded = load_state(state, program)
    verdict: dict[str, Any] = Validator(rs).validate(loaded, load_request(dict(req), loaded, program, rs)).to_json()
    return verdict


def judged_everywhere(tmp: Path, capsys: pytest.CaptureFixture[str], rules: str, base: str, name: str,
                      cases: list[Case]) -> None:
    """Each case judged as the rules say under both rule sets by the interpreter and the fleet engine, and under
    the modification by `redline validate` (the cases in the first case's state, in one call) and by the module
    `redline codegen` writes for it."""
    program = program_with(rules)
    rulesets = [program.rulesets[base], program.rulesets[name]]
    code, _, err = run(capsys, "codegen", "--ruleset", name, "-o", str(tmp / f"gen_{name}.py"))
    assert code == 0, err
    generated = import_file(tmp / f"gen_{name}.py", f"nextmod2_{name}_{tmp.name}")
    first = [i for i, case in enumerate(cases) if case[0] == cases[0][0]]
    (tmp / "state.json").write_text(json.dumps(cases[0][0]), encoding="utf-8")
    for i in first:
        (tmp / f"request-{i}.json").write_text(json.dumps(cases[i][1]), encoding="utf-8")
    code, out, err = run(capsys, "validate", "--ruleset", name, "--format", "json", "--state", "state.json",
                         *(f"request-{i}.json" for i in first))
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()] if len(first) > 1 else [json.loads(out)]
    assert [said(v) for v in lines] == [cases[i][3] for i in first], lines
    fields = ("verdict", "layer", "code", "check", "effects")
    for i, (state, req, want_base, want_mod) in enumerate(cases):
        got = [interpreted(program, rs, state, req) for rs in rulesets]
        assert [said(v) for v in got] == [want_base, want_mod], (i, got)
        module = copy.deepcopy(generated.validate(state, req))
        assert {k: module[k] for k in fields} == {k: got[1][k] for k in fields}, i
    state, requests = one_world(cases)
    assert disagreements(program, rulesets, state, requests) == []


def one_world(cases: list[Case]) -> tuple[dict[str, Any], list[tuple[int, str, dict[str, Any]]]]:
    """The cases' worlds as one, for one run of the engine: the k-th distinct world's meter and MPxN renamed
    (`...-A<k>`, `...0<k>`), each request sent to its world's meter. The worlds differ only in the meter and
    the relations, and share `now` and the parties (a later world may add some)."""
    worlds: list[str] = []
    merged: dict[str, Any] = {"now": NOW, "parties": {}, "devices": {}, "registration": {}, "relations": {}}
    requests = []
    for i, (state, req, _, _) in enumerate(cases):
        text = json.dumps(state, sort_keys=True)
        if text not in worlds:
            worlds.append(text)
            k = len(worlds) - 1
            renamed = json.loads(text.replace(METER, METER[:-1] + str(k)).replace("1900000000001", f"19000000000{k}1"))
            for key in ("parties", "devices", "registration", "relations"):
                for name, value in renamed.get(key, {}).items():
                    merged[key][name] = merged[key].get(name, []) + value if key == "relations" else value
        k = worlds.index(text)
        requests.append((i, NOW, req | {"device": METER[:-1] + str(k)}))
    if not merged["relations"]:
        del merged["relations"]
    return merged, requests


def diff(capsys: pytest.CaptureFixture[str], old: str, new: str) -> dict[str, Any]:
    code, out, err = run(capsys, "diff", old, new, "--format", "json")
    d = json.loads(out)
    assert code == (1 if d["intent"]["status"] == "violated" else 0), err
    assert d["complete"], err
    return d


def test_ed_daily_reads_only_widens(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "ed-daily-reads.redline"))
    d = diff(capsys, "baseline", "ed_daily_reads")
    assert d["intent"]["status"] == "satisfied"
    # only 4.6.1 from an ED changes, and every change leaves the E2 refusal of the matrix check
    assert all(c["summary"].startswith("4.6.1 (Retrieve Import Daily Read Log) sent as ED,") for c in d["changes"])
    assert {c["before"]["code"] for c in d["changes"]} == {"E2"} and "accept" in {c["after"]["verdict"] for c in d["changes"]}
    judged_everywhere(tmp_path, capsys, "ed-daily-reads.redline", "baseline", "ed_daily_reads", [
        (world(), request(P2, "ED", "4.6.1"), "reject DSP E2 by role_eligible_for_srv", "accept"),
        (world(status="Decommissioned"), request(P2, "ED", "4.6.1"), "reject DSP E2 by role_eligible_for_srv",
         "reject DSP E5 by smi_status_suits_srv"),
        (world(), request(P3, "OU", "4.6.1"), "reject DSP E2 by role_eligible_for_srv",
         "reject DSP E2 by role_eligible_for_srv"),
        (world(), request(P1, "IS", "4.6.1"), "accept", "accept"),
    ])


def test_cos_critical_breaks_the_change_of_supplier(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Made Critical, a 6.23 must be signed by the owner of the Supplier cell, which the incoming Supplier is not:
    the diff, the validator and the generic properties all say so."""
    monkeypatch.chdir(project(tmp_path, "cos-critical.redline"))
    d = diff(capsys, "baseline", "cos_critical")
    assert d["intent"]["status"] == "satisfied"
    assert {(c["before"]["verdict"], c["after"]["layer"]) for c in d["changes"]} == \
        {("reject", None), ("accept", "S1SP"), ("reject", "Device"), ("accept", "Device")}
    incoming = request(P4, "IS", "6.23", execution_time="2026-03-11T00:00:00Z", remote_party_role="Supplier",
                       new_certificate_owner=P4)
    judged_everywhere(tmp_path, capsys, "cos-critical.redline", "baseline", "cos_critical", [
        (world("SMETS1"), incoming, "accept", "reject S1SP None by s1sp_certificate_owner"),
        (world("SMETS2"), incoming, "accept", "reject Device None by device_signature"),
        # the current Supplier renewing its own certificate on SMETS2, though its registration ends first:
        # the DSP no longer checks eligibility on a Critical SMETS2 request
        (world("SMETS2"), request(P1, "IS", "6.23", execution_time="2026-03-11T00:00:00Z",
                                  remote_party_role="Supplier", new_certificate_owner=P1),
         "reject DSP E4 by eligible_user", "accept"),
    ])
    # DUIS: the 6.23 of tests/duis, signed by the Supplier that owns the cell, is accepted under the baseline
    (tmp_path / "duis-state.json").write_text(json.dumps(duis_state()), encoding="utf-8")
    (tmp_path / "cos.xml").write_text(cos(), encoding="utf-8")
    code, out, err = run(capsys, "validate", "--ruleset", "baseline", "--format", "json", "--state", "duis-state.json",
                         "cos.xml")
    assert code == 0 and said(json.loads(out)) == "accept", err
    # ... and refused by name under cos_critical, whose 6.23 is Critical: its Command Variant must say so
    code, out, err = run(capsys, "validate", "--ruleset", "cos_critical", "--format", "json", "--state",
                         "duis-state.json", "cos.xml")
    assert code == 2 and "Command Variant 1 does not suit SRV 6.23, a Critical request" in err, out + err


def test_ou_consent_reads_a_declared_request_bool(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "ou-consent.redline"))
    d = diff(capsys, "baseline", "ou_consent")
    assert d["intent"]["status"] == "satisfied"
    assert {(c["before"]["verdict"], c["after"]["clause"]) for c in d["changes"]} == {("accept", "Illustrative: SEC Section I consent, stated in the request")}
    assert all("sent as OU, where device.generation == SMETS2 and" in c["summary"] for c in d["changes"])
    judged_everywhere(tmp_path, capsys, "ou-consent.redline", "baseline", "ou_consent", [
        (world(), request(P3, "OU", "11.2"), "accept", "reject DSP E4 by ou_consent_stated"),
        (world(), request(P3, "OU", "11.2", consent_confirmed=False), "accept", "reject DSP E4 by ou_consent_stated"),
        (world(), request(P3, "OU", "11.2", consent_confirmed=True), "accept", "accept"),
        (world("SMETS1"), request(P3, "OU", "11.2"), "accept", "accept"),
        (world(type_="GSME"), request(P3, "OU", "11.2"), "accept", "accept"),
        (world(), request(P1, "IS", "11.2"), "accept", "accept"),
    ])


def test_suspended_krp_only_widens_and_its_counterexample_replays(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "suspended-krp.redline", "suspended-krp-properties.redline"))
    d = diff(capsys, "baseline", "suspended_krp")
    assert d["intent"]["status"] == "satisfied"
    assert {c["before"]["code"] for c in d["changes"]} == {"E5"}  # every change was the SMI status refusal
    assert all(c["summary"].startswith("6.15.1 ") and "device.smi_status == Suspended" in c["summary"]
               for c in d["changes"])
    code, out, err = run(capsys, "prove", str(MODS / "suspended-krp-properties.redline"), "--cex-dir", "cex")
    assert code == 0 and "4 results: 4 as expected" in out, out + err
    for rs, want in (("baseline", "reject DSP E5 by smi_status_suits_srv"), ("suspended_krp", "accept")):
        code, out, err = run(capsys, "validate", "--ruleset", rs, "--format", "json", "--state",
                             "cex/suspended_untouched.suspended_krp/state.json",
                             "cex/suspended_untouched.suspended_krp/request.json")
        assert (code, said(json.loads(out))) == (0, want), err
    krp = {"remote_party_role": "Supplier", "new_certificate_owner": P1}
    judged_everywhere(tmp_path, capsys, "suspended-krp.redline", "baseline", "suspended_krp", [
        (world(status="Suspended"), request(P1, "IS", "6.15.1", **krp), "reject DSP E5 by smi_status_suits_srv", "accept"),
        (world("SMETS1", "Suspended"), request(P2, "ED", "6.15.1", remote_party_role="NetworkOperator",
                                               new_certificate_owner=P2),
         "reject DSP E5 by smi_status_suits_srv", "accept"),
        (world("SMETS1", "Suspended"), request(P4, "IS", "6.15.1", **krp), "reject DSP E5 by smi_status_suits_srv",
         "reject DSP E4 by eligible_user"),
        (world(status="Decommissioned"), request(P1, "IS", "6.15.1", **krp), "reject DSP E5 by smi_status_suits_srv",
         "reject DSP E5 by smi_status_suits_srv"),
        (world(status="Suspended"), request(P1, "IS", "6.24.1"), "reject DSP E5 by smi_status_suits_srv",
         "reject DSP E5 by smi_status_suits_srv"),
    ])


def test_eligible_now_changes_a_time_based_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "eligible-now.redline"))
    later = {"execution_time": "2026-03-11T00:00:00Z"}
    judged_everywhere(tmp_path, capsys, "eligible-now.redline", "baseline", "eligible_now", [
        (world(), request(P4, "IS", "4.1.1", **later), "accept", "reject DSP E4 by eligible_user"),
        (world(), request(P1, "IS", "4.1.1", **later), "reject DSP E4 by eligible_user", "accept"),
        (world(), request(P1, "IS", "4.1.1"), "accept", "accept"),
        (world(), request(P1, "IS", "4.1.1", date_range={"from": "2026-02-01T00:00:00Z", "to": "2026-03-20T00:00:00Z"}),
         "reject DSP E4 by eligible_user", "accept"),
        (world(), request(P2, "ED", "4.1.1", **later), "accept", "accept"),
    ])


def test_device_type_code_moves_a_check(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "device-type-code.redline"))
    d = diff(capsys, "baseline", "device_type_code")
    assert d["intent"]["status"] == "absent"  # it declares no intent
    assert {(c["before"]["code"], c["after"]["code"]) for c in d["changes"]} == {("E11", "E12"), ("E11", "E5")}
    judged_everywhere(tmp_path, capsys, "device-type-code.redline", "baseline", "device_type_code", [
        (world(type_="CHF"), request(P1, "IS", "4.1.1"), "reject DSP E11 by srv_suits_device_type",
         "reject DSP E12 by srv_suits_device_type_e12"),
        (world(type_="CHF", status="Decommissioned"), request(P1, "IS", "4.1.1"),
         "reject DSP E11 by srv_suits_device_type", "reject DSP E5 by smi_status_suits_srv"),
        (world(), request(P1, "IS", "4.1.1"), "accept", "accept"),
    ])


@pytest.mark.slow
def test_fleet_of_a_modification_that_changes_a_sampled_srv(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The synthetic fleet's requests include 6.23: replay counts the changes cos_critical makes, each in a region of
    the diff, and fleet answers for both rule sets (about 15 s; the engine agrees with the interpreter on every
    request above, in the default run)."""
    monkeypatch.chdir(project(tmp_path, "cos-critical.redline"))
    assert run(capsys, "impact", "generate", "fleet", "--devices", "200", "--requests", "1000", "--wrong-no-share", "0.2",
               "--threads", "1")[0] == 0
    code, out, err = run(capsys, "impact", "replay", "fleet", "--ruleset", "baseline", "--ruleset", "cos_critical",
                         "--format", "json", "--threads", "1")
    changes = json.loads(out)["changes"]
    assert code == 0 and changes["changed"] > 0, err
    assert {c["key"] for c in changes["by_srv"]} == {"6.23"}
    assert changes["by_region"]["outside_every_region"]["requests"] == 0
    assert sum(r["requests"] for r in changes["by_region"]["regions"]) == changes["changed"]
    code, out, err = run(capsys, "impact", "fleet", "fleet", "--at", NOW, "--ruleset", "baseline", "--ruleset",
                         "cos_critical", "--format", "json", "--threads", "1")
    assert code == 0, err


def test_an_effect_only_change_outside_the_intents_refutes_changes_only_intended(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """keep_sender changes no verdict, only the owner its accepted corrections leave in the NO cell, and declares
    no intent: the diff counts those changes, and so must the generic property said to be the diff's intent
    check (it was proved: a clean bundle for a modification undoing every correction)."""
    monkeypatch.chdir(project(tmp_path, "keep-sender.redline"))
    replay = refuted_generic(tmp_path, capsys, "keep_sender", "changes_only_intended")
    owners = []
    for rs in ("mp107", "keep_sender"):
        code, out, err = run(capsys, "validate", "--ruleset", rs, "--format", "json", "--state",
                             str(replay / "state.json"), str(replay / "request.json"))
        verdict = json.loads(out)
        assert code == 0 and verdict["verdict"] == "accept", err
        owners.append(verdict["effects"][-1]["owner"])
    assert owners[0] != owners[1]  # accepted under both, the NO cell left to another owner


def test_a_replay_whose_diff_cannot_be_encoded_is_refused_by_name(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`impact replay` ties its changes to the diff's regions; a rule set the SQL compiler takes but the prover
    cannot encode (`==` between truth values was one, before the encoder learnt it) met the prover's refusal as
    an internal error (exit 70). It is refused by name, with the place, exit 2, as `redline diff` refuses it.
    No construct is in that gap today, so the prover's refusal is stood in for, at the check's own place."""
    import redline.props.diff as diff_module
    from redline.smt import Unsupported as Unencodable

    def refusing(program: Any, old: Any, new: Any, *_: Any) -> Any:
        check = next(c for c in new.checks if c.name == "ou_consent_stated")
        raise Unencodable("a construct the prover lacks", check.span)

    monkeypatch.chdir(project(tmp_path, "ou-consent.redline"))
    assert run(capsys, "impact", "generate", "fleet", "--devices", "50", "--requests", "100", "--threads", "1")[0] == 0
    monkeypatch.setattr(diff_module, "diff", refusing)
    code, out, err = run(capsys, "impact", "replay", "fleet", "--ruleset", "baseline", "--ruleset", "ou_consent",
                         "--threads", "1")
    assert code == 2, out + err
    assert "cannot encode a construct the prover lacks at " in err and "ou-consent.redline:" in err, err


def test_truth_values_compared_with_eq_diff_as_the_plain_condition(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """`requires request.consent_confirmed == true` (an optional Bool: null is not true) is in the prover's
    fragment and reads as `requires request.consent_confirmed`: the same diff, region for region."""
    texts = {"plain": (MODS / "ou-consent.redline").read_text(encoding="utf-8")}
    texts["eq"] = texts["plain"].replace("requires request.consent_confirmed\n",
                                         "requires request.consent_confirmed == true\n")
    texts["ne"] = texts["plain"].replace("requires request.consent_confirmed\n",
                                         "requires not (request.consent_confirmed != true)\n")
    assert len(set(texts.values())) == 3
    diffs = {}
    for name, text in texts.items():
        root = tmp_path / name
        (root / "rules").mkdir(parents=True)
        (root / "rules" / "m.redline").write_text(text, encoding="utf-8")
        (root / "redline.toml").write_text('rules = ["rules"]\nshipped = true\n', encoding="utf-8")
        monkeypatch.chdir(root)
        code, out, err = run(capsys, "diff", "baseline", "ou_consent", "--format", "json")
        assert code in (0, 1), err
        doc = json.loads(out)
        diffs[name] = (doc["complete"], doc["count"], [(r["before"], r["after"], r["count"]) for r in doc["changes"]])
    assert diffs["plain"][2] and diffs["eq"] == diffs["plain"] == diffs["ne"]


RSA, RSA_OTHER = "90-B3-D5-1F-30-05-00-00", "90-B3-D5-1F-30-06-00-00"


def agents(appointed: bool = True) -> dict[str, Any]:
    """Two agents, one registered for the meter's MPxN and (or not) recorded as appointed to it."""
    state = world()
    state["parties"] |= {RSA: {"roles": ["RSA"], "dcc_user": True}, RSA_OTHER: {"roles": ["RSA"], "dcc_user": True}}
    state["registration"]["1900000000001"].append({"role": "RSA", "party": RSA, "from": "2020-01-01T00:00:00Z", "to": None})
    state["relations"] = {"appointed": [[RSA, METER]] if appointed else []}
    return state


def test_rsa_appointed_reads_a_declared_relation_and_enum(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, "rsa-appointed.redline"))
    d = diff(capsys, "baseline", "rsa_appointed")
    assert d["intent"]["status"] == "satisfied"
    assert {(c["before"]["verdict"], c["after"]["code"]) for c in d["changes"]} == {("accept", "E4")}
    assert all(" sent as RSA, where " in c["summary"] for c in d["changes"])
    judged_everywhere(tmp_path, capsys, "rsa-appointed.redline", "baseline", "rsa_appointed", [
        (agents(), request(RSA, "RSA", "6.2.1", purpose="Fault"), "accept", "accept"),
        (agents(), request(RSA, "RSA", "6.2.1", purpose="Survey"), "accept", "reject DSP E4 by agent_appointed"),
        (agents(), request(RSA, "RSA", "6.2.1"), "accept", "reject DSP E4 by agent_appointed"),
        (agents(), request(RSA_OTHER, "RSA", "6.2.1", purpose="Fault"), "reject DSP E4 by eligible_user",
         "reject DSP E4 by eligible_user"),
        (agents(appointed=False), request(RSA, "RSA", "6.2.1", purpose="Maintenance"), "accept",
         "reject DSP E4 by agent_appointed"),
        (agents(appointed=False), request(P1, "IS", "6.2.1"), "accept", "accept"),
    ])


@pytest.mark.slow
def test_eligible_now_diff(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Its diff (about 15 s): every change is a request with a date range or an execution time, as it intends."""
    monkeypatch.chdir(project(tmp_path, "eligible-now.redline"))
    d = diff(capsys, "baseline", "eligible_now")
    assert d["intent"]["status"] == "satisfied"
    assert {"E4"} <= {c["before"]["code"] for c in d["changes"]} | {c["after"]["code"] for c in d["changes"]}


@pytest.mark.slow
def test_cos_critical_generic_properties(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The generic library (about 15 s): it changes only what it intends and makes no new takeover, but changes
    SMETS2 verdicts and refuses a recovery (a current Supplier re-installing its own certificate) the base accepted."""
    monkeypatch.chdir(project(tmp_path, "cos-critical.redline"))
    code, out, err = run(capsys, "prove", "--modification", "cos_critical", "--format", "json",
                         str(repo_rules().parent / "proofs" / "generic.redline"))
    got = {r["property"]: r["status"] for r in json.loads(out)["results"]}
    assert code == 1 and got["smets2_verdicts_unchanged"] == got["recovery_kept"] == "refuted", err
    assert got["changes_only_intended"] == got["no_new_takeover"] == got["no_check_made_dead"] == "proved"


@pytest.mark.slow
def test_suspended_krp_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The evidence bundle: the properties as expected, the SMETS2 refutation acknowledged (about 40 s)."""
    monkeypatch.chdir(project(tmp_path, "suspended-krp.redline", "suspended-krp-properties.redline"))
    code, out, err = run(capsys, "report", "--modification", "suspended_krp", "--out", "bundle", "--format", "json")
    assert code == 0 and json.loads(out)["problems"] == [], out + err
