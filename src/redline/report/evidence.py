"""The evidence document: everything the bundle says, as one plain value both renderers read.

Nothing here depends on the clock except `timings`, which every renderer
puts in its one marked section, so that two runs on the same inputs give the
same bytes outside it.
"""

from __future__ import annotations

import hashlib
import platform
import re
from dataclasses import dataclass, field
from importlib import metadata

from redline.check import checked as ir
from redline.codec import diff_json, liveness_json
from redline.jsondoc import JsonObject
from redline.props.diff import DiffReport
from redline.props.liveness import LivenessReport
from redline.report.collect import Collection, Settings
from redline.report.view import View, build_view
from redline.smt.about import solver_version

# The tags of docs/domain.md: every fact carries one, and an assumption keeps it.
TAGS = {
    "[S]": "stated in the seed (the MP107 Modification Report)",
    "[C]": "confirmed from a public source",
    "[A]": "a modelling assumption: inferred, not confirmed by a source",
}


@dataclass(frozen=True)
class RuleFile:
    path: str  # as shown, relative to the project
    data: bytes

    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Evidence:
    modification: str
    title: str
    files: list[JsonObject]
    versions: dict[str, str]
    settings: JsonObject
    results: list[JsonObject]  # docs/formats.md results, each with `recheck` (and `obligation` if one was written)
    diff: JsonObject | None
    liveness: dict[str, JsonObject]  # rule set -> `redline liveness --format json`
    assumptions: list[JsonObject]
    not_checked: list[str]
    problems: list[str]  # loud: a result that is not as expected, a re-check that disagrees, a violated intent; and `unsettled`
    unsettled: list[str] = field(default_factory=list)  # what could not be settled (exit 3): also in `problems`, never an all clear
    timings: JsonObject = field(default_factory=dict)
    obligations: dict[str, str] = field(default_factory=dict)  # file name -> SMT-LIB2 text
    redline: dict[str, str] | None = None  # the modification as written: {"path", "text"} of its declaration
    view: View | None = None  # the redline of the base's rules, the formulas, the diff in prose (report/view.py)
    impact: JsonObject | None = None  # `report --fleet`: report/fleet_section.py's fleet and replay answers

    def failures(self) -> list[str]:
        """The problems that are findings (exit 1), as opposed to what could not be settled (exit 3)."""
        return [p for p in self.problems if p not in self.unsettled]

    def counts(self) -> dict[str, int]:
        rechecks = [r["recheck"]["status"] for r in self.results]
        return {
            "results": len(self.results),
            "as_expected": sum(r["status"] == r["expected"] for r in self.results),
            "unknown": sum(r["status"] == "unknown" for r in self.results),
            "rechecked": rechecks.count("agrees"),
            "recheck_disagrees": rechecks.count("disagrees"),
            "recheck_unsettled": sum(s in ("unknown", "unsupported", "skipped") for s in rechecks),
        }


def result_name(r: JsonObject) -> str:
    return f"{r['property']} [{r['ruleset']}]"


def _rules_resting_on(program: ir.Program, names: list[str]) -> dict[str, dict[str, None]]:
    rules: dict[str, dict[str, None]] = {a: {} for a in program.assumptions}
    for rs in (program.rulesets[n] for n in names):
        for c in rs.checks:
            for a in c.rests:
                rules.setdefault(a, {})[f"{c.name} ({c.cite})"] = None
            for x in c.exceptions:
                for a in x.rests:
                    rules.setdefault(a, {})[f"exception to {c.name} ({x.cite})"] = None
        for e in rs.effects:
            for a in e.rests:
                rules.setdefault(a, {})[f"effect {e.name} ({e.cite})"] = None
    for p in program.properties:
        for a in p.rests:
            rules.setdefault(a, {})[f"property {p.name} (rests on it by declaration)"] = None
    return rules


def assumption_register(program: ir.Program, results: list[JsonObject], rulesets: list[str]) -> list[JsonObject]:
    rules = _rules_resting_on(program, rulesets)
    out = []
    for name, a in program.assumptions.items():
        tag = a.tag or "untagged"
        out.append({
            "name": name, "text": a.text, "tag": tag, "tag_meaning": TAGS.get(tag, "no certainty tag (docs/domain.md)"),
            "rules": list(rules.get(name, {})),
            "results": [result_name(r) for r in results if name in r.get("assumptions", [])],
        })
    return out


def _cited_clauses(results: list[JsonObject]) -> set[str]:
    return {c for r in results for c in r.get("clauses", [])}


def not_checked(program: ir.Program, results: list[JsonObject], diff: DiffReport | None, rulesets: list[str]) -> list[str]:
    """What this bundle does not establish, item by item."""
    out = []
    for r in results:
        if r["status"] == "unknown":
            out.append(f"{result_name(r)} is UNKNOWN: {r.get('reason') or 'the solver gave up'}. Neither proved nor refuted.")
    for r in results:
        rc = r["recheck"]
        if rc["status"] in ("unknown", "unsupported", "skipped") and r["status"] != "unknown":
            out.append(f"{result_name(r)} was not independently re-checked ({rc['solver']}: {rc['status']}: {rc.get('reason')}); "
                       f"it rests on Z3 alone.")
        side = rc.get("solver_check")
        if side is not None and side["status"] != "agrees":
            out.append(f"{result_name(r)}: {side['solver']} did not confirm its obligation is satisfiable "
                       f"({side['status']}: {side.get('reason') or side.get('answer')}); the replay alone confirms the finding.")
        if rc.get("replay") is not None and rc["status"] == "agrees":
            out.append(f"{result_name(r)}'s {'counterexample' if r.get('counterexample') else 'witness'} is a state alone: the "
                       f"interpreter judged no request for it ({rc['replay'].get('reason')}); its re-check is {rc['solver']} "
                       "finding the same obligation satisfiable.")
    for r in results:
        if r.get("proof") == "bounded" and not (r.get("counterexample") or r.get("witness")):
            out.append(f"{result_name(r)} is a bounded result: it covers sequences of at most {r.get('depth')} steps, not longer ones.")
    if not any(r.get("proof") in ("bounded", "unbounded") or (r.get("counterexample") or r.get("witness") or {}).get("trace")
               for r in results):
        out.append("No multi-step property was checked: every result is one-step (one request in one state). "
                   "Sequences of requests (model checking) are not covered by this bundle.")
    cited = _cited_clauses(results)
    for name in rulesets:
        rs = program.rulesets[name]
        for c in rs.checks:
            if c.cite not in cited:
                out.append(f"No result of this bundle rests on check `{c.name}` ({c.cite}) of {name}.")
            for x in c.exceptions:
                if x.cite not in cited:
                    out.append(f"No result of this bundle rests on the exception \"{x.cite}\" to `{c.name}` in {name}.")
        for e in rs.effects:
            if e.cite not in cited:
                out.append(f"No result of this bundle rests on effect `{e.name}` ({e.cite}) of {name}.")
    trusted = [a for a, v in program.assumptions.items() if v.tag != "[S]" and v.tag != "[C]"]
    if trusted:
        out.append(f"Assumptions taken on trust (modelling assumptions, not confirmed by a source): {', '.join(trusted)}. "
                   "Every result citing one holds only if the assumption does.")
    out.append("Liveness (which checks can reject and which exceptions can decide a request) is Z3's result alone: "
               "its witnesses are replayed through the interpreter, with and without the exception, but cvc5 does not "
               "re-check a dead or redundant finding.")
    if diff is not None:
        out.append("The semantic diff's regions, counts, completeness and intent check are Z3's results alone: "
                   "its witnesses are replayed through the interpreter, but cvc5 does not re-check the diff.")
    out.append("Both solvers decide the same SMT-LIB2 encoding of the rules: a mistake in the encoding common to both "
               "would not be caught by the re-check. The encoding is held to the interpreter by the differential test "
               "(tests/test_differential.py), not by this bundle.")
    out.append("The clauses a proof cites come from Z3's unsat core (or, for a finding, from the replayed verdicts); "
               "the core is not re-checked.")
    out.append(f"The scenarios ({len(program.scenarios)}) are not run for this bundle; `redline test` runs them.")
    return out


def _rule_key(r: JsonObject) -> tuple[str, str | None]:
    """A rule across rule sets: a check by name, an exception by its check and clause (indices shift)."""
    return (r["check"], None if r["exception"] is None else r["clause"])


def rule_label(r: JsonObject) -> str:
    return f"check {r['check']}" if r["exception"] is None else f"exception to {r['check']}: {r['clause']}"


def liveness_rows(liveness: dict[str, JsonObject]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(rule, written by, (status, as shown) under each rule set in order), one row per rule of any of them."""
    rules: dict[tuple[str, str | None], JsonObject] = {}
    status: dict[tuple[str, str | None], dict[str, tuple[str, str]]] = {}
    for name, result in liveness.items():
        for r in result["rules"]:
            k = _rule_key(r)
            rules.setdefault(k, r)
            shadow = f" (shadowed by {', '.join(r['shadowed_by'])})" if r.get("shadowed_by") else ""
            status.setdefault(k, {})[name] = (r["status"], r["status"] + shadow)
    return [(rule_label(r), r["origin"], [status[k].get(name, ("absent", "absent")) for name in liveness])
            for k, r in rules.items()]


def liveness_problems(liveness: dict[str, JsonObject], modification: str) -> list[str]:
    """A rule the modification writes that decides nothing, or a rule it leaves dead that was live before
    (a drafting error, as loud as a violated intent)."""
    if modification not in liveness:
        return []
    before = {_rule_key(r): r["status"] for name, res in liveness.items() if name != modification for r in res["rules"]}
    out = []
    for r in liveness[modification]["rules"]:
        if r["status"] not in ("dead", "redundant"):
            continue
        if r["origin"] == modification:
            out.append(f"{rule_label(r)} (written by {modification}) is {r['status'].upper()} under {modification}: it changes no verdict.")
        elif before.get(_rule_key(r)) == "live":
            out.append(f"{rule_label(r)} was live but is {r['status'].upper()} under {modification}.")
    for d in liveness[modification].get("disjuncts", []):
        if d["status"] == "dead" and d["origin"] == modification:
            where = f"intent {d['intent']}" if d["where"] == "intends" else f"the {d['where']} condition of {d['check']}"
            out.append(f"`{d['disjunct']}` in {where} (written by {modification}) never holds where it could decide anything.")
    return out


def problems(results: list[JsonObject], diff: DiffReport | None) -> list[str]:
    out = []
    for r in results:
        if r["status"] != r["expected"] and r["status"] != "unknown":
            out.append(f"{result_name(r)} is {r['status'].upper()}, but {r['expected']} was expected.")
        if r["recheck"]["status"] == "disagrees":
            out.append(f"RE-CHECK DISAGREES on {result_name(r)}: {r['recheck']['solver']}: "
                       f"{r['recheck'].get('reason') or ('answered ' + str(r['recheck'].get('answer')) + ', Z3 ' + str(r['recheck'].get('expected')))}.")
    if diff is not None and diff.intent.status == "violated":
        out.append(f"The modification's declared intent is VIOLATED ({len(diff.intent.violations)} violation(s)).")
    return out


def unsettled(results: list[JsonObject], diff: DiffReport | None, liveness: dict[str, LivenessReport]) -> list[str]:
    """Every analysis of the bundle that could not finish: each turns the bundle's all clear into exit 3."""
    out = []
    for r in results:
        if r["status"] == "unknown":
            out.append(f"UNKNOWN: {result_name(r)}: {r.get('reason') or 'the solver gave up'}.")
        elif r["recheck"]["status"] in ("unknown", "unsupported", "skipped"):
            out.append(f"NOT RE-CHECKED: {result_name(r)} ({r['recheck']['solver']}: {r['recheck']['status']}).")
    if diff is not None:
        if not diff.complete:
            out.append(f"INCOMPLETE: the semantic diff {diff.old} -> {diff.new} is not complete ({diff.reason}); "
                       f"differences beyond the {diff.count} request classes shown may exist.")
        if diff.intent.status == "unknown":
            out.append(f"UNKNOWN: the check of the declared intent ({diff.intent.reason}).")
    for name, res in liveness.items():
        if not res.complete:
            out.append(f"INCOMPLETE: the liveness of {name}: {res.counts.unknown} rule(s) unknown.")
    return out


def build_evidence(program: ir.Program, files: list[RuleFile], settings: Settings, collection: Collection,
                   rechecks: list[JsonObject], recheck_solver: str) -> Evidence:
    mod = program.ruleset(settings.modification)
    rulesets = [n for n in ([mod.base, mod.name] if mod is not None and mod.base else [settings.modification]) if n in program.rulesets]
    results, obligations = [], {}
    for c, rc in zip(collection.results, rechecks, strict=True):
        r = dict(c.result)
        if c.obligation is not None:
            r["obligation"] = {"file": f"smt2/{c.obligation.file}", "z3": c.obligation.answer}
            obligations[c.obligation.file] = c.obligation.text
        r["recheck"] = rc
        results.append(r)
    try:
        version = metadata.version("redline")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    not_settled = unsettled(results, collection.diff, collection.liveness)
    live = {name: liveness_json(r) for name, r in collection.liveness.items()}
    return Evidence(
        modification=settings.modification,
        title=f"Evidence for {mod.name}: {mod.cite}" if mod is not None else f"Evidence for {settings.modification}",
        files=[{"path": f.path, "sha256": f.sha256(), "bytes": len(f.data)} for f in files],
        versions={"redline": version, "python": platform.python_version(), "solver": solver_version(), "recheck_solver": recheck_solver},
        settings={"timeout_ms": settings.timeout_ms, "rlimit": settings.rlimit, "seed": settings.seed},
        results=results, diff=None if collection.diff is None else diff_json(collection.diff), liveness=live,
        assumptions=assumption_register(program, results, rulesets),
        not_checked=not_checked(program, results, collection.diff, rulesets),
        problems=problems(results, collection.diff)
        + (liveness_problems(live, mod.name) if mod is not None and mod.base else [])
        + not_settled,
        unsettled=not_settled,
        obligations=obligations,
        redline=modification_text(files, settings.modification),
        view=build_view(program, settings.modification, collection.diff),
    )


def modification_text(files: list[RuleFile], name: str) -> dict[str, str] | None:
    """The declaration of modification `name` as its rule file words it, from `modification NAME` to the
    next declaration: the redlines a reviewer holds next to the Modification Report."""
    from redline.syntax.parser import TOP_LEVEL
    head = re.compile(rf"^modification\s+{re.escape(name)}\b", re.M | re.I)
    for f in files:
        text = f.data.decode("utf-8", errors="replace")
        m = head.search(text)
        if m is None:
            continue
        nxt = TOP_LEVEL.search(text, m.end())
        start = text.rfind("\n\n", 0, m.start())  # the comment block just above belongs to it
        return {"path": f.path, "text": text[start + 2 if start >= 0 else 0:nxt.start() if nxt else len(text)].strip() + "\n"}
    return None
