"""The checked IR: what `check()` produces and what every back end consumes.

Expressions here are resolved and typed: enum members are constants, SRV
strings are known catalogue entries, names are variables or definitions.
The interpreter and the SMT compiler accept only these types, so nothing
unchecked can reach them.

Every back end dispatches over `Expr`, the union of the expression forms
below, and ends its dispatch in `typing.assert_never`, so that mypy names
each one a new form has not reached yet.

Null semantics
--------------
This is the one statement of what null means; every back end (interp/,
smt/encode.py, codegen/, impact/sql.py) implements it and cites it here
rather than restating it. A value of an `optional` type, and the literal
`null`, may be null.

- Reading. A field of a null record is null, and so is a field of a record
  the state does not hold (a Device id not in STATE.json, an SRV without a
  catalogue row). A Party id the state's `parties` does not list names a
  party that is not a DCC User and holds no User Role: its `dcc_user` is
  false, its `roles` the empty set and its declared fields null (as
  smt/concrete.py pins a state). `device` is null when the SMI does not
  hold the request's device. An absent optional request field is null. Indexing a
  null map, indexing with a null key, or a key the map lacks gives null;
  `.from`/`.to` of a null date range are null.
- `==` and `!=` are plain equality on values with null as one more value:
  null equals null and nothing else; `!=` is the negation. Neither is ever
  null.
- `x in S` is false when `x` is null, and a null `S` counts as the empty set;
  `x not in S` is its negation (so `null not in S` is true).
- A set expression `{a, b}` leaves out its null items.
- A null truth value counts as false wherever a truth value is used: as an
  operand of `and`, `or`, `not`, `implies`, and as the condition of `if`
  (so `if null then a else b` is `b`). `and`/`or`/`not` always give true or
  false, never null.
- `registered(p, r, m) throughout T` is false when `p`, `r`, `m` or `T` is
  null.
- In a rule set: a null `applies when` does not apply the check (it is
  skipped); a null `except when` does not waive it; a null `requires` fails
  it (fail closed: what cannot be evaluated rejects). An effect whose `when`
  is null does not happen, nor does one whose cell or owner is null, nor
  any effect of a request whose device is not in the SMI.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, get_args

from redline.check.propir import Body, Expectation, Outcome
from redline.check.propir import (
    Event as Event,  # re-exported: the IR of events lives with the property IR that reads it
)
from redline.check.types import Layer, Type
from redline.source import NO_SPAN, Span

IR = dict(frozen=True, slots=True, kw_only=True)

# A catalogue row: the fields of the `Service` record, by name. Its schema is data (the rule files
# declare the record), which is why a row is keyed by field name rather than a class of redline's.
Row = dict[str, Any]


@dataclass(**IR)
class Const:
    value: Any  # str for enum members and SRVs, frozenset for sets, bool, int (time), None
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class Var:
    name: str  # request, sender, role, srv, device, now
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class Defined:
    name: str
    cite: str | None
    rests: tuple[str, ...]
    value: Expr
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class GetField:
    obj: Expr
    record: str
    name: str
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class GetIndex:
    obj: Expr
    key: Expr
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class Eq:
    left: Expr
    right: Expr
    negated: bool
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class Member:
    item: Expr
    collection: Expr
    negated: bool
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class AndE:
    items: tuple[Expr, ...]
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class OrE:
    items: tuple[Expr, ...]
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class NotE:
    operand: Expr
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class IfE:
    cond: Expr
    then: Expr
    otherwise: Expr
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class SetE:
    items: tuple[Expr, ...]
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class Registered:
    """`registered(party, role, mpxn)`: a predicate of time over Registration Data."""

    party: Expr
    role: Expr
    mpxn: Expr
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class ThroughoutE:
    """`P throughout T`: P holds at every instant of T (a time or a closed range)."""

    predicate: Registered
    times: Expr
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class Related:
    """`joined(a, b)`: the tuple of these records is in the declared relation (false if any is null)."""

    name: str
    args: tuple[Expr, ...]
    type: Type
    span: Span = field(default=NO_SPAN, compare=False)


def children(node: object) -> Iterator[object]:
    """The IR nodes directly inside `node`, for passes that look for one kind of node.

    Spans and types are not IR, so they are not visited.
    """
    if not is_dataclass(node) or isinstance(node, type):
        return
    for f in fields(node):
        if f.name in ("span", "type"):
            continue
        value = getattr(node, f.name)
        for x in value if isinstance(value, tuple) else (value,):
            if is_dataclass(x) and not isinstance(x, type):
                yield x


Expr = Const | Var | Defined | GetField | GetIndex | Eq | Member | AndE | OrE | NotE | IfE | SetE | Registered | ThroughoutE | Related
# The expression forms, for tests that must reach every one of them.
EXPR_FORMS: tuple[type, ...] = get_args(Expr)


@dataclass(**IR)
class Exception_:
    """A waiver of a check: where `when` holds the check is skipped, citing `cite`."""

    cite: str
    when: Expr
    rests: tuple[str, ...]
    origin: str  # the rule set or modification that wrote it


@dataclass(**IR)
class Check:
    name: str
    cite: str
    layer: Layer
    code: str | None
    applies: Expr | None
    exceptions: tuple[Exception_, ...]
    requires: Expr | None
    rests: tuple[str, ...]
    origin: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class Effect:
    """On acceptance by every layer, where `when` holds: device cell `cell` := `owner`."""

    name: str
    cite: str
    when: Expr
    cell: Expr
    owner: Expr
    rests: tuple[str, ...]
    origin: str


@dataclass(**IR)
class Intent:
    kind: str  # change | accept | reject
    cite: str
    where: Expr


@dataclass(**IR)
class RuleSet:
    name: str
    cite: str
    base: str | None  # the rule set a modification amends
    checks: tuple[Check, ...]
    effects: tuple[Effect, ...]
    catalogue: Mapping[str, Mapping[str, Any]]  # SRV -> field -> value
    redline_clauses: tuple[str, ...] = ()
    intents: tuple[Intent, ...] = ()  # what the modification that made this rule set declares it means to do
    reused: tuple[str, ...] = ()  # modifications whose redlines it applies (`with redlines of`), innermost first
    added: tuple[str, ...] = ()  # the SRVs its modification adds (`add row`); every other rule set has them, no role eligible


def carries_certificate(row: Mapping[str, Any]) -> bool:
    """Whether a request for this catalogue row holds a certificate (REQUEST.json `remote_party_role` and
    `new_certificate_owner`). The catalogue says so in `carries_certificate`, apart from what the request
    does (`replaces_trust_anchor`); an SRV that replaces a cell with the certificate it holds carries one
    whatever that column says, and a catalogue without the column (an older world) carries exactly where
    it replaces."""
    return bool(row.get("carries_certificate")) or bool(row.get("replaces_trust_anchor"))


def carrying_srvs(catalogue: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
    """The SRVs of a catalogue whose requests carry a certificate."""
    return frozenset(s for s, row in catalogue.items() if carries_certificate(row))


@dataclass(**IR)
class Assumption:
    name: str
    text: str
    tag: str | None


@dataclass(**IR)
class Property:
    """A property: its checked body (check/propir.py) and the outcome expected under each rule set."""

    name: str
    cite: str
    expectations: tuple[Expectation, ...]
    rests: tuple[str, ...]
    body: Body  # one step, or over runs
    allowing: tuple[str, ...] | None = None  # the events a temporal property admits

    def acknowledged(self, key: str) -> str | None:
        """Why the expectation under `key` is not the generic library's, if an acknowledgement overrode it."""
        return next((x.acknowledged for x in self.expectations if x.key == key), None)

    @property
    def expected(self) -> dict[str, str]:
        """Each expectation by its key (a rule set, or `old..new` when relational): "proved" | "refuted"."""
        return {x.key: x.outcome.value for x in self.expectations}


@dataclass(**IR)
class Acknowledgement:
    """For one modification and its base, a generic property expected to come out otherwise than the
    library says (`property NAME "reason" expect BASE..NAME refuted`, no body), and why."""

    property: str
    rulesets: tuple[str, str]  # (base, modification), lower-case
    outcome: Outcome
    reason: str


@dataclass(**IR)
class ExpectedEffect:
    """A trust anchor cell an accepted request must set: as a verdict's effect names it."""
    device: str | None  # None only where the checker reported the name it could not resolve
    trust_anchor: str
    owner: str | None


@dataclass(**IR)
class ExpectedVerdict:
    """The verdict a scenario expects under one rule set; a field left None accepts any value."""
    verdict: str  # accept | reject
    layer: str | None = None
    code: str | None = None
    check: str | None = None
    effect: ExpectedEffect | None = None  # accept only


@dataclass(**IR)
class Scenario:
    name: str
    cite: str
    state: Mapping[str, Any]  # STATE.json
    request: Mapping[str, Any]  # REQUEST.json
    expected: Mapping[str, ExpectedVerdict]  # by rule set
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**IR)
class Vocabulary:
    """Which declared enum plays which part, found by purpose from the world's
    record declarations (check/program.py), so no back end names an enum.

    `role`: the User Roles, the element enum of `Party.roles`; `cell`: the
    trust anchor cells, the key enum of `Device.trust_anchors`; `device_type`,
    `generation`, `smi_status`: the enums of those `Device` fields.
    `unregistered`: the User Roles no Registration Data names (from the
    declared invariants, `Invariant`).
    """

    role: str
    cell: str
    device_type: str
    generation: str
    smi_status: str
    unregistered: frozenset[str] = frozenset()

    def device_enums(self) -> dict[str, str]:
        """The `Device` fields whose values come from an enum, with their enum."""
        return {"type": self.device_type, "generation": self.generation, "smi_status": self.smi_status}


@dataclass(**IR)
class Invariant:
    """A well-formedness constraint every real state satisfies (docs/formats.md, invariants).

    `form` is one of the built-in forms (INVARIANT_FORMS); `roles` the User Roles it is about.
    """

    name: str
    cite: str
    form: str
    roles: frozenset[str]
    rests: tuple[str, ...]
    span: Span = field(default=NO_SPAN, compare=False)


# "one_registered": at any instant an MPxN has at most one registered party in each of these roles.
# "never_registered": no Registration Data assignment names one of these roles.
INVARIANT_FORMS = ("one_registered", "never_registered")


@dataclass(**IR)
class Program:
    enums: Mapping[str, tuple[str, ...]]
    groups: Mapping[str, tuple[str, frozenset[str]]]  # name -> (enum, members)
    records: Mapping[str, Mapping[str, Type]]
    assumptions: Mapping[str, Assumption]
    rulesets: Mapping[str, RuleSet]
    properties: tuple[Property, ...]
    scenarios: tuple[Scenario, ...]
    vocab: Vocabulary
    events: Mapping[str, Event] = field(default_factory=dict)
    # What rule files declared beyond the built-in world (docs/formats.md "Declared fields"):
    # record -> declared field -> type (the fields are in `records` too), and relation -> its records.
    declared: Mapping[str, Mapping[str, Type]] = field(default_factory=dict)
    relations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    invariants: tuple[Invariant, ...] = ()
    # Properties written once over `base` and `modification` (proofs/generic.redline), applied to a
    # modification only when asked (check/generic.py `instantiate`); never in `properties`.
    generic: tuple[Property, ...] = ()
    acknowledgements: tuple[Acknowledgement, ...] = ()  # overriding a generic property's expectation for one pair

    def roles(self) -> tuple[str, ...]:
        return self.enums[self.vocab.role]

    def cells(self) -> tuple[str, ...]:
        return self.enums[self.vocab.cell]

    def registration_roles(self) -> tuple[str, ...]:
        """The User Roles Registration Data may name."""
        return tuple(r for r in self.roles() if r not in self.vocab.unregistered)

    def one_registered(self) -> frozenset[str]:
        """The User Roles in which at most one party is registered for an MPxN at any instant."""
        return frozenset().union(*(i.roles for i in self.invariants if i.form == "one_registered"))

    def ruleset(self, name: str) -> RuleSet | None:
        return self.rulesets.get(name.lower())
