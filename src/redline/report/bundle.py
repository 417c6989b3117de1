"""Build an evidence bundle in memory, then write it in one move.

The bundle is a directory:
  report.html    the self-contained page
  report.md      the same, for a modification report
  results.json   every result in the docs/formats.md format, each with `recheck`
  smt2/*.smt2    the obligation that settled each result, named PROPERTY.RULESET.ENCODING.smt2

  .redline-manifest.json  every other file with its SHA-256: what lets a later run verify the bundle is redline's

It is written by `redline.output`: into a temporary directory beside the
target, then renamed into place, so a reader never sees a half-written bundle;
only a verified earlier bundle (or an empty directory) is ever replaced.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from redline import progress
from redline.check import checked as ir
from redline.exits import Exit
from redline.inputs import BadInput
from redline.jsondoc import JsonObject
from redline.output import OutputError, check_dir, replace_dir
from redline.report.collect import ResultProvider, Settings, collect, scoped
from redline.report.evidence import Evidence, RuleFile, build_evidence, result_name
from redline.report.fleet_section import chart_files
from redline.report.recheck import cvc5_name, load_cvc5, recheck
from redline.report.render_html import render_html
from redline.report.render_md import render_markdown

WHAT = "an evidence bundle"


class BundleError(Exception):
    """The bundle cannot be written where asked: bad input, never a finding."""


@dataclass
class Bundle:
    evidence: Evidence
    files: dict[str, bytes]  # path inside the bundle -> content
    seconds: float


def results_json(ev: Evidence) -> JsonObject:
    """docs/formats.md proof results (each with `seconds`) and the rest of the evidence. What depends on
    the clock is each result's `seconds` and the top-level `timings`; everything else is reproducible.
    `impact` is there only for a bundle given a fleet (`--fleet`)."""
    extra = {} if ev.impact is None else {"impact": ev.impact}
    return {
        "modification": ev.modification, "title": ev.title, "files": ev.files, "versions": ev.versions, "settings": ev.settings,
        "results": ev.results, "diff": ev.diff, "liveness": ev.liveness, "assumptions": ev.assumptions, "not_checked": ev.not_checked,
        "problems": ev.problems, "unsettled": ev.unsettled, **extra, "timings": ev.timings,
    }


def files_in_scope(program: ir.Program, rule_files: list[RuleFile], modification: str) -> list[RuleFile]:
    """The files the bundle's results depend on: those declaring what the modification and its base
    chain use (as the generated validator's header names them), and the property files whose
    properties the bundle reports. Other modifications, their scenarios and proofs are left out."""
    from redline.codegen.module import RuleFile as SourceFile
    from redline.codegen.module import dependencies

    mod = program.ruleset(modification)
    if mod is None:
        return rule_files
    as_source = [SourceFile(f.path, f.data) for f in rule_files]
    used = {f.name for f in dependencies(program, mod, as_source)}
    props = {p.name for p in scoped(program, modification).properties}
    wanted = [re.compile(rf"^property\s+{re.escape(name)}\b", re.M) for name in sorted(props)]
    kept = []
    for f in rule_files:
        text = f.data.decode("utf-8", errors="replace")
        if f.path in used or any(w.search(text) for w in wanted):
            kept.append(f)
    return kept


def build_bundle(program: ir.Program, rule_files: list[RuleFile], settings: Settings,
                 providers: list[ResultProvider] | None = None, cvc5: ModuleType | None = None,
                 impact: JsonObject | None = None) -> Bundle:
    """`impact`: report/fleet_section.py's answers for a fleet (`--fleet`), computed before the proofs so that a
    bad fleet is refused before any solving; the bundle then holds its section and charts."""
    start = time.perf_counter()
    rule_files = files_in_scope(program, rule_files, settings.modification)
    solver = load_cvc5() if cvc5 is None else cvc5
    collection = collect(program, settings, providers)
    rechecks, recheck_seconds = [], []
    for i, c in enumerate(collection.results, 1):
        progress.note(f"re-check {i} of {len(collection.results)}: {c.result.get('property')} [{c.result.get('ruleset')}]")
        rc, secs = recheck(program, c, solver, settings.timeout_ms)
        rechecks.append(rc)
        recheck_seconds.append(secs)
    ev = build_evidence(program, rule_files, settings, collection, rechecks, cvc5_name(solver))
    ev.impact = impact
    ev.timings = {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "results": {result_name(r): {"prove": round(float(r.get("seconds", 0.0)), 3), "recheck": round(s, 3)}
                    for r, s in zip(ev.results, recheck_seconds, strict=True)},
        "diff": round(collection.diff_seconds, 3),
        "liveness": round(collection.liveness_seconds, 3),
        "total": round(time.perf_counter() - start, 3),
    }
    files = {
        "report.html": render_html(ev).encode("utf-8"),
        "report.md": render_markdown(ev).encode("utf-8"),
        "results.json": (json.dumps(results_json(ev), indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    }
    for name, text in sorted(ev.obligations.items()):
        files[f"smt2/{name}"] = text.encode("utf-8")
    if impact is not None:
        files.update(chart_files(impact))
    return Bundle(ev, files, time.perf_counter() - start)


def exit_status(ev: Evidence) -> int:
    """1 when a result is not as expected, a re-check disagrees, the intent is violated or a rule of the
    modification is dead or redundant; else 3 when anything is unknown, could not be re-checked or could
    not finish (an incomplete diff or liveness, an unknown intent); else 0."""
    if ev.failures():
        return Exit.FAIL
    n = ev.counts()
    if ev.unsettled or n["unknown"] or n["recheck_unsettled"]:
        return Exit.UNKNOWN
    return Exit.OK


def modification_of(program: ir.Program, name: str) -> ir.RuleSet:
    """The modification a bundle is about; BadInput if `name` is not one."""
    mod = program.ruleset(name)
    if mod is None or mod.base is None:
        mods = sorted(rs.name for rs in program.rulesets.values() if rs.base is not None)
        raise BadInput(f"`{name}` is not a modification; the rules define {', '.join(mods) or 'none'}")
    return mod


def require_property_about(program: ir.Program, mod: ir.RuleSet) -> None:
    """A bundle with no property about the modification would read as an empty "all clear": refused.
    The generic library (proofs/generic.redline) speaks of any modification that amends a rule set."""
    named = {part for p in program.properties for key in p.expected for part in key.split("..")}
    if mod.name not in named and not (program.generic and mod.base is not None):
        raise BadInput(f"no property states what is expected of `{mod.name}` (`expect {mod.name} proved|refuted`), "
                       "and no generic property is loaded, so a bundle would prove nothing about it; give property "
                       "files (redline report FILES) or list them under `proofs` in the configuration")


def check_target(target: Path) -> None:
    """Refuse early what `write_bundle` would refuse late (the policy of `redline.output`)."""
    try:
        check_dir(target, WHAT)
    except OutputError as e:
        raise BundleError(str(e)) from None


def write_bundle(files: dict[str, bytes], target: Path) -> None:
    """Write every file and a manifest into a fresh directory beside `target`, then rename it into place."""
    try:
        replace_dir(target, files, WHAT)
    except OutputError as e:
        raise BundleError(str(e)) from None
