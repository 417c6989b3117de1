"""Every result says what its property claims, in words, wherever it is shown (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.cli import main


def test_prove_json_and_text_carry_each_propertys_claim(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--property", "recoverable_no_certificate", "--format", "json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert results and all("any mis-set NO certificate can be corrected" in r["claim"] for r in results)
    assert main(["prove", "--property", "recoverable_no_certificate"]) == 0
    assert "claims: " in capsys.readouterr().out


def test_the_bundle_shows_the_claim_and_whether_the_result_was_expected(evidence_bundle: tuple[Path, int, str]) -> None:
    out, _code, _ = evidence_bundle
    results = json.loads((out / "results.json").read_text())["results"]
    assert all(r.get("claim") for r in results)
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert "| property | what it claims | rule set | result | expected | as expected |" in md
    assert "- Claims: " in md
    assert "what it claims" in html and "Claims: " in html


def test_the_bundle_leads_with_the_answer_and_ends_with_provenance(evidence_bundle: tuple[Path, int, str]) -> None:
    out, _code, _ = evidence_bundle
    md = (out / "report.md").read_text()
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads[0] == "## The answer"
    assert heads.index("## What was not checked") < heads.index("## Rule files") < heads.index("## Tools")
    answer = md[md.index("## The answer"):md.index("## Summary")]
    assert "### What mp107 changes (against baseline)" in answer
    assert "These are all the changes" in answer
    assert "every declared intent really happens" in answer
    # Each list's claims are its sub-items, up to the next list.
    gained = answer[answer.index("- Holds now, did not before:"):answer.index("- Held before, no longer holds:")]
    assert "recoverable_no_certificate" in gained and "no_takeover" not in gained
    # P6: with the wrong owner gone nobody can correct the certificate, before MP107 and after: a residual risk.
    risk = answer[answer.index("### Risk that remains"):answer.index("### What this rests on")]
    assert "recoverable_without_active_owner" in risk and "stuck_forever" not in risk
    html = (out / "report.html").read_text()
    assert html.index('id="answer"') < html.index('id="contents"') < html.index('id="summary"') < html.index('id="files"')
    assert '<div class="table-wrap"><table' in html


def test_the_bundle_shows_the_modification_as_written(evidence_bundle: tuple[Path, int, str]) -> None:
    out, _code, _ = evidence_bundle
    md = (out / "report.md").read_text()
    written = md[md.index("## The modification as written"):md.index("## Summary")]
    assert "modification mp107" in written and "amend check eligible_user" in written and "intends accept" in written
    assert "ruleset baseline" not in written  # the declaration alone, not the file around it
    html = (out / "report.html").read_text()
    assert html.index('id="answer"') < html.index('id="redline"') < html.index('id="summary"')
