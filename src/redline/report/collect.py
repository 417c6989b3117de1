"""Collect what an evidence bundle reports: proof results from result providers, each with the
SMT-LIB2 obligation that settled it, and the semantic diff of the modification.

A result is a docs/formats.md proof-result dict. Providers are plain functions,
so another source of results (the model checker's multi-step properties) is
one more entry in `PROVIDERS`; nothing downstream looks at where a result
came from, only at its fields (`proof`, `depth`, `counterexample.trace`...).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from redline import progress
from redline.check import checked as ir
from redline.check.generic import with_generic
from redline.codec import result_json
from redline.jsondoc import JsonObject
from redline.props import ProofResult, prove
from redline.props.diff import DiffReport
from redline.props.diff import diff as semantic_diff
from redline.props.generic import no_check_made_dead
from redline.props.liveness import LivenessReport, liveness


@dataclass(frozen=True)
class Settings:
    """How the solver is run: the same knobs as `redline prove`, so results are reproducible."""

    modification: str = "mp107"
    timeout_ms: int = 10_000
    rlimit: int = 20_000_000
    seed: int = 0


@dataclass(frozen=True)
class Obligation:
    """One solver query in SMT-LIB2, and what Z3 answered on it (`unsat`, `sat`, or None when unsettled)."""

    file: str  # a file name, named after the property, the rule set(s) and the encoding
    text: str
    answer: str | None


@dataclass
class Collected:
    result: JsonObject  # docs/formats.md proof result
    obligation: Obligation | None = None
    source: str = "redline prove"


@dataclass
class Collection:
    results: list[Collected] = field(default_factory=list)
    diff: DiffReport | None = None
    diff_seconds: float = 0.0
    liveness: dict[str, LivenessReport] = field(default_factory=dict)  # by rule set
    liveness_seconds: float = 0.0


ResultProvider = Callable[[ir.Program, Settings], list[Collected]]


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)


def in_scope(program: ir.Program, modification: str) -> set[str]:
    """The expectation keys a bundle for `modification` reports: the modification, the rule set it
    amends, and the pair of the two. Properties of other modifications are another bundle's business."""
    mod = program.ruleset(modification)
    if mod is None:
        return {modification}
    keys = {mod.name}
    if mod.base is not None:
        keys |= {mod.base, f"{mod.base}..{mod.name}"}
    return keys


def scoped(program: ir.Program, modification: str) -> ir.Program:
    """`program` with only the properties, and of each only the expectations, the bundle reports: a
    property that expects something of a rule set off the modification's chain (another modification)
    belongs to that modification's bundle, even where it also says something of the base."""
    keys = in_scope(program, modification)
    chain: set[str] = set()
    at = program.ruleset(modification)
    while at is not None and at.name not in chain:
        chain.add(at.name)
        at = program.ruleset(at.base) if at.base is not None else None
    props = []
    for p in program.properties:
        if any(name.lower() not in chain for x in p.expectations for name in x.key.split("..")):
            continue
        expectations = tuple(x for x in p.expectations if x.key in keys)
        if expectations:
            props.append(replace(p, expectations=expectations))
    return replace(program, properties=tuple(props))


def prove_results(program: ir.Program, settings: Settings) -> list[Collected]:
    """`redline prove` on every property in the modification's scope, keeping the SMT-LIB2 text of each query it made."""
    # the properties naming the modification, and the generic library (proofs/generic.redline) bound to it
    program = with_generic(scoped(program, settings.modification), settings.modification)
    texts: dict[str, str] = {}

    def keep(name: str, text: str) -> None:
        texts[name] = text
    out = []
    for r in prove(program, None, settings.timeout_ms, settings.rlimit, settings.seed, keep):
        j = result_json(r)
        obligation = None
        # The query that settled the result: unsat on the unbounded encoding is a proof over every state
        # (forall proved, exists refuted); sat on a bounded one is a model (a counterexample or witness).
        mode = r.settled_by or "unbounded"
        text = texts.get(f"{r.property}.{r.ruleset}.{mode}")
        if text is not None:
            answer = None if r.status == "unknown" else ("unsat" if mode == "unbounded" else "sat")
            obligation = Obligation(_safe(f"{r.property}.{r.ruleset}.{mode}") + ".smt2", text, answer)
        out.append(Collected(j, obligation))
    return out


def provider_of(results: Callable[[ir.Program, Settings], Iterable[Any]], source: str) -> ResultProvider:
    """A provider from any function returning results as docs/formats.md dicts (or objects with `to_json()`),
    without SMT-LIB2 obligations: their findings are replayed; a result with no finding is reported as
    not re-checked. E.g. `PROVIDERS.append(provider_of(lambda p, s: model_check(p, ...), "redline check-model"))`."""
    def provide(program: ir.Program, settings: Settings) -> list[Collected]:
        return [Collected(_json(r), None, source) for r in results(program, settings)]
    return provide


def _json(r: Any) -> JsonObject:
    """A provider's result as docs/formats.md JSON: a ProofResult through the codec, a dict as given,
    anything else by its own `to_json()`."""
    if isinstance(r, ProofResult):
        return result_json(r)
    return r if isinstance(r, dict) else dict(r.to_json())


# Every source of proof results, in the order they appear in the report. The model checker's
# multi-step results (issue 5) join as one more function returning docs/formats.md result dicts.
PROVIDERS: list[ResultProvider] = [prove_results]


def collect(program: ir.Program, settings: Settings, providers: list[ResultProvider] | None = None) -> Collection:
    """Run every provider, then the semantic diff of the modification against the rule set it amends,
    and the liveness of every rule of both."""
    c = Collection()
    for provider in PROVIDERS if providers is None else providers:
        c.results.extend(provider(program, settings))
    new = program.ruleset(settings.modification)
    if new is not None and new.base is not None and new.base in program.rulesets:
        start = time.perf_counter()
        progress.note(f"the semantic diff {new.base} -> {new.name}")
        c.diff = semantic_diff(program, program.rulesets[new.base], new, settings.timeout_ms, settings.seed,
                               rlimit=settings.rlimit)
        c.diff_seconds = time.perf_counter() - start
    if new is not None:
        start = time.perf_counter()
        for name in [n for n in (new.base, new.name) if n is not None and n in program.rulesets]:
            progress.note(f"liveness of {name}")
            c.liveness[name] = liveness(program, program.rulesets[name], settings.timeout_ms, settings.seed, settings.rlimit)
        c.liveness_seconds = time.perf_counter() - start
        if new.base is not None and new.base in c.liveness:  # the generic property liveness decides, from the runs above
            dead = no_check_made_dead(program, new, settings.timeout_ms, settings.rlimit, settings.seed, c.liveness)
            if dead.status == "unknown" or dead.witness or dead.counterexample:  # else vacuous: no check to compare
                c.results.append(Collected(result_json(dead), None, "redline liveness"))
    return c
