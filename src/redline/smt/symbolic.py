"""Symbolic states and requests: Z3 constants and functions standing for any
STATE.json and REQUEST.json, as far as the rules can observe them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import z3

from redline.check import checked as ir
from redline.check.checked import Program, carrying_srvs
from redline.smt import declared
from redline.smt.declared import Slot

RegistrationFn = Callable[[z3.ArithRef, z3.ExprRef, z3.ArithRef, z3.ArithRef], z3.BoolRef]


def _z3_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


class Sorts:
    """One Z3 enumeration sort per vocabulary, and one for the SRVs of a catalogue."""

    def __init__(self, program: Program, srvs: list[str], ctx: z3.Context | None = None) -> None:
        self.ctx = ctx or z3.Context()
        self.program = program
        self.declared = program.declared  # fields and relations rule files add (smt/declared.py)
        self.relations = program.relations
        self.vocab = program.vocab
        # the declared invariants on Registration Data (check.checked.Invariant), which both encodings assume
        self.never_registered = sorted(program.vocab.unregistered)
        self.one_registered = sorted(program.one_registered() - program.vocab.unregistered)
        self.enums: dict[str, z3.DatatypeSortRef] = {}
        self.members: dict[str, dict[str, z3.ExprRef]] = {}
        for name, members in program.enums.items():
            sort, consts = z3.EnumSort(name, list(members), ctx=self.ctx)
            self.enums[name] = sort
            self.members[name] = dict(zip(members, consts, strict=True))
        srv_sort, srv_consts = z3.EnumSort("Srv", [f"srv_{_z3_name(s)}" for s in srvs], ctx=self.ctx)
        self.srv_sort = srv_sort
        self.srvs: dict[str, z3.ExprRef] = dict(zip(srvs, srv_consts, strict=True))
        self.srv_names: dict[str, str] = {str(c): s for s, c in self.srvs.items()}

    def fresh(self) -> Sorts:
        """The same sorts in a new Z3 context. Z3 numbers terms in the order a context makes them and
        reuses the numbers of freed ones, and its models and unsat cores follow those numbers: a query
        decided in a fresh context does not depend on what was asked before it (nor on when a query the
        clock cut short was stopped)."""
        return Sorts(self.program, list(self.srvs))

    def member(self, enum: str, name: str) -> z3.ExprRef:
        return self.members[enum][name]

    def enum_of(self, part: str) -> str:
        """The enum that plays `part` (a field of `Vocabulary`: role, cell, device_type, ...)."""
        name = getattr(self.vocab, part)
        assert isinstance(name, str)
        return name

    def sort_of(self, part: str) -> z3.DatatypeSortRef:
        return self.enums[self.enum_of(part)]

    def members_of(self, part: str) -> dict[str, z3.ExprRef]:
        return self.members[self.enum_of(part)]

    def first_of(self, part: str) -> z3.ExprRef:
        """The first declared member: the one spelling of a value the rules never read."""
        return next(iter(self.members_of(part).values()))

    def decode(self, enum: str, value: z3.ExprRef) -> str:
        text = str(value)
        if enum == "Srv":
            return self.srv_names[text]
        return text


@dataclass
class SymState:
    now: z3.ArithRef
    dcc_user: z3.FuncDeclRef  # Party -> Bool
    has_role: z3.FuncDeclRef  # Party x UserRole -> Bool
    in_smi: z3.BoolRef  # the request's device is in the SMI
    device_id: z3.ArithRef
    device_type: z3.ExprRef
    generation: z3.ExprRef
    smi_status: z3.ExprRef
    mpxn: z3.ArithRef
    anchor_set: z3.FuncDeclRef  # RemotePartyRole -> Bool
    anchor_owner: z3.FuncDeclRef  # RemotePartyRole -> Party
    registered: RegistrationFn
    registration_fn: z3.FuncDeclRef | None = None  # set when Registration Data is uninterpreted
    # With Registration Data as a bounded list of assignments, coverage of a
    # closed range is quantifier-free; the encoder uses it where it is given.
    covers: Callable[[z3.ArithRef, z3.ExprRef, z3.ArithRef, z3.ArithRef, z3.ArithRef], z3.BoolRef] | None = None
    assignments: list[Assignment] | None = None
    constraints: list[z3.BoolRef] = field(default_factory=list)  # what every real state satisfies
    device_ext: dict[str, Slot] = field(default_factory=dict)  # declared fields of the request's device
    party_ext: dict[str, Slot] = field(default_factory=dict)  # declared fields of parties, over party ids
    relations: dict[str, Callable[..., z3.BoolRef]] = field(default_factory=dict)  # declared relations, over ids

    @staticmethod
    def fresh(sorts: Sorts, prefix: str = "s") -> SymState:
        c = sorts.ctx
        i = z3.IntSort(ctx=c)
        b = z3.BoolSort(ctx=c)
        role = sorts.sort_of("role")
        cell = sorts.sort_of("cell")
        registered, reg = registration(sorts, prefix)
        return SymState(
            now=z3.Int(f"{prefix}_now", ctx=c),
            dcc_user=z3.Function(f"{prefix}_dcc_user", i, b),
            has_role=z3.Function(f"{prefix}_has_role", i, role, b),
            in_smi=z3.Bool(f"{prefix}_in_smi", ctx=c),
            device_id=z3.Int(f"{prefix}_device", ctx=c),
            device_type=z3.Const(f"{prefix}_device_type", sorts.sort_of("device_type")),
            generation=z3.Const(f"{prefix}_generation", sorts.sort_of("generation")),
            smi_status=z3.Const(f"{prefix}_smi_status", sorts.sort_of("smi_status")),
            mpxn=z3.Int(f"{prefix}_mpxn", ctx=c),
            anchor_set=z3.Function(f"{prefix}_anchor_set", cell, b),
            anchor_owner=z3.Function(f"{prefix}_anchor_owner", cell, i),
            registered=registered,
            registration_fn=reg,
            device_ext=declared.slots(sorts, "Device", prefix),
            party_ext=declared.slots(sorts, "Party", prefix),
            relations=dict(declared.relations(sorts, prefix)),
        )


def registration(sorts: Sorts, prefix: str) -> tuple[RegistrationFn, z3.FuncDeclRef | None]:
    """Registration Data with no bound on its assignments, satisfying the declared invariants by
    construction, so that no quantifier is needed: a role never registered is never registered,
    and a role with one registered party at a time has a function (role, MPxN, time) -> party
    and a Bool saying whether anyone holds it. Any other role is an uninterpreted predicate
    (returned too, None if there is none)."""
    c = sorts.ctx
    i, b, role = z3.IntSort(ctx=c), z3.BoolSort(ctx=c), sorts.sort_of("role")
    never = [sorts.members_of("role")[x] for x in sorts.never_registered]
    one = [sorts.members_of("role")[x] for x in sorts.one_registered]
    free = len(never) + len(one) < len(sorts.members_of("role"))
    reg = z3.Function(f"{prefix}_registered", i, role, i, i, b) if free else None
    holder = z3.Function(f"{prefix}_holder", role, i, i, i)
    held = z3.Function(f"{prefix}_held", role, i, i, b)

    def registered(p: z3.ArithRef, r: z3.ExprRef, m: z3.ArithRef, t: z3.ArithRef) -> z3.BoolRef:
        out = reg(p, r, m, t) if reg is not None else z3.BoolVal(False, ctx=c)
        if one:
            out = z3.If(z3.Or([r == x for x in one]), z3.And(held(r, m, t), holder(r, m, t) == p), out)
        if never:
            out = z3.If(z3.Or([r == x for x in never]), z3.BoolVal(False, ctx=c), out)
        return out

    return registered, reg


@dataclass
class Assignment:
    """One symbolic Registration Data assignment: `party` in `role` for `mpxn` over [start, end)."""

    used: z3.BoolRef
    party: z3.ArithRef
    role: z3.ExprRef
    mpxn: z3.ArithRef
    start: z3.ArithRef
    open_ended: z3.BoolRef
    end: z3.ArithRef

    def holds(self, p: z3.ArithRef, r: z3.ExprRef, m: z3.ArithRef, t: z3.ArithRef) -> z3.BoolRef:
        return z3.And(self.used, self.party == p, self.role == r, self.mpxn == m, self.start <= t,
                      z3.Or(self.open_ended, t < self.end))


def fresh_rows(sorts: Sorts, prefix: str, k: int) -> list[Assignment]:
    c = sorts.ctx
    return [
        Assignment(
            used=z3.Bool(f"{prefix}_reg{i}_used", ctx=c), party=z3.Int(f"{prefix}_reg{i}_party", ctx=c),
            role=z3.Const(f"{prefix}_reg{i}_role", sorts.sort_of("role")), mpxn=z3.Int(f"{prefix}_reg{i}_mpxn", ctx=c),
            start=z3.Int(f"{prefix}_reg{i}_from", ctx=c), open_ended=z3.Bool(f"{prefix}_reg{i}_open", ctx=c),
            end=z3.Int(f"{prefix}_reg{i}_to", ctx=c),
        )
        for i in range(k)
    ]


def with_rows(sorts: Sorts, st: SymState, rows: list[Assignment]) -> SymState:
    """`st` with its Registration Data replaced by these assignments (and their well-formedness)."""
    from dataclasses import replace
    c = sorts.ctx

    def registered(p: z3.ArithRef, r: z3.ExprRef, m: z3.ArithRef, t: z3.ArithRef) -> z3.BoolRef:
        return z3.Or([a.holds(p, r, m, t) for a in rows]) if rows else z3.BoolVal(False, ctx=c)

    def covers(p: z3.ArithRef, r: z3.ExprRef, m: z3.ArithRef, lo: z3.ArithRef, hi: z3.ArithRef) -> z3.BoolRef:
        # [lo, hi] is covered iff some chain of matching assignments, each starting no later than
        # the previous one ends, starts by lo and runs past hi. Chains are orderings of subsets.
        from itertools import permutations
        chains = []
        for n in range(1, len(rows) + 1):
            for chain in permutations(rows, n):
                parts = [a.used for a in chain] + [z3.And(a.party == p, a.role == r, a.mpxn == m) for a in chain]
                parts.append(chain[0].start <= lo)
                for a, b in zip(chain, chain[1:], strict=False):
                    parts += [z3.Not(a.open_ended), b.start <= a.end, a.end <= hi]
                parts.append(z3.Or(chain[-1].open_ended, hi < chain[-1].end))
                chains.append(z3.And(parts))
        return z3.Or(chains) if chains else z3.BoolVal(False, ctx=c)

    wf = [z3.Implies(z3.And(a.used, z3.Not(a.open_ended)), a.start < a.end) for a in rows]
    wf += row_invariants(sorts, rows)
    wf += [c for s in st.device_ext.values() for c in declared.well_formed(s, None, sorts)]
    return replace(st, registered=registered, registration_fn=None, covers=covers, assignments=rows, constraints=wf)


def row_invariants(sorts: Sorts, rows: list[Assignment]) -> list[z3.BoolRef]:
    """The declared invariants as constraints on (between) assignment rows."""
    never = [sorts.members_of("role")[x] for x in sorts.never_registered]
    one = [sorts.members_of("role")[x] for x in sorts.one_registered]
    out = [a.role != x for a in rows for x in never]
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            if not one:
                break
            overlap = z3.And(z3.Or(a.open_ended, b.start < a.end), z3.Or(b.open_ended, a.start < b.end))
            same_place = z3.And(a.used, b.used, a.role == b.role, a.mpxn == b.mpxn, z3.Or([a.role == x for x in one]))
            out.append(z3.Implies(z3.And(same_place, overlap), a.party == b.party))
    return out


def bounded_state(sorts: Sorts, prefix: str, k: int) -> SymState:
    """A state whose Registration Data has at most `k` assignments.

    Every model is a real STATE.json, so a model found here is a genuine
    counterexample or witness; `unsat` here proves nothing about states with
    more assignments, and the prover never reports it as a proof.
    """
    return with_rows(sorts, SymState.fresh(sorts, prefix), fresh_rows(sorts, prefix, k))


@dataclass
class SymRequest:
    sender: z3.ArithRef
    role: z3.ExprRef
    srv: z3.ExprRef
    has_rpr: z3.BoolRef
    rpr: z3.ExprRef
    has_owner: z3.BoolRef
    owner: z3.ArithRef
    has_exec: z3.BoolRef
    exec_time: z3.ArithRef
    has_range: z3.BoolRef
    lo: z3.ArithRef
    hi: z3.ArithRef
    ext: dict[str, Slot] = field(default_factory=dict)  # declared fields of the request

    @staticmethod
    def fresh(sorts: Sorts, prefix: str = "r") -> SymRequest:
        c = sorts.ctx
        return SymRequest(
            sender=z3.Int(f"{prefix}_sender", ctx=c),
            role=z3.Const(f"{prefix}_role", sorts.sort_of("role")),
            srv=z3.Const(f"{prefix}_srv", sorts.srv_sort),
            has_rpr=z3.Bool(f"{prefix}_has_rpr", ctx=c),
            rpr=z3.Const(f"{prefix}_rpr", sorts.sort_of("cell")),
            has_owner=z3.Bool(f"{prefix}_has_owner", ctx=c),
            owner=z3.Int(f"{prefix}_owner", ctx=c),
            has_exec=z3.Bool(f"{prefix}_has_exec", ctx=c),
            exec_time=z3.Int(f"{prefix}_exec", ctx=c),
            has_range=z3.Bool(f"{prefix}_has_range", ctx=c),
            lo=z3.Int(f"{prefix}_lo", ctx=c),
            hi=z3.Int(f"{prefix}_hi", ctx=c),
            ext=declared.slots(sorts, "Request", prefix),
        )


def well_formed(sorts: Sorts, catalogue: Mapping[str, Mapping[str, object]], r: SymRequest) -> z3.BoolRef:
    """What the JSON loader guarantees of every request it accepts."""
    # A request names a certificate's role and owner (both or neither) only where its SRV carries one, and
    # always where the SRV replaces a trust anchor with it; elsewhere it may leave them out (docs/formats.md).
    def any_of(srvs: list[str]) -> z3.BoolRef:
        return z3.Or([r.srv == sorts.srvs[s] for s in srvs]) if srvs else z3.BoolVal(False, ctx=sorts.ctx)
    carries = any_of(sorted(carrying_srvs(catalogue)))
    replaces = any_of(sorted(s for s, row in catalogue.items() if row.get("replaces_trust_anchor")))
    return z3.And(
        r.has_rpr == r.has_owner,
        z3.Implies(r.has_rpr, carries),
        z3.Implies(replaces, r.has_rpr),
        z3.Implies(r.has_range, r.lo <= r.hi),
        *[c for s in r.ext.values() for c in declared.well_formed(s, None, sorts)],
    )


def reshaped_srvs(rulesets: Sequence[ir.RuleSet]) -> list[str]:
    """The SRVs whose catalogue rows in `rulesets` disagree on a request's shape (whether it carries a
    certificate, and must: `well_formed`). Requests are quantified as one rule set's catalogue shapes them,
    so where another's row differs (a modification's `amend row` making an SRV carry or replace a trust
    anchor) the requests only it accepts as input are compared under neither: a row amendment that let 4.1.1
    replace any trust anchor got every generic property proved, and `redline diff` found no change at all."""
    def shape(rs: ir.RuleSet, srv: str) -> tuple[bool, bool] | None:
        row = rs.catalogue.get(srv)
        return None if row is None else (ir.carries_certificate(row), bool(row.get("replaces_trust_anchor")))

    srvs = sorted({s for rs in rulesets for s in rs.catalogue})
    return [s for s in srvs if len({shape(rs, s) for rs in rulesets}) > 1]


def unshaped_reason(rulesets: Sequence[ir.RuleSet], srvs: list[str], so: str = "this is not proved") -> str:
    """Why `reshaped_srvs` leaves a result short, ending with what that means for it (`so`)."""
    return (f"{' and '.join(rs.name for rs in rulesets)} disagree on which requests of SRV {', '.join(srvs)} carry or must "
            "carry a certificate (carries_certificate, replaces_trust_anchor): a request one of them refuses as input is "
            f"compared under neither, so {so}")
