"""Pin a symbolic state and request to concrete values.

Used to replay concrete inputs through the encoding (the differential test
holds it to the interpreter) and, later, to re-check counterexamples. The
input is plain data, already resolved: party ids, the request's device with
its MPxN reached through any association (A5), and the Registration Data
assignments as integer times.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from redline.check.types import BOOL, DATERANGE, MPXN, TIME, EnumT, RecordT, SetT, Type, strip
from redline.smt import declared
from redline.smt.declared import Slot
from redline.smt.encode import Encoder
from redline.smt.solver import DEFAULT_RLIMIT, new_solver
from redline.smt.symbolic import Sorts, SymRequest, SymState


@dataclass(frozen=True)
class ConcreteDevice:
    type: str
    generation: str
    smi_status: str
    mpxn: str
    trust_anchors: Mapping[str, str]


@dataclass(frozen=True)
class ConcreteInput:
    now: int
    parties: Mapping[str, tuple[frozenset[str], bool]]  # id -> (roles, dcc_user)
    device: ConcreteDevice | None  # the request's device, None if not in the SMI
    registration: Sequence[tuple[str, str, str, int, int | None]]  # (mpxn, role, party, from, to)
    sender: str
    role: str
    srv: str
    remote_party_role: str | None
    new_certificate_owner: str | None
    execution_time: int | None
    date_range: tuple[int, int] | None
    # declared fields and relations (docs/formats.md "Declared fields"), as the interpreter holds them
    device_id: str | None = None
    device_ext: Mapping[str, Any] = field(default_factory=dict)
    party_ext: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # party id -> field -> value
    request_ext: Mapping[str, Any] = field(default_factory=dict)
    relations: Mapping[str, frozenset[tuple[str, ...]]] = field(default_factory=dict)


class Numbering:
    """Party ids and MPxNs as the integers the encoding uses, and back."""

    def __init__(self) -> None:
        self.to_int: dict[str, int] = {}

    def __call__(self, key: str) -> int:
        return self.to_int.setdefault(key, len(self.to_int) + 1)


def pin(sorts: Sorts, x: ConcreteInput) -> tuple[SymState, SymRequest, Numbering]:
    """A state whose functions are the concrete ones, a request of values, and the party numbering."""
    ctx = sorts.ctx
    ids, mpxns = Numbering(), Numbering()
    role = sorts.members_of("role")
    cell = sorts.members_of("cell")
    T, F = z3.BoolVal(True, ctx=ctx), z3.BoolVal(False, ctx=ctx)

    def one_of(cases: list[z3.BoolRef]) -> z3.BoolRef:
        return z3.Or(cases) if cases else F

    parties = {pid: (ids(pid), roles, active) for pid, (roles, active) in x.parties.items()}
    dev = x.device
    anchors = {c: ids(o) for c, o in (dev.trust_anchors.items() if dev else ())}
    regs = [(mpxns(m), role[r], ids(p), lo, hi) for m, r, p, lo, hi in x.registration]

    def owner(c: z3.ExprRef) -> z3.ArithRef:
        out: z3.ArithRef = z3.IntVal(0, ctx=ctx)
        for name, pid in anchors.items():
            out = z3.If(c == cell[name], z3.IntVal(pid, ctx=ctx), out)
        return out

    def registered(p: z3.ArithRef, r: z3.ExprRef, m: z3.ArithRef, t: z3.ArithRef) -> z3.BoolRef:
        return one_of([
            z3.And(m == mi, r == ri, p == pi, lo <= t, *([t < hi] if hi is not None else []))
            for mi, ri, pi, lo, hi in regs
        ])

    devs, texts = Numbering(), Numbering()
    own = devs(x.device_id) if x.device_id is not None else 0

    def term(t: Type, v: Any) -> Any:
        """A concrete declared value as the term its slot holds (smt/declared.py)."""
        base = strip(t)
        if base == BOOL:
            return z3.BoolVal(bool(v), ctx=ctx)
        if isinstance(base, EnumT):
            return sorts.member(base.name, v)
        if isinstance(base, SetT):
            members = [sorts.member(base.elem.name, m) for m in sorted(v)]
            return lambda e: one_of([e == m for m in members])
        if base == DATERANGE:
            return (z3.IntVal(v[0], ctx=ctx), z3.IntVal(v[1], ctx=ctx))
        if base == TIME:
            return z3.IntVal(v, ctx=ctx)
        number = {RecordT("Party"): ids, RecordT("Device"): devs, MPXN: mpxns}.get(base, texts)
        return z3.IntVal(number(v), ctx=ctx)

    def const_slots(record: str, values: Mapping[str, Any]) -> dict[str, Slot]:
        out = {}
        for name, t in sorts.declared.get(record, {}).items():
            v = values.get(name)
            fallback = declared.slot(sorts, f"unused_{record}_{name}", t, False)
            if fallback is None or (strip(t) == DATERANGE and record != "Request"):
                continue  # not encoded (smt/declared.py): a rule reading it is refused
            val = term(t, v) if v is not None else fallback.value(None)
            out[name] = Slot(t, _always(z3.BoolVal(v is not None, ctx=ctx)), _always(val))
        return out

    def party_slots() -> dict[str, Slot]:
        out = {}
        for name, t in sorts.declared.get("Party", {}).items():
            fallback = declared.slot(sorts, f"unused_party_{name}", t, True)
            if fallback is None or strip(t) == DATERANGE:
                continue
            vals = {ids(pid): term(t, ext[name]) for pid, ext in x.party_ext.items() if ext.get(name) is not None}

            def has(p: Any, vals: dict[int, Any] = vals) -> z3.BoolRef:
                return one_of([p == i for i in vals])

            def value(p: Any, vals: dict[int, Any] = vals, fb: Slot = fallback) -> Any:
                out_v = fb.value(p)
                for i, v in vals.items():
                    out_v = _choose(p == i, v, out_v)
                return out_v
            out[name] = Slot(t, has, value)
        return out

    def relation(name: str) -> Any:
        kinds = sorts.relations[name]
        tuples = [[(ids if k == "Party" else devs)(v) for k, v in zip(kinds, tup, strict=True)] for tup in sorted(x.relations.get(name, ()))]
        return lambda *args: one_of([z3.And([a == z3.IntVal(n, ctx=ctx) for a, n in zip(args, tup, strict=True)]) for tup in tuples])

    st = SymState(
        now=z3.IntVal(x.now, ctx=ctx),
        dcc_user=lambda p: one_of([p == i for i, _, active in parties.values() if active]),
        has_role=lambda p, r: one_of([z3.And(p == i, r == role[ro]) for i, roles, _ in parties.values() for ro in roles]),
        in_smi=T if dev else F,
        device_id=z3.IntVal(0, ctx=ctx),
        # an absent device's attributes are never read; the first members spell them
        device_type=sorts.members_of("device_type")[dev.type] if dev else sorts.first_of("device_type"),
        generation=sorts.members_of("generation")[dev.generation] if dev else sorts.first_of("generation"),
        smi_status=sorts.members_of("smi_status")[dev.smi_status] if dev else sorts.first_of("smi_status"),
        mpxn=z3.IntVal(mpxns(dev.mpxn) if dev else 0, ctx=ctx),
        anchor_set=lambda c: one_of([c == cell[name] for name in anchors]),
        anchor_owner=owner,
        registered=registered,
        device_ext=const_slots("Device", x.device_ext if dev else {}),
        party_ext=party_slots(),
        relations={name: relation(name) for name in sorts.relations},
    )
    st.device_id = z3.IntVal(own, ctx=ctx)
    # The request's fields are values, not variables, so the encoder folds
    # what it can (the SRV's catalogue row above all).
    free = SymRequest.fresh(sorts, "unused")

    def num(v: int | None, fallback: z3.ArithRef) -> z3.ArithRef:
        return fallback if v is None else z3.IntVal(v, ctx=ctx)

    rng = x.date_range
    rq = SymRequest(
        sender=z3.IntVal(ids(x.sender), ctx=ctx),
        role=role[x.role],
        srv=sorts.srvs[x.srv],
        has_rpr=z3.BoolVal(x.remote_party_role is not None, ctx=ctx),
        rpr=cell[x.remote_party_role] if x.remote_party_role else free.rpr,
        has_owner=z3.BoolVal(x.new_certificate_owner is not None, ctx=ctx),
        owner=num(ids(x.new_certificate_owner) if x.new_certificate_owner else None, free.owner),
        has_exec=z3.BoolVal(x.execution_time is not None, ctx=ctx),
        exec_time=num(x.execution_time, free.exec_time),
        has_range=z3.BoolVal(rng is not None, ctx=ctx),
        lo=num(rng[0] if rng else None, free.lo),
        hi=num(rng[1] if rng else None, free.hi),
        ext=const_slots("Request", x.request_ext),
    )
    return st, rq, ids


def _always(x: Any) -> Callable[[Any], Any]:
    return lambda _: x


def _choose(cond: z3.BoolRef, then: Any, otherwise: Any) -> Any:
    """`If(cond, then, otherwise)` of terms, or of set-membership functions pointwise."""
    if callable(then):
        return lambda e: z3.If(cond, then(e), otherwise(e))
    return z3.If(cond, then, otherwise)


def agrees(encoder: Encoder, x: ConcreteInput, accepted: bool, failed: str | None, anchors_after: Mapping[str, str],
           timeout_ms: int = 10_000, rlimit: int = DEFAULT_RLIMIT, seed: int = 0) -> bool | None:
    """With the inputs fixed, can the encoding say anything but this verdict? One solver call.

    The encoding keeps `throughout` as a quantifier over instants, so its terms
    cannot simply be evaluated in a model; asking for a disagreement and
    getting `unsat` decides the question exactly. None when the solver gives up.
    """
    sorts = encoder.sorts
    st, rq, ids = pin(sorts, x)
    out = encoder.outcome(st, rq)
    same = [out.accepted == accepted]
    same += [c.rejects == (c.check.name == failed) for c in out.checks]
    if x.device is not None:
        for name, cell in sorts.members_of("cell").items():
            same.append(out.anchor_set_after(cell) == (name in anchors_after))
            if name in anchors_after:
                same.append(out.anchor_owner_after(cell) == ids(anchors_after[name]))
    solver = new_solver(sorts.ctx, timeout_ms, rlimit, seed)
    solver.add(z3.Not(z3.And(same)))
    result = solver.check()
    if result == z3.unknown:
        return None
    return bool(result == z3.unsat)
