"""Compile a rule set's checked IR to one SQL query: a verdict per request row.

The query reads a request relation `r` (the columns of `REQUEST_COLUMNS`,
times as microseconds since the epoch (as redline.times), `now` the instant each request is judged at) joined
to the device it targets (`d`, absent when the SMI does not hold it), its
sender (`s`) and its catalogue row (`c`). Each check becomes one Boolean
`fail_i`; the first failing check in the interpreter's order decides the
verdict. Null semantics are those of redline.check.checked: SQL's NULL is
null, `==` is IS NOT DISTINCT FROM, and every condition is read through
COALESCE(..., false). Whatever this compiler cannot express exactly is
refused with `Unsupported`, naming the construct.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, assert_never

from redline.check import checked as ir
from redline.check.types import BOOL, DATERANGE, KNOWN_FIELDS, EnumT, Prim, SetT, strip

# The request relation every verdict query reads (see README "Fleet impact").
REQUEST_COLUMNS = ("request_id", "now", "sender", "role", "srv", "device", "remote_party_role",
                   "new_certificate_owner", "execution_time", "date_range_from", "date_range_to")


class Unsupported(Exception):
    """An IR construct the SQL compiler cannot express exactly."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few places DuckDB's and Spark's SQL differ, for the constructs this compiler emits. Owning
    them (rather than transpiling) keeps every engine's meaning of list indexing and null in view here."""

    name: str
    text: str  # the string type
    array_open: str  # a list literal: array_open + items + array_close
    array_close: str
    contains: str  # list_contains(list, x) / array_contains(list, x)
    filter: str  # list_filter / filter, with a lambda
    quote: str  # identifier quote

    def array(self, items: list[str]) -> str:
        return f"CAST({self.array_open}{', '.join(items)}{self.array_close} AS {self.text_array})"

    @property
    def text_array(self) -> str:
        return f"{self.text}[]" if self.name == "duckdb" else f"ARRAY<{self.text}>"

    def at(self, items: list[str], index: str) -> str:
        """The 1-based `index`th item, null when the index is null."""
        return f"element_at({self.array(items)}, {index})" if self.name == "spark" else f"({self.array(items)})[{index}]"

    def ident(self, name: str) -> str:
        return f"{self.quote}{name}{self.quote}"


DUCKDB = Dialect("duckdb", "VARCHAR", "[", "]", "list_contains", "list_filter", '"')
SPARK = Dialect("spark", "STRING", "array(", ")", "array_contains", "filter", "`")


def lit(v: Any, dialect: Dialect = DUCKDB) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, frozenset):
        return dialect.array([lit(x, dialect) for x in sorted(v)])
    raise Unsupported(f"a constant of Python type {type(v).__name__}")


def anchor_column(cell: str) -> str:
    return f"trust_anchor_{cell}"


@dataclass(frozen=True, slots=True)
class Relations:
    """The loaded tables a verdict query reads (tables.py). A question that judges requests about a few
    devices only (the fleet's candidate corrections) names smaller tables holding every row those
    requests can join, so that each join builds over those rows, not the whole fleet."""

    devices: str = "devices"
    islands: str = "registration_islands"

    def joins(self) -> str:
        return (f"LEFT JOIN {self.devices} d ON d.device = r.device LEFT JOIN parties s ON s.party = r.sender"
                " LEFT JOIN catalogue c ON c.srv = r.srv")


LOADED = Relations()  # the whole fleet, as tables.py loads it


class Compiler:
    """IR expressions to SQL text over the aliases r, d, s, c."""

    def __init__(self, cells: tuple[str, ...], source: str = "requests", dialect: Dialect = DUCKDB,
                 relations: Relations = LOADED) -> None:
        self.cells, self.source, self.dialect = cells, source, dialect  # RemotePartyRole members: one trust-anchor column each
        self.tables = relations
        self.mpxns: set[str] = set()  # the MPxN argument of each `registered(...)`, as SQL (see Relations)
        self.relations: dict[str, str] = {}  # the SELECT of each `throughout` relation -> its name

    def truth(self, e: ir.Expr) -> str:
        """A condition: never null (null counts as false)."""
        match e:
            case ir.Const(value=v):
                return "TRUE" if v else "FALSE"
            case ir.AndE(items=items):
                return "(" + " AND ".join(self.truth(x) for x in items) + ")" if items else "TRUE"
            case ir.OrE(items=items):
                return "(" + " OR ".join(self.truth(x) for x in items) + ")" if items else "FALSE"
            case ir.NotE(operand=o):
                return f"(NOT {self.truth(o)})"
            case ir.Eq(left=a, right=b, negated=neg):
                op = "IS DISTINCT FROM" if neg else "IS NOT DISTINCT FROM"
                if strip(a.type) == DATERANGE or strip(b.type) == DATERANGE:
                    return self._range_is_null(a, b, neg)
                if isinstance(strip(a.type), SetT) or isinstance(strip(b.type), SetT):
                    self._refuse("a comparison of two sets (lists in SQL compare in order)")
                return f"({self.value(a)} {op} {self.value(b)})"
            case ir.Member(item=i, collection=coll, negated=neg):
                x, found = self.value(i), self._member(i, coll)
                return f"(NOT ({x} IS NOT NULL AND {found}))" if neg else f"({x} IS NOT NULL AND {found})"
            case ir.ThroughoutE(predicate=p, times=t):
                return self._throughout(p, t)
            case ir.Defined(value=v):
                return self.truth(v)
            case ir.Var() | ir.GetField() | ir.GetIndex() | ir.IfE():
                return f"COALESCE({self.value(e)}, FALSE)"
            case ir.SetE() | ir.Registered():
                return self._refuse(f"a {type(e).__name__} as a condition")  # the checker admits neither
            case ir.Related(name=name):
                return self._refuse(f"the declared relation `{name}` (the fleet tables hold no declared relations)")
            case _:
                assert_never(e)

    def _range_is_null(self, a: ir.Expr, b: ir.Expr, neg: bool) -> str:
        # A range is loaded as two columns, both null or neither: only a comparison with null is expressible.
        rng, other = (a, b) if strip(a.type) == DATERANGE else (b, a)
        if not (isinstance(other, ir.Const) and other.value is None):
            return self._refuse("a comparison of a DateRange with anything but null")
        lo, _ = self.times(rng)
        return f"({lo} IS NOT NULL)" if neg else f"({lo} IS NULL)"

    def _member(self, item: ir.Expr, coll: ir.Expr) -> str:
        x = self.value(item)
        if isinstance(coll, ir.Const):
            members = sorted(coll.value or ())
            return f"{x} IN ({', '.join(lit(m, self.dialect) for m in members)})" if members else "FALSE"
        return f"COALESCE({self.dialect.contains}({self.value(coll)}, {x}), FALSE)"

    def value(self, e: ir.Expr) -> str:
        match e:
            case ir.Const(value=v):
                return lit(v, self.dialect)
            case ir.Var(name=name):
                return {"sender": "r.sender", "role": "r.role", "srv": "r.srv", "device": "d.device",
                        "now": "r.now"}.get(name) or self._refuse(f"the variable `{name}` as a value")
            case ir.Defined(value=v):
                return self.value(v)
            case ir.GetField():
                return self._field(e)
            case ir.GetIndex(obj=o, key=k):
                return self._index(o, k)
            case ir.IfE(cond=c, then=t, otherwise=o):
                return f"(CASE WHEN {self.truth(c)} THEN {self.value(t)} ELSE {self.value(o)} END)"
            case ir.SetE(items=items):
                vals = ", ".join(self.value(x) for x in items)
                return f"{self.dialect.filter}({self.dialect.array([vals])}, x -> x IS NOT NULL)"
            case ir.Eq() | ir.Member() | ir.AndE() | ir.OrE() | ir.NotE() | ir.ThroughoutE():
                return self.truth(e)
            case ir.Registered():
                self._refuse("`registered` outside `throughout`")
            case ir.Related(name=name):
                self._refuse(f"the declared relation `{name}` (the fleet tables hold no declared relations)")
            case _:
                assert_never(e)

    def _refuse(self, what: str) -> NoReturn:
        raise Unsupported(f"the SQL compiler cannot express {what}")

    def _field(self, e: ir.GetField) -> str:
        o, name = e.obj, e.name
        if e.record in ("Request", "Device", "Party") and name not in (KNOWN_FIELDS[e.record] or ()):
            return self._refuse(f"the declared field `{e.record}.{name}` (the fleet tables have no columns for declared fields)")
        match e.record:
            case "Request":
                if not (isinstance(o, ir.Var) and o.name == "request"):
                    return self._refuse("a Request field of anything but `request`")
                if name == "date_range":
                    return self._refuse("`request.date_range` as a value (only as the times of `throughout`)")
                return {"sender": "r.sender", "device": "d.device"}.get(name, f"r.{name}")
            case "Device":
                if not (isinstance(o, ir.Var) and o.name == "device"):
                    return self._refuse("a Device field of anything but the request's `device`")
                if name == "trust_anchors":
                    return self._refuse("`device.trust_anchors` as a whole (only indexed by a role)")
                return f"d.{name}"
            case "Party":
                if isinstance(o, ir.Var) and o.name == "sender":
                    return f"s.{name}"
                return f"(SELECT max(p.{name}) FROM parties p WHERE p.party = {self.value(o)})"  # one row: party is unique
            case "Service":
                if isinstance(o, ir.Var) and o.name == "srv":
                    return f"c.{name}"
                return f"(SELECT max(k.{name}) FROM catalogue k WHERE k.srv = {self.value(o)})"  # one row
            case "DateRange":
                return self._refuse("a DateRange field (only whole ranges under `throughout`)")
        return self._refuse(f"a field of record {e.record}")

    def _index(self, o: ir.Expr, k: ir.Expr) -> str:
        if not (isinstance(o, ir.GetField) and o.record == "Device" and o.name == "trust_anchors"):
            return self._refuse("an index into anything but `device.trust_anchors`")
        self._field(ir.GetField(obj=o.obj, record="Device", name="type", type=o.type))  # the same device check
        if isinstance(k, ir.Const):
            return "NULL" if k.value is None else f"d.{anchor_column(k.value)}"
        key = self.value(k)
        arms = " ".join(f"WHEN {lit(cell, self.dialect)} THEN d.{anchor_column(cell)}" for cell in self.cells)
        return f"(CASE {key} {arms} ELSE NULL END)"

    def times(self, t: ir.Expr) -> tuple[str, str]:
        """The closed range of instants `throughout` ranges over: (lo, hi), both null when none."""
        match t:
            case ir.Defined(value=v):
                return self.times(v)
            case ir.Var(name="now"):
                return "r.now", "r.now"
            case ir.GetField(obj=ir.Var(name="request"), record="Request", name="date_range"):
                return "r.date_range_from", "r.date_range_to"
            case ir.GetField(obj=ir.Var(name="request"), record="Request", name="execution_time"):
                return "r.execution_time", "r.execution_time"
            case ir.IfE(cond=c, then=a, otherwise=b):
                cond, (alo, ahi), (blo, bhi) = self.truth(c), self.times(a), self.times(b)
                return (f"(CASE WHEN {cond} THEN {alo} ELSE {blo} END)",
                        f"(CASE WHEN {cond} THEN {ahi} ELSE {bhi} END)")
            case ir.Const(value=v):
                return lit(v, self.dialect), lit(v, self.dialect)  # a time (microseconds, as the columns) or null
            case ir.Var(name=name) | ir.GetField(name=name):
                return self._refuse(f"times given by `{name}`")
            case (ir.GetIndex() | ir.Eq() | ir.Member() | ir.AndE() | ir.OrE() | ir.NotE() | ir.SetE()
                  | ir.Registered() | ir.ThroughoutE() | ir.Related()):
                return self._refuse(f"times given by a {type(t).__name__}")  # the checker admits none of these
            case _:
                assert_never(t)

    def _throughout(self, p: ir.Registered, t: ir.Expr) -> str:
        # Registration islands merge each party's touching or overlapping assignments per (MPxN,
        # role); covering [lo, hi] is then one island starting by lo and ending after hi, which is
        # what the interpreter's sweep (interp.compile.covers) decides. Each distinct question is one
        # join of the requests with the islands (a relation of the request ids it holds for), not a
        # correlated subquery, which DuckDB ran about three times slower.
        before = len(self.relations)
        lo, hi = self.times(t)
        party, role, mpxn = self.value(p.party), self.value(p.role), self.value(p.mpxn)
        self.mpxns.add(mpxn)
        if len(self.relations) != before:
            self._refuse("a `throughout` inside the arguments of another")
        body = (f"SELECT r.request_id FROM {self.source} r {self.tables.joins()}"
                f" JOIN {self.tables.islands} g ON g.mpxn = {mpxn} AND g.role = {role} AND g.party = {party}"
                f" AND g.start_us <= {lo} AND (g.end_us IS NULL OR g.end_us > {hi}) WHERE {lo} IS NOT NULL")
        name = self.relations.setdefault(body, f"throughout_{len(self.relations)}")
        # Joined to the requests by id (see verdict_sql): an equi-join both engines hash, where an IN
        # subquery inside CASE becomes a nested-loop join on Spark.
        return f"({name}.request_id IS NOT NULL)"


def sql_type(t: Any, dialect: Dialect = DUCKDB) -> str:
    t = strip(t)
    if isinstance(t, SetT):
        return dialect.text_array
    if t == BOOL:
        return "BOOLEAN"
    if isinstance(t, EnumT) or (isinstance(t, Prim) and t.name in ("Text", "MPxN")):
        return dialect.text
    raise Unsupported(f"a catalogue field of type {t}")


def catalogue_sql(catalogue: Mapping[str, Mapping[str, Any]], fields: Mapping[str, Any], dialect: Dialect = DUCKDB) -> str:
    """The rule set's catalogue as a VALUES relation `(srv, <field>...)`."""
    names = sorted(fields)
    types = {n: sql_type(fields[n], dialect) for n in names}
    rows = []
    for srv in sorted(catalogue):
        row = catalogue[srv]
        rows.append("(" + ", ".join([lit(srv, dialect)] + [f"CAST({lit(row.get(n), dialect)} AS {types[n]})" for n in names]) + ")")
    values = f"VALUES {', '.join(rows)}"
    return f"{values if dialect.name == 'spark' else '(' + values + ')'} AS k(srv, {', '.join(names)})"


def select_sql(rs: ir.RuleSet, program: ir.Program, source: str, columns: Callable[[Compiler], list[str]]) -> str:
    """SELECT request_id and the `columns` (SQL over r, d, s, c from the compiler given) for each row of
    `source`, with `rs`'s catalogue and the relations the columns' `throughout`s need: what verdict_sql
    reads, for other questions about the same requests (impact/regions.py)."""
    comp = Compiler(program.cells(), source)
    cols = columns(comp)
    fields = {n: t for n, t in program.records["Service"].items()}
    relations = "".join(f",\n{name}_rows AS ({body})" for body, name in comp.relations.items())
    hits = "".join(f" LEFT JOIN (SELECT DISTINCT request_id FROM {name}_rows) {name} ON {name}.request_id = r.request_id"
                   for name in comp.relations.values())
    listed = "".join(f", {c} AS c{i}" for i, c in enumerate(cols))
    return f"""WITH catalogue AS (SELECT * FROM {catalogue_sql(rs.catalogue, fields)}){relations}
SELECT r.request_id{listed} FROM {source} r {comp.tables.joins()}{hits} ORDER BY r.request_id"""


def registered_at_device_only(rs: ir.RuleSet, program: ir.Program) -> bool:
    """Whether every `registered(...)` of `rs` asks about the MPxN of the request's device: then the
    registration islands of the requests' devices' MPxNs are all a verdict query can join (Relations)."""
    comp = Compiler(program.cells())
    for ch in rs.checks:
        for e in (ch.applies, ch.requires, *(x.when for x in ch.exceptions)):
            if e is not None:
                comp.truth(e)
    for ef in rs.effects:
        comp.truth(ef.when)
    return comp.mpxns <= {"d.mpxn"}


def verdict_sql(rs: ir.RuleSet, program: ir.Program, source: str, dialect: Dialect = DUCKDB,
                relations: Relations = LOADED) -> str:
    """SELECT request_id, accepted, dcc_accepted, layer, code, check, effects FROM `source` judged under `rs`."""
    comp = Compiler(program.cells(), source, dialect, relations)
    fails = []
    for ch in rs.checks:
        try:
            parts = [] if ch.applies is None else [comp.truth(ch.applies)]
            parts.extend(f"NOT {comp.truth(x.when)}" for x in ch.exceptions)
            parts.append("TRUE" if ch.requires is None else f"NOT {comp.truth(ch.requires)}")
        except Unsupported as e:
            raise Unsupported(f"rule set `{rs.name}`, check `{ch.name}`: {e}") from None
        fails.append(" AND ".join(parts))
    failed = "CASE " + " ".join(f"WHEN {cond} THEN {i}" for i, cond in enumerate(fails)) + " END" if fails else "NULL"
    effects = []
    for ef in rs.effects:
        try:
            cell, owner, when = comp.value(ef.cell), comp.value(ef.owner), comp.truth(ef.when)
        except Unsupported as e:
            raise Unsupported(f"rule set `{rs.name}`, effect `{ef.name}`: {e}") from None
        effects.append(f"CASE WHEN {when} AND d.device IS NOT NULL AND {cell} IS NOT NULL"
                       f" AND {owner} IS NOT NULL THEN {cell} || '=' || {owner} END")

    def column(values: list[Any]) -> str:
        return dialect.at([lit(v, dialect) for v in values], "failed + 1")
    device_layer = [str(i) for i, ch in enumerate(rs.checks) if ch.layer.value == "Device"]
    dcc = f"failed IS NULL OR failed IN ({', '.join(device_layer)})" if device_layer else "failed IS NULL"
    fields = {n: t for n, t in program.records["Service"].items()}
    effect_list = f"concat_ws(';', {', '.join(effects)})" if effects else "''"
    throughouts = "".join(f",\n{name}_rows AS ({body})" for body, name in comp.relations.items())
    hits = "".join(f" LEFT JOIN (SELECT DISTINCT request_id FROM {name}_rows) {name} ON {name}.request_id = r.request_id"
                   for name in comp.relations.values())
    return f"""
WITH catalogue AS (SELECT * FROM {catalogue_sql(rs.catalogue, fields, dialect)}){throughouts},
judged AS (SELECT r.request_id, {failed} AS failed, {effect_list} AS effects FROM {source} r {relations.joins()}{hits})
SELECT request_id,
       failed IS NULL AS accepted,
       {dcc} AS dcc_accepted,
       {column([ch.layer.value for ch in rs.checks])} AS layer,
       {column([ch.code for ch in rs.checks])} AS code,
       {column([ch.name for ch in rs.checks])} AS {dialect.ident("check")},
       CASE WHEN failed IS NULL THEN effects ELSE '' END AS effects
FROM judged
"""
