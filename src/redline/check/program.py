"""Check a whole program: declarations, vocabulary, catalogue, rule sets.

Stages run in order and stop at the first stage with errors, reporting all
of that stage's errors: (1) declarations and vocabulary, (2) catalogue,
rule sets and modifications, (3) properties and scenarios.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from redline import ast
from redline import diagnostics as diag
from redline.check import checked as ir
from redline.check.exprs import Env
from redline.check.generic import check_acknowledgements
from redline.check.properties import World, check_body
from redline.check.propir import BASE, MODIFICATION, PLACEHOLDERS, Expectation, Outcome
from redline.check.redlines import NewRows, apply_modification
from redline.check.rules import add_define, check_check, check_effect, check_layer_order, full_row
from redline.check.scenarios import check_scenarios
from redline.check.types import (
    KNOWN_FIELDS,
    PRIMS,
    RECORDS,
    TIME,
    EnumT,
    MapT,
    OptT,
    RecordT,
    SetT,
    Type,
    strip,
)
from redline.diagnostics import Diagnostic
from redline.source import NO_SPAN


class _Decls:
    def __init__(self, modules: Sequence[ast.Module], out: list[Diagnostic]) -> None:
        self.enums: dict[str, ast.EnumDecl] = {}
        self.groups: dict[str, ast.GroupDecl] = {}
        self.assumptions: dict[str, ast.AssumptionDecl] = {}
        self.records: dict[str, ast.RecordDecl] = {}
        self.extensions: list[ast.RecordDecl] = []  # `extend R { ... }`, in file order
        self.relations: dict[str, ast.RelationDecl] = {}
        self.catalogues: list[ast.CatalogueDecl] = []
        self.rulesets: dict[str, ast.RulesetDecl | ast.ModificationDecl] = {}
        self.properties: dict[str, ast.PropertyDecl] = {}
        self.events: dict[str, ast.EventDecl] = {}
        self.worlds: dict[str, ast.WorldDecl] = {}
        self.scenarios: dict[str, ast.ScenarioDecl] = {}
        self.invariants: dict[str, ast.InvariantDecl] = {}
        self.acknowledgements: list[ast.AcknowledgementDecl] = []  # by generic property and pair, not by name
        for m in modules:
            for d in m.decls:
                self._add(d, out)

    def _add(self, d: ast.Decl, out: list[Diagnostic]) -> None:
        if isinstance(d, ast.CatalogueDecl):
            self.catalogues.append(d)
            return
        if isinstance(d, ast.AcknowledgementDecl):
            self.acknowledgements.append(d)
            return
        if isinstance(d, ast.RecordDecl) and d.extends:
            self.extensions.append(d)
            return
        tables: dict[type, tuple[dict[str, Any], str]] = {  # each kind of declaration: its table (by name), its word
            ast.EnumDecl: (self.enums, "enum"), ast.GroupDecl: (self.groups, "group"),
            ast.AssumptionDecl: (self.assumptions, "assumption"), ast.RecordDecl: (self.records, "record"),
            ast.RelationDecl: (self.relations, "relation"),
            ast.RulesetDecl: (self.rulesets, "rule set"), ast.ModificationDecl: (self.rulesets, "rule set"),
            ast.PropertyDecl: (self.properties, "property"), ast.EventDecl: (self.events, "event"), ast.WorldDecl: (self.worlds, "world"),
            ast.ScenarioDecl: (self.scenarios, "scenario"), ast.InvariantDecl: (self.invariants, "invariant"),
        }
        table, kind = tables[type(d)]
        key = d.name.name.lower() if kind == "rule set" else d.name.name
        if key in table:
            out.append(diag.duplicate(d.name.span, kind, d.name.name, table[key].name.span))
        else:
            table[key] = d


def check_program(modules: Sequence[ast.Module]) -> tuple[ir.Program | None, list[Diagnostic]]:
    out: list[Diagnostic] = []
    decls = _Decls(modules, out)
    enums, groups, records, assumptions = _vocabulary(decls, out)
    declared, relations = declare(decls.extensions, decls.relations, enums, records, out)
    if any(d.is_error for d in out):
        return None, out
    vocab = find_vocabulary(decls.records, records, out)
    if vocab is None:
        return None, out
    invariants = _invariants(decls, enums, groups, vocab, out)
    vocab = replace(vocab, unregistered=frozenset().union(*(i.roles for i in invariants if i.form == "never_registered")))
    srvs, catalogue = _catalogue(decls, enums, groups, records, out, declared.get("Service", {}), relations)
    new_rows = NewRows(declared.get("Service", {}))
    srvs |= NewRows.named([d for d in decls.rulesets.values() if isinstance(d, ast.ModificationDecl)])
    rulesets: dict[str, ir.RuleSet] = {}
    if not any(d.is_error for d in out):
        rulesets = new_rows.complete(_rulesets(decls, enums, groups, records, srvs, catalogue, out, relations, new_rows))
    _check_rests(decls, out)
    if any(d.is_error for d in out):
        return None, out
    events = _events(decls, groups, vocab, out)
    expectations = _expectations(decls, rulesets, events, out)
    scenarios = check_scenarios(decls.worlds, decls.scenarios, enums, records, rulesets, srvs, out, relations, declared, invariants)
    if any(d.is_error for d in out):
        return None, out
    world = World(vocab=vocab, records=records, declared=declared, relations=relations)
    properties = _properties(decls, expectations, enums, groups, {**catalogue, **new_rows.rows}, events, world, out)
    generic = tuple(x for x in properties if _is_generic(x))
    acknowledgements = check_acknowledgements(decls.acknowledgements, generic, rulesets, out)
    if any(d.is_error for d in out):
        return None, out
    program = ir.Program(
        enums=enums, groups=groups, records=records, assumptions=assumptions,
        rulesets=rulesets, properties=tuple(x for x in properties if not _is_generic(x)),
        generic=generic, acknowledgements=acknowledgements, scenarios=scenarios, events=events, vocab=vocab,
        invariants=invariants, declared=declared, relations=relations,
    )
    return program, out


# ---- stage 1: vocabulary and the shape of the world -----------------------

def _vocabulary(decls: _Decls, out: list[Diagnostic]) -> tuple[
    dict[str, tuple[str, ...]], dict[str, tuple[str, frozenset[str]]],
    dict[str, dict[str, Type]], dict[str, ir.Assumption],
]:
    enums: dict[str, tuple[str, ...]] = {}
    for e in decls.enums.values():
        seen: list[str] = []
        for m in e.members:
            if m.name.name in seen:
                out.append(diag.duplicate(m.name.span, f"member of `{e.name.name}`", m.name.name))
            seen.append(m.name.name)
        enums[e.name.name] = tuple(seen)
    groups: dict[str, tuple[str, frozenset[str]]] = {}
    for g in decls.groups.values():
        if g.enum.name not in enums:
            out.append(diag.unknown_name(g.enum.span, "enum", g.enum.name, enums))
            continue
        for ident in g.members:
            if ident.name not in enums[g.enum.name]:
                out.append(diag.unknown_name(ident.span, f"{g.enum.name} value", ident.name, enums[g.enum.name]))
        groups[g.name.name] = (g.enum.name, frozenset(m.name for m in g.members))
    assumptions = {
        a.name.name: ir.Assumption(name=a.name.name, text=a.text, tag=a.tag) for a in decls.assumptions.values()
    }
    records: dict[str, dict[str, Type]] = {}
    for r in decls.records.values():
        if r.name.name not in RECORDS:
            out.append(diag.unknown_name(r.name.span, "record (the interpreter supplies these)", r.name.name, RECORDS))
            continue
        fields: dict[str, Type] = {}
        known = KNOWN_FIELDS[r.name.name]
        for f in r.fields:
            if known is not None and f.name.name not in known:
                out.append(diag.unsupported_field(f.name.span, r.name.name, f.name.name))
            t = _type(f.type, enums, out)
            if t is not None:
                fields[f.name.name] = t
        records[r.name.name] = fields
    for name in RECORDS:
        if name not in records:
            out.append(diag.missing_declaration(NO_SPAN, f"record `{name}`"))
    return enums, groups, records, assumptions


def declare(extensions: Sequence[ast.RecordDecl], relations: Mapping[str, ast.RelationDecl], enums: dict[str, tuple[str, ...]],
            records: dict[str, dict[str, Type]], out: list[Diagnostic]) -> tuple[dict[str, dict[str, Type]], dict[str, tuple[str, ...]]]:
    """Fields and relations rule files add to the world: merged into `records`, and returned apart
    so that every back end can treat them generically (docs/formats.md "Declared fields")."""
    declared: dict[str, dict[str, Type]] = {}
    spans: dict[tuple[str, str], Any] = {}
    for d in extensions:
        rec = d.name.name
        if rec not in records:
            out.append(diag.unknown_name(d.name.span, "record to extend", rec, RECORDS))
            continue
        for f in d.fields:
            name = f.name.name
            if name in records[rec]:
                out.append(diag.declared_clash(f.name.span, rec, name, spans.get((rec, name))))
                continue
            t = _type(f.type, enums, out)
            if t is None:
                continue
            records[rec][name] = t
            declared.setdefault(rec, {})[name] = t
            spans[(rec, name)] = f.name.span
    rels: dict[str, tuple[str, ...]] = {}
    for rd in relations.values():
        if rd.name.name == "registered":
            out.append(diag.bad_declaration(rd.name.span, "`registered` is built in; give the relation another name"))
            continue
        ok = True
        for a in rd.args:
            if a.name not in ("Device", "Party"):
                out.append(diag.bad_declaration(a.span, f"a relation holds between Device and Party records, not `{a.name}`"))
                ok = False
        if not rd.args or len(rd.args) > 3:
            out.append(diag.bad_declaration(rd.name.span, "a relation relates one to three records"))
            ok = False
        if ok:
            rels[rd.name.name] = tuple(a.name for a in rd.args)
    return declared, rels


def _type(t: ast.TypeExpr, enums: dict[str, tuple[str, ...]], out: list[Diagnostic]) -> Type | None:
    match t:
        case ast.SimpleType(name=n):
            if n.name in PRIMS:
                return PRIMS[n.name]
            if n.name in enums:
                return EnumT(n.name)
            if n.name in RECORDS:
                return RecordT(n.name)
            out.append(diag.unknown_name(n.span, "type", n.name, [*PRIMS, *enums, *RECORDS]))
            return None
        case ast.OptionalType(inner=i):
            inner = _type(i, enums, out)
            return None if inner is None else OptT(inner)
        case ast.SetType(elem=n):
            if n.name not in enums:
                out.append(diag.unknown_name(n.span, "enum", n.name, enums))
                return None
            return SetT(EnumT(n.name))
        case ast.MapType(key=k, value=v):
            if k.name not in enums:
                out.append(diag.unknown_name(k.span, "enum", k.name, enums))
                return None
            value = _type(v, enums, out)
            return None if value is None else MapT(EnumT(k.name), value)
    raise AssertionError("unhandled type")  # pragma: no cover


# The parts enums play, found from where the world declarations use them:
# (record, field, part, the shape wanted). A part named on an earlier line
# fixes the enum a later line must use.
_PARTS = (
    ("Party", "roles", "role", "set of"),
    ("Device", "trust_anchors", "cell", "map of"),
    ("Device", "type", "device_type", "enum"),
    ("Device", "generation", "generation", "enum"),
    ("Device", "smi_status", "smi_status", "enum"),
    ("Request", "role", "role", "enum"),
    ("Request", "remote_party_role", "cell", "enum"),
    ("Service", "eligible_roles", "role", "set of"),
    ("Service", "device_types", "device_type", "set of"),
    ("Service", "smi_statuses", "smi_status", "set of"),
)
_PART_NAMES = {
    "role": "the User Role enum", "cell": "the trust anchor cell enum", "device_type": "the device type enum",
    "generation": "the SMETS generation enum", "smi_status": "the SMI status enum",
}
_FOUND_BY = {
    "role": "the element enum of `Party.roles`", "cell": "the key enum of `Device.trust_anchors`",
    "device_type": "the enum of `Device.type`", "generation": "the enum of `Device.generation`",
    "smi_status": "the enum of `Device.smi_status`",
}
# Service's enum fields are optional: the catalogue may leave them out.
_OPTIONAL_FIELDS = {("Service", "eligible_roles"), ("Service", "device_types"), ("Service", "smi_statuses")}


def find_vocabulary(declared: Mapping[str, ast.RecordDecl], records: Mapping[str, Mapping[str, Type]],
                    out: list[Diagnostic]) -> ir.Vocabulary | None:
    """Which enum is the User Role, the trust anchor cell, ...: by where the world declarations use
    it, not by its name. The first declaration out of shape is the one error reported: whatever
    follows from it would only repeat it."""
    found: dict[str, str] = {}
    for record, fname, part, shape in _PARTS:
        decl = declared.get(record)
        field_decl = next((f for f in decl.fields if f.name.name == fname), None) if decl else None
        want = found.get(part)
        wanted = f"`{want}`, {_PART_NAMES[part]}" if want else _PART_NAMES[part]
        expected = {"set of": f"a set of {wanted}", "map of": f"a map from {wanted} to optional Party",
                    "enum": wanted}[shape]
        why = (f"the back ends find {_PART_NAMES[part]} as {_FOUND_BY[part]}" if want
               else f"the back ends find {_PART_NAMES[part]} here, as {_FOUND_BY[part]}")
        if field_decl is None:
            if (record, fname) in _OPTIONAL_FIELDS:
                continue
            out.append(diag.vocabulary_shape(decl.name.span if decl else NO_SPAN, f"{record}.{fname}", expected, "no such field", why))
            return None
        t = records[record].get(fname)
        if t is None:
            return None  # its type is unknown, reported already
        enum = _enum_of(strip(t), shape)
        if enum is None or (want is not None and enum != want):
            out.append(diag.vocabulary_shape(field_decl.name.span, f"{record}.{fname}", expected, f"`{t}`", why))
            return None
        found.setdefault(part, enum)
    return ir.Vocabulary(role=found["role"], cell=found["cell"], device_type=found["device_type"],
                         generation=found["generation"], smi_status=found["smi_status"])


def _invariants(decls: _Decls, enums: Mapping[str, tuple[str, ...]], groups: Mapping[str, tuple[str, frozenset[str]]],
                vocab: ir.Vocabulary, out: list[Diagnostic]) -> tuple[ir.Invariant, ...]:
    """Each declared invariant: a built-in form applied to User Roles and groups of them.

    No combination of the forms can be unsatisfiable (empty Registration Data satisfies every one),
    so there is nothing to check beyond the names."""
    roles = enums[vocab.role]
    role_groups = {g: members for g, (enum, members) in groups.items() if enum == vocab.role}
    found = []
    for d in decls.invariants.values():
        if d.form.name not in ir.INVARIANT_FORMS:
            out.append(diag.unknown_name(d.form.span, "invariant form", d.form.name, ir.INVARIANT_FORMS))
            continue
        named: set[str] = set()
        for a in d.args:
            if a.name in roles:
                named.add(a.name)
            elif a.name in role_groups:
                named |= role_groups[a.name]
            else:
                out.append(diag.unknown_name(a.span, f"{vocab.role} value or group", a.name, [*roles, *role_groups]))
        found.append(ir.Invariant(name=d.name.name, cite=d.cite, form=d.form.name, roles=frozenset(named),
                                  rests=tuple(r.name for r in d.rests), span=d.name.span))
    return tuple(found)


def _enum_of(t: Type, shape: str) -> str | None:
    if shape == "set of" and isinstance(t, SetT):
        return t.elem.name
    if shape == "map of" and isinstance(t, MapT) and strip(t.value) == RecordT("Party"):
        return t.key.name
    if shape == "enum" and isinstance(t, EnumT):
        return t.name
    return None


# ---- stage 2: catalogue and rule sets -------------------------------------

def _env(enums: Any, groups: Any, records: dict[str, dict[str, Type]], srvs: frozenset[str], out: list[Diagnostic],
         relations: Mapping[str, tuple[str, ...]] | None = None) -> Env:
    request = records.get("Request", {})
    variables: dict[str, Type] = {"request": RecordT("Request"), "now": TIME}
    for short in ("sender", "role", "srv", "device"):
        if short in request:
            variables[short] = request[short]
    return Env(enums=enums, groups=groups, records=records, srvs=srvs, variables=variables, diagnostics=out, relations=relations or {})


def _catalogue(decls: _Decls, enums: Any, groups: Any, records: dict[str, dict[str, Type]], out: list[Diagnostic],
               declared: Mapping[str, Type] | None = None, relations: Mapping[str, tuple[str, ...]] | None = None,
               ) -> tuple[frozenset[str], dict[str, ir.Row]]:
    if len(decls.catalogues) != 1:
        span = decls.catalogues[1].name.span if decls.catalogues else NO_SPAN
        if decls.catalogues:
            out.append(diag.second_catalogue(span, decls.catalogues[1].name.name, decls.catalogues[0].name.name))
        elif decls.rulesets:
            out.append(diag.missing_declaration(NO_SPAN, "catalogue of SRVs"))
        if not decls.catalogues:
            return frozenset(), {}
    cat = decls.catalogues[0]
    if cat.record.name != "Service":
        out.append(diag.unknown_name(cat.record.span, "catalogue record", cat.record.name, ["Service"]))
        return frozenset(), {}
    srvs = frozenset(r.srv.value for r in cat.rows)
    env = _env(enums, groups, records, srvs, out)
    table: dict[str, ir.Row] = {}
    for row in cat.rows:
        if row.srv.value in table:
            out.append(diag.duplicate(row.srv.span, "catalogue row", row.srv.value))
            continue
        table[row.srv.value] = full_row(env, declared or {}, row.srv, row.fields, out)
    return srvs, table


def _rulesets(decls: _Decls, enums: Any, groups: Any, records: dict[str, dict[str, Type]], srvs: frozenset[str], catalogue: dict[str, ir.Row],
              out: list[Diagnostic], relations: Mapping[str, tuple[str, ...]] | None, new_rows: NewRows) -> dict[str, ir.RuleSet]:
    done: dict[str, ir.RuleSet] = {}
    defines: dict[str, dict[str, ir.Defined]] = {}
    for key, d in decls.rulesets.items():
        if isinstance(d, ast.RulesetDecl):
            env = _env(enums, groups, records, srvs, out, relations)
            done[key] = _base_ruleset(env, d, catalogue, out)
            defines[key] = dict(env.defines)
    pending = {k: d for k, d in decls.rulesets.items() if isinstance(d, ast.ModificationDecl)}
    while pending:
        progressed = False
        for key, m in list(pending.items()):
            base = m.base.name.lower()
            if base not in decls.rulesets:
                out.append(diag.unknown_ruleset(m.base.span, m.base.name, decls.rulesets))
                del pending[key]
                progressed = True
            elif base in done:
                env = _env(enums, groups, records, srvs, out, relations)
                env.defines.update(defines[base])
                reused, names = _reused_redlines(decls, m, out)
                done[key] = replace(apply_modification(env, m, done[base], out, reused, new_rows), reused=names)
                defines[key] = dict(env.defines)
                del pending[key]
                progressed = True
        if not progressed:
            for m in pending.values():
                out.append(diag.cyclic_modification(m.name.span, m.name.name))
            break
    return done


def _reused_redlines(
    decls: _Decls, m: ast.ModificationDecl, out: list[Diagnostic],
) -> tuple[tuple[ast.Redline, ...], tuple[str, ...]]:
    """The redlines `m` takes from another modification (`with redlines of OTHER`), OTHER's own reused ones first.

    Only the text is reused: the redlines are checked again against `m`'s base,
    so a name that base lacks is an ordinary E105 at the reused redline.
    """
    found: list[ast.Redline] = []
    names: list[str] = []
    seen = {m.name.name.lower()}
    at = m
    while at.reuses is not None:
        key = at.reuses.name.lower()
        other = decls.rulesets.get(key)
        if not isinstance(other, ast.ModificationDecl):
            mods = [d.name.name for d in decls.rulesets.values() if isinstance(d, ast.ModificationDecl)]
            out.append(diag.unknown_name(at.reuses.span, "modification", at.reuses.name, mods))
            break
        if key in seen:
            out.append(diag.cyclic_modification(at.reuses.span, at.reuses.name))
            break
        seen.add(key)
        found[:0] = other.redlines
        names.insert(0, key)
        at = other
    return tuple(found), tuple(names)


def _base_ruleset(env: Env, d: ast.RulesetDecl, catalogue: dict[str, ir.Row], out: list[Diagnostic]) -> ir.RuleSet:
    checks: list[ir.Check] = []
    effects: list[ir.Effect] = []
    for item in d.items:
        match item:
            case ast.DefineDecl():
                add_define(env, item, out)
            case ast.CheckDecl():
                c = check_check(env, item, d.name.name, out)
                if c is not None:
                    if any(x.name == c.name for x in checks):
                        out.append(diag.duplicate(item.name.span, "check", c.name))
                    checks.append(c)
            case ast.EffectDecl():
                e = check_effect(env, item, d.name.name, out)
                if e is not None:
                    effects.append(e)
    check_layer_order(checks, out)
    return ir.RuleSet(name=d.name.name.lower(), cite=d.cite, base=None, checks=tuple(checks), effects=tuple(effects), catalogue=catalogue)


# ---- cross-cutting: assumptions named by `rests on` -----------------------

def _check_rests(decls: _Decls, out: list[Diagnostic]) -> None:
    known = decls.assumptions

    def visit(names: Sequence[ast.Ident]) -> None:
        for n in names:
            if n.name not in known:
                out.append(diag.unknown_assumption(n.span, n.name, known))

    for rec in [*decls.records.values(), *decls.extensions]:
        for f in rec.fields:
            visit(f.rests)
    for cat in decls.catalogues:
        visit(cat.rests)
    for p in decls.properties.values():
        visit(p.rests)
    for i in decls.invariants.values():
        visit(i.rests)
    for d in decls.rulesets.values():
        items: list[Any] = list(d.items) if isinstance(d, ast.RulesetDecl) else []
        if isinstance(d, ast.ModificationDecl):
            for redline in d.redlines:
                match redline:
                    case ast.AddCheck(check=added):
                        items.append(added)
                    case ast.AddEffect(effect=effect):
                        items.append(effect)
                    case ast.AddDefine(define=define):
                        items.append(define)
                    case ast.AmendCheck(excepts=amended):
                        for exc in amended:
                            visit(exc.rests)
        for it in items:
            visit(it.rests)
            for e in getattr(it, "excepts", ()):
                visit(e.rests)


# ---- stage 3: properties --------------------------------------------------

def _events(decls: _Decls, groups: dict[str, tuple[str, frozenset[str]]], vocab: ir.Vocabulary,
            out: list[Diagnostic]) -> dict[str, ir.Event]:
    events = {}
    for e in decls.events.values():
        roles: frozenset[str] = frozenset()
        if e.target == "registration":
            grp = groups.get(e.group.name) if e.group else None
            if e.group is None or grp is None or grp[0] != vocab.role:
                span = e.group.span if e.group else e.target_span
                user_groups = [g for g, (enum, _) in groups.items() if enum == vocab.role]
                out.append(diag.unknown_name(span, "group of User Roles", e.group.name if e.group else "", user_groups)
                           if e.group else diag.property_error(span, "`registration` needs the group of User Roles it changes, "
                                                                     "e.g. `on registration Supplier`"))
                continue
            roles = grp[1]
        elif e.target not in ("dcc_user", "now") or e.group is not None:
            out.append(diag.property_error(e.target_span, f"an event is `on registration GROUP`, `on dcc_user` or `on now`, "
                                                          f"not `on {e.target}{' ' + e.group.name if e.group else ''}`"))
            continue
        events[e.name.name] = ir.Event(name=e.name.name, cite=e.cite, target=e.target, roles=roles)
    return events


def _temporal_depths(e: Any, out: list[Diagnostic]) -> None:
    """A `within K` depth is a positive integer of sensible size."""
    if isinstance(e, ast.Temporal) and e.depth is not None and not 1 <= e.depth <= 64:
        out.append(diag.property_error(e.span, f"the depth of `within` must be a positive integer no larger than 64, not {e.depth}"))
    for child in ir.children(e):
        _temporal_depths(child, out)


def _expectations(decls: _Decls, rulesets: dict[str, ir.RuleSet], events: dict[str, ir.Event],
                  out: list[Diagnostic]) -> dict[str, tuple[Expectation, ...]]:
    """Each property's expected outcome under each rule set (or `old..new` pair) it names."""
    found = {}
    for p in decls.properties.values():
        for ev in p.allowing or ():
            if ev.name not in events:
                out.append(diag.unknown_name(ev.span, "event", ev.name, events))
        _temporal_depths(p.body, out)
        expected: dict[str, Expectation] = {}  # a later line for the same rule sets overrides an earlier one, in its place
        for x in p.expectations:
            names = [x.ruleset] if x.other is None else [x.ruleset, x.other]
            for n in names:
                if n.name.lower() in PLACEHOLDERS and n.name.lower() in rulesets:
                    out.append(diag.property_error(n.span, f"`{n.name.lower()}` names a rule set and is also the placeholder of a "
                                                          "generic property; rename the rule set"))
                elif n.name.lower() not in rulesets and n.name.lower() not in PLACEHOLDERS:
                    out.append(diag.unknown_ruleset(n.span, n.name, [*rulesets, *PLACEHOLDERS]))
            e = Expectation(rulesets=tuple(n.name.lower() for n in names), outcome=Outcome(x.outcome), span=x.ruleset.span)
            expected[e.key] = e
        _generic_shape(p, tuple(expected.values()), out)
        found[p.name.name] = tuple(expected.values())
    return found


def _is_generic(p: ir.Property) -> bool:
    return any(x.generic for x in p.expectations)


def _generic_shape(p: ast.PropertyDecl, expected: tuple[Expectation, ...], out: list[Diagnostic]) -> None:
    """A generic property speaks only of the placeholders, in their order: `base`, `modification` or
    `base..modification`; mixing them with named rule sets would make its results belong to no one bundle."""
    if not any(x.generic for x in expected):
        return
    allowed = {BASE, MODIFICATION, f"{BASE}..{MODIFICATION}"}
    for x in expected:
        if x.key not in allowed:
            out.append(diag.property_error(x.span, f"property `{p.name.name}` is generic: expect it under `{BASE}`, "
                                                   f"`{MODIFICATION}` or `{BASE}..{MODIFICATION}`, not `{x.key}`"))


def _properties(decls: _Decls, expectations: dict[str, tuple[Expectation, ...]], enums: Mapping[str, tuple[str, ...]],
                groups: Mapping[str, tuple[str, frozenset[str]]], catalogue: Mapping[str, Any],
                events: dict[str, ir.Event], world: World, out: list[Diagnostic]) -> tuple[ir.Property, ...]:
    """Each property with its checked body; run once the rest of the program is sound, as a body
    is checked under the rule sets its expectations name."""
    props = []
    for p in decls.properties.values():
        expected = expectations[p.name.name]
        body, error = check_body(p, [x.key for x in expected], enums, groups, catalogue, events, world)
        if error is not None:
            out.append(error)
            continue
        assert body is not None
        props.append(ir.Property(name=p.name.name, cite=p.cite, expectations=expected, rests=tuple(r.name for r in p.rests),
                                 body=body, allowing=tuple(a.name for a in p.allowing) if p.allowing is not None else None))
    return tuple(props)
