"""Compile a rule set's checked IR to one SQL query: a verdict per request row.

The query reads a request relation `r` (the columns of `REQUEST_COLUMNS`,
times as microseconds since the epoch (as redline.times), `now` the instant each request is judged at) joined
to the device it targets (`d`, absent when the SMI does not hold it) and its
sender (`s`). As in the generated validators (codegen/fold.py), each SRV's
catalogue row is folded into the checks first; the SRVs whose folded
condition of a check reads alike share a plan, and a small table of each
SRV's plans (`p`) chooses among them: the verdicts need no join to the
catalogue (`c`, which select_sql's unfolded questions still read; a
Service field of another SRV is a lookup). Each check becomes one Boolean;
the first failing check in the interpreter's order decides the verdict. Null
semantics are those of redline.check.checked: SQL's NULL is null, `==` is
IS NOT DISTINCT FROM, and every condition is read through COALESCE(..., false).
Whatever this compiler cannot express exactly is refused with `Unsupported`,
naming the construct.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn, assert_never

from redline.check import checked as ir
from redline.check.types import BOOL, DATERANGE, KNOWN_FIELDS, EnumT, Prim, SetT, strip
from redline.codegen.fold import decided, fold
from redline.impact.declared import column_kind

# The request relation every verdict query reads (see README "Fleet impact").
REQUEST_COLUMNS = ("request_id", "now", "sender", "role", "srv", "device", "remote_party_role",
                   "new_certificate_owner", "execution_time", "date_range_from", "date_range_to")


class Unsupported(Exception):
    """An IR construct the SQL compiler cannot express exactly."""


@contextmanager
def naming(rs: ir.RuleSet, kind: str, name: str) -> Iterator[None]:
    """Whatever is refused inside names the rule (`rule set `x`, check `y`: ...`), on every path that compiles it."""
    try:
        yield
    except Unsupported as e:
        raise Unsupported(f"rule set `{rs.name}`, {kind} `{name}`: {e}") from None


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few places DuckDB's and Spark's SQL differ, for the constructs this compiler emits. Owning
    them (rather than transpiling) keeps every engine's meaning of lists and null in view here."""

    name: str
    text: str  # the string type
    array_open: str  # a list literal: array_open + items + array_close
    array_close: str
    contains: str  # list_contains(list, x) / array_contains(list, x)
    quote: str  # identifier quote

    def array(self, items: list[str]) -> str:
        return f"CAST({self.array_open}{', '.join(items)}{self.array_close} AS {self.text_array})"

    def without_nulls(self, array: str) -> str:
        """The list's non-null items. DuckDB's lambda syntax changed (2.0 refuses `x -> ...`), so no lambda
        there: list_distinct drops nulls (and duplicates, which a set's membership does not see)."""
        return f"list_distinct({array})" if self.name == "duckdb" else f"filter({array}, x -> x IS NOT NULL)"

    @property
    def text_array(self) -> str:
        return f"{self.text}[]" if self.name == "duckdb" else f"ARRAY<{self.text}>"

    def values(self, rows: list[str]) -> str:
        """A VALUES relation of the `rows` given (each `(...)`), as a FROM item (DuckDB's parenthesised)."""
        values = f"VALUES {', '.join(rows)}"
        return values if self.name == "spark" else f"({values})"

    def ident(self, name: str) -> str:
        return f"{self.quote}{name}{self.quote}"

    def columns(self, names: list[str], rows: list[tuple[str | int, ...]]) -> str:
        """A relation of `rows` (each a tuple of strings and integers, one per name), as a FROM item. DuckDB
        binds each constant of a VALUES list: 900 rows of ten took 0.13 s to plan, a tenth of judging a million
        requests. So each column there is one string literal, split and unnested (the columns zipped); a
        column whose text holds the separator is a list literal, as Spark's is a VALUES list."""
        if self.name == "spark" or not rows:
            return f"{self.values(['(' + ', '.join(lit(v, self) for v in row) + ')' for row in rows])} AS t({', '.join(names)})"
        items = []
        for i, name in enumerate(names):
            col = [row[i] for row in rows]
            cast = "INTEGER[]" if all(isinstance(v, int) for v in col) else "VARCHAR[]"
            text = [str(v) for v in col]
            listed = (f"string_split({lit(_SEP.join(text))}, {lit(_SEP)})" if not any(_SEP in t for t in text)
                      else f"[{', '.join(lit(v) for v in col)}]")
            items.append(f"unnest(CAST({listed} AS {cast})) AS {name}")
        return f"(SELECT {', '.join(items)})"


_SEP = "\x1f"  # the ASCII unit separator, which no SRV or role name holds


DUCKDB = Dialect("duckdb", "VARCHAR", "[", "]", "list_contains", '"')
SPARK = Dialect("spark", "STRING", "array(", ")", "array_contains", "`")


def lit(v: Any, dialect: Dialect = DUCKDB) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        text: str = v.replace("\\", "\\\\") if dialect.name == "spark" else v  # Spark's string literals read
        return "'" + text.replace("'", "''") + "'"  # backslash escapes (`'a\\'` is `a\`): doubled, one is itself
    if isinstance(v, frozenset):
        return dialect.array([lit(x, dialect) for x in sorted(v)])
    raise Unsupported(f"a constant of Python type {type(v).__name__}")


def anchor_column(cell: str) -> str:
    return f"trust_anchor_{cell}"


def service_column(name: str) -> str:
    """The catalogue relation's column of the Service field `name`. A rule file names its fields, so the
    column is never the name alone: a field `select`, `from` or `check` is an SQL keyword, a field `srv`
    the relation's key, and two fields differing only in case one column to SQL. The name's UTF-8 in hex
    keeps every field's column its own (and a valid identifier); the name before it is for a reader."""
    return f"f_{name}_{name.encode().hex()}"


@dataclass(frozen=True, slots=True)
class Relations:
    """The loaded tables a verdict query reads (tables.py). A question that judges requests about a few
    devices only (the fleet's candidate corrections) names smaller tables holding every row those
    requests can join, so that each join builds over those rows, not the whole fleet."""

    devices: str = "devices"
    islands: str = "registration_islands"

    def joins(self, catalogue: bool = True) -> str:
        """The joins of the request relation `r`: its device, its sender and, when asked for, its catalogue row."""
        return (f"LEFT JOIN {self.devices} d ON d.device = r.device LEFT JOIN parties s ON s.party = r.sender"
                + (" LEFT JOIN catalogue c ON c.srv = r.srv" if catalogue else ""))


LOADED = Relations()  # the whole fleet, as tables.py loads it

# The ENUM types tables.py loads vocabularies and party ids as (in DuckDB): the plans' keys are cast to them.
SRV_TYPE, ROLE_TYPE, PARTY_TYPE = "redline_srv", "redline_role", "redline_party"


class Compiler:
    """IR expressions to SQL text over the aliases r, d, s, c."""

    def __init__(self, cells: tuple[str, ...], source: str = "requests", dialect: Dialect = DUCKDB,
                 relations: Relations = LOADED, declared_relations: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self.cells, self.source, self.dialect = cells, source, dialect  # RemotePartyRole members: one trust-anchor column each
        self.tables = relations
        self.mpxns: set[str] = set()  # the MPxN argument of each `registered(...)`, as SQL (see Relations)
        self.relations: dict[str, str] = {}  # the join condition of each `throughout` (islands as {g}) -> its alias
        self.declared_relations = declared_relations or {}  # a declared relation's name -> its records
        self.tuples: dict[tuple[str, str], str] = {}  # (a relation's table, the join condition, as {g}) -> its alias
        self.row_reads = 0  # reads of the request's catalogue row `c` so far (folding removes most)
        self.catalogue_read = False  # whether anything reads the catalogue relation (`c` or a lookup)

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
            case ir.Related(name=name, args=args):
                return self._related(name, args)
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
        if isinstance(coll, ir.GetField) and coll.record == "Party" and coll.name == "roles" and \
                isinstance(coll.obj, ir.Var) and coll.obj.name == "sender":
            # An unlisted sender's null list holds nothing: the outer COALESCE says so, without one per request
            # turning the loaded ENUM list into text.
            return f"COALESCE({self.dialect.contains}(s.roles, {x}), FALSE)"
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
                return self.dialect.without_nulls(self.dialect.array([vals]))
            case ir.Eq() | ir.Member() | ir.AndE() | ir.OrE() | ir.NotE() | ir.ThroughoutE():
                return self.truth(e)
            case ir.Registered():
                self._refuse("`registered` outside `throughout`")
            case ir.Related():
                return self.truth(e)
            case _:
                assert_never(e)

    def _refuse(self, what: str) -> NoReturn:
        raise Unsupported(f"the SQL compiler cannot express {what}")

    def _field(self, e: ir.GetField) -> str:
        o, name = e.obj, e.name
        if e.record in ("Request", "Device", "Party") and name not in (KNOWN_FIELDS[e.record] or ()):
            return self._declared(e)
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
                # A party `parties` does not list (no row joins) is no DCC User and holds no User Role
                # (redline.check.checked, "Null semantics"); a null party's fields are null.
                unlisted = "FALSE" if name == "dcc_user" else self.dialect.array([])
                if isinstance(o, ir.Var) and o.name == "sender":  # never null: a request's sender is required
                    return f"COALESCE(s.{name}, {unlisted})"
                pid = self.value(o)
                return (f"(CASE WHEN {pid} IS NOT NULL THEN COALESCE((SELECT max(p.{name}) FROM parties p "
                        f"WHERE p.party = {pid}), {unlisted}) END)")  # one row: party is unique
            case "Service":
                self.catalogue_read = True
                if isinstance(o, ir.Var) and o.name == "srv":
                    self.row_reads += 1
                    return f"c.{service_column(name)}"
                return f"(SELECT max(k.{service_column(name)}) FROM catalogue k WHERE k.srv = {self.value(o)})"  # one row
            case "DateRange":
                return self._refuse("a DateRange field (only whole ranges under `throughout`)")
        return self._refuse(f"a field of record {e.record}")

    def _declared(self, e: ir.GetField) -> str:
        """A declared field: its column in the record's table (impact/declared.py), if it is a column."""
        o, name, column = e.obj, e.name, self.dialect.ident(e.name)
        if column_kind(e.type) is None:
            return self._refuse(f"the declared field `{e.record}.{name}` of type {e.type} (a fleet table's "
                                "column holds one value: a Bool, an enum, a Time, Text, an MPxN or a Party or Device id)")
        own = {"Request": ("request", "r"), "Device": ("device", "d"), "Party": ("sender", "s")}[e.record]
        if isinstance(o, ir.Var) and o.name == own[0]:
            return f"{own[1]}.{column}"  # the request's, its device's or its sender's
        if e.record == "Party":
            return f"(SELECT max(p.{column}) FROM parties p WHERE p.party = {self.value(o)})"  # one row: party is unique
        return self._refuse(f"the declared field `{e.record}.{name}` of anything but the request's own {e.record.lower()}")

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
        # role); covering [lo, hi] is then one island holding lo and ending after hi, which is what
        # the interpreter's sweep (interp.compile.covers) decides. The islands of one key are disjoint,
        # so at most one holds lo: each distinct question is one LEFT JOIN of the islands to the
        # requests, adding no row (an equi-join both engines hash; a correlated subquery ran about three
        # times slower on DuckDB, and an IN subquery inside CASE is a nested-loop join on Spark).
        before = len(self.relations)
        lo, hi = self.times(t)
        party, role, mpxn = self.value(p.party), self.value(p.role), self.value(p.mpxn)
        self.mpxns.add(mpxn)
        if len(self.relations) != before:
            self._refuse("a `throughout` inside the arguments of another")
        on = (f"{{g}}.mpxn = {mpxn} AND {{g}}.role = {role} AND {{g}}.party = {party} AND {{g}}.start_us <= {lo}"
              f" AND ({{g}}.end_us IS NULL OR ({{g}}.end_us > {lo} AND {{g}}.end_us > {hi}))")
        name = self.relations.setdefault(on, f"throughout_{len(self.relations)}")
        return f"({name}.mpxn IS NOT NULL)"

    def _related(self, name: str, args: tuple[ir.Expr, ...]) -> str:
        # As `throughout`: a LEFT JOIN of the relation's table on every argument, adding no row (its tuples
        # are distinct, tables.py); an argument that is null matches no tuple, so the relation is false.
        kinds = self.declared_relations.get(name)
        if kinds is None:
            return self._refuse(f"the declared relation `{name}` (not among the relations this compiler was given)")
        cols = relation_columns(kinds)
        on = " AND ".join(f"{{g}}.{c} = {self.value(a)}" for c, a in zip(cols, args, strict=True))
        alias = self.tuples.setdefault((relation_table(name), on), f"related_{len(self.tuples)}")
        return f"({alias}.{cols[0]} IS NOT NULL)"

    def throughout_joins(self) -> str:
        """The joins of the islands each `throughout` compiled so far reads, and of each declared relation's tuples."""
        return ("".join(f" LEFT JOIN {self.tables.islands} {name} ON {on.format(g=name)}" for on, name in self.relations.items())
                + "".join(f" LEFT JOIN {table} {alias} ON {on.format(g=alias)}" for (table, on), alias in self.tuples.items()))


def relation_table(name: str) -> str:
    """The loaded table of a declared relation's tuples (tables.py): `relation_<name>`."""
    return f"relation_{name}"


def relation_columns(kinds: tuple[str, ...]) -> list[str]:
    """A declared relation's columns, one per argument: its record and position, e.g. device_1, device_2."""
    return [f"{k.lower()}_{i}" for i, k in enumerate(kinds, 1)]


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
    return f"{dialect.values(rows)} AS k(srv, {', '.join(map(service_column, names))})"


def _with(items: list[str]) -> str:
    return ",\n".join(items)


def _catalogue(rs: ir.RuleSet, program: ir.Program, comp: Compiler) -> list[str]:
    """The WITH item of the catalogue relation, when anything compiled by `comp` still reads it."""
    if not comp.catalogue_read:
        return []
    fields = {n: t for n, t in program.records["Service"].items()}
    return [f"catalogue AS (SELECT * FROM {catalogue_sql(rs.catalogue, fields, comp.dialect)})"]


def select_sql(rs: ir.RuleSet, program: ir.Program, source: str, columns: Callable[[Compiler], list[str]]) -> str:
    """SELECT request_id and the `columns` (SQL over r, d, s, c from the compiler given) for each row of
    `source`, with `rs`'s catalogue and the relations the columns' `throughout`s need: what verdict_sql
    reads, for other questions about the same requests (impact/regions.py)."""
    comp = Compiler(program.cells(), source, declared_relations=program.relations)
    cols = columns(comp)
    items = _catalogue(rs, program, comp)
    with_ = f"WITH {_with(items)}\n" if items else ""
    listed = "".join(f", {c} AS c{i}" for i, c in enumerate(cols))
    return (f"{with_}SELECT r.request_id{listed} FROM {source} r {comp.tables.joins(comp.row_reads > 0)}{comp.throughout_joins()}"
            " ORDER BY r.request_id")


def registered_at_device_only(rs: ir.RuleSet, program: ir.Program) -> bool:
    """Whether every `registered(...)` of `rs` asks about the MPxN of the request's device: then the
    registration islands of the requests' devices' MPxNs are all a verdict query can join (Relations)."""
    comp = Compiler(program.cells(), declared_relations=program.relations)
    for ch in rs.checks:
        with naming(rs, "check", ch.name):
            for e in (ch.applies, ch.requires, *(x.when for x in ch.exceptions)):
                if e is not None:
                    comp.truth(e)
    for ef in rs.effects:
        with naming(rs, "effect", ef.name):
            comp.truth(ef.when)
    return comp.mpxns <= {"d.mpxn"}


class _Folds:
    """codegen/fold.py's `fold` for each SRV of a catalogue, with a known User Role as well only where that
    decides the expression (a known field left in a residual would make one text per value: a `throughout`
    per role, each its own join). Each expression is folded once per SRV; a known role is folded into that
    residual (`_plans` asks once for all the SRVs whose texts read alike)."""

    def __init__(self, catalogue: Mapping[str, Mapping[str, Any]]) -> None:
        self.catalogue = catalogue
        self._by_srv: dict[tuple[int, str | None], ir.Expr] = {}

    def __call__(self, e: ir.Expr, srv: str | None, known: Mapping[str, Any] | None = None) -> ir.Expr:
        key = (id(e), srv)  # the rule set's own expressions, alive while it is compiled
        if key not in self._by_srv:
            self._by_srv[key] = fold(e, srv, self.catalogue)
        folded = self._by_srv[key]
        if not known or decided(folded) is not None:
            return folded
        with_known = fold(folded, srv, self.catalogue, known)
        return with_known if decided(with_known) is not None else folded


def _failure(comp: Compiler, ch: ir.Check, folds: _Folds, srv: str | None,
             known: Mapping[str, Any] | None = None) -> str:
    """When check `ch` fails a request for `srv` (None: an SRV outside the catalogue) with the `known` request
    fields, as SQL: it applies, no exception waives it and its requirement does not hold (FALSE when it
    cannot fail for `srv`)."""
    parts = []
    if ch.applies is not None:
        applies = folds(ch.applies, srv, known)
        if decided(applies) is False:
            return "FALSE"
        if decided(applies) is None:
            parts.append(comp.truth(applies))
    for x in ch.exceptions:
        waived = folds(x.when, srv, known)
        if decided(waived) is True:
            return "FALSE"
        if decided(waived) is None:
            parts.append(f"NOT {comp.truth(waived)}")
    if ch.requires is not None:
        holds = folds(ch.requires, srv, known)
        if decided(holds) is True:
            return "FALSE"
        if decided(holds) is None:
            parts.append(f"NOT {comp.truth(holds)}")
    return " AND ".join(parts) or "TRUE"


def _effects(comp: Compiler, rs: ir.RuleSet, folds: _Folds, srv: str | None, known: Mapping[str, Any] | None = None) -> str:
    """The effects an accepted request for `srv` with the `known` request fields has, as SQL text `cell=owner;...`."""
    effects = []
    for ef in rs.effects:
        with naming(rs, "effect", ef.name):
            when = folds(ef.when, srv, known)
            if decided(when) is False:
                continue
            cell, owner = comp.value(folds(ef.cell, srv)), comp.value(folds(ef.owner, srv))
            cond = "" if decided(when) is True else f"{comp.truth(when)} AND "
        effects.append(f"CASE WHEN {cond}d.device IS NOT NULL AND {cell} IS NOT NULL"
                       f" AND {owner} IS NOT NULL THEN {cell} || '=' || {owner} END")
    return f"concat_ws(';', {', '.join(effects)})" if effects else "''"


# A plan is chosen by the request's SRV and User Role: with both known, most checks are decided before any
# request is read (the role's eligibility for the SRV, `role == OU`), so the checks' CASE tests a plan
# number where it tested role lists. A role outside the vocabulary (which the loader refuses, but a
# query must not assume) takes its SRV's row with the role left unfolded: ROLE_UNFOLDED.
ROLE_UNFOLDED = ""

PlanKey = tuple[str, str]  # (SRV, User Role or ROLE_UNFOLDED)


def _known(role: str) -> dict[str, Any] | None:
    return {"role": role} if role != ROLE_UNFOLDED else None


def reads_role(node: object) -> bool:
    """Whether the IR `node` reads the request's User Role (so that folding a known role may change it): as
    codegen/fold.py folds it, `role` or `request.role`."""
    if isinstance(node, ir.Var) and node.name == "role" or isinstance(node, ir.GetField) and \
            isinstance(node.obj, ir.Var) and node.obj.name == "request" and node.record == "Request" and node.name == "role":
        return True
    return any(reads_role(x) for x in (node if isinstance(node, tuple) else ir.children(node)))


def _plans(keys: list[PlanKey], of_key: Callable[[str | None, dict[str, Any] | None], str], by_role: bool
           ) -> tuple[dict[PlanKey, int], list[str], str]:
    """`of_key` folded for each (SRV, role) of `keys`, keys whose folded texts read alike sharing one plan:
    (key -> its plan's number, each plan's text, the text for an SRV outside the catalogue). Without
    `by_role` (what is folded reads no role) each SRV is folded once, for all its keys. The folding is
    Python's work: every (SRV, role) of a rule set's 129 SRVs and eight roles took longer than DuckDB
    judging a million requests."""
    texts: dict[str, int] = {}
    of_srv: dict[str, str] = {}
    of_text: dict[tuple[str, str], str] = {}

    def text(srv: str, role: str) -> str:
        if srv not in of_srv:
            of_srv[srv] = of_key(srv, None)
        if not by_role or role == ROLE_UNFOLDED:
            return of_srv[srv]
        # SRVs whose folded texts read alike mean the same for every role: the role is folded once for them.
        if (of_srv[srv], role) not in of_text:
            of_text[of_srv[srv], role] = of_key(srv, _known(role))
        return of_text[of_srv[srv], role]
    plan_of = {(srv, role): texts.setdefault(text(srv, role), len(texts)) for srv, role in keys}
    return plan_of, list(texts), of_key(None, None)


def _dispatch(column: str, texts: list[str], outside: str) -> str:
    """The plan numbered by `column` (null for an SRV outside the catalogue) as one SQL expression."""
    arms = [f"WHEN {column} = {i} THEN {text}" for i, text in enumerate(texts) if text != outside]
    return f"(CASE {' '.join(arms)} ELSE {outside} END)" if arms else outside


_COMPILED: OrderedDict[tuple[Any, ...], tuple[ir.RuleSet, ir.Program, str]] = OrderedDict()
_COMPILED_KEPT = 16


def verdict_sql(rs: ir.RuleSet, program: ir.Program, source: str, dialect: Dialect = DUCKDB,
                relations: Relations = LOADED, narrow: bool = False) -> str:
    """`compile_verdicts`, remembered for the last few rule sets: folding a rule set's 129 SRVs takes a tenth
    of a second of Python, which a question judging several relations under one rule set (the fleet's
    candidates, a log in parts, a benchmark's runs) need pay once. The IR is immutable; the rule set and
    program are kept with their query, so that their ids are theirs while it is remembered."""
    key = (id(rs), id(program), source, dialect, relations, narrow)
    hit = _COMPILED.get(key)
    if hit is not None and hit[0] is rs and hit[1] is program:
        _COMPILED.move_to_end(key)
        return hit[2]
    sql = compile_verdicts(rs, program, source, dialect, relations, narrow)
    _COMPILED[key] = (rs, program, sql)
    while len(_COMPILED) > _COMPILED_KEPT:
        _COMPILED.popitem(last=False)
    return sql


def compile_verdicts(rs: ir.RuleSet, program: ir.Program, source: str, dialect: Dialect = DUCKDB,
                     relations: Relations = LOADED, narrow: bool = False) -> str:
    """SELECT request_id, accepted, dcc_accepted, layer, code, check, effects FROM `source` judged under `rs`;
    `narrow`: request_id, failed, effects only, the failing check's index standing for its layer, code and
    name (`verdicts_from` reads them back), so that a table of a billion verdicts holds no strings but effects.

    As the generated validators do (codegen/fold.py), each SRV's catalogue row, and the request's User
    Role, are folded into the checks before any request is read: a check that cannot apply to an SRV
    costs its requests nothing, and what is left reads no catalogue row, so the query needs no catalogue
    join."""
    comp = Compiler(program.cells(), source, dialect, relations, program.relations)
    folds = _Folds(rs.catalogue)
    roles = program.roles()
    keys = [(srv, role) for srv in sorted(rs.catalogue) for role in (*roles, ROLE_UNFOLDED)]
    plan_of: dict[PlanKey, list[int]] = {key: [] for key in keys}  # (SRV, role) -> its plan's number for each column
    columns: list[str] = []

    def by_key(of_key: Callable[[str | None, dict[str, Any] | None], str], folded: object) -> str:
        # One plan column only where the folded texts differ; a small join, where testing every row
        # against one SRV list per plan cost more than the catalogue join it replaces.
        numbers, texts, outside = _plans(keys, of_key, reads_role(folded))
        if set(texts) == {outside}:
            return outside
        for key, number in numbers.items():
            plan_of[key].append(number)
        columns.append(f"plan_{len(columns)}")
        return _dispatch(f"p.{columns[-1]}", texts, outside)

    arms = []
    for i, ch in enumerate(rs.checks):
        with naming(rs, "check", ch.name):
            fails = by_key(partial(_failure, comp, ch, folds), ch)
        if fails != "FALSE":
            arms.append(f"WHEN {fails} THEN {i}")
    failed = f"CASE {' '.join(arms)} END" if arms else "CAST(NULL AS INT)"
    effect_list = by_key(partial(_effects, comp, rs, folds), rs.effects)
    items = _catalogue(rs, program, comp)
    plan_join = ""
    if columns:
        plans: list[tuple[str | int, ...]] = [(srv, role, *plan_of[srv, role]) for srv, role in keys]
        # The keys as the loaded tables type them (tables.py: ENUMs), so that the join compares small integers;
        # the unfolded role's row has a null role, which a role outside the vocabulary, or null, joins.
        srv, role = "srv", f"NULLIF(role, {lit(ROLE_UNFOLDED, dialect)})"
        if dialect.name == "duckdb":
            srv, role = f"TRY_CAST(srv AS {SRV_TYPE})", f"CAST({role} AS {ROLE_TYPE})"
        items.append(f"plans AS (SELECT {srv} AS srv, {role} AS role, {', '.join(columns)} "
                     f"FROM {dialect.columns(['srv', 'role', *columns], plans)})")
        role_key = f"CASE WHEN r.role IN ({', '.join(lit(x, dialect) for x in roles)}) THEN r.role END" if roles else "NULL"
        plan_join = f" LEFT JOIN plans p ON p.srv = r.srv AND p.role IS NOT DISTINCT FROM {role_key}"
    items.append(f"judged AS (SELECT r.request_id, {failed} AS failed, {effect_list} AS effects"
                 f" FROM {source} r {relations.joins(comp.row_reads > 0)}{plan_join}{comp.throughout_joins()})")
    if narrow:
        return f"WITH {_with(items)}\nSELECT request_id, failed, CASE WHEN failed IS NULL THEN effects ELSE '' END AS effects FROM judged"
    return f"WITH {_with(items)}\n{verdicts_from('judged', rs, dialect)}"


def verdicts_from(judged: str, rs: ir.RuleSet, dialect: Dialect = DUCKDB) -> str:
    """SELECT request_id, accepted, dcc_accepted, layer, code, check, effects from a relation `judged` of
    (request_id, failed, effects): `failed` the index of the failing check in `rs` (null: none fails)."""
    check = dialect.ident("check")
    if not rs.checks:
        return f"""SELECT request_id, TRUE AS accepted, TRUE AS dcc_accepted, CAST(NULL AS {dialect.text}) AS layer,
       CAST(NULL AS {dialect.text}) AS code, CAST(NULL AS {dialect.text}) AS {check}, effects FROM {judged}"""
    # The failing check's layer, code and name by a join to a small table of the checks: cheaper than
    # indexing a list literal three times per request.
    checks = [f"({i}, {lit(ch.layer.value, dialect)}, CAST({lit(ch.code, dialect)} AS {dialect.text}), {lit(ch.name, dialect)},"
              f" {lit(ch.layer.value == 'Device', dialect)})" for i, ch in enumerate(rs.checks)]
    return f"""SELECT j.request_id,
       j.failed IS NULL AS accepted,
       j.failed IS NULL OR k.device_layer AS dcc_accepted,
       k.layer AS layer,
       k.code AS code,
       k.name AS {check},
       CASE WHEN j.failed IS NULL THEN j.effects ELSE '' END AS effects
FROM {judged} j LEFT JOIN {dialect.values(checks)} AS k(i, layer, code, name, device_layer) ON k.i = j.failed
"""
