"""The evidence as Markdown, to paste into a modification report."""

from __future__ import annotations

import re
from typing import Any

from redline.report.answer import Answer, answer
from redline.report.evidence import Evidence, liveness_rows, result_name
from redline.report.findings import story, verdict_text
from redline.report.fleet_section import markdown_lines

TIMINGS_BEGIN = "<!-- redline:timings:begin (everything between these markers depends on the clock) -->"
TIMINGS_END = "<!-- redline:timings:end -->"


# `](` is what makes a link or an image (no reference definition is ever written); `[A]` alone stays as it is.
_MARKUP = re.compile(r"[\\*~|]|\](?=\()|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_BLOCK_START = re.compile(r"^(\s*)([#+\-]|[0-9]{1,9}[.)])(?=\s|$)")  # a heading or a list item, where a line starts


def inline(text: Any) -> str:
    """Text from the rules (a cite, a name, a condition) as inert Markdown: one line, no raw HTML (`<`, `>`
    and `&` as entities), no emphasis, link, image, strikethrough or table cell break (backslash escapes), and
    nothing that starts a block. Code spans are left alone: nothing inside one is markup."""
    out = str(text).replace("\r", " ").replace("\n", " ")
    out = out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = _MARKUP.sub(lambda m: "\\" + m[0], out)
    return _BLOCK_START.sub(lambda m: m[1] + (m[2][:-1] + "\\" + m[2][-1] if m[2][0].isdigit() else "\\" + m[2]), out)


def cell(text: Any) -> str:
    return inline(text)


def table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return out


def recheck_text(rc: dict[str, Any]) -> str:
    text = f"{rc['solver']}: {rc['status']}"
    if "answer" in rc:
        text += f" ({rc['answer']}" + (f", Z3 {rc['expected']}" if rc.get("expected") else "") + (f"; options {rc['options']}" if rc.get("options") else "") + ")"
    if "verdicts" in rc:
        text += f" ({rc['verdicts']} verdicts" + (f", {rc['transitions']} transitions" if rc.get("transitions") else "") + " replayed)"
    if rc.get("reason") and rc["status"] != "agrees":
        text += f": {rc['reason']}"
    side = rc.get("solver_check")
    if side is not None:
        text += f"; {recheck_text(side)}"
    if rc.get("replay") is not None:
        text += f"; {rc['replay']['solver']}: {rc['replay']['status']}: {rc['replay'].get('reason')}"
    return text


def outcome(o: dict[str, Any]) -> str:
    return verdict_text(o)


def timing_lines(e: Evidence) -> list[str]:
    t = e.timings
    lines = [TIMINGS_BEGIN, "## Timings", "", f"Generated at {t.get('generated_at')}.", ""]
    rows = [[name, f"{x['prove']:.3f}", f"{x['recheck']:.3f}"] for name, x in t.get("results", {}).items()]
    lines += table(["result", "proof (s)", "re-check (s)"], rows)
    lines += ["", f"Semantic diff: {t.get('diff', 0.0):.3f} s. Liveness: {t.get('liveness', 0.0):.3f} s. Whole bundle (before writing): {t.get('total', 0.0):.3f} s.", "", TIMINGS_END]
    return lines


def answer_lines(a: Answer) -> list[str]:
    """The first screen: the answer in words (the same as the HTML page's)."""
    def items(xs: list[str], none: str) -> list[str]:
        return [f"- {inline(x)}" for x in xs] if xs else [inline(none)]
    lines = ["## The answer", ""]
    if a.base is not None:
        lines += [f"### What {inline(a.modification)} changes (against {inline(a.base)})", ""]
        lines += items(a.changes, "Nothing: every request is judged as before.")
        lines += ["", inline(a.coverage), "", inline(a.intended), ""]
    lines += ["### Properties", "", f"- Holds now, did not before: {inline('; '.join(a.gained) or 'none')}",
              f"- Held before, no longer holds: {inline('; '.join(a.broken) or 'none')}", f"- Holds before and after: {inline('; '.join(a.kept) or 'none')}", ""]
    lines += ["### Risk that remains", "", *items(a.risks, "No property fails under the modification that failed before it."), ""]
    lines += ["### What this rests on", "", *items(a.rests_on[:5], "No assumption."), "",
              "Every assumption: the Assumption register below; the analysis's limits: What was not checked.", ""]
    if a.unsettled:
        lines += ["**Not settled, so not part of the answer:**", "", *items(a.unsettled, ""), ""]
    return lines


def render_markdown(e: Evidence) -> str:
    n = e.counts()
    lines = [f"# {inline(e.title)}", ""]
    if e.failures():
        lines += ["> **ERROR: this evidence does not hold as it stands.**", ">"]
        lines += [f"> - {inline(p)}" for p in e.failures()]
        lines.append("")
    if e.unsettled:
        lines += ["> **UNKNOWN: this evidence is incomplete; it is not an all clear.**", ">"]
        lines += [f"> - {inline(p)}" for p in e.unsettled]
        lines.append("")
    lines += answer_lines(answer(e))
    if e.redline is not None:
        fence = "~" * max([3, *(len(run) + 1 for run in re.findall(r"~+", e.redline["text"]))])  # longer than any run inside
        lines += ["## The modification as written", "", f"From {inline(e.redline['path'])}:", "", fence, e.redline["text"].rstrip("\n"), fence, ""]
    lines += ["## Summary", "",
              f"- {n['results']} results: {n['as_expected']} as expected, {n['unknown']} unknown.",
              f"- Independently re-checked: {n['rechecked']} agree, {n['recheck_disagrees']} disagree, "
              f"{n['recheck_unsettled']} not re-checked (see \"What was not checked\").",
              f"- Solver {e.versions['solver']} (seed {e.settings['seed']}, rlimit {e.settings['rlimit']}, "
              f"timeout {e.settings['timeout_ms']} ms per call); re-check by {e.versions['recheck_solver']} and the interpreter."]
    lines += ["", "## Properties", ""]
    lines += table(["property", "what it claims", "rule set", "result", "expected", "as expected", "proof", "re-check"],
                   [[r["property"], r.get("claim", ""), r["ruleset"], r["status"].upper(), r["expected"],
                     "yes" if r["status"] == r["expected"] else "NO", r["proof"], r["recheck"]["status"]] for r in e.results])
    for r in e.results:
        lines += ["", f"### {result_name(r)}", ""]
        if r.get("claim"):
            lines.append(f"- Claims: {inline(r['claim'])}")
        mark = "as expected" if r["status"] == r["expected"] else f"NOT AS EXPECTED (expected {r['expected']})"
        proof = r["proof"] + (f", depth {r['depth']}" if r.get("depth") is not None else "")
        lines.append(f"- **{r['status'].upper()}**, {mark}; proof {proof}; settled by {r.get('settled_by') or 'nothing'}"
                     + (f"; {inline(r['reason'])}" if r.get("reason") else ""))
        if r.get("events") is not None:
            lines.append(f"- Runs allow: {', '.join(r['events']) or 'no environment events'} (besides accepted requests)")
        if r.get("invariant"):
            lines.append(f"- Inductive invariant ({r.get('method')}): `{' and '.join(r['invariant'])}`")
        if "obligation" in r:
            lines.append(f"- Obligation: `{r['obligation']['file']}` (Z3: {r['obligation']['z3'] or 'unsettled'})")
        lines.append(f"- Re-check: {recheck_text(r['recheck'])}")
        lines.append("- Rests on clauses:" + ("" if r.get("clauses") else " none"))
        lines += [f"  - {inline(c)}" for c in r.get("clauses") or []]
        lines.append(f"- Rests on assumptions: {', '.join(r.get('assumptions') or []) or 'none'}")
        s = story(r)
        if s is not None:
            lines += ["", f"**{s.kind.capitalize()}**:", ""]
            lines += [f"- {inline(x)}" for x in s.setting]
            for st in s.steps:
                lines.append(f"{st.number}. {inline(st.actor)} {inline(st.action)}")
                lines += [f"   - verdict: {inline(v)}" for v in st.verdicts]
                if st.changed:
                    lines.append(f"   - changed: {inline('; '.join(st.changed))}")
            if s.candidates:
                lines += ["", "What every candidate request gets (the interpreter's verdicts):", ""]
                lines += [f"- {inline(c)}" for c in s.candidates]
    if e.diff is not None:
        d = e.diff
        lines += ["", f"## Semantic diff: {d['old']} -> {d['new']}", "",
                  f"{d['count']} request shapes (SRV, role, device, target cell) change, in {len(d['changes'])} regions; "
                  + ("complete: no difference lies outside them." if d["complete"] else f"NOT complete: {inline(d.get('reason'))}."), ""]
        lines += table(["#", "where (all of)", "before", "after", "shapes", "clauses"],
                       [[i, "; ".join(c["conditions"]), outcome(c["before"]), outcome(c["after"]), c["count"], "; ".join(c["clauses"])]
                        for i, c in enumerate(d["changes"], 1)])
        if "rejection_moves" in d:
            lines += ["", inline(d["rejection_moves"]["sentence"])]
        intent = d["intent"]
        lines += ["", f"Intent status: **{intent['status']}**" + (f" ({inline(intent['reason'])})" if intent.get("reason") else "")]
        lines += [f"- declared {x['kind']}: {inline(x['clause'])}" for x in intent.get("declared", [])]
        lines += [f"- VIOLATED \\[{v['kind']}\\] {inline(v['intent'])}: {inline(v['problem'])}" for v in intent["violations"]]
    if e.liveness:
        names = list(e.liveness)
        lines += ["", "## Liveness: can every check reject and every exception decide a request?", "",
                  "A rule that is dead (proved over every state) or redundant (it waives, but never a request its check "
                  "would reject) says something the rules never do. Live rules have a witness replayed through the interpreter "
                  "(`redline liveness --ruleset NAME --format json`).", ""]
        lines += table(["rule", "written by", *names], [[label, origin, *(shown for _, shown in st)] for label, origin, st in liveness_rows(e.liveness)])
    if e.impact is not None:
        lines += ["", *markdown_lines(e.impact, inline, table)]
    lines += ["", "## Assumption register", ""]
    lines += table(["assumption", "tag", "statement", "rules resting on it", "results depending on it"],
                   [[a["name"], f"{a['tag']} {a['tag_meaning']}", a["text"], "; ".join(a["rules"]) or "none",
                     ", ".join(a["results"]) or "none"] for a in e.assumptions])
    lines += ["", "## What was not checked", ""]
    lines += [f"- {inline(x)}" for x in e.not_checked]
    # Provenance last: what a re-checker needs, not what a reader looks for first.
    lines += ["", "## Rule files", ""]
    lines += table(["file", "SHA-256", "bytes"], [[f"`{f['path']}`", f"`{f['sha256']}`", f["bytes"]] for f in e.files])
    lines += ["", "## Tools", ""]
    lines += table(["tool", "version"], [[k, v] for k, v in e.versions.items()])
    lines += ["", *timing_lines(e), ""]
    return "\n".join(lines)
