"""Findings told as text for people: what `prove`, `diff`, `validate` and `test` print.

A counterexample, witness or trace is told once, by `findings.story`, the same story the
evidence bundle tells; this module only lays it out for a terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redline.check.checked import Program
from redline.codec import change_json, result_json
from redline.jsondoc import JsonObject
from redline.props.diff import DiffReport
from redline.props.results import ProofResult, Replayed
from redline.report.findings import Story, story
from redline.report.prose import Wording, region_sentence
from redline.smt.diff import Judgement


def format_mapped(request: JsonObject, duis: JsonObject) -> str:
    target = f"device {request['device']}" if request.get("device") else "no device"
    line = (f"DUIS {request['srv']} ({duis['request_id']}, Command Variant {duis['command_variant']}): "
            f"{request['sender']} as {request['role']} (from {duis['role_from']}), {target}")
    cert = duis.get("certificate")
    if cert:
        line += f"; new {cert['remote_party_role']} certificate owned by {cert['owner']}"
    return line


def format_verdict(v: JsonObject) -> str:
    if v["verdict"] == "accept":
        head = f"{v['ruleset']}: ACCEPT"
        if v["effects"]:
            head += "; " + "; ".join(f"{e['device']} {e['trust_anchor']} cell := {e['owner']}" for e in v["effects"])
    else:
        code = f" {v['code']}" if v["code"] else " (no DUIS code)"
        dcc = " (accepted by the DCC, no effect on the device)" if v["dcc_accepted"] else ""
        head = f"{v['ruleset']}: REJECT at {v['layer']}{code} by {v['check']} [{v['clause']}]{dcc}"
    lines = [head]
    width = max((len(t["check"]) for t in v["trace"]), default=0)
    for t in v["trace"]:
        waived = f" (waived by {t['waived_by']})" if "waived_by" in t else ""
        lines.append(f"  {t['outcome']:<7} {t['layer']:<6} {t['check']:<{width}}  {t['clause']}{waived}")
    return "\n".join(lines)


def format_result(r: ProofResult, cex_dir: str | None) -> str:
    mark = "ok  " if r.matches() else "FAIL"
    head = (f"{mark} {r.property} [{r.ruleset}]: {r.status.upper()} (expected {r.expected}); "
            f"{r.proof}, {r.seconds:.2f} s" + (f"; {r.reason}" if r.reason else ""))
    lines = [head] + ([f"    claims: {r.claim}"] if r.claim else [])
    if r.acknowledged:
        lines.append(f"    acknowledged {r.expected}: {r.acknowledged}")
    if r.events is not None:
        lines.append("  runs allow " + (", ".join(r.events) or "no events") + "; "
                     + (f"searched to depth {r.depth}" if r.depth is not None and not (r.counterexample or r.witness) else
                        f"a run of {r.depth} step(s)" if r.depth is not None else f"proved by {r.method}"))
    if r.invariant:
        lines.append("  inductive invariant (re-checked: initiation, consecution, safety): " + " and ".join(r.invariant))
    found = r.counterexample or r.witness
    if found:
        lines += story_lines(story(result_json(r)))
        where = f"{cex_dir}/{r.property}.{r.ruleset}" if cex_dir else "DIR"
        first = next((i for i, step in enumerate(found.trace, 1) if step.request is not None), None)
        if first is not None:
            lines.append(f"    replay step {first}: redline validate --ruleset {r.ruleset} --state {where}/step-{first}-state.json "
                         f"{where}/step-{first}-request.json" + ("" if cex_dir else "   (write the files with --cex-dir DIR)"))
        request = "request.json" if found.request else ("candidate-01.json" if r.candidates else None)
        for rs in r.rulesets:
            if request is not None:
                lines.append(f"    replay: redline validate --ruleset {rs} --state {where}/state.json {where}/{request}"
                             + ("" if cex_dir else "   (write the files with --cex-dir DIR)"))
    return "\n".join(lines)


def story_lines(told: Story | None) -> list[str]:
    """A finding as the evidence bundle tells it (`findings.story`), indented for the terminal."""
    if told is None:
        return []
    lines = [f"  {told.kind}:", *(f"    {x}" for x in told.setting)]
    for step in told.steps:
        lines.append(f"    step {step.number}: {step.action}" if step.actor == "environment" else
                     f"    step {step.number}: {step.actor} {step.action}")
        lines += [f"      under {v}" for v in step.verdicts]
        lines += [f"      changed: {c}" for c in step.changed]
    if told.candidates:
        lines.append("    what every candidate request gets (the interpreter's verdicts):")
        lines += [f"      {c}" for c in told.candidates]
    return lines


def diff_unsettled(d: DiffReport) -> list[str]:
    """What a diff could not settle: an all clear it cannot give (exit 3, as `prove` does for unknown)."""
    out = []
    if not d.complete:
        shown = "an uncounted number of" if d.count is None else d.count
        out.append(f"the diff {d.old} -> {d.new} is NOT complete ({d.reason}): "
                   f"differences beyond the {shown} request shapes shown may exist")
    if d.intent.status == "unknown":
        out.append(f"the intent check is UNKNOWN: {d.intent.reason}")
    return out


def format_diff(d: DiffReport, cex_dir: str | None = None, program: Program | None = None) -> str:
    """A Markdown table a reviewer can paste into a modification report, then each region (in prose too,
    given the program), then the intent check."""
    count = "an uncounted number of" if d.count is None else d.count
    head = (f"{d.old} -> {d.new}: {count} request shapes (SRV, role, device, target cell) change, in {len(d.changes)} regions; "
            + ("complete: no difference lies outside them" if d.complete else f"NOT complete: {d.reason}"))
    lines = [head, "", "| # | where (all of) | before | after | shapes |", "|---|---|---|---|---|"]

    def outcome(o: Judgement) -> str:
        return _short(o) + (f" ({o.clause})" if o.clause else "")
    for i, c in enumerate(d.changes, 1):
        lines.append(f"| {i} | {'; '.join(c.conditions)} | {outcome(c.before)} | {outcome(c.after)} | {c.count} |")
    lines.append("")
    wording = None
    if program is not None and d.old in program.rulesets and d.new in program.rulesets:
        wording = Wording(program, [program.rulesets[d.old], program.rulesets[d.new]])
    for i, c in enumerate(d.changes, 1):
        lines.append(f"region {i}: {c.summary}")
        if wording is not None:
            lines.append(f"  in words: {region_sentence(wording, change_json(c), d.old, d.new)}")
        lines.append(f"  witness (replayed): {c.witness.sentence}")
        where = f"{cex_dir}/region-{i}" if cex_dir else f"DIR/region-{i}"
        for rs in (d.old, d.new):
            lines.append(f"    redline validate --ruleset {rs} --state {where}/state.json {where}/request.json"
                         + ("" if cex_dir else "   (write the files with --cex-dir DIR)"))
    if d.terms:
        lines.append("\nnames the rules define: " + "; ".join(f"{k}: {v}" for k, v in d.terms.items()))
    if d.rejection_moves is not None:
        lines.append("\n" + d.rejection_moves.sentence)
    intent = d.intent
    lines.append(f"\nintent: {intent.status}" + (f" ({intent.reason})" if intent.reason else ""))
    for v in intent.violations:
        lines.append(f"  VIOLATED [{v.kind}] {v.intent}: {v.problem}")
        if v.witness is not None and v.before is not None and v.after is not None:
            q = v.witness.request
            lines.append(f"    witness: {q['sender']} as {q['role']} sends {q['srv']}: "
                         f"{_short(v.before)} under {d.old}, {_short(v.after)} under {d.new}")
    return "\n".join(lines)


def _short(o: Judgement | Replayed) -> str:
    return "accept" if o.verdict == "accept" else f"reject {o.layer} {o.code or ''}".rstrip()


def short(v: JsonObject | None) -> str:
    if v is None:
        return "invalid input"
    if v["verdict"] == "accept":
        return "accept"
    return f"reject {v['layer']} {v['code'] or ''}".rstrip()


def format_scenarios(results: list[Any], scenarios: int) -> str:
    """`redline test`: one line per scenario with each rule set's outcome, the problems of those that fail."""
    by_scenario: dict[str, list[Any]] = {}
    for r in results:
        by_scenario.setdefault(r.scenario.name, []).append(r)
    width = max((len(n) for n in by_scenario), default=0)
    lines = []
    for name, rs in by_scenario.items():
        mark = "ok  " if all(r.ok for r in rs) else "FAIL"
        outcomes = " | ".join(f"{r.ruleset}: {short(r.actual)}" for r in rs)
        lines.append(f"{mark} {name:<{width}}  {outcomes}")
        lines += [f"       {r.ruleset}: {r.problem}" for r in rs if not r.ok]
    failed = sum(not r.ok for r in results)
    lines.append(f"{scenarios} scenarios, {len(results)} checks: {len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)


def format_checked(program: Program) -> str:
    """`redline check`'s line for rules that check: what they hold."""
    rs = ", ".join(f"{r.name} ({len(r.checks)} checks)" for r in program.rulesets.values())
    srvs = len(next(iter(program.rulesets.values())).catalogue) if program.rulesets else 0
    return (f"ok: {srvs} SRVs; rule sets {rs}; {len(program.assumptions)} assumptions; "
            f"{len(program.properties)} properties; {len(program.scenarios)} scenarios")


def format_results(results: list[ProofResult], cex_dir: str | None) -> str:
    """`redline prove`: each result, then how many are as expected."""
    ok = sum(r.matches() for r in results)
    return "\n".join([*(format_result(r, cex_dir) for r in results), f"{len(results)} results: {ok} as expected, {len(results) - ok} not"])


def format_bundle_written(n: dict[str, int], out: Path, seconds: float) -> str:
    """`redline report`: the counts of the evidence and where the bundle is."""
    return (f"{n['results']} results: {n['as_expected']} as expected, {n['unknown']} unknown; re-checked: "
            f"{n['rechecked']} agree, {n['recheck_disagrees']} disagree, {n['recheck_unsettled']} not re-checked\n"
            f"bundle written to {out} in {seconds:.1f} s: open {out / 'report.html'}")
