"""`redline liveness`: can every check reject and every exception decide something?

Each witness is replayed through the interpreter before it is shown: a live
check's witness must be rejected by that check; a live exception's witness
must be waived by it, and rejected by its check under the same rule set
with that one exception taken out (what "decisive" means); a redundant
exception's witness must be waived by it and judged the same without it.
A witness that does not replay is an internal error, never a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from redline.check import checked as ir
from redline.interp import InputError, Validator, load_request, load_state
from redline.interp.validate import Verdict
from redline.jsondoc import JsonObject
from redline.props.results import ReplayError
from redline.smt import Sorts
from redline.smt.diff import Witness
from redline.smt.encode import source_text
from redline.smt.liveness import RawDisjunct, RawRule, dead_disjuncts
from redline.smt.liveness import liveness as raw_liveness
from redline.smt.solver import DEFAULT_RLIMIT


def without_exception(rs: ir.RuleSet, check: ir.Check, j: int) -> ir.RuleSet:
    """`rs` with exception j of `check` taken out, and nothing else changed."""
    kept = check.exceptions[:j] + check.exceptions[j + 1:]
    return replace(rs, checks=tuple(replace(c, exceptions=kept) if c is check else c for c in rs.checks))


@dataclass(frozen=True)
class Judged:
    """A replayed witness's verdict: accepted, or which check rejected it, where and by which clause."""
    verdict: str
    layer: str | None
    code: str | None
    check: str | None
    clause: str | None


@dataclass(frozen=True)
class RuleRow:
    """One check or exception of the rule set, with its status and its replayed witness."""
    check: str
    layer: str
    code: str | None
    exception: int | None  # the exception's number (from 1) under its check; None for the check itself
    clause: str
    origin: str
    status: str  # live | redundant | dead | unknown
    shadowed_by: tuple[str, ...] = ()
    reason: str | None = None
    witness: Witness | None = None
    verdict: Judged | None = None
    without_it: Judged | None = None  # an exception's witness judged with the exception taken out


@dataclass(frozen=True)
class DisjunctRow:
    """A disjunct that never holds where it could matter: where it is, its text, who wrote it."""
    where: str  # applies | except | intends
    check: str | None
    exception: int | None
    intent: int | None
    disjunct: str
    origin: str
    status: str  # dead | unknown
    reason: str | None = None


@dataclass(frozen=True)
class Counts:
    live: int
    redundant: int
    dead: int
    unknown: int
    dead_disjuncts: int


@dataclass(frozen=True)
class LivenessReport:
    ruleset: str
    complete: bool
    counts: Counts
    rules: tuple[RuleRow, ...]
    disjuncts: tuple[DisjunctRow, ...]
    solver_calls: int


def _judge(program: ir.Program, rs: ir.RuleSet, witness: Witness) -> Verdict:
    try:
        state = load_state(witness.state, program)
        return Validator(rs).validate(state, load_request(witness.request, state, program, rs))
    except InputError as e:
        raise ReplayError(f"a liveness witness is not valid input: {e}") from None


def _waived_by(v: Verdict, check: ir.Check, exc: ir.Exception_) -> bool:
    return any(c.name == check.name and e == exc for c, _, e in v.trace)


def _verdict(v: Verdict) -> Judged:
    f = v.failed
    return Judged("accept" if v.accepted else "reject", f.layer.value if f else None, f.code if f else None,
                  f.name if f else None, f.cite if f else None)


def _said(j: Judged) -> str:
    """As the JSON object would print in a message."""
    return str({"verdict": j.verdict, "layer": j.layer, "code": j.code, "check": j.check, "clause": j.clause})


def replay(program: ir.Program, rs: ir.RuleSet, rule: RawRule) -> RuleRow:
    """The rule's row, its witness replayed (raises ReplayError if it does not agree)."""
    check, j = rule.check, rule.exception
    if j is None:
        entry = RuleRow(check.name, check.layer.value, check.code, None, check.cite, check.origin, rule.status)
    else:
        exc = check.exceptions[j]
        entry = RuleRow(check.name, check.layer.value, check.code, j + 1, exc.cite, exc.origin, rule.status)
    entry = replace(entry, shadowed_by=tuple(rule.shadowed_by), reason=rule.reason or None)
    w = rule.witness
    if w is None:
        return entry
    entry = replace(entry, witness=w)
    v = _judge(program, rs, w)
    if j is None:
        if v.failed is None or v.failed.name != check.name:
            raise ReplayError(f"the witness for check `{check.name}` replays as {_said(_verdict(v))}, not rejected by it")
        return replace(entry, verdict=_verdict(v))
    if not _waived_by(v, check, check.exceptions[j]):
        raise ReplayError(f"the witness for exception {j + 1} of `{check.name}` is not waived by it under `{rs.name}`")
    without = _judge(program, without_exception(rs, check, j), w)
    decisive = without.failed is not None and without.failed.name == check.name
    if decisive != (rule.status == "live"):
        raise ReplayError(f"the witness for exception {j + 1} of `{check.name}` replays as {_said(_verdict(without))} "
                          f"without it, which does not show it {rule.status}")
    return replace(entry, verdict=_verdict(v), without_it=_verdict(without))


def liveness(program: ir.Program, rs: ir.RuleSet, timeout_ms: int, seed: int, rlimit: int = DEFAULT_RLIMIT) -> LivenessReport:
    sorts = Sorts(program, sorted(rs.catalogue))
    rules, calls = raw_liveness(sorts, rs, timeout_ms, rlimit, seed)
    entries = tuple(replay(program, rs, r) for r in rules)
    found, more = dead_disjuncts(sorts, rs, timeout_ms, rlimit, seed)
    disjuncts = tuple(_disjunct(d) for d in found)
    def count(status: str) -> int:
        return sum(e.status == status for e in entries)
    counts = Counts(count("live"), count("redundant"), count("dead"), count("unknown"), sum(d.status == "dead" for d in disjuncts))
    complete = counts.unknown == 0 and all(d.status == "dead" for d in disjuncts)
    return LivenessReport(rs.name, complete, counts, entries, disjuncts, calls + more)


def _disjunct(d: RawDisjunct) -> DisjunctRow:
    return DisjunctRow(d.where, d.check.name if d.check else None,
                       None if d.index is None or d.where != "except" else d.index + 1,
                       d.index + 1 if d.where == "intends" and d.index is not None else None,
                       source_text(d.disjunct), d.origin, d.status, d.reason or None)


def _request(q: JsonObject | None) -> str:
    assert q is not None  # a live or redundant rule has a witness
    return (f"{q['sender']} as {q['role']} sending {q['srv']}"
            + (f" replacing {q['remote_party_role']}" if q.get("remote_party_role") else "")
            + ("" if q.get("device") else " (no device)"))


def _outcome(v: Judged | None) -> str:
    assert v is not None
    return "accept" if v.verdict == "accept" else f"reject {v.layer} {v.code or ''}".rstrip() + f" by {v.check}"


def format_liveness(result: LivenessReport) -> str:
    """One line per rule, the dead and redundant ones first in the reader's eye (upper case)."""
    c = result.counts
    head = (f"{result.ruleset}: {len(result.rules)} checks and exceptions; {c.live} live"
            + "".join(f", {n} {s}" for s, n in (("redundant", c.redundant), ("dead", c.dead), ("unknown", c.unknown)) if n)
            + (f", {c.dead_disjuncts} dead disjunct(s)" if c.dead_disjuncts else "")
            + ("" if result.complete else " (NOT complete: some questions were not settled)"))
    lines = [head]
    for e in result.rules:
        tag = e.status if e.status == "live" else e.status.upper()
        where = f"{e.layer}{' ' + e.code if e.code else ''}"
        rule = (f"check {e.check} [{where}]" if e.exception is None
                else f"exception {e.exception} of {e.check} [{e.origin}]")
        line = f"  {tag:<9} {rule} ({e.clause}): "
        q = e.witness.request if e.witness is not None else None
        match (e.status, e.exception is None):
            case ("live", True):
                line += f"rejects e.g. {_request(q)}"
            case ("live", False):
                line += f"decides e.g. {_request(q)}: {_outcome(e.verdict)}; without it, {_outcome(e.without_it)}"
            case ("redundant", _):
                line += f"waives e.g. {_request(q)}, but never a request its check would reject (proved)"
            case ("dead", True):
                line += "no request is rejected by it (proved over every state)" + (
                    f"; shadowed by {', '.join(e.shadowed_by)}" if e.shadowed_by else "")
            case ("dead", False):
                line += "never waives a request that reaches its check (proved over every state)" + (
                    f"; shadowed by {', '.join(e.shadowed_by)}" if e.shadowed_by else f"; {e.reason}" if e.reason else "")
            case _:
                line += f"not settled: {e.reason}"
        lines.append(line)
    for d in result.disjuncts:
        place = {"applies": f"applies when of check {d.check}", "except": f"except when of exception {d.exception} of {d.check}",
                 "intends": f"intent {d.intent}"}[d.where]
        never = {"applies": "on a request that every earlier check lets through", "except": "on a request that reaches its check",
                 "intends": "on any request"}[d.where]
        lines.append(f"  {d.status.upper() + ' DISJUNCT':<9} `{d.disjunct}` in the {place} [{d.origin}]: "
                     + (f"never holds {never} (proved over every state)" if d.status == "dead" else f"not settled: {d.reason}"))
    return "\n".join(lines)


__all__ = ["Counts", "DisjunctRow", "Judged", "LivenessReport", "RuleRow", "format_liveness", "liveness", "without_exception"]
