"""Random rule sets that reach every expression form of the rule language, written as rule-file text.

The strategies here build the TEXT of a rule set (checks, exceptions, definitions and effects whose
conditions are random well-typed expressions), so that it goes through the real parser and checker;
`program(text)` checks it together with the shipped vocabulary, records and assumptions and a small
catalogue of its own (five SRVs: small enough for a generated validator per example, varied enough
that every catalogue column is sometimes true, false, empty and full). States and requests for that
catalogue come from `worlds()`.

Expressions are drawn by the type they must have. A bare enum member, a string, `null`, a group or
a set of bare names takes its type from the context (see check/exprs.py), so those are drawn only
where the checker knows the type it expects (`typed=True`); elsewhere (the left of `==`, the object
of a field, a definition's body) only forms that carry their own type are drawn.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from redline.check import check
from redline.check import checked as ir
from redline.codegen import RuleFile
from redline.source import Source
from redline.syntax import parse

SHIPPED = ("vocabulary.redline", "world.redline", "assumptions.redline")

CATALOGUE = '''
catalogue small "a catalogue for generated rule sets" of Service
  row "1.1.1" { name = "Update Import Tariff", service_reference = "1.1", critical = true, on_demand = true,
    future_dated = Device, dcc_scheduled = false, non_device = false, eligible_roles = {IS, GS},
    device_types = {ESME, GSME, GPF}, smi_statuses = {InstalledNotCommissioned, Commissioned},
    replaces_trust_anchor = false, carries_certificate = false }
  row "6.15.1" { name = "Update Security Credentials (KRP)", service_reference = "6.15", critical = true,
    on_demand = true, future_dated = No, dcc_scheduled = false, non_device = false,
    eligible_roles = {IS, ES, GS, ED, GT}, device_types = {ESME, GSME, CHF}, smi_statuses = {Commissioned},
    replaces_trust_anchor = true, carries_certificate = true }
  row "6.23" { name = "Update Security Credentials (CoS)", service_reference = "6.23", critical = true,
    on_demand = true, future_dated = DSP, dcc_scheduled = true, non_device = false, eligible_roles = {IS, GS},
    device_types = {ESME, GSME}, smi_statuses = {Commissioned, Suspended}, replaces_trust_anchor = false, carries_certificate = false }
  row "8.1.1" { name = "Commission Device", service_reference = "8.1", critical = false, on_demand = true,
    future_dated = DSPAndDevice, dcc_scheduled = false, non_device = true,
    eligible_roles = {IS, ES, GS, RSA, ED, GT, OU}, device_types = {}, smi_statuses = {},
    replaces_trust_anchor = false, carries_certificate = false }
  row "11.2" { name = "Read Inventory", service_reference = "11.2", critical = false, on_demand = false,
    future_dated = No, dcc_scheduled = false, non_device = true, eligible_roles = {},
    device_types = {IHD, CAD}, smi_statuses = {Pending, Withdrawn}, replaces_trust_anchor = false, carries_certificate = false }
'''
SRVS = ["1.1.1", "6.15.1", "6.23", "8.1.1", "11.2"]
REPLACES = {"6.15.1"}

ENUMS = {
    "UserRole": ["IS", "ES", "GS", "RSA", "ED", "GT", "OU"],
    "DeviceType": ["ESME", "GSME", "GPF", "CHF", "HCALCS", "PPMID", "IHD", "CAD"],
    "Generation": ["SMETS1", "SMETS2"],
    "SmiStatus": ["Pending", "InstalledNotCommissioned", "Commissioned", "Decommissioned", "Withdrawn", "Suspended"],
    "RemotePartyRole": ["Root", "Recovery", "Supplier", "NetworkOperator", "ACB", "TransCoS", "LoadController"],
    "FutureDated": ["Device", "DSP", "DSPAndDevice", "No"],
}
GROUPS = {"UserRole": ["NetworkOperator", "Supplier"]}
PARTIES = [f"90-B3-D5-1F-30-0{i}-00-00" for i in range(1, 4)]
METER, OTHER, UNKNOWN = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1", "00-DB-12-34-56-78-90-FF"
MPXNS = ["1900000000001", "1900000000002"]
TIMES = ["2015-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2026-03-01T11:59:59.75Z", "2026-03-01T12:00:00Z",
         "2026-06-01T00:00:00Z", "2030-01-01T00:00:00Z"]
TIME_LITERALS = [t for t in TIMES if "." not in t]  # the grammar's TIME has no fraction

# The types expressions are drawn at. Scalars and truth values can be compared with `==`; the sets cannot.
SCALARS = ["Party", "Service", "Device", "Time", "MPxN", *ENUMS]
SETS = [f"set {e}" for e in ENUMS]
EQ_TYPES = [*SCALARS, "Bool"]


class Gen:
    """Draws expression text of a given type; `defines` are the definitions in scope, by type."""

    def __init__(self, draw: st.DrawFn, defines: dict[str, list[str]]) -> None:
        self.draw, self.defines = draw, defines

    def pick(self, options: list[Any]) -> Any:
        return self.draw(st.sampled_from(options))

    def expr(self, ty: str, depth: int, typed: bool = True, strict: bool = False) -> str:
        """An expression of type `ty` (possibly optional); `typed`: the checker knows to expect `ty`;
        `strict`: not of the type of `null` itself (a condition, an argument, a set item, a map key)."""
        options = ["leaf"] * 2
        if self.defines.get(ty):
            options.append("define")
        if depth > 0:
            options += ["if", "compound", "compound"]
        kind = self.pick(options)
        if kind == "define":
            return self.pick(self.defines[ty])
        if kind == "if":
            return self.if_(ty, depth, typed, strict)
        if kind == "compound":
            out = self.compound(ty, depth - 1, typed)
            if out is not None:
                return out
        return self.leaf(ty, typed, strict)

    def cond(self, depth: int) -> str:
        return self.expr("Bool", depth, True, True)

    def if_(self, ty: str, depth: int, typed: bool, strict: bool) -> str:
        cond = self.cond(depth - 1)
        then = self.expr(ty, depth - 1, typed, strict)
        other = self.expr(ty, depth - 1, True)  # the `then` branch gives its type
        return f"(if {cond} then {then} else {other})"

    def party(self, depth: int) -> str:
        return self.expr("Party", depth, False)

    def service(self, depth: int) -> str:
        return self.expr("Service", depth, False)

    def device(self, depth: int) -> str:
        return self.expr("Device", depth, False)

    def leaf(self, ty: str, typed: bool, strict: bool) -> str:
        own: list[str]  # forms that carry their own type
        ctx: list[str] = ["null"]  # forms that take it from the context
        match ty:
            case "Bool":
                own = ["true", "false", "sender.dcc_user", "srv.critical", "srv.non_device", "srv.replaces_trust_anchor",
                       "srv.dcc_scheduled", "srv.on_demand", "request.new_certificate_owner.dcc_user"]
            case "Party":
                # No party id literals: the encoder numbers parties, so it refuses a constant one (as it
                # does an MPxN), and names that refusal.
                own = ["sender", "request.sender", "request.new_certificate_owner", "device.trust_anchors[Supplier]",
                       "device.trust_anchors[request.remote_party_role]"]
            case "Service":
                own = ["srv", "request.srv"]
                ctx += [f'"{s}"' for s in SRVS]
            case "Device":
                own = ["device", "request.device"]
            case "Time":
                own = ["now", "request.execution_time", "request.date_range.from", "request.date_range.to", *TIME_LITERALS]
            case "MPxN":
                own = ["device.mpxn", "request.device.mpxn"]
            case "DateRange":
                own = ["request.date_range"]
            case "UserRole":
                own = ["role", "request.role", *ENUMS[ty]]
            case "DeviceType":
                own = ["device.type", *ENUMS[ty]]
            case "Generation":
                own = ["device.generation", *ENUMS[ty]]
            case "SmiStatus":
                own = ["device.smi_status", *ENUMS[ty]]
            case "RemotePartyRole":
                own = ["request.remote_party_role", *ENUMS[ty]]
            case "FutureDated":
                own = ["srv.future_dated", *ENUMS[ty]]
            case _ if ty.startswith("set "):
                enum = ty[4:]
                own = {"UserRole": ["sender.roles", "srv.eligible_roles"], "DeviceType": ["srv.device_types"],
                       "SmiStatus": ["srv.smi_statuses"]}.get(enum, [])
                members = self.draw(st.lists(st.sampled_from(ENUMS[enum]), min_size=1, max_size=3, unique=True))
                own.append("{" + ", ".join(members) + "}")  # the first member gives the element type
                ctx = ["{}", *GROUPS.get(enum, [])]  # no `null` set: sets are never optional
            case _:
                raise AssertionError(ty)
        if strict:
            ctx = [x for x in ctx if x != "null"]
        return self.pick(own + ctx if typed else own)

    def compound(self, ty: str, depth: int, typed: bool) -> str | None:
        """A form built of smaller expressions, or None where `ty` has none of them."""
        d = depth
        match ty:
            case "Bool":
                form = self.pick(["eq", "in", "and", "or", "not", "implies", "throughout", "field"])
                if form == "eq":
                    t = self.pick(EQ_TYPES)
                    op = self.pick(["==", "!="])
                    return f"({self.expr(t, d, False)} {op} {self.expr(t, d)})"
                if form == "in":
                    enum = self.pick(list(ENUMS))
                    op = self.pick(["in", "not in"])
                    return f"({self.expr(enum, d, False)} {op} {self.expr('set ' + enum, d)})"
                if form in ("and", "or"):
                    items = [self.cond(d) for _ in range(self.draw(st.integers(2, 3)))]
                    return "(" + f" {form} ".join(items) + ")"
                if form == "not":
                    return f"(not {self.cond(d)})"
                if form == "implies":
                    return f"({self.cond(d)} implies {self.cond(d)})"
                if form == "throughout":
                    args = [self.expr(t, d, True, True) for t in ("Party", "UserRole", "MPxN")]
                    return f"(registered({', '.join(args)}) throughout {self.times(d)})"
                return f"{self.party(d)}.dcc_user" if self.draw(st.booleans()) else f"{self.service(d)}.critical"
            case "Party":
                return f"device.trust_anchors[{self.expr('RemotePartyRole', d, True, True)}]"
            case "Time":
                return f"{self.expr('DateRange', d, False)}.{self.pick(['from', 'to'])}"
            case "MPxN":
                return f"{self.device(d)}.mpxn"
            case "DeviceType" | "Generation" | "SmiStatus":
                name = {"DeviceType": "type", "Generation": "generation", "SmiStatus": "smi_status"}[ty]
                return f"{self.device(d)}.{name}"
            case "FutureDated":
                return f"{self.service(d)}.future_dated"
            case "set UserRole":
                return f"{self.party(d)}.roles" if self.draw(st.booleans()) else f"{self.service(d)}.eligible_roles"
            case "set DeviceType":
                return f"{self.service(d)}.device_types"
            case "set SmiStatus":
                return f"{self.service(d)}.smi_statuses"
            case _ if ty.startswith("set "):
                enum = ty[4:]
                # A set expression (not a constant): at least one item is not a bare member.
                items = [self.expr(enum, d, False)]
                items += [self.expr(enum, d, typed, True) for _ in range(self.draw(st.integers(0, 2)))]
                return "{" + ", ".join(items) + "}"
        return None

    def times(self, depth: int) -> str:
        """What `throughout` ranges over: a time, a date range, or an `if` choosing between them."""
        if depth > 0 and self.draw(st.booleans()):
            return (f"(if {self.cond(depth - 1)} then {self.times(depth - 1)}"
                    f" else {self.pick([self.expr('Time', depth - 1), self.expr('DateRange', depth - 1), 'null'])})")
        return self.expr(self.pick(["Time", "DateRange"]), depth, False)


@st.composite
def rule_sets(draw: st.DrawFn, depth: int = 3) -> str:
    """The text of a rule set `generated`: definitions, checks in layer order, effects."""
    defines: dict[str, list[str]] = {}
    gen = Gen(draw, defines)
    lines = ['ruleset generated "generated for the differential tests"']
    for i in range(draw(st.integers(0, 3))):
        ty = draw(st.sampled_from(["Bool", "Bool", *SCALARS, *SETS]))
        body = gen.expr(ty, depth, False)
        lines.append(f'  define d_{i} "definition {i}" = {body}')
        defines.setdefault(ty, []).append(f"d_{i}")
    layers = sorted(draw(st.lists(st.sampled_from(["DSP", "S1SP", "Device"]), min_size=1, max_size=4)),
                    key=["DSP", "S1SP", "Device"].index)
    for i, layer in enumerate(layers):
        code = draw(st.sampled_from(["", f" E{i + 1}"]))
        lines.append(f'  check c_{i} "check {i}" at {layer} reject{code}')
        if draw(st.booleans()):
            lines.append(f"    applies when {gen.cond(depth)}")
        for j in range(draw(st.integers(0, 2))):
            lines.append(f'    except "exception {i}.{j}" when {gen.cond(depth)}')
        if draw(st.integers(0, 4)):
            lines.append(f"    requires {gen.cond(depth)}")
    for i in range(draw(st.integers(0, 2))):
        cell, owner = gen.expr("RemotePartyRole", depth - 1, True, True), gen.expr("Party", depth - 1, True, True)
        lines.append(f'  effect e_{i} "effect {i}" when {gen.cond(depth)} set device.trust_anchors[{cell}] to {owner}')
    return "\n".join(lines) + "\n"


def sources(ruleset_text: str) -> list[Source]:
    rules = Path(__file__).resolve().parents[1] / "rules"
    shipped = [Source(name, (rules / name).read_text(encoding="utf-8")) for name in SHIPPED]
    return [*shipped, Source("catalogue.redline", CATALOGUE), Source("generated.redline", ruleset_text)]


@functools.cache
def _fixed_modules() -> tuple[Any, ...]:
    """The shipped declarations and the catalogue, parsed once (as build() would parse them)."""
    out = []
    for src in sources("")[:-1]:
        module, diags = parse(src)
        assert not diags, diags
        out.append(module)
    return tuple(out)


def program(ruleset_text: str) -> ir.Program:
    """The rule set checked with the shipped vocabulary and records; a generated rule set must check clean."""
    module, diags = parse(Source("generated.redline", ruleset_text))
    prog, more = check([*_fixed_modules(), module]) if not diags else (None, [])
    errors = [d for d in [*diags, *more] if d.is_error]
    assert prog is not None and not errors, (ruleset_text, [f"{d.code} {d.message}" for d in errors])
    return prog


def rule_files(ruleset_text: str) -> list[RuleFile]:
    return [RuleFile(s.path, s.text.encode("utf-8")) for s in sources(ruleset_text)]


def forms(rs: ir.RuleSet) -> set[type]:
    """The IR expression classes a rule set's conditions, effects and definitions contain."""
    seen: set[type] = set()

    def visit(e: object) -> None:
        seen.add(type(e))
        for child in ir.children(e):
            visit(child)

    for c in rs.checks:
        for x in (c.applies, c.requires, *(w.when for w in c.exceptions)):
            if x is not None:
                visit(x)
    for ef in rs.effects:
        for x in (ef.when, ef.cell, ef.owner):
            visit(x)
    return seen


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A state and a request for the small catalogue: every party, device and registration field varies,
    and the request's device is sometimes absent, unknown or reached through an association."""
    roles = ENUMS["UserRole"]
    parties = {p: {"roles": draw(st.lists(st.sampled_from(roles), max_size=3, unique=True)),
                   "dcc_user": draw(st.booleans())} for p in PARTIES}
    cells = draw(st.lists(st.sampled_from(ENUMS["RemotePartyRole"]), max_size=4, unique=True))
    meter = {
        "type": draw(st.sampled_from(ENUMS["DeviceType"])),
        "generation": draw(st.sampled_from(ENUMS["Generation"])),
        "smi_status": draw(st.sampled_from(ENUMS["SmiStatus"])),
        "mpxn": draw(st.sampled_from(MPXNS)),
        "trust_anchors": {c: draw(st.one_of(st.sampled_from(PARTIES), st.none())) for c in cells},
    }
    other = {k: v for k, v in meter.items() if k != "mpxn"} | {"associated_device": METER,
                                                               "type": draw(st.sampled_from(ENUMS["DeviceType"]))}
    registration: dict[str, list[dict[str, Any]]] = {}
    for m in draw(st.lists(st.sampled_from(MPXNS), max_size=2, unique=True)):
        items = []
        for _ in range(draw(st.integers(0, 3))):
            lo = draw(st.integers(0, len(TIMES) - 2))
            hi = draw(st.one_of(st.none(), st.integers(lo + 1, len(TIMES) - 1)))
            items.append({"role": draw(st.sampled_from([r for r in roles if r != "OU"])),
                          "party": draw(st.sampled_from(PARTIES)),
                          "from": TIMES[lo], "to": TIMES[hi] if hi is not None else None})
        registration[m] = items
    state = {"now": draw(st.sampled_from(TIMES)), "parties": parties, "devices": {METER: meter, OTHER: other},
             "registration": registration}
    srv = draw(st.sampled_from(SRVS))
    request: dict[str, Any] = {"sender": draw(st.sampled_from(PARTIES)), "role": draw(st.sampled_from(roles)), "srv": srv,
                               "device": draw(st.sampled_from([METER, METER, OTHER, UNKNOWN, None]))}
    if srv in REPLACES:
        request["remote_party_role"] = draw(st.sampled_from(ENUMS["RemotePartyRole"]))
        request["new_certificate_owner"] = draw(st.sampled_from(PARTIES))
    if draw(st.booleans()):
        request["execution_time"] = draw(st.sampled_from(TIMES))
    if draw(st.booleans()):
        a, b = sorted(draw(st.lists(st.sampled_from(TIMES), min_size=2, max_size=2)), key=TIMES.index)
        request["date_range"] = {"from": a, "to": b}
    return state, request
