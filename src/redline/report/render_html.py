"""The evidence as one self-contained HTML page: inline style, no scripts, no external assets;
readable offline and printable."""

from __future__ import annotations

from html import escape
from typing import Any

from redline.jsondoc import JsonObject
from redline.report.answer import Answer, Said, answer
from redline.report.evidence import Evidence, liveness_rows, result_name
from redline.report.findings import story, verdict_text
from redline.report.fleet_section import html_section as fleet_html
from redline.report.redline_view import RuleChange
from redline.report.render_md import TIMINGS_BEGIN, TIMINGS_END, formula_anchor, recheck_text
from redline.report.view import View

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #111; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #999; margin-top: 2em; } h3 { margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0; width: 100%; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 0.9em; word-break: break-all; }
.error { border: 3px solid #b00; background: #fee; padding: 0.5em 1em; }
.error h2 { border: none; margin-top: 0.2em; color: #b00; }
.status-proved { color: #060; font-weight: bold; } .status-refuted { color: #a40; font-weight: bold; }
.status-unknown { color: #b00; font-weight: bold; }
.recheck-agrees { color: #060; } .recheck-disagrees { color: #b00; font-weight: bold; }
.liveness-dead, .liveness-redundant, .liveness-unknown { color: #b00; font-weight: bold; }
.recheck-unknown, .recheck-unsupported, .recheck-skipped { color: #a40; }
.finding { border-left: 4px solid #999; padding-left: 1em; }
#timings { color: #444; }
pre { overflow-x: auto; background: #f6f6f6; padding: 0.5em; font-size: 0.85em; }
.table-wrap { overflow-x: auto; max-width: 100%; }
#answer { border: 2px solid #446; padding: 0.2em 1em 0.8em; }
#answer h2 { border: none; }
nav#contents ul { columns: 2 14em; }
del { color: #a00; background: #fde8e8; text-decoration: line-through; }
ins { color: #060; background: #e6f6e6; text-decoration: underline; }
pre.rule { white-space: pre-wrap; }
details.rules summary, a.formula-link { font-size: 0.85em; }
details.rules summary { cursor: pointer; color: #335; }
body { overflow-wrap: anywhere; }
@media print { body { margin: 0; max-width: none; } section { page-break-inside: auto; } h2, h3 { page-break-after: avoid; } }
"""


def e(x: Any) -> str:
    return escape(str(x), quote=True)


def table(head: list[str], rows: list[list[str]], ident: str | None = None) -> str:
    """Cells in `rows` are HTML already (escaped by the caller)."""
    # Wrapped so a wide table scrolls inside itself on a phone instead of the whole page scrolling sideways.
    out = [f'<div class="table-wrap"><table{f" id={chr(34)}{ident}{chr(34)}" if ident else ""}>',
           "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    out.append("</tbody></table></div>")
    return "\n".join(out)


def anchor(r: JsonObject) -> str:
    return "result-" + "".join(ch if ch.isalnum() else "-" for ch in f"{r['property']}-{r['ruleset']}")


def claim_html(text: str, prop: str, view: View | None) -> str:
    """A property's claim, and its formula one click away (the formulas section), where the formula has a source."""
    link = (f' <a class="formula-link" href="#{formula_anchor(prop)}">(formula)</a>'
            if view is not None and prop in view.formulas else "")
    return f'<span class="claim">{e(text)}</span>{link}'


def _rule_change(c: RuleChange) -> str:
    def piece(kind: str, text: str) -> str:
        return {"same": e(text), "del": f"<del>{e(text)}</del>", "ins": f"<ins>{e(text)}</ins>"}[kind]
    body = "\n".join("".join(piece(p.kind, p.text) for p in line) for line in c.lines)
    label = {"check": "check", "effect": "effect", "row": "DUIS catalogue row"}[c.kind]
    by = f" Inserted text cites: {e('; '.join(c.clauses))}." if c.clauses else ""
    return (f'<div class="rule-change" id="rule-{e(c.kind)}-{e(c.name)}"><h3>{e(label)} {e(c.name)}: {e(c.how)}</h3>'
            f"<p>Clause: {e(c.cite)}.{by}</p><pre class=\"rule\">{body}</pre></div>")


def _redline_view(view: View, modification: str) -> str:
    return (f'<section id="redline-view"><h2>The modification as a redline of {e(view.base)}</h2>'
            f"<p>Each rule {e(modification)} touches, as {e(view.base)} words it, with the text it strikes "
            "(<del>struck</del>) and the text it inserts (<ins>inserted</ins>); both texts come from the checked "
            "rules, so a modification that reuses another's redlines shows what it does.</p>"
            + ("".join(_rule_change(c) for c in view.rules) or f"<p>{e(modification)} changes no rule text.</p>")
            + "</section>")


def _formulas(ev: Evidence, view: View) -> str:
    claims = {r["property"]: r.get("claim", "") for r in ev.results}
    out = ['<section id="formulas"><h2>Formulas</h2><p>Each property as its proofs file writes it: '
           "what the solver is asked, behind the words of its claim.</p>"]
    for prop in claims:
        f = view.formulas.get(prop)
        if f is None:
            continue
        out.append(f'<div class="formula" id="{formula_anchor(prop)}"><h3>{e(prop)}</h3><p>{e(claims[prop])}</p>'
                   f"<p>From <code>{e(f.path)}:{f.line}</code>:</p><pre>holds {e(f.text)}</pre></div>")
    out.append("</section>")
    return "\n".join(out)


def _finding(r: JsonObject) -> str:
    s = story(r)
    if s is None:
        return ""
    out = [f'<div class="finding"><p><strong>{e(s.kind.capitalize())}</strong></p><ul>']
    out += [f"<li>{e(x)}</li>" for x in s.setting]
    out.append("</ul>")
    if s.steps:
        rows = [[e(st.number), e(st.actor), e(st.action), "<br>".join(e(v) for v in st.verdicts) or "-",
                 "<br>".join(e(c) for c in st.changed) or "-"] for st in s.steps]
        out.append(table(["step", "sender and role", "request", "verdict (clause)", "what changed"], rows))
    if s.candidates:
        out.append("<p>What every candidate request gets (the interpreter's verdicts):</p><ul>")
        out += [f"<li>{e(c)}</li>" for c in s.candidates]
        out.append("</ul>")
    out.append("</div>")
    return "\n".join(out)


def _result(r: JsonObject, view: View | None) -> str:
    mark = "as expected" if r["status"] == r["expected"] else f"NOT AS EXPECTED (expected {r['expected']})"
    proof = r["proof"] + (f", depth {r['depth']}" if r.get("depth") is not None else "")
    items = [f"Claims: {claim_html(r['claim'], r['property'], view)}"] if r.get("claim") else []
    items += [f"Acknowledged {e(r['expected'])}: {e(r['acknowledged'])}"] if r.get("acknowledged") else []
    items += [
        f'<span class="status-{e(r["status"])}">{e(r["status"].upper())}</span>, {e(mark)}; proof {e(proof)}; '
        f"settled by {e(r.get('settled_by') or 'nothing')}" + (f"; {e(r['reason'])}" if r.get("reason") else ""),
    ]
    if r.get("events") is not None:
        items.append(f"Runs allow: {e(', '.join(r['events']) or 'no environment events')} (besides accepted requests)")
    if r.get("invariant"):
        items.append(f"Inductive invariant ({e(r.get('method') or '')}): <code>{e(' and '.join(r['invariant']))}</code>")
    if "obligation" in r:
        items.append(f"Obligation: <code>{e(r['obligation']['file'])}</code> (Z3: {e(r['obligation']['z3'] or 'unsettled')})")
    rc = r["recheck"]
    items.append(f'Re-check: <span class="recheck-{e(rc["status"])}">{e(recheck_text(rc))}</span>')
    items.append("Rests on clauses: " + ("<ul>" + "".join(f"<li>{e(c)}</li>" for c in r["clauses"]) + "</ul>" if r.get("clauses") else "none"))
    items.append(f"Rests on assumptions: {e(', '.join(r.get('assumptions') or []) or 'none')}")
    return (f'<section class="result" id="{anchor(r)}"><h3>{e(result_name(r))}</h3><ul>'
            + "".join(f"<li>{x}</li>" for x in items) + "</ul>" + _finding(r) + "</section>")


def _diff(d: JsonObject) -> str:
    head = (f"{d['count']} request shapes (SRV, role, device, target cell) change, in {len(d['changes'])} regions; "
            + ("complete: no difference lies outside them." if d["complete"] else f"NOT complete: {d.get('reason')}."))
    rows = [[f'<span id="region-{i}">{e(i)}</span>', e("; ".join(c["conditions"])), e(verdict_text(c["before"])),
             e(verdict_text(c["after"])), e(c["count"]), e("; ".join(c["clauses"]))] for i, c in enumerate(d["changes"], 1)]
    intent = d["intent"]
    items = [f"<li>declared {e(x['kind'])}: {e(x['clause'])}</li>" for x in intent.get("declared", [])]
    items += [f'<li class="recheck-disagrees">VIOLATED [{e(v["kind"])}] {e(v["intent"])}: {e(v["problem"])}</li>' for v in intent["violations"]]
    return (f'<section id="diff"><h2>Semantic diff: {e(d["old"])} &rarr; {e(d["new"])}</h2><p>{e(head)}</p>'
            + table(["#", "where (all of)", "before", "after", "shapes", "clauses"], rows, "diff-table")
            + (f"<p>{e(d['rejection_moves']['sentence'])}</p>" if "rejection_moves" in d else "")
            + f"<p>Intent status: <strong>{e(intent['status'])}</strong>" + (f" ({e(intent['reason'])})" if intent.get("reason") else "")
            + f"</p><ul>{''.join(items)}</ul></section>")


def _liveness(liveness: dict[str, JsonObject]) -> str:
    rows = [[e(label), e(origin), *[f'<span class="liveness-{e(status)}">{e(shown)}</span>' for status, shown in st]]
            for label, origin, st in liveness_rows(liveness)]
    return ('<section id="liveness"><h2>Liveness: can every check reject and every exception decide a request?</h2>'
            "<p>A rule that is dead (proved over every state) or redundant (it waives, but never a request its check would "
            "reject) says something the rules never do. Live rules have a witness replayed through the interpreter "
            "(<code>redline liveness --ruleset NAME --format json</code>).</p>"
            + table(["rule", "written by", *[e(n) for n in liveness]], rows, "liveness-table") + "</section>")


def _timings(ev: Evidence) -> str:
    t = ev.timings
    rows = [[e(name), e(f"{x['prove']:.3f}"), e(f"{x['recheck']:.3f}")] for name, x in t.get("results", {}).items()]
    return (f'{TIMINGS_BEGIN}\n<section id="timings"><h2>Timings</h2><p>Generated at {e(t.get("generated_at"))}.</p>'
            + table(["result", "proof (s)", "re-check (s)"], rows)
            + f"<p>Semantic diff: {e(format(t.get('diff', 0.0), '.3f'))} s. "
            f"Liveness: {e(format(t.get('liveness', 0.0), '.3f'))} s. Whole bundle (before writing): "
            f"{e(format(t.get('total', 0.0), '.3f'))} s.</p></section>\n{TIMINGS_END}")


def _items(xs: list[str], none: str) -> str:
    return "<ul>" + "".join(f"<li>{e(x)}</li>" for x in xs) + "</ul>" if xs else f"<p>{e(none)}</p>"


def _claims(xs: list[Said], view: View | None) -> str:
    return "<ul>" + "".join(f"<li>{claim_html(x.text, x.prop, view)}</li>" for x in xs) + "</ul>" if xs else "none"


def _change(i: int, text: str, rules: list[str]) -> str:
    """A region in prose, its rule-syntax conditions one click away."""
    return (f'<li class="region">{e(text)}<details class="rules"><summary>the rule conditions (region {i})</summary>'
            f"<code>{e('; '.join(rules))}</code> (<a href=\"#region-{i}\">in the diff table</a>)</details></li>")


def _answer(a: Answer, view: View | None) -> str:
    """The first screen: the answer in words; everything after it is detail."""
    out = ['<section id="answer"><h2>The answer</h2>']
    if a.base is not None:
        out.append(f"<h3>What {e(a.modification)} changes (against {e(a.base)})</h3>")
        out.append("<ul>" + "".join(_change(i, text, rules) for i, (text, rules) in enumerate(zip(a.changes, a.change_rules, strict=True), 1))
                   + "</ul>" if a.changes else f"<p>{e(a.none_found)}</p>")
        out.append(f"<p>{e(a.coverage)}</p><p>{e(a.intended)}</p>")
    out.append("<h3>Properties</h3><ul>"
               f"<li>Holds now, did not before: {_claims(a.gained, view)}</li>"
               f"<li>Held before, no longer holds: {_claims(a.broken, view)}</li>"
               f"<li>Holds before and after: {_claims(a.kept, view)}</li></ul>")
    out.append("<h3>Risk that remains</h3>" + ("<ul>" + "".join(f"<li>{claim_html(x.text, x.prop, view)}</li>" for x in a.risks) + "</ul>"
                                              if a.risks else "<p>No property fails under the modification that failed before it.</p>"))
    out.append("<h3>What this rests on</h3>" + _items(a.rests_on[:5], "No assumption.")
               + '<p>Every assumption and what rests on it: <a href="#assumptions">the register</a>; '
               'what the analysis did not check: <a href="#not-checked">its limits</a>; the redlines: '
               + ('<a href="#redline-view">against the base\'s text</a> and ' if view is not None and view.base else "")
               + '<a href="#files">the rule files</a>.</p>')
    if a.unsettled:
        out.append("<p><strong>Not settled, so not part of the answer:</strong></p>" + _items(a.unsettled, ""))
    out.append("</section>")
    return "\n".join(out)


def _contents(ev: Evidence) -> str:
    entries = [("redline-view", "The modification as a redline")] if ev.view is not None and ev.view.base else []
    entries += [("redline", "The modification as written")] if ev.redline is not None else []
    entries += [("summary", "Summary"), ("properties", "Properties, one by one")]
    if ev.diff is not None:
        entries.append(("diff", "Semantic diff"))
    if ev.liveness:
        entries.append(("liveness", "Liveness"))
    if ev.view is not None and ev.view.formulas:
        entries.append(("formulas", "Formulas"))
    if ev.impact is not None:
        entries.append(("fleet-impact", "Fleet impact"))
    entries += [("assumptions", "Assumption register"), ("not-checked", "What was not checked"),
                ("files", "Rule files"), ("tools", "Tools"), ("timings", "Timings")]
    return ('<nav id="contents"><h2>Contents</h2><ul>'
            + "".join(f'<li><a href="#{ident}">{e(text)}</a></li>' for ident, text in entries) + "</ul></nav>")


def render_html(ev: Evidence) -> str:
    n = ev.counts()
    parts = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{e(ev.title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>", f"<h1>{e(ev.title)}</h1>"]
    if ev.failures():
        parts.append('<section class="error" id="problems"><h2>ERROR: this evidence does not hold as it stands</h2><ul>'
                     + "".join(f"<li>{e(p)}</li>" for p in ev.failures()) + "</ul></section>")
    if ev.unsettled:
        parts.append('<section class="error" id="unsettled"><h2>UNKNOWN: this evidence is incomplete; it is not an all clear</h2><ul>'
                     + "".join(f"<li>{e(p)}</li>" for p in ev.unsettled) + "</ul></section>")
    parts.append(_answer(answer(ev), ev.view))
    if ev.view is not None and ev.view.base:
        parts.append(_redline_view(ev.view, ev.modification))
    if ev.redline is not None:
        parts.append(f'<section id="redline"><h2>The modification as written</h2><p>From <code>{e(ev.redline["path"])}</code>: '
                     "each <code>amend</code> names the rule of the base it changes, and <code>intends</code> what it means to "
                     f"change.</p><pre>{e(ev.redline['text'])}</pre></section>")
    parts.append(_contents(ev))
    parts.append(
        f'<section id="summary"><h2>Summary</h2><ul><li>{n["results"]} results: {n["as_expected"]} as expected, {n["unknown"]} unknown.</li>'
        f'<li>Independently re-checked: {n["rechecked"]} agree, {n["recheck_disagrees"]} disagree, {n["recheck_unsettled"]} not re-checked '
        f'(see <a href="#not-checked">what was not checked</a>).</li>'
        f"<li>Solver {e(ev.versions['solver'])} (seed {e(ev.settings['seed'])}, rlimit {e(ev.settings['rlimit'])}, "
        f"timeout {e(ev.settings['timeout_ms'])} ms per call); re-check by {e(ev.versions['recheck_solver'])} and the interpreter.</li></ul></section>")
    rows = [[f'<a href="#{anchor(r)}">{e(r["property"])}</a>', claim_html(r["claim"], r["property"], ev.view) if r.get("claim") else "",
             e(r["ruleset"]),
             f'<span class="status-{e(r["status"])}">{e(r["status"].upper())}</span>', e(r["expected"]),
             "yes" if r["status"] == r["expected"] else "<strong>NO</strong>", e(r["proof"]),
             f'<span class="recheck-{e(r["recheck"]["status"])}">{e(r["recheck"]["status"])}</span>'] for r in ev.results]
    parts.append('<section id="properties"><h2>Properties</h2>'
                 + table(["property", "what it claims", "rule set", "result", "expected", "as expected", "proof", "re-check"],
                         rows, "properties-table")
                 + "\n".join(_result(r, ev.view) for r in ev.results) + "</section>")
    if ev.diff is not None:
        parts.append(_diff(ev.diff))
    if ev.liveness:
        parts.append(_liveness(ev.liveness))
    if ev.view is not None and ev.view.formulas:
        parts.append(_formulas(ev, ev.view))
    if ev.impact is not None:
        parts.append(fleet_html(ev.impact))
    rows = [[e(a["name"]), f"{e(a['tag'])} {e(a['tag_meaning'])}", e(a["text"]), "<br>".join(e(x) for x in a["rules"]) or "none",
             "<br>".join(e(x) for x in a["results"]) or "none"] for a in ev.assumptions]
    parts.append('<section id="assumptions"><h2>Assumption register</h2>'
                 + table(["assumption", "tag", "statement", "rules resting on it", "results depending on it"], rows) + "</section>")
    parts.append('<section id="not-checked"><h2>What was not checked</h2><ul>'
                 + "".join(f"<li>{e(x)}</li>" for x in ev.not_checked) + "</ul></section>")
    # Provenance last: what a re-checker needs, not what a reader looks for first.
    parts.append('<section id="files"><h2>Rule files</h2>' + table(
        ["file", "SHA-256", "bytes"], [[f"<code>{e(f['path'])}</code>", f"<code>{e(f['sha256'])}</code>", e(f["bytes"])] for f in ev.files]) + "</section>")
    parts.append('<section id="tools"><h2>Tools</h2>' + table(["tool", "version"], [[e(k), e(v)] for k, v in ev.versions.items()]) + "</section>")
    parts.append(_timings(ev))
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)
