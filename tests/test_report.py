"""`redline report`: the evidence bundle's contents, its determinism outside the timing section,
the independent re-checks (and what happens when they disagree), and bad output directories."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from redline.cli import main
from redline.loading import load_program
from redline.output import MANIFEST, not_ours
from redline.props.diff import DiffReport, IntentReport
from redline.props.liveness import Counts, LivenessReport
from redline.report import (
    Collected,
    Obligation,
    RuleFile,
    Settings,
    build_bundle,
    exit_status,
    load_cvc5,
    provider_of,
    write_bundle,
)
from redline.report import bundle as bundle_mod
from redline.report import collect as collect_mod
from redline.report.findings import story
from redline.report.recheck import cvc5_solve, recheck, replay
from redline.report.render_html import render_html
from redline.report.render_md import TIMINGS_BEGIN, TIMINGS_END, render_markdown

ROOT = Path(__file__).resolve().parents[1]
A, B, C = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00", "90-B3-D5-1F-30-03-00-00"
DEVICE = "00-DB-12-34-56-78-90-A0"


@pytest.fixture(scope="module")
def program() -> Any:
    prog, diags = load_program(ROOT / "rules", [ROOT / "proofs"])
    assert prog is not None, diags
    return prog


def outside_timings(text: str) -> str:
    assert text.count(TIMINGS_BEGIN) == 1 and text.count(TIMINGS_END) == 1
    head, rest = text.split(TIMINGS_BEGIN)
    return head + rest.split(TIMINGS_END)[1]


def json_outside_timings(data: bytes) -> str:
    doc = json.loads(data)
    del doc["timings"]
    for r in doc["results"]:
        del r["seconds"]
    return json.dumps(doc, indent=2)


# ---- the shipped bundle ---------------------------------------------------------

def test_bundle_holds_every_result_rechecked(evidence_bundle: tuple[Path, int, str]) -> None:
    out, code, stdout = evidence_bundle
    assert code == 0, stdout
    assert re.search(r"bundle written to .* in \d+\.\d s", stdout)
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    results = doc["results"]
    # 24 one-step (proofs/mp107.redline), 10 over runs (proofs/temporal.redline), 5 generic (proofs/generic.redline)
    assert len(results) == 39
    assert {r["property"] for r in results if r["ruleset"] == "baseline..mp107"} >= {
        "changes_only_intended", "no_new_takeover", "smets2_verdicts_unchanged", "recovery_kept", "no_check_made_dead"}
    for r in results:
        assert r["status"] == r["expected"] and r["seconds"] >= 0
        rc = r["recheck"]
        assert rc["status"] == "agrees", (r["property"], rc)
        if r["proof"] == "bounded":  # a run: every step replayed, every transition checked
            assert rc["solver"].startswith("redline interpreter") and rc["transitions"] >= 1 and rc["verdicts"] >= 1
            continue
        if r["proof"] == "liveness":  # no_check_made_dead: a witness per check, each replayed under mp107
            assert rc["solver"].startswith("redline interpreter") and rc["verdicts"] == 1 + len(r["witness"]["cases"]) >= 5
            continue
        ob = r["obligation"]
        assert ob["file"].startswith(f"smt2/{r['property']}.{r['ruleset']}.")
        assert (out / ob["file"]).is_file()
        if ob["z3"] == "unsat":  # a proof over every state: cvc5 must find the same obligation unsat
            assert rc["solver"].startswith("cvc5 ") and rc["answer"] == "unsat" and rc["file"] == ob["file"]
        else:  # a model: replayed through the interpreter, or (a state alone) confirmed sat by cvc5
            assert ob["z3"] == "sat"
            assert (rc["solver"].startswith("redline interpreter") and rc["verdicts"] > 0) or \
                (rc["solver"].startswith("cvc5 ") and rc["answer"] == "sat" and rc["replay"]["status"] == "unsupported")
    assert sum(r["recheck"]["solver"].startswith("cvc5") for r in results) >= 20
    # The model checker's unbounded proof: its three obligations, re-solved by cvc5.
    sf = next(r for r in results if (r["property"], r["ruleset"]) == ("stuck_forever", "baseline"))
    assert sf["proof"] == "unbounded" and sf["recheck"]["answer"] == "unsat"
    # One .smt2 per result, no more.
    assert sorted(p.name for p in (out / "smt2").iterdir()) == sorted(Path(r["obligation"]["file"]).name for r in results
                                                                       if r["proof"] not in ("bounded", "liveness"))
    # The rule files by hash: the hashes are those of the files.
    for f in doc["files"]:
        assert hashlib.sha256((ROOT / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    assert {"rules/mp107.redline", "rules/baseline.redline", "proofs/mp107.redline"} <= {f["path"] for f in doc["files"]}
    assert doc["versions"]["solver"].startswith("Z3 ") and doc["versions"]["recheck_solver"].startswith("cvc5 ")
    assert doc["diff"]["intent"]["status"] == "satisfied" and doc["problems"] == []


def test_markdown_and_html_say_what_the_issue_asks(evidence_bundle: tuple[Path, int, str]) -> None:
    out, _, _ = evidence_bundle
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    md = (out / "report.md").read_text(encoding="utf-8")
    page = (out / "report.html").read_text(encoding="utf-8")
    for text in (md, page):
        for r in doc["results"]:
            assert r["property"] in text
        for f in doc["files"]:
            assert f["sha256"] in text
        for name in [f"A{i}" for i in range(1, 11)]:
            assert re.search(rf"\b{name}\b", text)
        assert "Semantic diff: baseline" in text and "What was not checked" in text and "No multi-step property" not in text
        assert "Assumption register" in text and "[A] a modelling assumption" in text
        # The model checker's results: the events their runs allow, and the invariant of an unbounded proof.
        assert "Runs allow: ceases_to_be_dcc_user, time_passes" in text and "owner(t, NetworkOperator) == w" in text
        assert doc["versions"]["solver"] in text and doc["versions"]["recheck_solver"] in text
    # The diff table: one row per region, in both.
    assert len(re.findall(r"^\| \d+ \|", md, flags=re.M)) == len(doc["diff"]["changes"])
    assert page.count("<tr>", page.index('id="diff-table"'), page.index("</table>", page.index('id="diff-table"'))) == len(doc["diff"]["changes"]) + 1
    # A counterexample is told for people: the deadlock of P1 before MP107, with its candidates.
    assert "**Counterexample**" in md and "What every candidate request gets" in md
    # Self-contained: nothing fetched from anywhere, no scripts.
    assert not re.search(r"<script|<link|src=|url\(|https?://", page)


def test_two_runs_give_the_same_bytes_outside_the_timings(evidence_bundle: tuple[Path, int, str], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    first, _, _ = evidence_bundle
    second = tmp_path / "again"
    assert main(["report", "--rules", str(ROOT / "rules"), "--out", str(second)]) == 0
    capsys.readouterr()
    names = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file())
    assert names == sorted(str(p.relative_to(second)) for p in second.rglob("*") if p.is_file())
    for name in names:
        a, b = (first / name).read_bytes(), (second / name).read_bytes()
        if name == MANIFEST:  # the hashes of the files above, timings included: each bundle's must verify
            assert not_ours(first) is None and not_ours(second) is None
        elif name.endswith((".html", ".md")):
            assert outside_timings(a.decode()) == outside_timings(b.decode()), name
        elif name.endswith(".json"):
            assert json_outside_timings(a) == json_outside_timings(b), name
        else:
            assert a == b, name
    # The marked section really is where the clock shows, so the comparison above is not vacuous.
    assert "Generated at" in (first / "report.md").read_text().split(TIMINGS_BEGIN)[1]


# ---- re-checks, by hand-built results --------------------------------------------

def _trace() -> dict[str, Any]:
    """A hand-built three-step result: C, the wrong NO, hands the NO cell to B under MP107; C then
    stops being a DCC User (an environment event); C's next request is rejected at E1."""
    s1 = json.loads((ROOT / "examples/stuck-smets1/state.json").read_text())
    q = json.loads((ROOT / "examples/stuck-smets1/request.json").read_text())
    s2 = copy.deepcopy(s1)
    s2["devices"][DEVICE]["trust_anchors"]["NetworkOperator"] = B
    s3 = copy.deepcopy(s2)
    s3["parties"][C]["dcc_user"] = False
    q3 = dict(q, new_certificate_owner=C)
    return {
        "property": "hand_built_trace", "ruleset": "mp107", "status": "refuted", "expected": "refuted",
        "proof": "bounded", "depth": 3, "seconds": 0.5, "clauses": ["SRPD 6.1"], "assumptions": ["A4"],
        "counterexample": {"parties": {"wrong_no": C, "registered_no": B}, "trace": [
            {"state": s1, "request": q, "verdict": {"ruleset": "mp107", "verdict": "accept", "layer": None, "code": None,
                                                  "check": None, "clause": None,
                                                  "effects": [{"device": DEVICE, "trust_anchor": "NetworkOperator", "owner": B}]}},
            {"state": s2, "event": {"name": "ceases_to_be_dcc_user", "cite": "SEC Section H1", "party": C}},
            {"state": s3, "request": q3, "verdict": {"ruleset": "mp107", "verdict": "reject", "layer": "DSP", "code": "E1",
                                                   "check": "dcc_user_in_role", "clause": "SRPD 6.1", "effects": []}},
        ]},
    }


def test_a_multi_step_trace_is_told_step_by_step() -> None:
    s = story(_trace())
    assert s is not None and s.kind == "counterexample" and len(s.steps) == 3
    one, two, three = s.steps
    assert one.actor == f"{C} (wrong_no) as ED" and "sends 6.15.1" in one.action and "NetworkOperator certificate" in one.action
    assert one.verdicts == ["mp107: accept"]
    assert one.changed == [f"device {DEVICE} NetworkOperator cell: {C} (wrong_no) -> {B} (registered_no)"]
    assert two.actor == "environment" and two.action == f"event: ceases_to_be_dcc_user [SEC Section H1]: {C}"
    assert two.changed == [f"party {C} (wrong_no) is no longer a DCC User"]
    assert three.verdicts == ["mp107: reject DSP E1 by dcc_user_in_role [SRPD 6.1]"] and three.changed == []


def test_a_multi_step_trace_renders_in_both_formats_and_replays(program: Any) -> None:
    result = _trace()
    rc = replay(program, result)
    assert rc["status"] == "agrees" and rc["verdicts"] == 2 and rc["transitions"] == 2  # the event may change only a DCC User flag
    bundle = build_bundle(program, [RuleFile("x", b"")], Settings("baseline"), [provider_of(lambda p, s: [copy.deepcopy(result)], "a model checker")], load_cvc5())
    assert json.loads(bundle.files["results.json"])["results"][0]["recheck"]["status"] == "agrees"
    md = bundle.files["report.md"].decode()
    page = bundle.files["report.html"].decode()
    assert "1. " + f"{C} (wrong_no) as ED sends 6.15.1" in md and "event: ceases_to_be_dcc_user" in md
    assert "bounded result" not in md  # a run it found is a genuine finding, not a bounded claim
    assert "No multi-step property was checked" not in md
    assert "<th>what changed</th>" in page and f"{C} (wrong_no) -&gt; {B} (registered_no)" in page


@pytest.mark.parametrize("tamper,why", [
    (lambda r: r["counterexample"]["trace"][2]["verdict"].update(code="E4"), "step 3: code"),
    (lambda r: r["counterexample"]["trace"][1]["state"]["devices"][DEVICE]["trust_anchors"].update(NetworkOperator=C), "step 2's state"),
    (lambda r: r["counterexample"]["trace"][0]["verdict"].update(verdict="reject"), "step 1: verdict"),
])
def test_a_trace_that_does_not_replay_is_a_disagreement(program: Any, tamper: Any, why: str) -> None:
    result = _trace()
    tamper(result)
    rc = replay(program, result)
    assert rc["status"] == "disagrees" and why in rc["reason"]


SAT = "(declare-fun x () Int)\n(assert (> x 0))\n(check-sat)\n"
UNSAT = "(declare-fun x () Int)\n(assert (and (> x 0) (< x 0)))\n(check-sat)\n"


def _proved(name: str, text: str, answer: str | None = "unsat", status: str = "proved") -> Collected:
    r = {"property": name, "ruleset": "baseline", "status": status, "expected": "proved", "proof": "one-step",
         "seconds": 0.1, "clauses": [], "assumptions": ["A1"], "settled_by": "unbounded"}
    if status == "unknown":
        r["reason"] = "timeout"
    return Collected(r, Obligation(f"{name}.baseline.unbounded.smt2", text, answer))


def test_cvc5_agrees_and_disagrees_on_smt2_text(program: Any) -> None:
    cvc5 = load_cvc5()
    assert recheck(program, _proved("p", UNSAT), cvc5, 5000)[0]["status"] == "agrees"
    rc, _ = recheck(program, _proved("p", SAT), cvc5, 5000)  # Z3 said unsat, the text says otherwise
    assert rc["status"] == "disagrees" and rc["answer"] == "sat" and rc["expected"] == "unsat"
    rc, _ = recheck(program, _proved("p", "(assert (= x"), cvc5, 5000)
    assert rc["status"] == "unsupported" and "cannot read" in rc["reason"]


def test_cvc5_giving_up_is_unknown_never_agreement(program: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    hard = ("(declare-fun f (Int) Int)\n(assert (forall ((x Int)) (> (f x) (* (f (+ x 1)) (f (+ x 1))))))\n"
            "(assert (forall ((x Int)) (> (f x) 1)))\n(check-sat)\n")
    monkeypatch.setattr("redline.report.recheck.PORTFOLIO", [("default", {})])
    got = cvc5_solve(load_cvc5(), hard, "hard.smt2", 2000)
    assert got.answer == "unknown" and got.reason
    rc, _ = recheck(program, _proved("p", hard), load_cvc5(), 2000)
    assert rc["status"] == "unknown"


def test_a_disagreement_is_loud_and_exits_1(program: Any) -> None:
    providers = [lambda p, s: [_proved("honest", UNSAT), _proved("tampered", SAT)]]
    b = build_bundle(program, [RuleFile("x", b"")], Settings("baseline"), providers, load_cvc5())
    assert exit_status(b.evidence) == 1
    assert any("RE-CHECK DISAGREES on tampered [baseline]" in p for p in b.evidence.problems)
    assert 'id="problems"' in b.files["report.html"].decode() and "ERROR" in b.files["report.md"].decode()
    assert b.files["smt2/tampered.baseline.unbounded.smt2"].decode() == SAT  # the file re-checked is the file shipped


def test_unknown_results_exit_3_and_are_never_called_proved(program: Any) -> None:
    providers = [lambda p, s: [_proved("honest", UNSAT), _proved("stuck", UNSAT, None, "unknown")]]
    b = build_bundle(program, [RuleFile("x", b"")], Settings("baseline"), providers, load_cvc5())
    assert exit_status(b.evidence) == 3
    stuck = next(r for r in b.evidence.results if r["property"] == "stuck")
    assert stuck["recheck"]["status"] == "skipped"
    md = render_markdown(b.evidence)
    assert re.search(r"^\| stuck \| [^|]* \| baseline \| UNKNOWN \|", md, re.M) and "stuck [baseline] is UNKNOWN: timeout" in md
    assert "UNKNOWN" in render_html(b.evidence)


def test_the_cli_exits_1_on_a_disagreement(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(collect_mod, "PROVIDERS", [lambda p, s: [_proved("tampered", SAT)]])
    monkeypatch.setattr(collect_mod, "semantic_diff", lambda *a, **k: NO_CHANGE)  # the diff is not what this test is about
    code = main(["report", "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "ev")])
    _, err = capsys.readouterr()
    assert code == 1 and "RE-CHECK DISAGREES on tampered [baseline]" in err
    assert (tmp_path / "ev" / "results.json").is_file()  # written, with the error in it for the reader


def test_an_analysis_that_could_not_finish_is_a_problem_on_the_first_screen_and_exits_3(program: Any) -> None:
    """Every solver call of the report runs under its rlimit: a tiny one leaves the diff incomplete, the intent
    and every rule's liveness unknown. That is never an all clear: problems, top of both pages, exit 3."""
    b = build_bundle(program, [RuleFile("x", b"")], Settings("mp107", rlimit=1000), [], load_cvc5())
    ev = b.evidence
    assert ev.diff is not None and ev.diff["complete"] is False and ev.diff["intent"]["status"] == "unknown"
    assert all(r["status"] == "unknown" for res in ev.liveness.values() for r in res["rules"])
    assert exit_status(ev) == 3 and not ev.failures()
    assert any(p.startswith("INCOMPLETE: the semantic diff baseline -> mp107") for p in ev.problems)
    assert any(p.startswith("UNKNOWN: the check of the declared intent") for p in ev.problems)
    assert any(p.startswith("INCOMPLETE: the liveness of mp107") for p in ev.problems)
    doc = json.loads(b.files["results.json"])
    assert doc["problems"] == doc["unsettled"] == ev.unsettled and doc["settings"]["rlimit"] == 1000
    md = b.files["report.md"].decode()
    assert md.index("UNKNOWN: this evidence is incomplete") < md.index("## Summary")
    html = b.files["report.html"].decode()
    assert html.index('id="unsettled"') < html.index('id="summary"') and "INCOMPLETE: the semantic diff" in html


def test_the_cli_says_what_could_not_finish_on_stderr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(collect_mod, "PROVIDERS", [lambda p, s: [_proved("honest", UNSAT)]])
    code = main(["report", "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "ev"), "--rlimit", "1000"])
    _, err = capsys.readouterr()
    assert code == 3
    assert "redline: INCOMPLETE: the semantic diff baseline -> mp107 is not complete" in err
    assert "redline: UNKNOWN: the check of the declared intent" in err


# ---- bad input ------------------------------------------------------------------

def test_missing_cvc5_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "cvc5", None)  # `import cvc5` now fails as if it were not installed
    code = main(["report", "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "ev")])
    _, err = capsys.readouterr()
    assert code == 2 and "cvc5 is not installed" in err and "pip install cvc5" in err
    assert not (tmp_path / "ev").exists()


@pytest.mark.parametrize("setup,message", [
    (lambda t: (t / "afile").write_text("x") and t / "afile" / "ev", "cannot create the directory"),
    (lambda t: (t / "afile").write_text("x") and t / "afile", "exists and is not a directory"),
    (lambda t: (t / "mine").mkdir() or (t / "mine" / "notes.txt").write_text("keep") and t / "mine", "not an evidence bundle"),
])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
        setup: Any, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = setup(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code = main(["report", "--rules", str(ROOT / "rules"), "--out", str(out)])
    _, err = capsys.readouterr()
    assert code == 2 and message in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written, nothing removed


NO_CHANGE = DiffReport("baseline", "mp107", True, (), {}, 0, IntentReport("satisfied"), 0)  # a diff that finds nothing


def _quick_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """`report` with one re-checked result and no diff or liveness: these tests are about where it writes."""
    monkeypatch.setattr(collect_mod, "PROVIDERS", [lambda p, s: [_proved("honest", UNSAT)]])
    monkeypatch.setattr(collect_mod, "semantic_diff", lambda *a, **k: NO_CHANGE)
    monkeypatch.setattr(collect_mod, "liveness", lambda *a, **k: LivenessReport("x", True, Counts(0, 0, 0, 0, 0), (), (), 0))


def test_a_directory_with_a_results_json_is_not_taken_for_a_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 15: `report --out DIR` replaced any directory holding a results.json, exit 0. Only a bundle whose
    manifest verifies is replaced; a bundle someone changed, or a symlink to one, is refused too."""
    _quick_report(monkeypatch)
    mine = tmp_path / "analysis"
    mine.mkdir()
    (mine / "results.json").write_text("{}")
    (mine / "notebook.ipynb").write_text("months of work")
    code = main(["report", "--rules", str(ROOT / "rules"), "--out", str(mine)])
    err = capsys.readouterr().err
    assert code == 2 and "holds no .redline-manifest.json" in err and "give another path" in err
    assert sorted(p.name for p in mine.iterdir()) == ["notebook.ipynb", "results.json"]
    ev = tmp_path / "ev"
    assert main(["report", "--rules", str(ROOT / "rules"), "--out", str(ev)]) == 0
    assert main(["report", "--rules", str(ROOT / "rules"), "--out", str(ev)]) == 0  # its own bundle: replaced
    (tmp_path / "link").symlink_to(ev)
    assert main(["report", "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "link")]) == 2
    assert "symbolic link" in capsys.readouterr().err
    (ev / "report.md").write_text("annotated by a reviewer")
    assert main(["report", "--rules", str(ROOT / "rules"), "--out", str(ev)]) == 2
    assert "report.md has changed since redline wrote it" in capsys.readouterr().err
    assert (ev / "report.md").read_text() == "annotated by a reviewer"


def test_a_report_killed_between_the_renames_is_recovered_by_the_next_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Issue 15: a SIGKILL between the two renames left no bundle at DIR and a `.partial-*` forever."""
    _quick_report(monkeypatch)
    ev = tmp_path / "ev"
    assert main(["report", "--rules", str(ROOT / "rules"), "--out", str(ev)]) == 0
    old = (ev / "results.json").read_bytes()
    real, calls = os.replace, []

    class Killed(BaseException):
        pass

    def replace(src: Any, dst: Any) -> None:
        calls.append(dst)
        if len(calls) == 2:  # the first rename set the old bundle aside; die before the new one goes in
            raise Killed
        real(src, dst)
    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        main(["report", "--rules", str(ROOT / "rules"), "--out", str(ev)])
    monkeypatch.setattr(os, "replace", real)
    assert not ev.exists() and len(list(tmp_path.iterdir())) == 2  # a staged bundle and the one set aside
    assert main(["report", "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "elsewhere")]) == 0  # not this target
    assert not ev.exists()
    bundle_mod.check_target(ev)  # what `report --out ev` does before any work
    assert (ev / "results.json").read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "ev"]


def test_a_failed_write_leaves_no_half_bundle_and_keeps_the_old_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "ev"
    write_bundle({"results.json": b"{}", "report.md": b"old"}, target)
    real = Path.write_bytes
    calls = []

    def failing(self: Path, data: bytes) -> int:
        calls.append(self.name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(self, data)
    monkeypatch.setattr(Path, "write_bytes", failing)
    with pytest.raises(bundle_mod.BundleError, match="No space left"):
        write_bundle({"results.json": b"{}", "report.md": b"new", "smt2/a.smt2": b""}, target)
    assert (target / "report.md").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ev"]  # no staging directory left behind
    monkeypatch.setattr(Path, "write_bytes", real)
    write_bundle({"results.json": b"{}", "report.md": b"new"}, target)  # a bundle is replaced whole
    assert (target / "report.md").read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["ev"]


def test_cvc5_is_imported_only_by_the_recheck_module() -> None:
    src = ROOT / "src" / "redline"
    users = [p.relative_to(src).as_posix() for p in src.rglob("*.py") if re.search(r"^\s*(import|from)\s+cvc5|import_module\(\"cvc5\"\)", p.read_text(), re.M)]
    assert users == ["report/recheck.py"]


def test_the_bundle_reports_the_liveness_of_every_rule(evidence_bundle: tuple[Path, int, str]) -> None:
    out, code, _ = evidence_bundle
    assert code == 0
    data = json.loads((out / "results.json").read_text())
    assert set(data["liveness"]) == {"baseline", "mp107"}
    dead = [(name, r["check"]) for name, res in data["liveness"].items() for r in res["rules"] if r["status"] != "live"]
    assert dead == [("baseline", "s1sp_registration")]
    md = (out / "report.md").read_text()
    assert "| check s1sp_registration | baseline | dead (shadowed by role_eligible_for_srv, eligible_user) | live |" in md
    html = (out / "report.html").read_text()
    assert 'id="liveness"' in html and 'class="liveness-dead"' in html


ODD = """
modification odd "a test amendment" amends baseline

  amend check s1sp_certificate_owner
    except "a Non-Device SRV never reaches an S1SP check" when srv.non_device
"""


def test_a_dead_rule_written_by_the_modification_is_loud(rules_copy: Path) -> None:
    (rules_copy / "odd.redline").write_text(ODD, encoding="utf-8")
    program, _ = load_program(rules_copy, [])
    b = build_bundle(program, [RuleFile("x", b"")], Settings("odd"), [], load_cvc5())
    assert exit_status(b.evidence) == 1
    assert b.evidence.problems == ["exception to s1sp_certificate_owner: a Non-Device SRV never reaches an S1SP check "
                                   "(written by odd) is DEAD under odd: it changes no verdict."]
    assert 'id="problems"' in b.files["report.html"].decode() and "DEAD under odd" in b.files["report.md"].decode()


def test_a_dead_disjunct_written_by_the_modification_is_loud(rules_copy: Path) -> None:
    # The exception decides requests (its first half), but its second half never reaches its check:
    # RSA may not send 4.1.1, so the DSP's E2 rejects first.
    (rules_copy / "half.redline").write_text(
        'modification half "test" amends baseline\n'
        '  amend check eligible_user\n'
        '    except "half" when (srv == "4.1.1" and role == ED) or (srv == "4.1.1" and role == RSA)\n', encoding="utf-8")
    program, _ = load_program(rules_copy, [])
    b = build_bundle(program, [RuleFile("x", b"")], Settings("half"), [], load_cvc5())
    assert exit_status(b.evidence) == 1
    assert b.evidence.problems == ['`srv == "4.1.1" and role == RSA` in the except condition of eligible_user (written by half) '
                                   "never holds where it could decide anything."]


def test_smt2_let_names_are_renumbered_in_order_of_first_appearance() -> None:
    """Z3 names let variables after its internal ids, which depend on what the process did before."""
    from redline.smt.smt2 import canonical

    a = '(let (($x6422 (f ?x93))) (and $x6422 ?x93 $x6422 |a $x5 b| "s $x7" $x6422b))'
    b = '(let (($x17 (f ?x4))) (and $x17 ?x4 $x17 |a $x5 b| "s $x7" $x6422b))'
    assert canonical(a) == canonical(b) == '(let (($x1 (f ?x2))) (and $x1 ?x2 $x1 |a $x5 b| "s $x7" $x6422b))'


def test_a_counterexample_under_two_rule_sets_tells_each_ones_cells_after_its_effects() -> None:
    """A request accepted under two rule sets, one of which writes the cell twice (the last effect wins): the
    story listed every effect of both as one list, three `changed` lines for one cell, and did not say whose."""
    meter, w, c = "00-DB-12-34-56-78-90-A0", "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00"
    effect = lambda owner: {"device": meter, "trust_anchor": "NetworkOperator", "owner": owner}  # noqa: E731
    accept = lambda *owners: {"verdict": "accept", "effects": [effect(o) for o in owners]}  # noqa: E731
    request = {"sender": w, "role": "GT", "srv": "6.15.1", "device": meter, "remote_party_role": "NetworkOperator",
               "new_certificate_owner": c}
    s = story({"counterexample": {"state": {"parties": {}, "devices": {}}, "request": request,
                                  "verdicts": {"r@mp107": accept(c), "r@keep_sender": accept(c, w)}}})
    assert s is not None
    assert s.steps[0].changed == [f"under keep_sender: device {meter} NetworkOperator cell -> {w}",
                                  f"under mp107: device {meter} NetworkOperator cell -> {c}"]
