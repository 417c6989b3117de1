"""The exact semantic difference of two rule sets, as classes of requests.

A class fixes the request's finite attributes (SRV, User Role, whether the
device is in the SMI and its type, generation and SMI status, the target
cell) and the truth of every relation the rule sets test (who is a DCC
User, holds the role, owns the authorising cell, is registered). Those
decide the verdict, so a class is judged alike by every state in it. The
classes where the two rule sets disagree (verdict, rejecting layer or code,
or effects) are enumerated with a bounded encoding, whose models are real
states; completeness is then proved with the unbounded one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3

from redline.check import checked as ir
from redline.smt.decode import DEVICE_ID, Decoder
from redline.smt.encode import Encoder, Outcome
from redline.smt.properties import same_verdict
from redline.smt.solver import new_solver
from redline.smt.symbolic import Sorts, SymRequest, SymState, bounded_state, well_formed

NONE = "none"


@dataclass
class RawClass:
    attrs: dict[str, Any]  # finite attributes and relation truths
    before: dict[str, Any]
    after: dict[str, Any]
    witness: dict[str, Any]  # {"state": STATE.json, "request": REQUEST.json}


@dataclass
class RawDiff:
    classes: list[RawClass]
    complete: bool
    reason: str | None
    solver_calls: int
    relations: list[str]


def _same(a: Outcome, b: Outcome, sorts: Sorts) -> z3.BoolRef:
    cells = list(sorts.members["RemotePartyRole"].values())
    return z3.And(same_verdict(a, b), *[z3.And(a.anchor_set_after(c) == b.anchor_set_after(c),
                                                a.anchor_owner_after(c) == b.anchor_owner_after(c)) for c in cells])


def base_constraints(sorts: Sorts, catalogue: Any, st: SymState, rq: SymRequest) -> list[z3.BoolRef]:
    """What every real state and well-formed request satisfies, plus one spelling of what
    the rules never read (the attributes of an absent device, the target of a request
    that has none), so that a model is one class, not many that differ in nothing."""
    canonical = [
        z3.Implies(z3.Not(st.in_smi), z3.And(st.device_type == sorts.member("DeviceType", "ESME"),
                                             st.generation == sorts.member("Generation", "SMETS1"),
                                             st.smi_status == sorts.member("SmiStatus", "Pending"))),
        z3.Implies(z3.Not(rq.has_rpr), rq.rpr == sorts.member("RemotePartyRole", "Root")),
    ]
    return [well_formed(sorts, catalogue, rq), *st.constraints, *canonical]


class _Setup:
    def __init__(self, sorts: Sorts, old: ir.RuleSet, new: ir.RuleSet, st: SymState, rq: SymRequest) -> None:
        self.st, self.rq = st, rq
        eo, en = Encoder(sorts, old), Encoder(sorts, new)
        self.before, self.after = eo.outcome(st, rq), en.outcome(st, rq)
        rels = dict(eo.relations(st, rq))
        rels.update(dict(en.relations(st, rq)))
        self.relations = sorted(rels.items())
        self.changes = z3.Not(_same(self.before, self.after, sorts))
        self.base = base_constraints(sorts, old.catalogue, st, rq)
        self.attrs: list[tuple[str, Any]] = [
            ("srv", rq.srv), ("role", rq.role), ("device", st.in_smi), ("device_type", st.device_type),
            ("generation", st.generation), ("smi_status", st.smi_status), ("target", rq.rpr), ("has_target", rq.has_rpr),
        ] + [(label, term) for label, term in self.relations]

    def class_formula(self, values: dict[str, Any]) -> z3.BoolRef:
        return z3.And([term == values[name] for name, term in self.attrs])


def _outcome(o: Outcome, m: z3.ModelRef) -> dict[str, Any]:
    def holds(t: Any) -> bool:
        return bool(z3.is_true(m.eval(t, model_completion=True)))
    failed = next((c.check for c in o.checks if holds(c.rejects)), None)
    effects = sorted(e.effect.name for e in o.effects if holds(e.active))
    if failed is None:
        return {"verdict": "accept", "layer": None, "code": None, "clause": None, "check": None, "effects": effects}
    return {"verdict": "reject", "layer": failed.layer.value, "code": failed.code, "clause": failed.cite, "check": failed.name, "effects": []}


def semantic_diff(sorts: Sorts, old: ir.RuleSet, new: ir.RuleSet, timeout_ms: int, rlimit: int, seed: int,
                  limit: int = 5000) -> RawDiff:
    ctx = sorts.ctx
    b = _Setup(sorts, old, new, bounded_state(sorts, "d", 2), SymRequest.fresh(sorts, "q"))
    solver = new_solver(ctx, timeout_ms, rlimit, seed)
    solver.add(*b.base, b.changes)
    classes: list[RawClass] = []
    calls, reason = 0, None
    while len(classes) < limit:
        calls += 1
        r = solver.check()
        if r == z3.unknown:
            reason = solver.reason_unknown()
            break
        if r == z3.unsat:
            break
        m = solver.model()
        values = {name: m.eval(term, model_completion=True) for name, term in b.attrs}
        attrs = {name: _value(sorts, name, v) for name, v in values.items()}
        d = Decoder(m, sorts)
        request = d.request(b.st, b.rq)
        state = d.state(b.st)
        classes.append(RawClass(attrs, _outcome(b.before, m), _outcome(b.after, m), {"state": state, "request": request}))
        solver.add(z3.Not(b.class_formula(values)))
    else:
        reason = f"more than {limit} classes differ; the regions below cover the first {limit} (raise --limit)"
    complete = False
    if reason is None:
        # Completeness over every state: no difference outside the classes found.
        u = _Setup(sorts, old, new, SymState.fresh(sorts, "u"), SymRequest.fresh(sorts, "v"))
        check = new_solver(ctx, timeout_ms, rlimit, seed)
        known = [u.class_formula({k: _term(sorts, k, v) for k, v in c.attrs.items()}) for c in classes]
        check.add(*u.base, u.changes, z3.Not(z3.Or(known)) if known else z3.BoolVal(True, ctx=ctx))
        calls += 1
        result = check.check()
        complete = result == z3.unsat
        if result == z3.sat:
            reason = "a difference exists only in states with more than 2 Registration Data assignments"
        elif result == z3.unknown:
            reason = f"the solver could not prove completeness: {check.reason_unknown()}"
    return RawDiff(classes, complete, reason, calls, [label for label, _ in b.relations])


ENUM_OF = {"role": "UserRole", "device_type": "DeviceType", "generation": "Generation", "smi_status": "SmiStatus", "target": "RemotePartyRole"}


def _value(sorts: Sorts, name: str, v: Any) -> Any:
    if name == "srv":
        return sorts.decode("Srv", v)
    if name in ENUM_OF:
        return str(v)
    return bool(z3.is_true(v))


def _term(sorts: Sorts, name: str, v: Any) -> Any:
    if name == "srv":
        return sorts.srvs[v]
    if name in ENUM_OF:
        return sorts.member(ENUM_OF[name], v)
    return z3.BoolVal(v, ctx=sorts.ctx)


@dataclass
class IntentProblem:
    intent: ir.Intent
    problem: str
    witness: dict[str, Any] | None  # a state and request showing it, where one exists
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def check_intents(sorts: Sorts, old: ir.RuleSet, new: ir.RuleSet, timeout_ms: int, rlimit: int,
                  seed: int) -> tuple[list[IntentProblem], str | None]:
    """Both directions: every difference lies inside the declared intents, and each intent really happens.

    A violation with a witness comes from the bounded encoding (a real state);
    an emptiness ("nothing changes there") is proved on the unbounded one.
    Returns the problems and, if some question could not be settled, why.
    """
    intents = list(new.intents)
    en = Encoder(sorts, new)
    problems: list[IntentProblem] = []
    unsettled: str | None = None

    def setup(bounded: bool) -> tuple[_Setup, list[z3.BoolRef]]:
        st = bounded_state(sorts, "i", 2) if bounded else SymState.fresh(sorts, "j")
        s = _Setup(sorts, old, new, st, SymRequest.fresh(sorts, "k" if bounded else "l"))
        return s, [en.condition(i.where, s.st, s.rq) for i in intents]

    bset, bconds = setup(True)
    uset, uconds = setup(False)

    def solve(s: _Setup, goal: z3.BoolRef) -> tuple[Any, z3.ModelRef | None]:
        solver = new_solver(sorts.ctx, timeout_ms, rlimit, seed)
        solver.add(*s.base, goal)
        r = solver.check()
        return r, (solver.model() if r == z3.sat else None)

    def witness(m: z3.ModelRef) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        d = Decoder(m, sorts)
        w = {"request": d.request(bset.st, bset.rq), "state": d.state(bset.st)}
        return w, _outcome(bset.before, m), _outcome(bset.after, m)

    def find(goal_b: z3.BoolRef, goal_u: z3.BoolRef) -> tuple[str, z3.ModelRef | None]:
        """sat (with a real model), unsat (over every state), or unknown."""
        nonlocal unsettled
        r, m = solve(bset, goal_b)
        if r == z3.sat:
            return "sat", m
        r2, _ = solve(uset, goal_u)
        if r2 == z3.unsat:
            return "unsat", None
        unsettled = "an intent question needs more than 2 Registration Data assignments or the solver gave up"
        return "unknown", None

    if intents:
        outside, m = find(z3.And(bset.changes, z3.Not(z3.Or(bconds))), z3.And(uset.changes, z3.Not(z3.Or(uconds))))
        if outside == "sat" and m is not None:
            w, b, a = witness(m)
            problems.append(IntentProblem(ir.Intent(kind="change", cite="(all declared intents)", where=intents[0].where),
                                          "a difference lies outside every declared intent", w, b, a))
    for i, (bc, uc) in enumerate(zip(bconds, uconds, strict=True)):
        intent = intents[i]
        if intent.kind == "change":
            status, _ = find(z3.And(bset.changes, bc), z3.And(uset.changes, uc))
            if status == "unsat":
                problems.append(IntentProblem(intent, "nothing changes where this intent says it does", None))
            continue
        new_ok = bset.after.accepted if intent.kind == "accept" else z3.Not(bset.after.accepted)
        new_ok_u = uset.after.accepted if intent.kind == "accept" else z3.Not(uset.after.accepted)
        status, m = find(z3.And(bc, z3.Not(new_ok)), z3.And(uc, z3.Not(new_ok_u)))
        if status == "sat" and m is not None:
            w, b, a = witness(m)
            problems.append(IntentProblem(intent, f"not every request where this intent applies is {intent.kind}ed by `{new.name}`", w, b, a))
        old_differs = z3.Not(bset.before.accepted) if intent.kind == "accept" else bset.before.accepted
        old_differs_u = z3.Not(uset.before.accepted) if intent.kind == "accept" else uset.before.accepted
        status, _ = find(z3.And(bc, old_differs), z3.And(uc, old_differs_u))
        if status == "unsat":
            problems.append(IntentProblem(intent, f"`{old.name}` already {intent.kind}s everything here: nothing is newly {intent.kind}ed", None))
    return problems, unsettled


__all__ = ["DEVICE_ID", "IntentProblem", "RawClass", "RawDiff", "base_constraints", "check_intents", "semantic_diff"]
