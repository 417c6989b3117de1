"""Check worlds and scenarios, and turn them into STATE.json/REQUEST.json.

A scenario is judged by the same JSON loader and interpreter as
`redline validate`, so what a scenario shows is what a user would see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redline import ast
from redline import diagnostics as diag
from redline.check import checked as ir
from redline.check.types import BOOL, MPXN, TEXT, TIME, EnumT, Layer, MapT, OptT, RecordT, SetT, Type, strip
from redline.diagnostics import Diagnostic
from redline.ids import is_eui64, normalise
from redline.jsondoc import JsonObject
from redline.times import parse_iso


class _World:
    def __init__(self) -> None:
        self.now: str | None = None
        self.parties: dict[str, tuple[str, JsonObject]] = {}  # alias -> (id, json)
        self.devices: dict[str, tuple[str, ast.DeviceItem]] = {}
        self.registered: list[ast.RegisteredItem] = []
        self.holds: list[ast.HoldsItem] = []

    def copy(self) -> _World:
        w = _World()
        w.now, w.parties, w.devices, w.registered = self.now, dict(self.parties), dict(self.devices), list(self.registered)
        w.holds = list(self.holds)
        return w


class _Checker:
    def __init__(self, enums: Mapping[str, tuple[str, ...]], records: Mapping[str, Mapping[str, Type]], out: list[Diagnostic],
                 declared: Mapping[str, Mapping[str, Type]] | None = None, relations: Mapping[str, tuple[str, ...]] | None = None,
                 invariants: tuple[ir.Invariant, ...] = ()) -> None:
        self.enums, self.records, self.out, self.invariants = enums, records, out, invariants
        self.overlaps_told: set[int] = set()  # registered items already reported (a world is built for each scenario)
        self.declared, self.relations = declared or {}, relations or {}

    def settings(self, w: _World, record: str, settings: tuple[ast.Setting, ...]) -> JsonObject:
        """The JSON values of `with name = value, ...` for declared fields of `record`."""
        fields = self.declared.get(record, {})
        out: JsonObject = {}
        for st in settings:
            if st.name.name not in fields:
                self.out.append(diag.no_field(st.name.span, f"{record} (declared fields)", st.name.name, fields))
                continue
            if st.name.name in out:
                self.out.append(diag.duplicate(st.name.span, "setting", st.name.name))
            out[st.name.name] = self.value(w, st.value, fields[st.name.name])
        return out

    def value(self, w: _World, e: ast.Expr, t: Type) -> Any:
        if isinstance(t, OptT):
            return None if isinstance(e, ast.NullLit) else self.value(w, e, t.inner)
        match e:
            case ast.BoolLit(value=v) if t == BOOL:
                return v
            case ast.TimeLit(text=text) if t == TIME:
                return text
            case ast.Str(value=v) if t in (TEXT, MPXN):
                return v
            case ast.Name(id=ident) if isinstance(t, EnumT):
                self.member(ident, t.name)
                return ident.name
            case ast.Name(id=ident) if t == RecordT("Party"):
                return self.party_id(w, ident)
            case ast.Name(id=ident) if t == RecordT("Device"):
                return self.device_id(w, ident)
            case ast.SetLit(items=items) if isinstance(t, SetT):
                return sorted(str(self.value(w, x, t.elem)) for x in items)
        self.out.append(diag.bad_scenario(e.span, f"expected a literal of type {t} here"))
        return None

    def member(self, ident: ast.Ident, enum: str) -> bool:
        if ident.name in self.enums.get(enum, ()):
            return True
        self.out.append(diag.unknown_name(ident.span, f"{enum} value", ident.name, self.enums.get(enum, ())))
        return False

    def field_enum(self, record: str, name: str) -> str:
        t = strip(self.records.get(record, {}).get(name, EnumT("?")))
        if isinstance(t, MapT):
            return t.key.name
        return t.name if isinstance(t, EnumT) else "?"

    def eui(self, s: ast.Str | ast.Ref, what: str) -> str:
        text = s.value if isinstance(s, ast.Str) else s.name
        if not is_eui64(text):
            self.out.append(diag.bad_scenario(s.span, f"{what} `{text}` is not an Entity Identifier of eight hex pairs (90-B3-D5-1F-30-01-00-00)"))
        return normalise(text)

    def unique_id(self, table: JsonObject, alias: ast.Ident, ident: str, span: Any) -> None:
        for other, entry in table.items():
            if entry[0] == ident and other != alias.name:
                self.out.append(diag.bad_scenario(span, f"`{alias.name}` has the same id as `{other}`; give each alias its own id"))

    def add_items(self, w: _World, items: tuple[ast.WorldItem, ...]) -> None:
        for it in items:
            match it:
                case ast.NowItem(time=t):
                    w.now = t.text
                case ast.PartyItem():
                    for r in it.roles:
                        self.member(r, self.field_enum("Request", "role"))
                    pid = self.eui(it.id, "party id")
                    self.unique_id(w.parties, it.alias, pid, it.id.span)
                    w.parties[it.alias.name] = (pid, {"roles": [r.name for r in it.roles], "dcc_user": it.dcc_user,
                                                      **self.settings(w, "Party", it.settings)})
                case ast.DeviceItem():
                    self.member(it.type, self.field_enum("Device", "type"))
                    self.member(it.generation, self.field_enum("Device", "generation"))
                    self.member(it.smi_status, self.field_enum("Device", "smi_status"))
                    for a in it.anchors:
                        self.member(a.role, self.field_enum("Device", "trust_anchors"))
                    did = self.eui(it.id, "device id")
                    self.unique_id(w.devices, it.alias, did, it.id.span)
                    w.devices[it.alias.name] = (did, it)
                case ast.HoldsItem():
                    arity = self.relations.get(it.relation.name)
                    if arity is None:
                        self.out.append(diag.unknown_name(it.relation.span, "relation", it.relation.name, self.relations))
                    elif len(arity) != len(it.args):
                        self.out.append(diag.bad_scenario(it.relation.span, f"`{it.relation.name}` relates ({', '.join(arity)})"))
                    else:
                        w.holds.append(it)
                case ast.RegisteredItem():
                    for inv in self.invariants:
                        if inv.form == "never_registered" and it.role.name in inv.roles:
                            self.out.append(diag.bad_scenario(
                                it.role.span, f"Registration Data never names `{it.role.name}`: invariant `{inv.name}` ({inv.cite})"))
                    self.member(it.role, self.field_enum("Request", "role"))
                    if it.end is not None and it.end.text <= it.start.text:
                        self.out.append(diag.bad_scenario(it.end.span, f"`to` ({it.end.text}) must be after `from` ({it.start.text})"))
                    w.registered.append(it)

    def one_registered(self, w: _World) -> None:
        """Two parties registered in one role for one MPxN at once break a `one_registered` invariant."""
        def who(ref: ast.Ident | ast.Ref) -> str:
            return w.parties[ref.name][0] if ref.name in w.parties else normalise(ref.name)

        def span(r: ast.RegisteredItem) -> tuple[int, int | None]:
            return parse_iso(r.start.text), parse_iso(r.end.text) if r.end else None

        for inv in self.invariants:
            if inv.form != "one_registered":
                continue
            for i, a in enumerate(w.registered):
                for b in w.registered[i + 1:]:
                    if (a.mpxn.value, a.role.name) != (b.mpxn.value, b.role.name) or a.role.name not in inv.roles:
                        continue
                    try:
                        (a0, a1), (b0, b1) = span(a), span(b)
                    except ValueError:
                        continue  # an invalid time, reported by the parser
                    if (a1 is None or b0 < a1) and (b1 is None or a0 < b1) and who(a.party) != who(b.party) \
                            and id(b) not in self.overlaps_told:
                        self.overlaps_told.add(id(b))
                        self.out.append(diag.bad_scenario(
                            b.party.span, f"`{b.party.name}` and `{a.party.name}` are both registered as {b.role.name} for "
                                    f"{b.mpxn.value} at once: invariant `{inv.name}` ({inv.cite})"))

    def party_id(self, w: _World, ref: ast.Ident | ast.Ref) -> str | None:
        name = ref.name
        if isinstance(ref, ast.Ref) and ref.literal:
            return self.eui(ref, "party id")
        if name in w.parties:
            return w.parties[name][0]
        self.out.append(diag.unknown_name(ref.span, "party", name, w.parties))
        return None

    def device_id(self, w: _World, ref: ast.Ident | ast.Ref) -> str | None:
        name = ref.name
        if isinstance(ref, ast.Ref) and ref.literal:
            return self.eui(ref, "device id")
        if name in w.devices:
            return w.devices[name][0]
        self.out.append(diag.unknown_name(ref.span, "device", name, w.devices))
        return None

    def state(self, w: _World, span: Any) -> JsonObject | None:
        if w.now is None:
            self.out.append(diag.bad_scenario(span, "the world has no `now`"))
            return None
        devices: JsonObject = {}
        for _, (dev_id, d) in w.devices.items():
            entry: JsonObject = {"type": d.type.name, "generation": d.generation.name, "smi_status": d.smi_status.name}
            if d.mpxn is not None:
                entry["mpxn"] = d.mpxn.value
            if d.via is not None:
                entry["associated_device"] = self.device_id(w, d.via)
            entry["trust_anchors"] = {a.role.name: self.party_id(w, a.owner) for a in d.anchors}
            entry.update(self.settings(w, "Device", d.settings))
            devices[dev_id] = entry
        self.one_registered(w)
        registration: dict[str, list[JsonObject]] = {}
        for r in w.registered:
            registration.setdefault(r.mpxn.value, []).append({
                "role": r.role.name, "party": self.party_id(w, r.party),
                "from": r.start.text, "to": r.end.text if r.end else None,
            })
        state: JsonObject = {
            "now": w.now,
            "parties": {pid: body for pid, body in w.parties.values()},
            "devices": devices,
            "registration": registration,
        }
        if self.relations:
            # every declared relation is listed, empty where the world says nothing of it
            rel: dict[str, list[list[Any]]] = {name: [] for name in sorted(self.relations)}
            for h in w.holds:
                kinds = self.relations[h.relation.name]
                rel[h.relation.name].append([self.party_id(w, a) if k == "Party" else self.device_id(w, a) for k, a in zip(kinds, h.args, strict=True)])
            state["relations"] = rel
        return state


def check_scenarios(
    worlds: Mapping[str, ast.WorldDecl], scenarios: Mapping[str, ast.ScenarioDecl],
    enums: Mapping[str, tuple[str, ...]], records: Mapping[str, Mapping[str, Type]],
    rulesets: Mapping[str, ir.RuleSet], srvs: frozenset[str], out: list[Diagnostic],
    relations: Mapping[str, tuple[str, ...]] | None = None, declared: Mapping[str, Mapping[str, Type]] | None = None,
    invariants: tuple[ir.Invariant, ...] = (),
) -> tuple[ir.Scenario, ...]:
    chk = _Checker(enums, records, out, declared, relations, invariants)
    built: dict[str, _World] = {}
    for name, wd in worlds.items():
        w = _World()
        chk.add_items(w, wd.items)
        chk.state(w, wd.name.span)  # report a world's dangling references even if no scenario uses it
        built[name] = w
    result = []
    for s in scenarios.values():
        if s.world.name not in built:
            out.append(diag.unknown_name(s.world.span, "world", s.world.name, built))
            continue
        w = built[s.world.name].copy()
        chk.add_items(w, s.items)
        state = chk.state(w, s.name.span)
        request = _request(chk, w, s.request, srvs, [rulesets[k.ruleset.name.lower()] for k in s.expects if k.ruleset.name.lower() in rulesets])
        expected = _expected(chk, w, s, rulesets)
        if state is not None and request is not None:
            result.append(ir.Scenario(name=s.name.name, cite=s.cite, state=state, request=request, expected=expected, span=s.name.span))
    return tuple(result)


def _request(chk: _Checker, w: _World, r: ast.RequestSpec, srvs: frozenset[str], rulesets: list[ir.RuleSet]) -> JsonObject | None:
    ok = chk.member(r.role, chk.field_enum("Request", "role"))
    if r.srv.value not in srvs:
        chk.out.append(diag.unknown_srv(r.srv.span, r.srv.value, srvs))
        ok = False
    for rs in rulesets:
        row = rs.catalogue.get(r.srv.value, {})
        replaces, carries = bool(row.get("replaces_trust_anchor")), ir.carries_certificate(row)
        if replaces and r.replacing is None:
            chk.out.append(diag.bad_scenario(r.span, f"SRV {r.srv.value} replaces a trust anchor: say `replacing ROLE with PARTY`"))
            ok = False
            break
        if not replaces and r.replacing is not None:
            chk.out.append(diag.bad_scenario(r.replacing[0].span, f"SRV {r.srv.value} does not replace a trust anchor under `{rs.name}`: "
                                             + ("say `carrying ROLE certificate of PARTY`" if carries else "drop `replacing`")))
            ok = False
            break
        if carries and not replaces and r.carrying is None:
            chk.out.append(diag.bad_scenario(r.span, f"SRV {r.srv.value} carries a certificate: say `carrying ROLE certificate of PARTY`"))
            ok = False
            break
        if not carries and r.carrying is not None:
            chk.out.append(diag.bad_scenario(r.carrying[0].span, f"SRV {r.srv.value} carries no certificate under `{rs.name}`: drop `carrying`"))
            ok = False
            break
    if r.date_range is not None and r.date_range[1].text < r.date_range[0].text:
        chk.out.append(diag.bad_scenario(r.date_range[1].span, "inverted date range: `to` is before `from`"))
        ok = False
    req: JsonObject = {
        "sender": chk.party_id(w, r.sender), "role": r.role.name, "srv": r.srv.value,
        "device": chk.device_id(w, r.device) if r.device is not None else None,
    }
    held = r.replacing or r.carrying
    if held is not None:
        role, owner = held
        ok = chk.member(role, chk.field_enum("Request", "remote_party_role")) and ok
        req["remote_party_role"] = role.name
        req["new_certificate_owner"] = chk.party_id(w, owner)
    req["execution_time"] = r.execution_time.text if r.execution_time else None
    req["date_range"] = {"from": r.date_range[0].text, "to": r.date_range[1].text} if r.date_range else None
    req.update(chk.settings(w, "Request", r.settings))
    return req if ok else None


def _expected(chk: _Checker, w: _World, s: ast.ScenarioDecl, rulesets: Mapping[str, ir.RuleSet]) -> dict[str, ir.ExpectedVerdict]:
    expected: dict[str, ir.ExpectedVerdict] = {}
    for x in s.expects:
        rs = rulesets.get(x.ruleset.name.lower())
        if rs is None:
            chk.out.append(diag.unknown_ruleset(x.ruleset.span, x.ruleset.name, rulesets))
            continue
        if x.ruleset.name.lower() in expected:
            chk.out.append(diag.duplicate(x.ruleset.span, "expectation for rule set", x.ruleset.name))
        match x:
            case ast.ExpectAccept(effect=eff):
                effect = None
                if eff is not None:
                    dev, role, owner = eff
                    chk.member(role, chk.field_enum("Device", "trust_anchors"))
                    effect = ir.ExpectedEffect(device=chk.device_id(w, dev), trust_anchor=role.name, owner=chk.party_id(w, owner))
                expected[rs.name] = ir.ExpectedVerdict(verdict="accept", effect=effect)
            case ast.ExpectReject():
                if x.layer.name not in Layer.__members__:
                    chk.out.append(diag.unknown_name(x.layer.span, "layer", x.layer.name, Layer.__members__))
                named = next((c for c in rs.checks if x.check is not None and c.name == x.check.name), None)
                if x.check is not None and named is None:
                    chk.out.append(diag.unknown_name(x.check.span, f"check of `{rs.name}`", x.check.name, [c.name for c in rs.checks]))
                if named is not None and named.layer.name != x.layer.name:
                    chk.out.append(diag.bad_scenario(x.layer.span, f"check `{named.name}` runs at {named.layer.value}, not {x.layer.name}"))
                if named is not None and x.code is not None and named.code != x.code:
                    chk.out.append(diag.bad_scenario(x.layer.span, f"check `{named.name}` rejects with {named.code or 'no code'}, not {x.code}"))
                expected[rs.name] = ir.ExpectedVerdict(verdict="reject", layer=x.layer.name, code=x.code, check=x.check.name if x.check else None)
    return expected
