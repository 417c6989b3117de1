"""The one JSON codec of results (proofs, diffs, liveness, scenarios): each frozen result type to the exact JSON the CLI prints
(docs/formats.md), and back where a result is read again (a bundle's results.json).

Results are typed everywhere else; only here do they become dictionaries with string keys,
so a field the formats name is written in one place."""

from __future__ import annotations

from typing import Any

from redline.check.checked import ExpectedVerdict
from redline.jsondoc import JsonObject
from redline.props.diff import Change, DiffReport, IntentReport, Violation
from redline.props.diff import Replayed as DiffWitness
from redline.props.liveness import DisjunctRow, LivenessReport, RuleRow
from redline.props.liveness import Judged as LiveJudged
from redline.props.results import Candidate, Case, Event, Found, ProofResult, Replayed, Step, VerdictKey
from redline.scenarios import ScenarioResult
from redline.smt.diff import Judgement


def verdict_key(k: VerdictKey) -> str:
    return f"{k.request}@{k.ruleset}"


def replayed_json(v: Replayed) -> JsonObject:
    return {"verdict": v.verdict, "layer": v.layer, "code": v.code, "check": v.check, "clause": v.clause,
            "effects": list(v.effects), "rests_on": list(v.rests_on)}


def step_json(s: Step) -> JsonObject:
    out: JsonObject = {"state": s.state}
    if s.request is not None:
        out["request"] = s.request
    if s.verdict is not None:
        out["verdict"] = s.verdict
    if s.event is not None:
        event: JsonObject = {"name": s.event.name, "cite": s.event.cite}
        if s.event.party is not None:
            event["party"] = s.event.party
        out["event"] = event
    return out


def _verdicts_json(verdicts: dict[VerdictKey, Replayed]) -> JsonObject:
    return {verdict_key(k): replayed_json(v) for k, v in verdicts.items()}


def found_json(f: Found) -> JsonObject:
    out: JsonObject = {"state": f.state, "request": f.request, "trace": [step_json(s) for s in f.trace],
                       "parties": f.parties, "values": f.values}
    if f.verdicts is not None:
        out["verdicts"] = _verdicts_json(f.verdicts)
    if f.cases:
        out["cases"] = [{"check": c.check, "state": c.state, "request": c.request,
                         "verdicts": _verdicts_json(c.verdicts)} for c in f.cases]
    return out


def candidate_json(c: Candidate) -> JsonObject:
    return {"ruleset": c.ruleset, "request": c.request, "verdict": replayed_json(c.verdict)}


def result_json(r: ProofResult) -> JsonObject:
    out: JsonObject = {
        "property": r.property, "ruleset": r.ruleset, "status": r.status, "expected": r.expected,
        "proof": r.proof, "seconds": round(r.seconds, 3), "clauses": list(r.clauses), "assumptions": list(r.assumptions),
        "settled_by": r.settled_by, "solver_calls": r.solver_calls,
    }
    if r.claim:
        out["claim"] = r.claim
    if r.acknowledged:
        out["acknowledged"] = r.acknowledged
    if r.reason:
        out["reason"] = r.reason
    if r.counterexample is not None:
        out["counterexample"] = found_json(r.counterexample)
    if r.witness is not None:
        out["witness"] = found_json(r.witness)
    if r.candidates:
        out["candidates"] = [candidate_json(c) for c in r.candidates]
    if r.events is not None:
        out["events"] = list(r.events)
    if r.depth is not None:
        out["depth"] = r.depth
    if r.method is not None:
        out["method"] = r.method
    if r.invariant is not None:
        out["invariant"] = list(r.invariant)
    return out


# ---- back from JSON ----------------------------------------------------------

def _replayed(j: JsonObject) -> Replayed:
    return Replayed(j["verdict"], j["layer"], j["code"], j["check"], j["clause"], tuple(j["effects"]), tuple(j["rests_on"]))


def key_from_json(text: str) -> VerdictKey:
    request, _, ruleset = text.rpartition("@")
    return VerdictKey(request, ruleset)


def step_from_json(j: JsonObject) -> Step:
    e = j.get("event")
    return Step(j["state"], j.get("request"), j.get("verdict"), None if e is None else Event(e["name"], e["cite"], e.get("party")))


def _verdicts(j: JsonObject) -> dict[VerdictKey, Replayed]:
    return {key_from_json(k): _replayed(v) for k, v in j.items()}


def _found(j: JsonObject | None) -> Found | None:
    if j is None:
        return None
    verdicts = j.get("verdicts")
    cases = tuple(Case(c["check"], c["state"], c["request"], _verdicts(c["verdicts"]))
                  for c in j.get("cases", ()))
    return Found(j["state"], j["request"], tuple(step_from_json(s) for s in j["trace"]), dict(j["parties"]), dict(j["values"]),
                 None if verdicts is None else _verdicts(verdicts), cases)


def _tuple(x: Any) -> tuple[str, ...] | None:
    return None if x is None else tuple(x)


def result_from_json(j: JsonObject) -> ProofResult:
    """A result as `result_json` wrote it (its seconds rounded to the millisecond)."""
    return ProofResult(
        j["property"], tuple(j["ruleset"].split("..")), j["status"], j["expected"], j["seconds"],
        tuple(j["clauses"]), tuple(j["assumptions"]), proof=j["proof"], reason=j.get("reason"),
        counterexample=_found(j.get("counterexample")), witness=_found(j.get("witness")),
        candidates=tuple(Candidate(c["ruleset"], c["request"], _replayed(c["verdict"])) for c in j.get("candidates", ())),
        solver_calls=j["solver_calls"], settled_by=j["settled_by"], events=_tuple(j.get("events")), depth=j.get("depth"),
        method=j.get("method"), invariant=_tuple(j.get("invariant")), claim=j.get("claim", ""),
        acknowledged=j.get("acknowledged"),
    )



# ---- liveness (props/liveness.py) ----------------------------------------------

def _live_judged(j: LiveJudged) -> JsonObject:
    return {"verdict": j.verdict, "layer": j.layer, "code": j.code, "check": j.check, "clause": j.clause}


def _rule_json(r: RuleRow) -> JsonObject:
    out: JsonObject = {"check": r.check, "layer": r.layer, "code": r.code, "exception": r.exception, "clause": r.clause,
                       "origin": r.origin, "status": r.status}
    if r.shadowed_by:
        out["shadowed_by"] = list(r.shadowed_by)
    if r.reason is not None:
        out["reason"] = r.reason
    if r.witness is not None:
        out["witness"] = {"state": r.witness.state, "request": r.witness.request}
    if r.verdict is not None:
        out["verdict"] = _live_judged(r.verdict)
    if r.without_it is not None:
        out["without_it"] = _live_judged(r.without_it)
    return out


def _disjunct_json(d: DisjunctRow) -> JsonObject:
    out: JsonObject = {"where": d.where, "check": d.check, "exception": d.exception, "intent": d.intent,
                       "disjunct": d.disjunct, "origin": d.origin, "status": d.status}
    if d.reason is not None:
        out["reason"] = d.reason
    return out


def liveness_json(r: LivenessReport) -> JsonObject:
    c = r.counts
    return {"ruleset": r.ruleset, "complete": r.complete,
            "counts": {"live": c.live, "redundant": c.redundant, "dead": c.dead, "unknown": c.unknown,
                       "dead_disjuncts": c.dead_disjuncts},
            "rules": [_rule_json(x) for x in r.rules], "disjuncts": [_disjunct_json(d) for d in r.disjuncts],
            "solver_calls": r.solver_calls}



# ---- scenarios (scenarios.py) --------------------------------------------------

def expectation_json(x: ExpectedVerdict) -> JsonObject:
    """As the scenario declares it: an acceptance (with the effect it expects, if any), or a rejection
    with its layer, code and check (None where the scenario leaves them open)."""
    if x.verdict == "accept":
        out: JsonObject = {"verdict": "accept"}
        if x.effect is not None:
            out["effect"] = {"device": x.effect.device, "trust_anchor": x.effect.trust_anchor, "owner": x.effect.owner}
        return out
    return {"verdict": x.verdict, "layer": x.layer, "code": x.code, "check": x.check}


def scenario_json(r: ScenarioResult) -> JsonObject:
    return {"scenario": r.scenario.name, "ruleset": r.ruleset, "ok": r.ok, "expected": expectation_json(r.expected),
            "actual": r.actual, "problem": r.problem}


__all__ = ["candidate_json", "expectation_json", "scenario_json", "liveness_json", "change_json", "diff_json", "intent_json", "judgement_json", "key_from_json", "found_json", "replayed_json", "result_from_json", "result_json", "step_from_json", "step_json", "verdict_key"]


# ---- the semantic difference (props/diff.py) -----------------------------------

def judgement_json(o: Judgement) -> JsonObject:
    """A rule set's outcome in a region, as the diff shows it: the rejecting check by its clause and, since a
    rejection moved to another check of the same layer and code is a change, by its name too (as a verdict)."""
    return {"verdict": o.verdict, "layer": o.layer, "code": o.code, "clause": o.clause, "check": o.check,
            "effects": list(o.effects)}


def _region_witness(w: DiffWitness) -> JsonObject:
    return {"state": w.state, "request": w.request, "sentence": w.sentence}


def _violation_json(v: Violation) -> JsonObject:
    out: JsonObject = {"intent": v.intent, "kind": v.kind, "problem": v.problem}
    if v.witness is not None and v.before is not None and v.after is not None:
        # the request first, as the intent check has always decoded it
        out["witness"] = {"request": v.witness.request, "state": v.witness.state, "sentence": v.witness.sentence}
        out["before"], out["after"] = judgement_json(v.before), judgement_json(v.after)
    return out


def intent_json(i: IntentReport) -> JsonObject:
    out: JsonObject = {"status": i.status, "violations": [_violation_json(v) for v in i.violations]}
    if i.declared is not None:
        out["declared"] = [{"kind": d.kind, "clause": d.clause} for d in i.declared]
    if i.reason is not None:
        out["reason"] = i.reason
    return out


def change_json(c: Change) -> JsonObject:
    return {"summary": c.summary, "conditions": list(c.conditions), "before": judgement_json(c.before),
            "after": judgement_json(c.after), "clauses": list(c.clauses), "count": c.count, "exact": c.exact,
            "witness": _region_witness(c.witness)}


def diff_json(d: DiffReport) -> JsonObject:
    out: JsonObject = {
        "old": d.old, "new": d.new, "complete": d.complete, "changes": [change_json(c) for c in d.changes],
        "terms": d.terms, "count": d.count, "counts": "request shapes", "intent": intent_json(d.intent),
    }
    if d.rejection_moves is not None:
        m = d.rejection_moves
        out["rejection_moves"] = {"shapes": m.shapes, "of": m.of,
                                  "transitions": {f"{k.before} -> {k.after}": n for k, n in m.transitions.items()},
                                  "sentence": m.sentence}
    out["solver_calls"] = d.solver_calls
    if d.reason is not None:
        out["reason"] = d.reason
    return out
