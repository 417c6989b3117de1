"""The evidence bundle's fleet impact section (`redline report --fleet DIR`): the `redline impact fleet`
and `redline impact replay` answers for the modification against its base, their charts (PNG and SVG
files in the bundle), and the section as HTML and as Markdown.

The answers are exactly what `redline impact fleet|replay --format json` print for the same directory,
rule sets, instant and visit cost: the same functions compute them, so the bundle never has figures of
its own. The charts are drawn with matplotlib's Agg backend, without pyplot's global state, and with
every source of variation pinned (the SVG id salt, text kept as text, no date), so that two bundles
from the same inputs hold the same chart bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from redline.check import checked as ir
from redline.impact.params import DUCKDB, Engine
from redline.impact.render import region_overlaps, region_problems
from redline.inputs import BadInput
from redline.jsondoc import JsonObject

BREAKDOWN_TITLES = {"network_operator": "Network Operator", "generation": "generation", "device_type": "device type",
                    "smi_status": "SMI status"}
CHART_DIR = "charts"


@dataclass(frozen=True)
class FleetInput:
    root: Path
    at: int  # microseconds since the epoch (redline.times)
    visit_cost: float | None = None
    engine: Engine = DUCKDB  # what judges the requests (`--engine`); the answers are the same either way


def fleet_impact(program: ir.Program, mod: ir.RuleSet, given: FleetInput) -> JsonObject:
    """Both impact answers for `mod` against its base; BadInput (exit 2) for a fleet that cannot be read.
    The replay is left out (None) when the directory holds no request log.

    They are computed in a child process: DuckDB loaded into the report's own process slows every Z3
    call after it by about half (impact/__init__.py), and the proofs come next."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if not given.root.is_dir():
        raise BadInput(f"--fleet {given.root}: not a directory of fleet tables (README: Fleet impact)")
    if mod.base is None or mod.base not in program.rulesets:
        raise BadInput(f"`{mod.name}` amends no rule set, so there is no fleet impact to compare")
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_answers, program, mod.name, given).result()


def _answers(program: ir.Program, name: str, given: FleetInput) -> JsonObject:
    import redline.impact.run as impact
    from redline.impact.tables import table_file

    mod = program.rulesets[name]
    assert mod.base is not None
    rulesets = [program.rulesets[mod.base], mod]
    try:
        fleet = impact.run_fleet(program, rulesets, given.root, given.at, given.visit_cost, engine=given.engine)
        replay = None
        if table_file(given.root, "requests") is not None:
            replay = impact.run_replay(program, rulesets, given.root, engine=given.engine)
    except (impact.ImpactInputError, impact.Unsupported, impact.OutputError) as e:
        raise BadInput(f"--fleet {given.root}: {e}") from None
    except impact.EngineUnavailable as e:  # as `redline impact` says it, before any table is read
        raise BadInput(str(e)) from None
    return {"dir": str(given.root), "fleet": fleet, "replay": replay}


# ---- charts -------------------------------------------------------------------------

@dataclass(frozen=True)
class Chart:
    name: str  # file stem under charts/
    title: str
    alt: str  # what the chart shows, in words, for a reader who cannot see it


def _label(key: Any) -> str:
    return "none registered" if key is None else str(key)


def charts(impact: JsonObject) -> list[tuple[Chart, list[str], dict[str, list[int]]]]:
    """Each chart: what it is, its category labels and its series (name -> one value per label)."""
    fleet = impact["fleet"]
    old, new = fleet["rulesets"]
    out = []
    for by, title in BREAKDOWN_TITLES.items():
        rows = fleet["by"][by]
        labels = [_label(r["key"]) for r in rows]
        series = {f"stuck under {old}": [r["stuck"][old]["devices"] for r in rows],
                  f"stuck under {new}": [r["stuck"][new]["devices"] for r in rows]}
        worst = max(rows, key=lambda r: r["stuck"][old]["devices"], default=None)
        alt = (f"Bar chart: devices stuck under {old} and under {new}, by {title}, {len(rows)} groups; in all "
               f"{fleet['stuck'][old]['devices']:,} stuck under {old} and {fleet['stuck'][new]['devices']:,} under {new}"
               + (f"; most stuck under {old}: {_label(worst['key'])} ({worst['stuck'][old]['devices']:,})" if worst else "")
               + ".")
        out.append((Chart(f"fleet-stuck-by-{by}", f"Devices stuck, by {title}", alt), labels, series))
    replay = impact.get("replay")
    if replay is not None and replay.get("changes") is not None:
        ch = replay["changes"]
        labels = [f"{c['old']} -> {c['new']}" for c in ch["classes"]]
        alt = (f"Bar chart: requests of the log whose verdict changes from {old} to {new}, by (old, new) outcome, "
               f"{len(labels)} pairs, {ch['changed']:,} requests in all"
               + (f"; the largest: {labels[0]} ({ch['classes'][0]['requests']:,})" if labels else "") + ".")
        out.append((Chart("replay-changed-by-outcome", "Requests whose verdict changes", alt), labels,
                    {"requests": [int(c["requests"]) for c in ch["classes"]]}))
    return out


def _draw(chart: Chart, labels: list[str], series: dict[str, list[int]]) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    # Pinned so the bytes depend on the figures alone: SVG element ids from a fixed salt, text as text
    # (no glyph outlines that vary with the font cache), no creation date in either format.
    with matplotlib.rc_context({"svg.hashsalt": "redline", "svg.fonttype": "none", "font.family": "DejaVu Sans",
                                "font.size": 9}):
        height = 1.2 + 0.18 * max(1, len(labels)) * max(1, len(series))
        fig = Figure(figsize=(6.4, min(height, 24.0)), layout="constrained")
        ax = fig.add_subplot()
        width = 0.8 / max(1, len(series))
        for i, (name, values) in enumerate(series.items()):
            ys = [n + (i - (len(series) - 1) / 2) * width for n in range(len(labels))]
            ax.barh(ys, values, height=width, label=name)
        ax.set_yticks(range(len(labels)), [x if len(x) <= 48 else x[:45] + "..." for x in labels])
        ax.invert_yaxis()  # the first group at the top, as in the tables
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 of a device
        ax.set_xlabel("devices" if len(series) > 1 else "requests")
        ax.set_title(chart.title)
        if len(series) > 1:
            ax.legend(loc="lower right")
        files = {}
        for fmt, metadata in (("png", {"Software": None}), ("svg", {"Date": None, "Creator": None})):
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, dpi=100, metadata=metadata)
            files[f"{CHART_DIR}/{chart.name}.{fmt}"] = buf.getvalue()
    return files


def chart_files(impact: JsonObject) -> dict[str, bytes]:
    """Every chart as `charts/<name>.png` and `charts/<name>.svg`."""
    files: dict[str, bytes] = {}
    for chart, labels, series in charts(impact):
        files.update(_draw(chart, labels, series))
    return files


# ---- the section ------------------------------------------------------------------------

def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.3f}%" if total else "-"


def summary_lines(impact: JsonObject) -> list[str]:
    """The section's sentences, the same in both renderers (plain text; each renderer escapes it)."""
    f = impact["fleet"]
    old, new = f["rulesets"]
    lines = [f"Fleet tables: {impact['dir']}, judged at {f['at']}: {f['devices']:,} devices, {f['mis_set']:,} with a "
             f"{f['cell']} cell not owned by the registered party ({_pct(f['mis_set'], f['devices'])}), "
             f"{f['unregistered']:,} with no registered party (never called stuck).",
             f"Stuck under {old}: {f['stuck'][old]['devices']:,} ({_pct(f['stuck'][old]['devices'], f['devices'])}); "
             f"under {new}: {f['stuck'][new]['devices']:,} ({_pct(f['stuck'][new]['devices'], f['devices'])}); "
             f"freed by {new}: {f['freed']:,}."]
    if f.get("site_visits_saved_cost") is not None:
        lines.append(f"Site visits saved at {f['site_visit_cost']:,.2f} each: {f['site_visits_saved_cost']:,.2f}.")
    else:
        lines.append("No site-visit cost was given (--visit-cost), so the devices freed are not priced.")
    r = impact.get("replay")
    if r is None:
        lines.append("The directory holds no request log (requests.parquet or requests.csv), so no request was replayed.")
    else:
        ch = r["changes"]
        total = r["summary"][old]["requests"]
        lines.append(f"Request log: {total:,} requests replayed under both; {ch['changed']:,} change verdict "
                     f"({_pct(ch['changed'], total)}).")
        if ch.get("by_region") is not None:
            lines += region_problems(ch["by_region"])
            overlap = region_overlaps(ch["by_region"])
            lines += [overlap[0].upper() + overlap[1:] + "."] if overlap else []
    return lines


def tables(impact: JsonObject) -> list[tuple[str, list[str], list[list[Any]]]]:
    """(caption, header, rows) of each breakdown and of the changed requests, in the order shown."""
    f = impact["fleet"]
    old, new = f["rulesets"]
    out = []
    for by, title in BREAKDOWN_TITLES.items():
        rows = [[_label(r["key"]), r["devices"], r["mis_set"], r["stuck"][old]["devices"], r["stuck"][new]["devices"], r["freed"]]
                for r in f["by"][by]]
        out.append((f"By {title}", [title, "devices", "mis-set", f"stuck {old}", f"stuck {new}", "freed"], rows))
    r = impact.get("replay")
    if r is not None:
        ch = r["changes"]
        out.append(("Changed requests by outcome", [f"under {old}", f"under {new}", "requests"],
                    [[c["old"], c["new"], c["requests"]] for c in ch["classes"]]))
        out.append(("Changed requests by SRV", ["SRV", "requests"], [[x["key"], x["requests"]] for x in ch["by_srv"]]))
        out.append(("Changed requests by role", ["role", "requests"], [[x["key"], x["requests"]] for x in ch["by_role"]]))
        if ch.get("by_region") is not None:
            out.append((f"Changed requests by region of the semantic diff {old} -> {new}", ["region", "requests"],
                        [[f"{x['region']}. {x['summary']}", x["requests"]] for x in ch["by_region"]["regions"]]))
    return out


def _num(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def html_section(impact: JsonObject) -> str:
    def e(x: Any) -> str:
        return escape(str(x), quote=True)
    out = ['<section id="fleet-impact"><h2>Fleet impact</h2>']
    out += [f"<p>{e(line)}</p>" for line in summary_lines(impact)]
    for chart, _, _ in charts(impact):
        svg, png = f"{CHART_DIR}/{chart.name}.svg", f"{CHART_DIR}/{chart.name}.png"
        # max-width keeps a chart inside a phone's width; the files sit beside the page in the bundle.
        out.append(f'<figure><img src="{e(svg)}" alt="{e(chart.alt)}" style="max-width:100%;height:auto">'
                   f'<figcaption>{e(chart.title)} (<a href="{e(png)}">PNG</a>, <a href="{e(svg)}">SVG</a>)</figcaption></figure>')
    for caption, head, rows in tables(impact):
        out.append(f"<h3>{e(caption)}</h3><div class=\"table-wrap\"><table><thead><tr>"
                   + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead><tbody>"
                   + "".join("<tr>" + "".join(f"<td>{e(_num(c))}</td>" for c in row) + "</tr>" for row in rows)
                   + "</tbody></table></div>")
    out.append("<p>The same figures: <code>redline impact fleet DIR --at TIME --format json</code> and "
               "<code>redline impact replay DIR --format json</code>; here under <code>impact</code> in results.json.</p>")
    out.append("</section>")
    return "\n".join(out)


def markdown_lines(impact: JsonObject, inline: Callable[[Any], str],
                   table: Callable[[list[str], list[list[Any]]], list[str]]) -> list[str]:
    """The section in Markdown, escaped by render_md's `inline` and laid out by its `table` (passed in, since
    render_md imports this module)."""
    lines = ["## Fleet impact", ""]
    for line in summary_lines(impact):
        lines += [inline(line), ""]
    for chart, _, _ in charts(impact):
        svg, png = f"{CHART_DIR}/{chart.name}.svg", f"{CHART_DIR}/{chart.name}.png"
        lines += [f"![{inline(chart.alt)}]({svg})", "", f"{inline(chart.title)}: [PNG]({png}), [SVG]({svg})", ""]
    for caption, head, rows in tables(impact):
        lines += [f"### {inline(caption)}", "", *table([inline(h) for h in head], [[_num(c) for c in row] for row in rows]), ""]
    return lines
