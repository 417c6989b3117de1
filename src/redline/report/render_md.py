"""The evidence as Markdown, to paste into a modification report."""

from __future__ import annotations

import re
from typing import Any

from redline.jsondoc import JsonObject
from redline.report.answer import Answer, Said, answer
from redline.report.evidence import Evidence, liveness_rows, result_name
from redline.report.findings import story, verdict_text
from redline.report.fleet_section import markdown_lines
from redline.report.redline_view import Piece, RuleChange
from redline.report.view import View

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


class Raw(str):
    """Markdown written here, already inert where it holds rule text: a table cell takes it as it is."""


def cell(text: Any) -> str:
    return text if isinstance(text, Raw) else inline(text)


def formula_anchor(prop: str) -> str:
    return "formula-" + "".join(ch if ch.isalnum() else "-" for ch in prop)


def claim_md(text: str, prop: str, view: View | None) -> str:
    """A property's claim, and a link to its formula in the formulas section."""
    link = f" ([formula](#{formula_anchor(prop)}))" if view is not None and prop in view.formulas else ""
    return inline(text) + link


def _marked(p: Piece) -> str:
    """Struck or inserted text as `~~x~~` or `**x**`, its spaces outside the markers (or they would not be markup)."""
    core = p.text.strip()
    if p.kind == "same" or not core:
        return inline(p.text)
    lead, trail = p.text[:len(p.text) - len(p.text.lstrip())], p.text[len(p.text.rstrip()):]
    mark = "~~" if p.kind == "del" else "**"
    return f"{lead}{mark}{inline(core)}{mark}{trail}"


def rule_change_lines(c: RuleChange) -> list[str]:
    label = {"check": "check", "effect": "effect", "row": "DUIS catalogue row"}[c.kind]
    out = [f"### {inline(label)} {inline(c.name)}: {c.how}", "", f"Clause: {inline(c.cite)}."
           + (f" Inserted text cites: {inline('; '.join(c.clauses))}." if c.clauses else ""), ""]
    for line in c.lines:
        text = "".join(p.text for p in line)
        depth = "  " if text.startswith("  ") else ""
        first = Piece(line[0].kind, line[0].text.lstrip()) if depth else line[0]
        out.append(f"{depth}- " + "".join(_marked(p) for p in (first, *line[1:])))
    return [*out, ""]


def redline_view_lines(view: View, modification: str) -> list[str]:
    lines = [f"## The modification as a redline of {inline(view.base)}", "",
             f"Each rule {inline(modification)} touches, as {inline(view.base)} words it, with the text it strikes (~~struck~~) "
             "and the text it inserts (**inserted**). Both texts come from the checked rules.", ""]
    for c in view.rules:
        lines += rule_change_lines(c)
    return lines if view.rules else [*lines, f"{inline(modification)} changes no rule text.", ""]


def formula_lines(e: Evidence, view: View) -> list[str]:
    claims = {r["property"]: r.get("claim", "") for r in e.results}
    lines = ["", "## Formulas", "", "Each property as its proofs file writes it: what the solver is asked, behind the words of its claim."]
    for prop in claims:
        f = view.formulas.get(prop)
        if f is None:
            continue
        text = f"holds {f.text}"
        fence = "~" * max([3, *(len(run) + 1 for run in re.findall(r"~+", text))])
        lines += ["", f'<a id="{formula_anchor(prop)}"></a>', "", f"### Formula of {inline(prop)}", "", inline(claims[prop]), "",
                  f"From `{f.path}:{f.line}`:", "", fence, text, fence]
    return lines


def table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return out


def recheck_text(rc: JsonObject) -> str:
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


def outcome(o: JsonObject) -> str:
    return verdict_text(o)


def timing_lines(e: Evidence) -> list[str]:
    t = e.timings
    lines = [TIMINGS_BEGIN, "## Timings", "", f"Generated at {t.get('generated_at')}.", ""]
    rows = [[name, f"{x['prove']:.3f}", f"{x['recheck']:.3f}"] for name, x in t.get("results", {}).items()]
    lines += table(["result", "proof (s)", "re-check (s)"], rows)
    lines += ["", f"Semantic diff: {t.get('diff', 0.0):.3f} s. Liveness: {t.get('liveness', 0.0):.3f} s. Whole bundle (before writing): {t.get('total', 0.0):.3f} s.", "", TIMINGS_END]
    return lines


def answer_lines(a: Answer, view: View | None = None) -> list[str]:
    """The first screen: the answer in words (the same as the HTML page's)."""
    def items(xs: list[str], none: str) -> list[str]:
        return [f"- {inline(x)}" for x in xs] if xs else [inline(none)]

    def claims(xs: list[Said]) -> list[str]:
        return [f"  - {claim_md(x.text, x.prop, view)}" for x in xs] or ["  - none"]
    lines = ["## The answer", ""]
    if a.base is not None:
        lines += [f"### What {inline(a.modification)} changes (against {inline(a.base)})", ""]
        lines += [f"- {inline(text)} ([the rule conditions](#region-{i}))" for i, text in enumerate(a.changes, 1)] \
            or [inline(a.none_found)]
        lines += ["", inline(a.coverage), "", inline(a.intended), ""]
    lines += ["### Properties", "", "- Holds now, did not before:", *claims(a.gained),
              "- Held before, no longer holds:", *claims(a.broken), "- Holds before and after:", *claims(a.kept), ""]
    lines += ["### Risk that remains", "", *([f"- {claim_md(x.text, x.prop, view)}" for x in a.risks]
                                            or [inline("No property fails under the modification that failed before it.")]), ""]
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
    lines += answer_lines(answer(e), e.view)
    if e.view is not None and e.view.base:
        lines += redline_view_lines(e.view, e.modification)
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
                   [[r["property"], Raw(claim_md(r.get("claim", ""), r["property"], e.view)) if r.get("claim") else "", r["ruleset"], r["status"].upper(), r["expected"],
                     "yes" if r["status"] == r["expected"] else "NO", r["proof"], r["recheck"]["status"]] for r in e.results])
    for r in e.results:
        lines += ["", f"### {result_name(r)}", ""]
        if r.get("claim"):
            lines.append(f"- Claims: {claim_md(r['claim'], r['property'], e.view)}")
        if r.get("acknowledged"):
            lines.append(f"- Acknowledged {r['expected']}: {inline(r['acknowledged'])}")
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
        lines += [""] + [f'- <a id="region-{i}"></a>region {i} in rule syntax: {inline("; ".join(c["conditions"]))}' for i, c in enumerate(d["changes"], 1)]
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
    if e.view is not None and e.view.formulas:
        lines += formula_lines(e, e.view)
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
