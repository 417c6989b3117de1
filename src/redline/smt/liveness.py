"""Can every rule take effect? Each check's rejection and each exception's waiver, as goals.

A rule that can never take effect is a drafting error a reviewer wants to
hear about: a check whose every rejection an earlier check makes first, or
an exception whose condition never holds where its check applies (or only
where the check would pass anyway). For each rule of one rule set:

- a check is live if some request is rejected by it (every earlier check
  passed or was skipped); else dead, and shadowed by each earlier check
  that can be the only one to reject a request it would have rejected;
- an exception is live if it is decisive somewhere: it is the only waiver
  that holds, where the check applies, every earlier check passed, and the
  requirement fails, so that without it the check would reject; redundant
  if it waives requests but none of them decisively; dead if it never
  waives a request that reaches its check.

As in the semantic difference, a witness comes from the bounded encoding
(at most 2 Registration Data assignments: every model is a real state) and
an absence is proved on the unbounded one; anything else is unknown, never
dead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3

from redline.check import checked as ir
from redline.smt.decode import Decoder
from redline.smt.diff import Witness, base_constraints
from redline.smt.encode import Encoder, Outcome
from redline.smt.solver import new_solver
from redline.smt.symbolic import Sorts, SymRequest, SymState, bounded_state


@dataclass
class RawRule:
    check: ir.Check
    exception: int | None  # the exception's index in check.exceptions, or None for the check itself
    status: str  # live | redundant (exceptions only) | dead | unknown
    witness: Witness | None = None  # for live, and for redundant (where it waives)
    shadowed_by: list[str] = field(default_factory=list)  # dead: the earlier checks (or exceptions) that decide first
    reason: str | None = None  # why unknown; for a dead exception that nothing shadows, why it is dead


@dataclass
class RawDisjunct:
    """One disjunct (`A` of `A or B`) of an `applies when`, `except when` or `intends` condition that
    never holds where it could matter (dead), or of which that could not be settled (unknown)."""

    where: str  # applies | except | intends
    check: ir.Check | None
    index: int | None  # the exception's or intent's index
    disjunct: ir.Expr
    origin: str
    status: str  # dead | unknown
    reason: str | None = None


class _Encoding:
    """One state and request, bounded or not, with the rule set's outcome over them."""

    def __init__(self, sorts: Sorts, rs: ir.RuleSet, bounded: bool) -> None:
        self.st = bounded_state(sorts, "lb", 2) if bounded else SymState.fresh(sorts, "lu")
        self.rq = SymRequest.fresh(sorts, "qb" if bounded else "qu")
        self.encoder = Encoder(sorts, rs)
        self.outcome: Outcome = self.encoder.outcome(self.st, self.rq)
        self.base = base_constraints(sorts, rs.catalogue, self.st, self.rq)
        self.true = z3.BoolVal(True, ctx=sorts.ctx)  # so that a conjunction of nothing stays in this context

    def reaches(self, i: int) -> z3.BoolRef:
        """Every check before check i passed or was skipped, and check i applies."""
        earlier = [z3.Not(c.fails) for c in self.outcome.checks[:i]]
        return z3.And(*earlier, self.outcome.checks[i].applies)

    def only_failure(self, i: int) -> z3.BoolRef:
        """No check but (possibly) check i fails: every other one passes, is skipped or is waived."""
        return z3.And(self.true, *[z3.Not(c.fails) for n, c in enumerate(self.outcome.checks) if n != i])

    def only_earlier_failure(self, i: int, k: int) -> z3.BoolRef:
        """Check i would reject, but check k, and no other check before i, rejects first."""
        cs = self.outcome.checks
        return z3.And(cs[i].fails, cs[k].fails, *[z3.Not(c.fails) for n, c in enumerate(cs[:i]) if n != k])

    def passes_before(self, i: int) -> z3.BoolRef:
        return z3.And(self.true, *[z3.Not(c.fails) for c in self.outcome.checks[:i]])

    def condition(self, e: ir.Expr) -> z3.BoolRef:
        return self.encoder.condition(e, self.st, self.rq)

    def waives(self, i: int, j: int) -> z3.BoolRef:
        """Exception j of check i is the first that holds, on a request that reaches the check."""
        ws = [w for _, w in self.outcome.checks[i].waivers]
        return z3.And(self.reaches(i), ws[j], *[z3.Not(w) for w in ws[:j]])

    def decisive(self, i: int, j: int) -> z3.BoolRef:
        """...and no other exception holds and the requirement fails: without it, check i rejects."""
        c = self.outcome.checks[i]
        others = [z3.Not(w) for k, (_, w) in enumerate(c.waivers) if k != j]
        return z3.And(self.waives(i, j), *others, z3.Not(c.requires))


class _Solver:
    def __init__(self, sorts: Sorts, rs: ir.RuleSet, timeout_ms: int, rlimit: int, seed: int) -> None:
        self.sorts, self.timeout_ms, self.rlimit, self.seed = sorts, timeout_ms, rlimit, seed
        self.bounded, self.unbounded = _Encoding(sorts, rs, True), _Encoding(sorts, rs, False)
        self.calls = 0

    def _check(self, enc: _Encoding, goal: z3.BoolRef) -> tuple[Any, z3.Solver]:
        solver = new_solver(self.sorts.ctx, self.timeout_ms, self.rlimit, self.seed)
        solver.add(*enc.base, goal)
        self.calls += 1
        return solver.check(), solver

    def find(self, goal: Any, alone: int | None = None) -> tuple[str, Witness | None, str | None]:
        """`goal` is a function of an encoding. sat with a real witness, unsat over every state, or
        unknown (why). With `alone`, a witness is first sought where no check but that one fails,
        so that it shows the rule and nothing else."""
        b = self.bounded
        if alone is not None:
            r, solver = self._check(b, z3.And(goal(b), b.only_failure(alone)))
            if r == z3.sat:
                return "sat", self._witness(solver), None
        r, solver = self._check(b, goal(b))
        if r == z3.sat:
            return "sat", self._witness(solver), None
        r2, solver2 = self._check(self.unbounded, goal(self.unbounded))
        if r2 == z3.unsat:
            return "unsat", None, None
        why = solver2.reason_unknown() if r2 == z3.unknown else "needs more than 2 Registration Data assignments"
        return "unknown", None, why

    def _witness(self, solver: z3.Solver) -> Witness:
        d = Decoder(solver.model(), self.sorts)
        request = d.request(self.bounded.st, self.bounded.rq)  # first: the state lists the parties it names
        return Witness(d.state(self.bounded.st), request)


def liveness(sorts: Sorts, rs: ir.RuleSet, timeout_ms: int, rlimit: int, seed: int) -> tuple[list[RawRule], int]:
    """Every check and exception of `rs`, in order, with its status; and the solver calls made."""
    s = _Solver(sorts, rs, timeout_ms, rlimit, seed)
    out: list[RawRule] = []
    for i, check in enumerate(rs.checks):
        status, witness, why = s.find(lambda e, i=i: e.outcome.checks[i].rejects, alone=i)
        rule = RawRule(check, None, _status(status), witness, reason=why)
        if status == "unsat":  # shadowed: which earlier checks alone stand between it and a rejection?
            for k, earlier in enumerate(rs.checks[:i]):
                found, _, _ = s.find(lambda e, i=i, k=k: e.only_earlier_failure(i, k))
                if found == "sat":
                    rule.shadowed_by.append(earlier.name)
        out.append(rule)
        for j in range(len(check.exceptions)):
            status, witness, why = s.find(lambda e, i=i, j=j: e.decisive(i, j), alone=i)
            if status != "unsat":
                out.append(RawRule(check, j, _status(status), witness, reason=why))
                continue
            waives, witness, why = s.find(lambda e, i=i, j=j: e.waives(i, j), alone=i)
            status = {"sat": "redundant", "unsat": "dead"}.get(waives, "unknown")
            rule = RawRule(check, j, status, witness, reason=why)
            if status == "dead":
                _shadow(s, rs, i, j, rule)
            out.append(rule)
    return out, s.calls


def _shadow(s: _Solver, rs: ir.RuleSet, i: int, j: int, rule: RawRule) -> None:
    """What stands between a dead exception and a request it would waive: each earlier check that can be
    the only one to reject such a request first, and each earlier exception of its check that can waive
    it first; or, if its condition never holds where its check applies, that."""
    def when(e: _Encoding) -> z3.BoolRef:
        return z3.And(e.outcome.checks[i].applies, e.outcome.checks[i].waivers[j][1])
    for k, earlier in enumerate(rs.checks[:i]):
        def first(e: _Encoding, k: int = k) -> z3.BoolRef:
            cs = e.outcome.checks
            return z3.And(when(e), cs[k].fails, *[z3.Not(c.fails) for n, c in enumerate(cs[:i]) if n != k])
        if s.find(first)[0] == "sat":
            rule.shadowed_by.append(earlier.name)
    for m in range(j):
        if s.find(lambda e, m=m: z3.And(when(e), e.passes_before(i), e.outcome.checks[i].waivers[m][1]))[0] == "sat":
            rule.shadowed_by.append(f"exception {m + 1} of {rs.checks[i].name}")
    if not rule.shadowed_by and s.find(when)[0] == "unsat":
        rule.reason = "its condition never holds where its check applies"


def _disjuncts(e: ir.Expr | None) -> list[ir.Expr]:
    if isinstance(e, ir.OrE):
        return [d for item in e.items for d in _disjuncts(item)]
    return [] if e is None else [e]


def dead_disjuncts(sorts: Sorts, rs: ir.RuleSet, timeout_ms: int, rlimit: int, seed: int) -> tuple[list[RawDisjunct], int]:
    """Each disjunct of a condition with two or more that never holds where it could decide something:
    in `applies when`, on a request every earlier check lets through; in `except when`, on a request that
    reaches its check; in `intends`, on any request. Half a rule that can never apply is a drafting error
    like a dead rule, and the rule's own liveness does not show it."""
    s = _Solver(sorts, rs, timeout_ms, rlimit, seed)
    out: list[RawDisjunct] = []

    def ask(where: str, check: ir.Check | None, index: int | None, cond: ir.Expr | None, origin: str, context: Any) -> None:
        ds = _disjuncts(cond)
        for d in ds if len(ds) > 1 else []:
            found, _, why = s.find(lambda e, d=d: z3.And(context(e), e.condition(d)))
            if found != "sat":
                out.append(RawDisjunct(where, check, index, d, origin, "dead" if found == "unsat" else "unknown", why))
    for i, c in enumerate(rs.checks):
        ask("applies", c, None, c.applies, c.origin, lambda e, i=i: e.passes_before(i))
        for j, x in enumerate(c.exceptions):
            ask("except", c, j, x.when, x.origin, lambda e, i=i: e.reaches(i))
    for n, intent in enumerate(rs.intents):
        ask("intends", None, n, intent.where, rs.name, lambda e: z3.BoolVal(True, ctx=sorts.ctx))
    return out, s.calls


def _status(found: str) -> str:
    return {"sat": "live", "unsat": "dead"}.get(found, "unknown")


__all__ = ["RawDisjunct", "RawRule", "dead_disjuncts", "liveness"]
