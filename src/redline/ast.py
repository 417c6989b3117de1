"""Surface AST: what the parser produces, before names are resolved.

Nodes are frozen, slotted, keyword-only dataclasses; `span` does not take
part in equality, so trees parsed from differently formatted text compare
equal (this is what the `fmt` round-trip test relies on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redline.source import NO_SPAN, Span

NODE = dict(frozen=True, slots=True, kw_only=True)


@dataclass(**NODE)
class Ident:
    name: str
    span: Span = field(default=NO_SPAN, compare=False)


# ---- expressions ----------------------------------------------------------

@dataclass(**NODE)
class Name:
    id: Ident
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Str:
    value: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class TimeLit:
    text: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class BoolLit:
    value: bool
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class NullLit:
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class SetLit:
    items: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Field:
    obj: Expr
    name: Ident
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Index:
    obj: Expr
    key: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Call:
    func: Ident
    args: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Compare:
    op: str  # "==" or "!="
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class In:
    item: Expr
    collection: Expr
    negated: bool
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Throughout:
    predicate: Expr
    times: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class And:
    items: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Or:
    items: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Not:
    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Implies:
    premise: Expr
    conclusion: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class If:
    cond: Expr
    then: Expr
    otherwise: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Binder:
    name: Ident
    type: Ident


@dataclass(**NODE)
class Quant:
    kind: str  # "forall" or "exists"
    binders: tuple[Binder, ...]
    body: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class Temporal:
    """`always t from s . P`, `reachable t from s . P`, `within K t from s . P`: P of the
    states `t` reached from `s` by accepted requests (and the property's allowed events)."""

    kind: str  # "always" | "reachable" | "within"
    var: Ident
    origin: Ident
    depth: int | None  # K of `within K`
    body: Expr
    span: Span = field(default=NO_SPAN, compare=False)


Expr = (
    Name | Str | TimeLit | BoolLit | NullLit | SetLit | Field | Index | Call
    | Compare | In | Throughout | And | Or | Not | Implies | If | Quant | Temporal
)


# ---- vocabularies, world, catalogue ---------------------------------------

@dataclass(**NODE)
class Member:
    name: Ident
    label: str | None


@dataclass(**NODE)
class EnumDecl:
    name: Ident
    cite: str | None
    members: tuple[Member, ...]


@dataclass(**NODE)
class GroupDecl:
    name: Ident
    enum: Ident
    members: tuple[Ident, ...]
    cite: str | None


@dataclass(**NODE)
class AssumptionDecl:
    name: Ident
    text: str
    tag: str | None


@dataclass(**NODE)
class SimpleType:
    name: Ident


@dataclass(**NODE)
class OptionalType:
    inner: TypeExpr


@dataclass(**NODE)
class SetType:
    elem: Ident


@dataclass(**NODE)
class MapType:
    key: Ident
    value: TypeExpr


TypeExpr = SimpleType | OptionalType | SetType | MapType


@dataclass(**NODE)
class FieldDecl:
    name: Ident
    type: TypeExpr
    rests: tuple[Ident, ...]


@dataclass(**NODE)
class RecordDecl:
    name: Ident
    cite: str | None
    fields: tuple[FieldDecl, ...]
    extends: bool = False  # `extend Device { ... }`: fields a rule file adds to a record declared elsewhere


@dataclass(**NODE)
class RelationDecl:
    """`relation joined "cite" (Device, Device)`: a set of tuples of records the state holds."""

    name: Ident
    cite: str | None
    args: tuple[Ident, ...]


@dataclass(**NODE)
class Setting:
    """`name = value` in a `with` clause: a declared field's value in a world or request."""

    name: Ident
    value: Expr


@dataclass(**NODE)
class RowField:
    name: Ident
    value: Expr


@dataclass(**NODE)
class Row:
    srv: Str
    fields: tuple[RowField, ...]


@dataclass(**NODE)
class CatalogueDecl:
    name: Ident
    cite: str | None
    record: Ident
    rests: tuple[Ident, ...]
    rows: tuple[Row, ...]


# ---- rule sets ------------------------------------------------------------

@dataclass(**NODE)
class DefineDecl:
    name: Ident
    cite: str | None
    rests: tuple[Ident, ...]
    value: Expr


@dataclass(**NODE)
class Except:
    cite: str
    when: Expr
    rests: tuple[Ident, ...]


@dataclass(**NODE)
class CheckDecl:
    name: Ident
    cite: str
    layer: Ident
    code: str | None
    applies: Expr | None
    excepts: tuple[Except, ...]
    requires: Expr | None
    rests: tuple[Ident, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class EffectDecl:
    name: Ident
    cite: str
    when: Expr
    target: Expr
    value: Expr
    rests: tuple[Ident, ...]


RuleItem = CheckDecl | EffectDecl | DefineDecl


@dataclass(**NODE)
class RulesetDecl:
    name: Ident
    cite: str
    items: tuple[RuleItem, ...]


@dataclass(**NODE)
class AddCheck:
    check: CheckDecl
    position: tuple[str, Ident] | None  # ("before"|"after", check name)


@dataclass(**NODE)
class AddEffect:
    effect: EffectDecl


@dataclass(**NODE)
class AddDefine:
    define: DefineDecl


@dataclass(**NODE)
class RemoveCheck:
    name: Ident
    cite: str


@dataclass(**NODE)
class RemoveEffect:
    name: Ident
    cite: str


@dataclass(**NODE)
class AmendCheck:
    name: Ident
    excepts: tuple[Except, ...]
    requires: Expr | None
    applies: Expr | None


@dataclass(**NODE)
class AmendRow:
    srv: Str
    cite: str
    fields: tuple[RowField, ...]


@dataclass(**NODE)
class AddRow:
    """A new SRV: its catalogue row, every field given. Every other rule set has it with no eligible User Role."""

    srv: Str
    cite: str
    fields: tuple[RowField, ...]


@dataclass(**NODE)
class Intent:
    """What a modification means to do: `change`, newly `accept` or newly `reject` where `where` holds."""

    kind: str
    cite: str
    where: Expr


Redline = AddCheck | AddEffect | AddDefine | RemoveCheck | RemoveEffect | AmendCheck | AmendRow | AddRow | Intent


@dataclass(**NODE)
class ModificationDecl:
    name: Ident
    cite: str
    base: Ident
    redlines: tuple[Redline, ...]
    reuses: Ident | None = None  # `amends BASE with redlines of OTHER`: OTHER's redlines come first


# ---- properties -----------------------------------------------------------

@dataclass(**NODE)
class Expectation:
    ruleset: Ident
    other: Ident | None  # set for a relational property: `expect baseline..mp107 proved`
    outcome: str  # "proved" | "refuted"


@dataclass(**NODE)
class PropertyDecl:
    name: Ident
    cite: str
    expectations: tuple[Expectation, ...]
    rests: tuple[Ident, ...]
    body: Expr
    allowing: tuple[Ident, ...] | None = None  # the events a temporal property admits; None if not said


@dataclass(**NODE)
class AcknowledgementDecl:
    """`property NAME "reason" expect OLD..NEW refuted` with no body: for the pair a generic property is
    bound to, the outcome expected there instead of the library's, and why (the cite)."""

    name: Ident
    cite: str
    expectations: tuple[Expectation, ...]


@dataclass(**NODE)
class EventDecl:
    """An environment event: `registration GROUP` (that group's Registration Data for the device's
    MPxN changes), `dcc_user` (one party ceases to be a DCC User) or `now` (time passes)."""

    name: Ident
    cite: str
    target: str  # "registration" | "dcc_user" | "now"
    group: Ident | None
    target_span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class InvariantDecl:
    """A well-formedness constraint on states: a built-in `form` applied to User Roles or groups of them."""

    name: Ident
    cite: str
    rests: tuple[Ident, ...]
    form: Ident
    args: tuple[Ident, ...]


# ---- worlds and scenarios -------------------------------------------------

@dataclass(**NODE)
class NowItem:
    time: TimeLit


@dataclass(**NODE)
class PartyItem:
    alias: Ident
    id: Str
    roles: tuple[Ident, ...]
    dcc_user: bool
    settings: tuple[Setting, ...] = ()


@dataclass(**NODE)
class Anchor:
    role: Ident
    owner: Ident


@dataclass(**NODE)
class DeviceItem:
    alias: Ident
    id: Str
    type: Ident
    generation: Ident
    smi_status: Ident
    mpxn: Str | None
    via: Ident | None
    anchors: tuple[Anchor, ...]
    settings: tuple[Setting, ...] = ()


@dataclass(**NODE)
class RegisteredItem:
    mpxn: Str
    role: Ident
    party: Ident
    start: TimeLit
    end: TimeLit | None


@dataclass(**NODE)
class HoldsItem:
    """`holds joined(M, H)`: a tuple of a declared relation holds in the world."""

    relation: Ident
    args: tuple[Ref, ...]


WorldItem = NowItem | PartyItem | DeviceItem | RegisteredItem | HoldsItem


@dataclass(**NODE)
class WorldDecl:
    name: Ident
    cite: str | None
    items: tuple[WorldItem, ...]


@dataclass(**NODE)
class Ref:
    """A party or device: an alias from the world, or a literal identifier."""

    name: str
    literal: bool
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(**NODE)
class RequestSpec:
    sender: Ref
    role: Ident
    srv: Str
    device: Ref | None
    replacing: tuple[Ident, Ref] | None
    execution_time: TimeLit | None
    date_range: tuple[TimeLit, TimeLit] | None
    settings: tuple[Setting, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False)
    carrying: tuple[Ident, Ref] | None = None  # the certificate a request holds without replacing a cell with it


@dataclass(**NODE)
class ExpectAccept:
    ruleset: Ident
    effect: tuple[Ident, Ident, Ref] | None  # device alias, trust anchor role, owner


@dataclass(**NODE)
class ExpectReject:
    ruleset: Ident
    layer: Ident
    code: str | None
    check: Ident | None


@dataclass(**NODE)
class ScenarioDecl:
    name: Ident
    cite: str
    world: Ident
    items: tuple[WorldItem, ...]
    request: RequestSpec
    expects: tuple[ExpectAccept | ExpectReject, ...]


Decl = (
    EnumDecl | GroupDecl | AssumptionDecl | RecordDecl | RelationDecl | CatalogueDecl | RulesetDecl
    | ModificationDecl | PropertyDecl | AcknowledgementDecl | EventDecl | WorldDecl | ScenarioDecl | InvariantDecl
)


@dataclass(**NODE)
class Module:
    decls: tuple[Decl, ...]
