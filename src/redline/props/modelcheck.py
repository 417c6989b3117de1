"""Decide temporal properties, and replay every trace the solver finds.

An invariant (`always`) is refuted by the shortest run that breaks it, and
proved by an inductive invariant; a reachability property is proved by the
shortest run that reaches its target, and refuted by an inductive proof
that no run does. A run is decoded into the docs/formats.md trace (each step's
state, and its request with the interpreter's verdict or its event), and
every step is replayed: the interpreter must accept each request, and the
next state must be exactly what the verdict's effects or the event make of
the previous one. A disagreement is a bug in redline (ReplayError).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from redline.check import checked as ir
from redline.check import propir as p
from redline.interp import InputError, Validator, load_request, load_state
from redline.interp.effects import apply_effects
from redline.jsondoc import JsonObject
from redline.props.results import Event, Found, ProofResult, ReplayError, Step, rests_of
from redline.smt.decode import Decoder
from redline.smt.symbolic import Sorts
from redline.smt.temporal import ROWS, Run, bmc, induction
from redline.times import parse_iso

DEPTH = 4  # the bounded search's default depth: each shipped story is at most two steps long


def check_temporal(sorts: Sorts, program: ir.Program, prop: ir.Property, key: str, expected: str,
                   timeout_ms: int, rlimit: int, seed: int, depth: int = DEPTH,
                   smt2: Callable[[str, str], None] | None = None) -> ProofResult:
    """Decide one temporal property under one rule set. `smt2` receives an unbounded proof's
    obligations (named `PROPERTY.RULESET.unbounded`), for a second solver."""
    start = time.perf_counter()
    shape = prop.body
    assert isinstance(shape, p.RunProp)
    events = list(shape.events)
    invariant = shape.kind is p.Quantifier.FORALL
    ruleset = program.rulesets[key]
    clauses, assumptions = rests_of(program, [ruleset], prop)
    result = ProofResult(prop.name, (key,), "unknown", expected, 0.0, clauses, assumptions, claim=prop.cite,
                         events=tuple(e.name for e in events))
    found = bmc(sorts, program, ruleset, shape, depth, timeout_ms, rlimit, seed)
    result = replace(result, solver_calls=found.solver_calls)
    if found.run is not None:
        decoded, parties, values = decode_run(found.run, events)
        trace = replay(program, ruleset, events, decoded)
        status = "refuted" if invariant else "proved"
        record = Found(trace[0].state, None, trace, parties, values)
        turned_on = tuple(dict.fromkeys(c for step in trace if step.verdict is not None for c in _rests_on(step.verdict)))
        result = replace(result, status=status, proof="bounded", depth=found.run.depth,
                         # a run over states with at most ROWS Registration Data assignments:
                         settled_by=f"bounded{ROWS}",
                         counterexample=record if status == "refuted" else None,
                         witness=None if status == "refuted" else record,
                         clauses=turned_on or result.clauses)
    else:
        # a search the clock stopped leaves its context as it was when stopped (Sorts.fresh)
        proof = induction(sorts if found.reason is None else sorts.fresh(), program, ruleset, shape, timeout_ms, rlimit, seed)
        result = replace(result, solver_calls=result.solver_calls + proof.solver_calls)
        if proof.status == "proved":
            result = replace(result, status="proved" if invariant else "refuted", proof="unbounded", method=proof.method,
                             invariant=None if proof.invariant is None else tuple(proof.invariant), settled_by="unbounded")
            if smt2 is not None and proof.smt2 is not None:
                smt2(f"{prop.name}.{key}.unbounded", proof.smt2)
        else:
            reached = f"no run of up to {found.depth_reached} steps" if found.depth_reached >= 0 else "no depth searched"
            result = replace(result, proof="bounded", depth=found.depth_reached,
                             reason=found.reason or f"{reached} {'breaks' if invariant else 'reaches'} it; {proof.reason}")
    return replace(result, seconds=time.perf_counter() - start)


def _rests_on(verdict: JsonObject) -> list[str]:
    if verdict["verdict"] == "reject":
        return [verdict["clause"]]
    return [t["clause"] for t in verdict["trace"] if t["outcome"] != "skipped" or "waived_by" in t]


def decode_run(run: Run, events: list[ir.Event]) -> tuple[tuple[Step, ...], dict[str, str], dict[str, str]]:
    """The run as trace steps, ending with the state it reaches; and the property's bound parties
    (their ids) and enum values, by name."""
    d = Decoder(run.model, run.comp.sorts)
    # The property's parties first, so their ids read in binder order.
    parties = {b.name: d.party(b.value) for b in run.binders if b.sort is p.Prim.PARTY}
    if run.states:
        d.own(run.states[0])  # a bound Device that is the request's device gets its id
    values = {b.name: d.device(b.value) if b.sort is p.Prim.DEVICE else d.enum(b.value)
              for b in run.binders if b.sort not in (p.Prim.PARTY, p.Prim.STATE)}
    moves: list[tuple[JsonObject | None, Event | None]] = []
    for prev, step in zip(run.states, run.steps, strict=False):
        kind = d._eval(step.kind).as_long()
        if kind == 0:
            moves.append((d.request(prev, step.request), None))
        else:
            ev = events[kind - 1]
            party = d.party(step.leaver) if ev.target == "dcc_user" and step.leaver is not None else None
            moves.append((None, Event(ev.name, ev.cite, party)))
    for st in run.states:  # once to number every party any state names, then for real
        d.state(st)
    states = [d.state(st) for st in run.states]
    trace = [Step(s, request=q, event=e) for s, (q, e) in zip(states, moves, strict=False)] + [Step(states[-1])]
    return tuple(trace), parties, values


def replay(program: ir.Program, ruleset: ir.RuleSet, events: list[ir.Event], trace: tuple[Step, ...]) -> tuple[Step, ...]:
    """Judge every request of the trace with the interpreter and check every transition; the trace with
    each request's verdict."""
    validator = Validator(ruleset)
    by_name = {e.name: e for e in events}
    out: list[Step] = []
    for i, (step, nxt) in enumerate(zip(trace, trace[1:], strict=False), 1):
        try:
            state = load_state(step.state, program)
        except InputError as e:
            raise ReplayError(f"step {i}: the decoded state is not valid input: {e}") from None
        if step.request is not None:
            try:
                request = load_request(step.request, state, program, ruleset)
            except InputError as e:
                raise ReplayError(f"step {i}: the decoded request is not valid input: {e}") from None
            verdict = validator.validate(state, request).to_json()
            step = replace(step, verdict=verdict)
            if verdict["verdict"] != "accept":
                raise ReplayError(f"step {i}: the solver's run has the request accepted; the interpreter rejects it "
                                  f"({verdict['check']})")
            if apply_effects(step.state, verdict["effects"]) != nxt.state:
                raise ReplayError(f"step {i}: the state after the request is not what the verdict's effects make of it")
        elif step.event is not None:
            check_event(i, by_name[step.event.name], step, nxt)
        else:
            raise ReplayError(f"step {i}: neither a request nor an event leads to the next state")
        out.append(step)
    return (*out, *trace[len(out):])


def check_event(i: int, ev: ir.Event, step: Step, nxt: Step) -> None:
    """An event changes only what its kind may change."""
    a, b = step.state, nxt.state
    same = dict.__eq__
    if ev.target == "now":
        ok = parse_iso(b["now"]) > parse_iso(a["now"]) and same({**a, "now": None}, {**b, "now": None})
    elif ev.target == "dcc_user":
        gone = [p for p in a["parties"] if a["parties"][p]["dcc_user"] and not b["parties"][p]["dcc_user"]]
        back = {p: {**v, "dcc_user": a["parties"][p]["dcc_user"]} for p, v in b["parties"].items()}
        ok = gone == [step.event.party if step.event else None] and same({**a, "parties": None}, {**b, "parties": None}) and back == a["parties"]
    else:
        mpxns = {d.get("mpxn") for d in a["devices"].values()}

        def kept(s: JsonObject) -> dict[str, list[Any]]:
            return {m: sorted((x for x in rows if not (m in mpxns and x["role"] in ev.roles)), key=str)
                    for m, rows in s["registration"].items()}
        ok = same({**a, "registration": None}, {**b, "registration": None}) and \
            {m: r for m, r in kept(a).items() if r} == {m: r for m, r in kept(b).items() if r}
    if not ok:
        raise ReplayError(f"step {i}: event `{ev.name}` changed more than it may")


__all__ = ["DEPTH", "check_temporal", "check_event", "decode_run", "replay"]
