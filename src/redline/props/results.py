"""What proving a property gives: its result, the clauses and assumptions it rests on, and the
error that a model the interpreter does not confirm is. Shared by the one-step prover
(`prover.py`) and the model checker (`modelcheck.py`), which is why it lives apart from both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redline.check import checked as ir


class ReplayError(Exception):
    """A model the interpreter does not confirm: a bug in redline, never a finding."""



@dataclass
class ProofResult:
    property: str
    ruleset: str
    status: str
    expected: str
    seconds: float
    clauses: list[str]
    assumptions: list[str]
    proof: str = "one-step"
    reason: str | None = None
    counterexample: dict[str, Any] | None = None
    witness: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    solver_calls: int = 0
    settled_by: str | None = None
    # Model checking (props/modelcheck.py):
    events: list[str] | None = None  # the environment events the property allows
    depth: int | None = None  # a bounded result's depth: the run's length, or the depth searched
    method: str | None = None  # how an unbounded proof was found: 1-induction or an inductive invariant
    invariant: list[str] | None = None  # its conjuncts, in the property language
    claim: str = ""  # what the property says, in words: its cite, shown wherever its result is

    def matches(self) -> bool:
        return self.status == self.expected

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "property": self.property, "ruleset": self.ruleset, "status": self.status, "expected": self.expected,
            "proof": self.proof, "seconds": round(self.seconds, 3), "clauses": self.clauses, "assumptions": self.assumptions,
            "settled_by": self.settled_by, "solver_calls": self.solver_calls,
        }
        if self.claim:
            out["claim"] = self.claim
        if self.reason:
            out["reason"] = self.reason
        if self.counterexample is not None:
            out["counterexample"] = self.counterexample
        if self.witness is not None:
            out["witness"] = self.witness
        if self.candidates:
            out["candidates"] = self.candidates
        for key in ("events", "depth", "method", "invariant"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def rests_of(program: ir.Program, rulesets: list[ir.RuleSet], prop: ir.Property) -> tuple[list[str], list[str]]:
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
    return list(clauses), sorted(known, key=lambda a: (len(a), a))
