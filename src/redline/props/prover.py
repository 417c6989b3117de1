"""Prove the properties of a program and replay what the solver found."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from redline import progress
from redline.check import checked as ir
from redline.check.propir import RunProp
from redline.interp import InputError, Validator, Verdict, load_request, load_state
from redline.jsondoc import JsonObject
from redline.props.concrete import anchors_after, concrete
from redline.props.crosscheck import Judged, Said, cross_check
from redline.props.modelcheck import DEPTH, check_temporal
from redline.props.results import Candidate, Found, ProofResult, Replayed, ReplayError, VerdictKey, rests_of
from redline.smt import Encoder, Sorts
from redline.smt.concrete import agrees
from redline.smt.decode import Records, decode
from redline.smt.properties import Decided, decide, model_verdicts
from redline.smt.symbolic import reshaped_srvs, unshaped_reason


class _GaveUp(Exception):
    """The solver ran out of budget cross-checking a finding: the result is unknown, not an internal error."""


def replayed(v: Verdict) -> Replayed:
    """The verdict's public fields, and what it turned on: the check that rejected it, or every check
    that passed or was waived."""
    f = v.failed
    rests_on = (f.cite,) if f is not None else tuple(x.cite if x else c.cite for c, outcome, x in v.trace
                                                    if outcome != "skipped" or x is not None)
    return Replayed("accept" if v.accepted else "reject", f.layer.value if f else None, f.code if f else None,
                    f.name if f else None, f.cite if f else None,
                    tuple({"device": d, "trust_anchor": c, "owner": o} for d, c, o in v.effects), rests_on)


def _turned_on(verdicts: dict[VerdictKey, Replayed], candidates: list[Candidate]) -> tuple[str, ...]:
    """The clauses a counterexample or witness turns on, from the verdicts replayed for it."""
    every = [*verdicts.values(), *(c.verdict for c in candidates)]
    return tuple(dict.fromkeys(c for v in every for c in v.rests_on))


def _replay(program: ir.Program, rulesets: list[ir.RuleSet], decided: Decided, records: Records,
            budget: tuple[int, int, int]) -> tuple[dict[VerdictKey, Replayed], list[Candidate]]:
    """Load every decoded record and judge every decoded request; every verdict the model gives must be the interpreter's."""
    said = {Judged(*k): Said(ok, failed[0] if failed else None) for k, (ok, failed) in model_verdicts(decided).items()}
    if not records.states:
        if said:
            raise ReplayError("the solver judged requests, but the model decodes into no state to replay them in")
        return {}, []  # a property over parties or enums alone: nothing for the interpreter to judge
    [(state_name, state_json)] = list(records.states.items())
    try:
        state = load_state(state_json, program)
    except InputError as e:
        raise ReplayError(f"the decoded state is not valid input: {e}") from None
    verdicts: dict[VerdictKey, Replayed] = {}
    interpreted: dict[Judged, Said] = {}
    for rname, req_json in records.requests.items():
        for which, rs in enumerate(rulesets):
            try:
                req = load_request(req_json, state, program, rs)
            except InputError as e:
                raise ReplayError(f"the decoded request `{rname}` is not valid input: {e}") from None
            v = Validator(rs).validate(state, req)
            verdicts[VerdictKey(rname, rs.name)] = replayed(v)
            interpreted[Judged(which, state_name, rname)] = Said(v.accepted, v.failed.name if v.failed else None)
    cross_check(said, interpreted, [rs.name for rs in rulesets])
    candidates = _candidates(decided.compiler.sorts, program, rulesets, state_json, state, budget) \
        if decided.compiler is not None and not records.requests else []
    return verdicts, candidates


def _effect_srvs(rs: ir.RuleSet) -> list[str]:
    """The SRVs whose acceptance can change a trust anchor."""
    named: set[str] = {s for s, row in rs.catalogue.items() if row.get("replaces_trust_anchor")}

    def visit(e: Any) -> None:
        if isinstance(e, ir.Const) and isinstance(e.value, str) and e.value in rs.catalogue and str(e.type) == "Service":
            named.add(e.value)
        for child in ir.children(e):
            visit(child)
    for ef in rs.effects:
        visit(ef.when)
    return sorted(named)


def _candidates(sorts: Sorts, program: ir.Program, rulesets: list[ir.RuleSet], state_json: JsonObject, state: Any,
                budget: tuple[int, int, int]) -> list[Candidate]:
    """Every request a party of the state could send that might change a trust anchor, judged by the
    interpreter and, independently, by the encoding: the two must agree on each. `budget` is the
    solver's (timeout_ms, rlimit, seed)."""
    if not state_json["devices"]:
        return []
    device = next(iter(state_json["devices"]))
    parties = sorted(state_json["parties"])
    out = []
    for rs in rulesets:
        validator, encoder = Validator(rs), Encoder(sorts, rs)
        for srv in _effect_srvs(rs):
            for sender in parties:
                for role in state_json["parties"][sender]["roles"]:
                    targets = _targets(program, rs, srv, sender, parties)
                    for cell, owner in targets:
                        req: JsonObject = {"sender": sender, "role": role, "srv": srv, "device": device}
                        if cell is not None:
                            req["remote_party_role"], req["new_certificate_owner"] = cell, owner
                        loaded = load_request(req, state, program, rs)
                        v = validator.validate(state, loaded)
                        x = concrete(state, loaded)
                        same = agrees(encoder, x, v.accepted, v.failed.name if v.failed else None, anchors_after(x, v), *budget)
                        if same is None:
                            raise _GaveUp(f"the solver gave up cross-checking candidate {req} under {rs.name}")
                        if not same:
                            raise ReplayError(f"the encoding and the interpreter disagree on candidate {req} under {rs.name}")
                        out.append(Candidate(rs.name, req, replayed(v)))
    return out


def _targets(program: ir.Program, rs: ir.RuleSet, srv: str, sender: str, parties: list[str]) -> list[tuple[str | None, str | None]]:
    """The certificates a candidate request for `srv` carries: for an SRV that replaces a cell, every
    cell with every owner; for one that only carries a certificate (6.23), the sender's own for each cell
    an effect writes by name (what the effect is about), and none (REQUEST.json may leave it out); for any other, none."""
    row = rs.catalogue[srv]
    if row.get("replaces_trust_anchor"):
        return [(c, o) for c in program.cells() for o in parties]
    if not ir.carries_certificate(row):
        return [(None, None)]
    named = sorted({str(ef.cell.value) for ef in rs.effects if isinstance(ef.cell, ir.Const)})
    return [(None, None), *((c, sender) for c in named or program.cells())]  # REQUEST.json may leave it out


def prove(
    program: ir.Program, only: str | None, timeout_ms: int, rlimit: int, seed: int,
    smt2: Callable[[str, str], None] | None = None, depth: int | None = None,
) -> list[ProofResult]:
    """Decide every property (or `only`) under every rule set it names (the bodies were checked by check/).

    Temporal properties go to the model checker, which searches runs up to `depth` steps.

    Reproducible across processes: each result is decided in a Z3 context of its own (`Sorts.fresh`
    says why), and the cyclic garbage collector is paused, so that within a context terms are freed
    (and their numbers reused) at the same points on every run. What a run leaves is collected at its end."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _prove(program, only, timeout_ms, rlimit, seed, smt2, depth)
    finally:
        if paused:
            gc.enable()


def _prove(
    program: ir.Program, only: str | None, timeout_ms: int, rlimit: int, seed: int,
    smt2: Callable[[str, str], None] | None, depth: int | None,
) -> list[ProofResult]:
    first = Sorts(program, sorted(next(iter(program.rulesets.values())).catalogue))
    results = []
    chosen = [p for p in program.properties if only is None or p.name == only]
    for i, prop in enumerate(chosen, 1):
        for key, expected in prop.expected.items():
            progress.note(f"property {i} of {len(chosen)}: {prop.name} [{key}]")
            sorts = first.fresh()
            if isinstance(prop.body, RunProp):  # the checker allows it one rule set only
                results.append(check_temporal(sorts, program, prop, key, expected, timeout_ms, rlimit, seed, depth or DEPTH, smt2))
                continue
            rulesets = [program.rulesets[k] for k in key.split("..")]
            start = time.perf_counter()
            writer = (lambda mode, text, _p=prop.name, _k=key: smt2(f"{_p}.{_k}.{mode}", text)) if smt2 else None
            decided = decide(sorts, program, rulesets, prop.body, timeout_ms, rlimit, seed, writer)
            clauses, assumptions = rests_of(program, rulesets, prop)
            if decided.used is not None:  # an unbounded proof: cite only what its unsat core needed
                clauses = tuple(dict.fromkeys(cite for cite, _ in decided.used))
                needed = dict.fromkeys([*prop.rests, *(a for _, rests in decided.used for a in rests)])
                assumptions = tuple(sorted((a for a in needed if a in program.assumptions), key=lambda a: (len(a), a)))
            result = ProofResult(prop.name, tuple(r.name for r in rulesets), decided.status, expected, 0.0, clauses,
                                 assumptions, reason=decided.reason, solver_calls=decided.solver_calls,
                                 settled_by=decided.mode, claim=prop.cite, acknowledged=prop.acknowledged(key))
            if decided.model is not None and decided.compiler is not None:
                result = _finding(program, rulesets, decided, result, (timeout_ms, rlimit, seed))
            if result.status == "proved" and (reshaped := reshaped_srvs(rulesets)):
                # A refutation still stands (it is replayed); a proof covered only one side's request shapes.
                result = replace(result, status="unknown", settled_by=None, reason=unshaped_reason(rulesets, reshaped))
            results.append(replace(result, seconds=time.perf_counter() - start))
    return results


def _finding(program: ir.Program, rulesets: list[ir.RuleSet], decided: Decided, result: ProofResult,
             budget: tuple[int, int, int]) -> ProofResult:
    """The result with its model decoded and replayed: the counterexample or witness, and the candidates."""
    assert decided.model is not None and decided.compiler is not None
    records = decode(decided.model, decided.compiler, decided.binders)
    try:
        verdicts, candidates = _replay(program, rulesets, decided, records, budget)
    except _GaveUp as e:  # a finding redline could not cross-check is not reported as one
        return replace(result, status="unknown", reason=str(e), settled_by=None)
    found = Found(next(iter(records.states.values()), None), next(iter(records.requests.values()), None), (),
                  records.parties, records.values, verdicts)
    shown = tuple(c for c in candidates if c.verdict.verdict == "accept" or
                  not rulesets[0].catalogue[c.request["srv"]].get("replaces_trust_anchor") or
                  c.request.get("remote_party_role") == "NetworkOperator")
    turned_on = _turned_on(verdicts, candidates)
    return replace(result, counterexample=found if decided.status == "refuted" else None,
                   witness=None if decided.status == "refuted" else found, candidates=shown,
                   clauses=turned_on or result.clauses)  # a finding rests on the rules its replayed verdicts turned on


__all__ = ["ProofResult", "ReplayError", "prove"]
