"""`redline liveness`: can every check reject and every exception decide something?

Each witness is replayed through the interpreter before it is shown: a live
check's witness must be rejected by that check; a live exception's witness
must be waived by it, and rejected by its check under the same rule set
with that one exception taken out (what "decisive" means); a redundant
exception's witness must be waived by it and judged the same without it.
A witness that does not replay is an internal error, never a finding.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from redline.check import checked as ir
from redline.interp import InputError, Validator, load_request, load_state
from redline.interp.validate import Verdict
from redline.props.results import ReplayError
from redline.smt import Sorts
from redline.smt.encode import source_text
from redline.smt.liveness import RawDisjunct, RawRule, dead_disjuncts
from redline.smt.liveness import liveness as raw_liveness
from redline.smt.solver import DEFAULT_RLIMIT


def without_exception(rs: ir.RuleSet, check: ir.Check, j: int) -> ir.RuleSet:
    """`rs` with exception j of `check` taken out, and nothing else changed."""
    kept = check.exceptions[:j] + check.exceptions[j + 1:]
    return replace(rs, checks=tuple(replace(c, exceptions=kept) if c is check else c for c in rs.checks))


def _judge(program: ir.Program, rs: ir.RuleSet, witness: dict[str, Any]) -> Verdict:
    try:
        state = load_state(witness["state"], program)
        return Validator(rs).validate(state, load_request(witness["request"], state, program, rs))
    except InputError as e:
        raise ReplayError(f"a liveness witness is not valid input: {e}") from None


def _waived_by(v: Verdict, check: ir.Check, exc: ir.Exception_) -> bool:
    return any(c.name == check.name and e == exc for c, _, e in v.trace)


def _verdict(v: Verdict) -> dict[str, Any]:
    j = v.to_json()
    return {k: j[k] for k in ("verdict", "layer", "code", "check", "clause")}


def replay(program: ir.Program, rs: ir.RuleSet, rule: RawRule) -> dict[str, Any]:
    """The rule's JSON entry, its witness replayed (raises ReplayError if it does not agree)."""
    check, j = rule.check, rule.exception
    entry: dict[str, Any] = {"check": check.name, "layer": check.layer.value, "code": check.code}
    if j is None:
        entry.update(exception=None, clause=check.cite, origin=check.origin, status=rule.status)
    else:
        exc = check.exceptions[j]
        entry.update(exception=j + 1, clause=exc.cite, origin=exc.origin, status=rule.status)
    if rule.shadowed_by:
        entry["shadowed_by"] = rule.shadowed_by
    if rule.reason:
        entry["reason"] = rule.reason
    w = rule.witness
    if w is None:
        return entry
    entry["witness"] = w
    v = _judge(program, rs, w)
    if j is None:
        if v.failed is None or v.failed.name != check.name:
            raise ReplayError(f"the witness for check `{check.name}` replays as {_verdict(v)}, not rejected by it")
        entry["verdict"] = _verdict(v)
        return entry
    if not _waived_by(v, check, check.exceptions[j]):
        raise ReplayError(f"the witness for exception {j + 1} of `{check.name}` is not waived by it under `{rs.name}`")
    without = _judge(program, without_exception(rs, check, j), w)
    decisive = without.failed is not None and without.failed.name == check.name
    if decisive != (rule.status == "live"):
        raise ReplayError(f"the witness for exception {j + 1} of `{check.name}` replays as {_verdict(without)} "
                          f"without it, which does not show it {rule.status}")
    entry["verdict"], entry["without_it"] = _verdict(v), _verdict(without)
    return entry


def liveness(program: ir.Program, rs: ir.RuleSet, timeout_ms: int, seed: int, rlimit: int = DEFAULT_RLIMIT) -> dict[str, Any]:
    sorts = Sorts(program, sorted(rs.catalogue))
    rules, calls = raw_liveness(sorts, rs, timeout_ms, rlimit, seed)
    entries = [replay(program, rs, r) for r in rules]
    counts = {s: sum(e["status"] == s for e in entries) for s in ("live", "redundant", "dead", "unknown")}
    found, more = dead_disjuncts(sorts, rs, timeout_ms, rlimit, seed)
    disjuncts = [_disjunct(d) for d in found]
    counts["dead_disjuncts"] = sum(d["status"] == "dead" for d in disjuncts)
    complete = counts["unknown"] == 0 and all(d["status"] == "dead" for d in disjuncts)
    return {"ruleset": rs.name, "complete": complete, "counts": counts, "rules": entries,
            "disjuncts": disjuncts, "solver_calls": calls + more}


def _disjunct(d: RawDisjunct) -> dict[str, Any]:
    """A disjunct that never holds where it could matter, as JSON: where it is, its text, who wrote it."""
    out: dict[str, Any] = {"where": d.where, "check": d.check.name if d.check else None,
                           "exception": None if d.index is None or d.where != "except" else d.index + 1,
                           "intent": d.index + 1 if d.where == "intends" and d.index is not None else None,
                           "disjunct": source_text(d.disjunct), "origin": d.origin, "status": d.status}
    if d.reason:
        out["reason"] = d.reason
    return out


def _request(q: dict[str, Any]) -> str:
    return (f"{q['sender']} as {q['role']} sending {q['srv']}"
            + (f" replacing {q['remote_party_role']}" if q.get("remote_party_role") else "")
            + ("" if q.get("device") else " (no device)"))


def _outcome(v: dict[str, Any]) -> str:
    return "accept" if v["verdict"] == "accept" else f"reject {v['layer']} {v['code'] or ''}".rstrip() + f" by {v['check']}"


def format_liveness(result: dict[str, Any]) -> str:
    """One line per rule, the dead and redundant ones first in the reader's eye (upper case)."""
    c = result["counts"]
    head = (f"{result['ruleset']}: {len(result['rules'])} checks and exceptions; {c['live']} live"
            + "".join(f", {c[s]} {s}" for s in ("redundant", "dead", "unknown") if c[s])
            + (f", {c['dead_disjuncts']} dead disjunct(s)" if c["dead_disjuncts"] else "")
            + ("" if result["complete"] else " (NOT complete: some questions were not settled)"))
    lines = [head]
    for e in result["rules"]:
        tag = e["status"] if e["status"] == "live" else e["status"].upper()
        where = f"{e['layer']}{' ' + e['code'] if e['code'] else ''}"
        rule = (f"check {e['check']} [{where}]" if e["exception"] is None
                else f"exception {e['exception']} of {e['check']} [{e['origin']}]")
        line = f"  {tag:<9} {rule} ({e['clause']}): "
        q = e.get("witness", {}).get("request")
        match (e["status"], e["exception"] is None):
            case ("live", True):
                line += f"rejects e.g. {_request(q)}"
            case ("live", False):
                line += f"decides e.g. {_request(q)}: {_outcome(e['verdict'])}; without it, {_outcome(e['without_it'])}"
            case ("redundant", _):
                line += f"waives e.g. {_request(q)}, but never a request its check would reject (proved)"
            case ("dead", True):
                line += "no request is rejected by it (proved over every state)" + (
                    f"; shadowed by {', '.join(e['shadowed_by'])}" if e.get("shadowed_by") else "")
            case ("dead", False):
                line += "never waives a request that reaches its check (proved over every state)" + (
                    f"; shadowed by {', '.join(e['shadowed_by'])}" if e.get("shadowed_by") else f"; {e['reason']}" if e.get("reason") else "")
            case _:
                line += f"not settled: {e.get('reason')}"
        lines.append(line)
    for d in result["disjuncts"]:
        place = {"applies": f"applies when of check {d['check']}", "except": f"except when of exception {d['exception']} of {d['check']}",
                 "intends": f"intent {d['intent']}"}[d["where"]]
        never = {"applies": "on a request that every earlier check lets through", "except": "on a request that reaches its check",
                 "intends": "on any request"}[d["where"]]
        lines.append(f"  {d['status'].upper() + ' DISJUNCT':<9} `{d['disjunct']}` in the {place} [{d['origin']}]: "
                     + (f"never holds {never} (proved over every state)" if d["status"] == "dead" else f"not settled: {d.get('reason')}"))
    return "\n".join(lines)


__all__ = ["format_liveness", "liveness", "without_exception"]
