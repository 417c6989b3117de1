"""The checked IR of property bodies (proofs/*.redline), and its printer.

`check/properties.py` is its only producer; `smt/properties.py` and
`smt/temporal.py` encode it. Every name is resolved here: binders carry
their sort, enum members and groups are constants, each builtin is a
`Builtin` with a fixed signature, each request field a `ReqField`, and each
field or relation a rule file declared a `Declared` (its sort from its
declared type). A new builtin or field is one entry here (and its signature
in the checker) and one case in the encoder; a declared one needs neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import assert_never

from redline.source import NO_SPAN, Span
from redline.syntax.printer import AND, ATOM, CMP, IMPLIES, NOT, OR, POSTFIX, QUANT, quote


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """An environment event a temporal property may admit (see ast.EventDecl)."""

    name: str
    cite: str
    target: str  # "registration" | "dcc_user" | "now"
    roles: frozenset[str]  # the User Roles whose Registration Data changes (registration only)

# ---- sorts ------------------------------------------------------------------


class Prim(Enum):
    BOOL = "Bool"
    STATE = "State"
    REQUEST = "Request"
    PARTY = "Party"
    DEVICE = "Device"
    SRV = "Srv"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class EnumSort:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class SetSort:
    """A set of an enum's members (`elem` names the enum)."""

    elem: str

    def __str__(self) -> str:
        return "Set"


Sort = Prim | EnumSort | SetSort


class Quantifier(Enum):
    FORALL = "forall"
    EXISTS = "exists"


class Builtin(Enum):
    """The property language's functions; their signatures are in check/properties.py."""

    ACCEPTED = "accepted"
    CHANGES = "changes"
    AFTER = "after"
    OWNER = "owner"
    IN_SMI = "in_smi"
    GENERATION = "generation"
    DEVICE_TYPE = "device_type"
    SMI_STATUS = "smi_status"
    SUITS = "suits"
    ACTIVE = "active"
    HAS_ROLE = "has_role"
    REGISTERED = "registered"
    EVER_REGISTERED = "ever_registered"
    CRITICAL = "critical"
    NON_DEVICE = "non_device"
    ELIGIBLE = "eligible"
    ROLE_ALLOWED = "role_allowed"
    DEVICE_SUITS = "device_suits"
    REGISTERED_THROUGHOUT = "registered_throughout"
    HAS_EXECUTION_TIME = "has_execution_time"
    HAS_DATE_RANGE = "has_date_range"
    DEVICE = "device"
    # Relational, for properties over a rule set and the one it is compared with (`old..new`):
    # each names the side it reads, so one body can say what the base did and the modification does.
    ACCEPTED_BY_BASE = "accepted_by_base"
    ACCEPTED_BY_MODIFICATION = "accepted_by_modification"
    AFTER_BASE = "after_base"
    AFTER_MODIFICATION = "after_modification"
    INTENDED = "intended"


class ReqField(Enum):
    """The fields of a Request a property may read; their sorts are in check/properties.py."""

    SENDER = "sender"
    ROLE = "role"
    SRV = "srv"
    REMOTE_PARTY_ROLE = "remote_party_role"
    NEW_CERTIFICATE_OWNER = "new_certificate_owner"


class DeclKind(Enum):
    """Where a declared field or relation is read (docs/formats.md "Declared fields"), and how it is written."""

    REQUEST = "Request"  # `r.NAME`, as `r.sender`
    SERVICE = "Service"  # `r.srv.NAME` (or `"8.7.1".NAME`): a catalogue column of the SRV
    DEVICE = "Device"  # `NAME(s)`, as `generation(s)`: a field of the state's device (the request's)
    PARTY = "Party"  # `NAME(s, p)`, as `active(s, p)`
    RELATION = "relation"  # `NAME(s, x, ...)`: the records are related in the state


# ---- expressions ----------------------------------------------------------------

P = dict(frozen=True, slots=True, kw_only=True)


@dataclass(**P)
class Binder:
    name: str
    sort: Sort
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**P)
class Ref:
    """A bound variable."""

    name: str
    sort: Sort
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**P)
class EnumConst:
    enum: str
    member: str
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def sort(self) -> Sort:
        return EnumSort(self.enum)


@dataclass(**P)
class NullConst:
    """`null`, compared with a value that may be absent (`r.other_device != null`); typed by that value."""

    sort: Sort
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**P)
class SrvConst:
    srv: str  # a catalogue entry
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def sort(self) -> Sort:
        return Prim.SRV


@dataclass(**P)
class SetConst:
    """A set literal (`members` as written) or a group (`group` its name)."""

    enum: str
    members: tuple[str, ...]
    group: str | None = None
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def sort(self) -> Sort:
        return SetSort(self.enum)


@dataclass(**P)
class Field:
    obj: PExpr  # a Request
    name: ReqField
    sort: Sort
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**P)
class Declared:
    """A declared field or relation; `args` are the record (REQUEST, SERVICE), the state and the
    record (DEVICE, PARTY), or the state and the related records (RELATION)."""

    kind: DeclKind
    name: str
    args: tuple[PExpr, ...]
    sort: Sort
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**P)
class Apply:
    fn: Builtin
    args: tuple[PExpr, ...]
    sort: Sort
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**P)
class Eq:
    left: PExpr
    right: PExpr
    negated: bool
    span: Span = field(default=NO_SPAN, compare=False)
    sort: Sort = Prim.BOOL


@dataclass(**P)
class In:
    item: PExpr
    collection: PExpr  # a SetConst, or a set-valued declared field or catalogue column
    negated: bool
    span: Span = field(default=NO_SPAN, compare=False)
    sort: Sort = Prim.BOOL


@dataclass(**P)
class And:
    items: tuple[PExpr, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    sort: Sort = Prim.BOOL


@dataclass(**P)
class Or:
    items: tuple[PExpr, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    sort: Sort = Prim.BOOL


@dataclass(**P)
class Not:
    operand: PExpr
    span: Span = field(default=NO_SPAN, compare=False)
    sort: Sort = Prim.BOOL


@dataclass(**P)
class Implies:
    premise: PExpr
    conclusion: PExpr
    span: Span = field(default=NO_SPAN, compare=False)
    sort: Sort = Prim.BOOL


@dataclass(**P)
class Quant:
    """A nested quantifier (never over a State)."""

    kind: Quantifier
    binders: tuple[Binder, ...]
    body: PExpr
    span: Span = field(default=NO_SPAN, compare=False)
    sort: Sort = Prim.BOOL


@dataclass(**P)
class Within:
    """`within K var from origin . body`: body holds within K accepted requests from origin."""

    depth: int
    var: str
    origin: str
    body: PExpr
    span: Span = field(default=NO_SPAN, compare=False)
    sort: Sort = Prim.BOOL


PExpr = Ref | EnumConst | NullConst | SrvConst | SetConst | Field | Declared | Apply | Eq | In | And | Or | Not | Implies | Quant | Within


# ---- whole bodies -----------------------------------------------------------------


@dataclass(**P)
class OneStep:
    """`forall X . B` or `exists X . B`: the binders become free symbols."""

    kind: Quantifier
    binders: tuple[Binder, ...]
    body: PExpr
    span: Span = field(default=NO_SPAN, compare=False)


class RunOp(Enum):
    ALWAYS = "always"
    REACHABLE = "reachable"


@dataclass(**P)
class RunProp:
    """`forall X . INIT implies always var from origin . body` (an invariant) or
    `exists X . INIT and reachable var from origin . body` (a witness), over runs
    whose steps are accepted requests and the `events` allowed."""

    kind: Quantifier
    binders: tuple[Binder, ...]
    init: PExpr | None
    op: RunOp
    var: str
    origin: str
    body: PExpr
    events: tuple[Event, ...]
    span: Span = field(default=NO_SPAN, compare=False)

    @property
    def goal(self) -> PExpr:
        """What a bounded search looks for in the last state: a violation, or the target."""
        return Not(operand=self.body) if self.op is RunOp.ALWAYS else self.body

    @property
    def invariant(self) -> PExpr:
        """What an unbounded proof must show of every reachable state."""
        return self.body if self.op is RunOp.ALWAYS else Not(operand=self.body)


Body = OneStep | RunProp


class Outcome(Enum):
    PROVED = "proved"
    REFUTED = "refuted"


@dataclass(**P)
class Expectation:
    """`expect RS proved|refuted`, or `expect OLD..NEW ...` for a relational property."""

    rulesets: tuple[str, ...]  # lower-case rule-set names: one, or (old, new)
    outcome: Outcome
    span: Span = field(default=NO_SPAN, compare=False)
    # set where a generic property, bound to a modification, expects what that modification's
    # acknowledgement says instead of the library: the acknowledgement's reason (check/generic.py)
    acknowledged: str | None = None

    @property
    def key(self) -> str:
        """How results name it: `rs`, or `old..new`."""
        return "..".join(self.rulesets)

    @property
    def generic(self) -> bool:
        """Written over the placeholders `base` and `modification`, not over named rule sets."""
        return any(n in PLACEHOLDERS for n in self.rulesets)


# The reserved expectation names of a generic property (proofs/generic.redline): the modification under
# review and the rule set it amends, bound by `redline prove --modification NAME`.
BASE, MODIFICATION = "base", "modification"
PLACEHOLDERS = (BASE, MODIFICATION)


def walk(e: PExpr) -> Iterator[PExpr]:
    """`e` and every expression inside it, parents before children, left to right."""
    yield e
    match e:
        case Ref() | EnumConst() | NullConst() | SrvConst() | SetConst():
            return
        case Field(obj=o):
            yield from walk(o)
        case Apply(args=xs) | Declared(args=xs) | And(items=xs) | Or(items=xs):
            for x in xs:
                yield from walk(x)
        case Eq(left=a, right=b) | Implies(premise=a, conclusion=b):
            yield from walk(a)
            yield from walk(b)
        case In(item=a, collection=b):
            yield from walk(a)
            yield from walk(b)
        case Not(operand=o):
            yield from walk(o)
        case Quant(body=b) | Within(body=b):
            yield from walk(b)
        case _:
            assert_never(e)


# ---- printing (as the surface printer would print the same expression) -----------


def _level(e: PExpr) -> int:
    match e:
        case Quant() | Within():
            return QUANT
        case Implies():
            return IMPLIES
        case Or():
            return OR
        case And():
            return AND
        case Not():
            return NOT
        case Eq() | In():
            return CMP
        case Field() | Apply() | Declared():
            return POSTFIX
    return ATOM


def show(e: PExpr, need: int = QUANT) -> str:
    text = _show(e)
    return f"({text})" if _level(e) < need else text


def _show(e: PExpr) -> str:
    match e:
        case Ref(name=n):
            return n
        case EnumConst(member=m):
            return m
        case NullConst():
            return "null"
        case SrvConst(srv=s):
            return quote(s)
        case SetConst(group=g, members=ms):
            return g if g is not None else "{" + ", ".join(ms) + "}"
        case Field(obj=o, name=n):
            return f"{show(o, POSTFIX)}.{n.value}"
        case Apply(fn=f, args=args):
            return f"{f.value}(" + ", ".join(show(a) for a in args) + ")"
        case Declared(kind=DeclKind.REQUEST | DeclKind.SERVICE, name=n, args=(o,)):
            return f"{show(o, POSTFIX)}.{n}"
        case Declared(name=n, args=args):
            return f"{n}(" + ", ".join(show(a) for a in args) + ")"
        case Eq(left=a, right=b, negated=neg):
            return f"{show(a, POSTFIX)} {'!=' if neg else '=='} {show(b, POSTFIX)}"
        case In(item=a, collection=b, negated=neg):
            return f"{show(a, POSTFIX)} {'not in' if neg else 'in'} {show(b, POSTFIX)}"
        case And(items=items):
            return " and ".join(show(x, NOT) for x in items)
        case Or(items=items):
            return " or ".join(show(x, AND) for x in items)
        case Not(operand=o):
            return f"not {show(o, NOT)}"
        case Implies(premise=a, conclusion=b):
            right = _show(b) if isinstance(b, Quant | Within) else show(b, IMPLIES)
            return f"{show(a, OR)} implies {right}"
        case Quant(kind=k, binders=bs, body=b):
            return f"{k.value} " + ", ".join(f"{x.name}: {x.sort}" for x in bs) + f" . {show(b)}"
        case Within(depth=d, var=v, origin=o, body=b):
            return f"within {d} {v} from {o} . {show(b)}"
        case _:
            assert_never(e)
