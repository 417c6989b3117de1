"""Prove the properties of a program and replay what the solver found."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from redline import progress
from redline.check import checked as ir
from redline.check.propir import RunProp
from redline.interp import InputError, Validator, load_request, load_state
from redline.props.concrete import anchors_after, concrete
from redline.props.modelcheck import DEPTH, check_temporal
from redline.props.results import ProofResult, ReplayError, rests_of
from redline.smt import Encoder, Sorts
from redline.smt.concrete import agrees
from redline.smt.decode import decode
from redline.smt.properties import Decided, decide, model_verdict


class _GaveUp(Exception):
    """The solver ran out of budget cross-checking a finding: the result is unknown, not an internal error."""


def verdict_record(v: Any) -> dict[str, Any]:
    j: dict[str, Any] = v.to_json()
    out = {k: j[k] for k in ("verdict", "layer", "code", "check", "clause", "effects")}
    # What this verdict turned on: the check that rejected it, or every check that passed or was waived.
    out["rests_on"] = [j["clause"]] if j["verdict"] == "reject" else [t["clause"] for t in j["trace"] if t["outcome"] != "skipped" or "waived_by" in t]
    return out


def _turned_on(found: dict[str, Any], candidates: list[dict[str, Any]]) -> list[str]:
    """The clauses a counterexample or witness turns on, from the verdicts replayed for it."""
    verdicts = [*found["verdicts"].values(), *(c["verdict"] for c in candidates)]
    return list(dict.fromkeys(c for v in verdicts for c in v["rests_on"]))


def _replay(program: ir.Program, rulesets: list[ir.RuleSet], decided: Decided, records: dict[str, Any],
            budget: tuple[int, int, int]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Load every decoded record and judge every decoded request; compare with the model."""
    if not records["states"]:
        return {}, []  # a property over parties or enums alone: nothing for the interpreter to judge
    [(state_name, state_json)] = list(records["states"].items())
    try:
        state = load_state(state_json, program)
    except InputError as e:
        raise ReplayError(f"the decoded state is not valid input: {e}") from None
    verdicts: dict[str, dict[str, Any]] = {}
    for rname, req_json in records["requests"].items():
        for which, rs in enumerate(rulesets):
            try:
                req = load_request(req_json, state, program, rs)
            except InputError as e:
                raise ReplayError(f"the decoded request `{rname}` is not valid input: {e}") from None
            v = Validator(rs).validate(state, req)
            verdicts[f"{rname}@{rs.name}"] = verdict_record(v)
            said_by_model = model_verdict(decided, which, state_name, rname)
            if said_by_model is not None:
                said, failed = said_by_model
                if said != v.accepted or (failed[:1] != ([v.failed.name] if v.failed else [])):
                    raise ReplayError(f"the solver's verdict on `{rname}` under {rs.name} ({'accept' if said else failed}) "
                                      f"differs from the interpreter's ({v.to_json()['verdict']} {v.failed.name if v.failed else ''})")
    candidates = _candidates(decided.compiler.sorts, program, rulesets, state_json, state, budget) \
        if decided.compiler is not None and not records["requests"] else []
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


def _candidates(sorts: Sorts, program: ir.Program, rulesets: list[ir.RuleSet], state_json: dict[str, Any], state: Any,
                budget: tuple[int, int, int]) -> list[dict[str, Any]]:
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
                        req = {"sender": sender, "role": role, "srv": srv, "device": device}
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
                        out.append({"ruleset": rs.name, "request": req, "verdict": verdict_record(v)})
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

    Temporal properties go to the model checker, which searches runs up to `depth` steps. The cyclic
    garbage collector is paused meanwhile, so that the SMT-LIB2 text of each obligation is the same
    bytes on every run (smt/smt2.py says why); what the run leaves is collected at its end."""
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
    catalogue = next(iter(program.rulesets.values())).catalogue
    sorts = Sorts(program, sorted(catalogue))
    results = []
    chosen = [p for p in program.properties if only is None or p.name == only]
    for i, prop in enumerate(chosen, 1):
        for key, expected in prop.expected.items():
            progress.note(f"property {i} of {len(chosen)}: {prop.name} [{key}]")
            if isinstance(prop.body, RunProp):  # the checker allows it one rule set only
                results.append(check_temporal(sorts, program, prop, key, expected, timeout_ms, rlimit, seed, depth or DEPTH, smt2))
                continue
            rulesets = [program.rulesets[k] for k in key.split("..")]
            start = time.perf_counter()
            writer = (lambda mode, text, _p=prop.name, _k=key: smt2(f"{_p}.{_k}.{mode}", text)) if smt2 else None
            decided = decide(sorts, program, rulesets, prop.body, timeout_ms, rlimit, seed, writer)
            clauses, assumptions = rests_of(program, rulesets, prop)
            if decided.used is not None:  # an unbounded proof: cite only what its unsat core needed
                clauses = list(dict.fromkeys(cite for cite, _ in decided.used))
                needed = dict.fromkeys([*prop.rests, *(a for _, rests in decided.used for a in rests)])
                assumptions = sorted((a for a in needed if a in program.assumptions), key=lambda a: (len(a), a))
            result = ProofResult(prop.name, key, decided.status, expected, 0.0, clauses, assumptions,
                                 reason=decided.reason, solver_calls=decided.solver_calls, settled_by=decided.mode,
                                 claim=prop.cite)
            if decided.model is not None and decided.compiler is not None:
                records = decode(decided.model, decided.compiler, decided.binders)
                try:
                    verdicts, candidates = _replay(program, rulesets, decided, records, (timeout_ms, rlimit, seed))
                except _GaveUp as e:  # a finding redline could not cross-check is not reported as one
                    result.status, result.reason, result.settled_by = "unknown", str(e), None
                    result.seconds = time.perf_counter() - start
                    results.append(result)
                    continue
                state = next(iter(records["states"].values()), None)
                request = next(iter(records["requests"].values()), None)
                found = {"state": state, "request": request, "trace": [], "parties": records["parties"],
                         "values": records["values"], "verdicts": verdicts}
                if decided.status == "refuted":
                    result.counterexample = found
                else:
                    result.witness = found
                result.candidates = [c for c in candidates if c["verdict"]["verdict"] == "accept" or
                                     not rulesets[0].catalogue[c["request"]["srv"]].get("replaces_trust_anchor") or
                                     c["request"].get("remote_party_role") == "NetworkOperator"]
                turned_on = _turned_on(found, candidates)
                if turned_on:  # a finding rests on the rules its replayed verdicts turned on
                    result.clauses = turned_on
            result.seconds = time.perf_counter() - start
            results.append(result)
    return results


__all__ = ["ProofResult", "ReplayError", "prove"]
