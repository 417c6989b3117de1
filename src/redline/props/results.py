"""What proving a property gives: its result, the clauses and assumptions it rests on, and the
error that a model the interpreter does not confirm is. Shared by the one-step prover
(`prover.py`) and the model checker (`modelcheck.py`), which is why it lives apart from both.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from redline.check import checked as ir
from redline.jsondoc import JsonObject


class ReplayError(Exception):
    """A model the interpreter does not confirm: a bug in redline, never a finding."""


@dataclass(frozen=True, order=True)
class VerdictKey:
    """Which request of a finding, judged under which rule set (`REQUEST@RULESET` in the JSON)."""
    request: str
    ruleset: str


@dataclass(frozen=True)
class Replayed:
    """The interpreter's verdict on a finding's request, and the clauses it turned on: the check that
    rejected it, or every check that passed or was waived."""
    verdict: str
    layer: str | None
    code: str | None
    check: str | None
    clause: str | None
    effects: tuple[JsonObject, ...]  # as `validate` prints them: device, trust_anchor, owner
    rests_on: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    """A request some party of a finding's state could send, with what the interpreter does with it."""
    ruleset: str
    request: JsonObject  # REQUEST.json
    verdict: Replayed


@dataclass(frozen=True)
class Event:
    """An environment event of a trace step."""
    name: str
    cite: str
    party: str | None = None  # the party that ceased to be a DCC User


@dataclass(frozen=True)
class Step:
    """One step of a run: a state, then a request (with the interpreter's verdict) or an event; the last
    step has neither, only the state the run reaches."""
    state: JsonObject  # STATE.json
    request: JsonObject | None = None  # REQUEST.json
    verdict: JsonObject | None = None  # the verdict as `validate` prints it
    event: Event | None = None


@dataclass(frozen=True)
class Found:
    """A counterexample or witness: the records the model decodes into, replayed.

    `verdicts` is None for a multi-step trace, whose verdicts are in its steps."""
    state: JsonObject | None
    request: JsonObject | None
    trace: tuple[Step, ...]
    parties: dict[str, str]
    values: dict[str, str]
    verdicts: dict[VerdictKey, Replayed] | None = None
    cases: tuple[Case, ...] = ()  # further requests the same finding rests on, each in its own state


@dataclass(frozen=True)
class Case:
    """One more replayed request of a finding, in its own state: a proof that rests on one witness per
    check (props/generic.py, no_check_made_dead) lists the rest here, and the bundle replays each."""
    check: str
    state: JsonObject
    request: JsonObject
    verdicts: dict[VerdictKey, Replayed]


@dataclass(frozen=True)
class ProofResult:
    property: str
    rulesets: tuple[str, ...]  # one, or the old and the new one of a relational property
    status: str
    expected: str
    seconds: float
    clauses: tuple[str, ...]
    assumptions: tuple[str, ...]
    proof: str = "one-step"
    reason: str | None = None
    counterexample: Found | None = None
    witness: Found | None = None
    candidates: tuple[Candidate, ...] = ()
    solver_calls: int = 0
    settled_by: str | None = None
    # Model checking (props/modelcheck.py):
    events: tuple[str, ...] | None = None  # the environment events the property allows
    depth: int | None = None  # a bounded result's depth: the run's length, or the depth searched
    method: str | None = None  # how an unbounded proof was found: 1-induction or an inductive invariant
    invariant: tuple[str, ...] | None = None  # its conjuncts, in the property language
    claim: str = ""  # what the property says, in words: its cite, shown wherever its result is
    # a generic property's result where the modification acknowledges another outcome: why (its reason)
    acknowledged: str | None = None

    def matches(self) -> bool:
        return self.status == self.expected

    @builtins.property  # the field `property` hides the builtin in the class body
    def ruleset(self) -> str:
        """The rule sets as the property file and the JSON name them: `mp107`, `baseline..mp107`."""
        return "..".join(self.rulesets)


def rests_of(program: ir.Program, rulesets: list[ir.RuleSet], prop: ir.Property) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The clauses and assumptions of every rule the encoding of these rule sets contains."""
    clauses: dict[str, None] = {}
    assumptions: dict[str, None] = dict.fromkeys(prop.rests)

    def visit(e: Any) -> None:
        if isinstance(e, ir.Defined):
            if e.cite:
                clauses.setdefault(e.cite)
            assumptions.update(dict.fromkeys(e.rests))
        for child in ir.children(e):
            visit(child)

    for rs in rulesets:
        for c in rs.checks:
            clauses.setdefault(c.cite)
            assumptions.update(dict.fromkeys(c.rests))
            for x in c.exceptions:
                clauses.setdefault(x.cite)
                assumptions.update(dict.fromkeys(x.rests))
                visit(x.when)
            for e in (c.applies, c.requires):
                if e is not None:
                    visit(e)
        for ef in rs.effects:
            clauses.setdefault(ef.cite)
            assumptions.update(dict.fromkeys(ef.rests))
            visit(ef.when)
    known = [a for a in assumptions if a in program.assumptions]
    return tuple(clauses), tuple(sorted(known, key=lambda a: (len(a), a)))
