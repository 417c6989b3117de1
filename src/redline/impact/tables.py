"""The fleet tables: their schemas, loading from Parquet or CSV, and the checks that keep bad rows out.

Input (one file per table in a directory, `<table>.parquet` or `<table>.csv`):
parties, party_roles, devices, registration and, for log replay, requests.
Their columns follow the world declarations: one `trust_anchor_<cell>`
column per RemotePartyRole, enum columns checked against the rule files'
vocabularies. Every row is checked before any question is asked; a bad row
is an `ImpactInputError` naming the table, column and the row, or, with a
bad-rows directory, written there with its problem and counted.

Loaded (what the compiled queries read): `parties(party, dcc_user, roles)`,
`devices(device, type, generation, smi_status, mpxn, trust_anchor_<cell>...)`
with each device's MPxN resolved through its associations (A5),
`registration_islands(mpxn, role, party, start_us, end_us)` and
`requests(<REQUEST_COLUMNS>)`, times as microseconds since the epoch (as redline.times), each
vocabulary column (a role, an SRV, a cell, a device's type, generation and SMI status, a declared
enum) and every party id a DuckDB ENUM of sorted members (`Loader._vocabularies`). Each
declared field is one more column of its record's table, and each declared relation a table
`relation_<name>` of its distinct tuples (impact/declared.py).
`devices` and `registration_islands` are views of the checked rows, not copies: a national fleet
is tens of millions of rows, and each copy costs seconds and gigabytes.

A party id need not be a row of `parties` (as in STATE.json, redline.interp.values.UNLISTED): a trust
anchor's owner, a registered party, a request's sender or new certificate owner, a declared Party column
or a relation's party may name one the table does not list, which is then not a DCC User and holds no
User Role (the compiled queries LEFT JOIN `parties`). Such ids are checked for their form only.

Rows are checked the fast way first (`Loader._fast`): one pass computes each row's own problems
and nothing else, then keys and invariants are checked over the typed rows. Only when something is
wrong is a table checked again the careful way, keeping raw values and row numbers, so that every
bad row is told (or set aside) exactly as before; good input never pays for that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from redline.check import checked as ir
from redline.check.reads import reads
from redline.impact import csvfiles, declared, unreadable
from redline.impact.sql import (
    PARTY_TYPE,
    REQUEST_COLUMNS,
    ROLE_TYPE,
    SRV_TYPE,
    anchor_column,
    lit,
    relation_columns,
    relation_table,
)
from redline.jsondoc import JsonObject
from redline.progress import note
from redline.times import EARLIEST, LATEST

EUI_RE = "[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}"
CANONICAL_EUI_RE = "[0-9A-F]{2}(-[0-9A-F]{2}){7}"  # as the fast way takes ids: already in upper case
TIME_RE = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z"  # to the microsecond, as redline.times
MAX_ASSOCIATION_DEPTH = 8
END_OF_TIME = 9223372036854775807  # an open-ended assignment's end, in microseconds
TABLES = ("parties", "party_roles", "devices", "registration", "requests")
UNIQUE = "<unique>"
MAX_PARTY_ENUM = 65_535  # the most party ids loaded as an ENUM (two bytes a value); more stay text  # an extra check's condition: the column's value appears in no other row


class ImpactInputError(Exception):
    def __init__(self, table: str, column: str | None, message: str, row: JsonObject | None = None) -> None:
        where = table if column is None else f"{table}.{column}"
        shown = "" if row is None else "; for example the row " + ", ".join(f"{k}={_show(v)}" for k, v in row.items())
        super().__init__(f"{where}: {message}{shown}")


def _show(v: Any) -> str:
    return "null" if v is None else repr(v) if isinstance(v, str) else str(v)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: str  # id | enum | text | bool | time | int
    nullable: bool = False
    members: tuple[str, ...] = ()
    declared: bool = False  # a declared field's column (impact/declared.py): a file may leave it out
    refers: str = ""  # a declared id column's record: Party or Device (a Device id must be loaded; a Party's need not)


def declared_columns(program: ir.Program, record: str) -> tuple[Column, ...]:
    """The columns of `record`'s declared fields (impact/declared.py), each nullable in the file."""
    try:
        found = declared.columns(program, record)
    except declared.ClashError as e:
        raise ImpactInputError(declared.RECORD_TABLES[record], None, str(e)) from None
    return tuple(Column(c.name, c.kind, nullable=True, members=c.members, declared=True, refers=c.refers) for c in found)


def schemas(program: ir.Program) -> dict[str, tuple[Column, ...]]:
    """The input schema of each table, from the program's vocabularies (declared cells and fields flow through)."""
    e, v = program.enums, program.vocab
    # Every User Role parses; one no Registration Data may name is refused by its invariant, by name (_registration).
    reg_roles = e[v.role]
    # SQL names compare without regard to case (as declared fields' clashes, impact/declared.py): two names the
    # rule language tells apart by case alone would be one column or one table.
    if twins := _case_twins(e[v.cell]):
        raise ImpactInputError("devices", anchor_column(twins[0]), f"the {v.cell} members `{twins[0]}` and "
                               f"`{twins[1]}` differ only in case, one trust anchor column to SQL; rename one to use "
                               "them with redline impact")
    if twins := _case_twins(program.relations):  # the second file loaded would silently replace the first's tuples
        raise ImpactInputError(twins[0], None, f"the declared relations `{twins[0]}` and `{twins[1]}` have names that "
                               "differ only in case, one table name to SQL; rename one to use them with redline impact")
    return {
        "parties": (Column("party", "id"), Column("dcc_user", "bool"), *declared_columns(program, "Party")),
        "party_roles": (Column("party", "id", refers="Party"), Column("role", "enum", members=e[v.role])),
        "devices": (Column("device", "id"), Column("type", "enum", members=e[v.device_type]),
                    Column("generation", "enum", members=e[v.generation]),
                    Column("smi_status", "enum", members=e[v.smi_status]),
                    Column("mpxn", "text", nullable=True), Column("associated_device", "id", nullable=True),
                    *(Column(anchor_column(c), "id", nullable=True, refers="Party") for c in e[v.cell]),
                    *declared_columns(program, "Device")),
        "registration": (Column("mpxn", "text"), Column("role", "enum", members=reg_roles), Column("party", "id", refers="Party"),
                         Column("from_time", "time"), Column("to_time", "time", nullable=True)),
        "requests": (Column("request_id", "int"), Column("timestamp", "time"), Column("sender", "id", refers="Party"),
                     Column("role", "enum", members=e[v.role]), Column("srv", "text"),
                     Column("device", "id", nullable=True),
                     Column("remote_party_role", "enum", nullable=True, members=e[v.cell]),
                     Column("new_certificate_owner", "id", nullable=True, refers="Party"),
                     Column("execution_time", "time", nullable=True),
                     Column("date_range_from", "time", nullable=True), Column("date_range_to", "time", nullable=True),
                     *declared_columns(program, "Request")),
        **{name: relation_schema(name, kinds) for name, kinds in program.relations.items()},
    }


def _case_twins(names: Iterable[str]) -> tuple[str, str] | None:
    """The first two of `names` (in order) that differ only in case, if any."""
    pairs = sorted((a, b) for a in names for b in names if a < b and a.lower() == b.lower())
    return pairs[0] if pairs else None


def relation_schema(name: str, kinds: tuple[str, ...]) -> tuple[Column, ...]:
    """A declared relation's table `<name>`: one id column per argument (sql.relation_columns), a tuple a row."""
    if name.lower() in TABLES:  # SQL names compare without regard to case
        raise ImpactInputError(name, None, f"the declared relation `{name}` has the name of a fleet table; rename it "
                               "to use it with redline impact")
    return tuple(Column(c, "id", refers=k) for c, k in zip(relation_columns(kinds), kinds, strict=True))


def _typed(col: Column, source_type: str, to: str | None) -> str:
    """The column as its loaded type (`to`, its ENUM type, if it has one: `Loader._vocabularies`), or null where
    it does not parse."""
    x = f't."{col.name}"'
    v = f"CAST({x} AS VARCHAR)"
    match col.kind:
        case "id":
            upper = f"CASE WHEN regexp_full_match({v}, '{EUI_RE}') THEN upper({v}) END"
            return f"CAST({upper} AS {to})" if to else upper  # the vocabulary holds every well-formed id, in upper case
        case "enum":
            assert to is not None
            return f"TRY_CAST({v} AS {to})"  # null for any string that is not a member, exactly (case, spaces)
        case "text":
            return f"CASE WHEN trim({v}) <> '' THEN {v} END"
        case "bool":
            return x if source_type == "BOOLEAN" else f"CASE lower(trim({v})) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END"
        case "int":
            return f"TRY_CAST({x} AS BIGINT)"
        case "time":  # bounded to the years parse_iso reads: DuckDB also holds year 0 and Parquet far beyond 9999
            us = f"epoch_us({x})" if source_type.startswith("TIMESTAMP") else \
                f"CASE WHEN regexp_full_match({v}, '{TIME_RE}') THEN epoch_us(TRY_CAST({v} AS TIMESTAMP)) END"
            return f"CASE WHEN {us} BETWEEN {EARLIEST} AND {LATEST} THEN {us} END"
    raise AssertionError(col.kind)  # pragma: no cover


_EXPECT = {"id": "an Entity Identifier of eight hex pairs such as 90-B3-D5-1F-30-01-00-00",
           "text": "a non-empty string", "bool": "true or false", "int": "an integer",
           "time": "an ISO 8601 UTC time such as 2026-03-01T12:00:00Z (or a Parquet TIMESTAMP), in the years 1 to 9999"}


# The Parquet types each kind of column may come as besides a string (CSV columns are all strings).
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
_SOURCE_TYPES: dict[str, tuple[str, ...]] = {
    "id": (), "enum": (), "text": (), "bool": ("BOOLEAN",), "int": _INTEGERS,
    "time": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")}
_TYPE_NAMES = {"bool": ["a BOOLEAN"], "int": ["an integer"], "time": ["a TIMESTAMP"]}
_EXPECT_KIND = {"id": "Entity Identifiers", "enum": "names from a vocabulary", "bool": "true or false", "int": "integers",
                "text": "text (a number read as text can lose its form, as an MPAN its leading zeros)", "time": "instants"}


def _as_given(col: Column, typed: str, to: str | None) -> str:
    """`col` as the fast way of loading types it: an id as it is, if in upper case; any other column as
    `typed`, what `_typed` made of it. A party id is cast to the party vocabulary (`to`), which holds every
    well-formed id of the tables in upper case: one hash lookup, where a pattern on each of a national fleet's
    hundreds of millions of ids cost a tenth of the loading; an id not in it (in lower case, or malformed)
    is a row's problem here, and the careful way tells which. Without `to` (a device id, or party ids past
    MAX_PARTY_ENUM) the id is matched against the pattern."""
    v = f'CAST(t."{col.name}" AS VARCHAR)'
    if col.kind == "id":
        return f"TRY_CAST({v} AS {to})" if to else f"CASE WHEN regexp_full_match({v}, '{CANONICAL_EUI_RE}') THEN {v} END"
    return typed


def _is_party(table: str, col: Column) -> bool:
    """Whether `col` of `table` holds party ids."""
    return col.kind == "id" and (col.refers == "Party" or (table, col.name) == ("parties", "party"))


def _references(table: str, cols: tuple[Column, ...]) -> list[tuple[str, str, str]]:
    """The extra checks of `table`'s declared id columns: each Device id names a loaded device, as in STATE.json
    (a Party id need not name a loaded party: one `parties` does not list is no DCC User and holds no role).
    While a table is checked its own loaded form is not there yet: its ids are looked up as given."""
    out = []
    for c in cols:
        if c.refers == "Device":
            known = ("SELECT upper(CAST(device AS VARCHAR)) FROM raw_devices" if table in ("parties", "devices")
                     else "SELECT device FROM devices")
            out.append((c.name, "not in devices", f"{{{c.name}}} IS NOT NULL AND {{{c.name}}} NOT IN ({known})"))
    return out


def _declared_names(cols: tuple[Column, ...], alias: str) -> str:
    """`, alias."name"` for each declared column: what a loaded table adds to its own columns."""
    return "".join(f', {alias}"{c.name}"' for c in cols if c.declared)


def table_file(root: Path, table: str) -> Path | None:
    """`root/<table>.parquet` or `root/<table>.csv`, or None; both is refused: which one was meant (an edited CSV
    beside a stale Parquet file, say) cannot be told, and reading one would silently ignore the other."""
    found = [root / f"{table}.{ext}" for ext in ("parquet", "csv") if (root / f"{table}.{ext}").is_file()]
    if len(found) > 1:
        raise ImpactInputError(table, None, f"both {found[0]} and {found[1]}: keep one of them")
    return found[0] if found else None


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether `con` holds a table or view `name` (a file's raw view, a test's raw table, a loaded table)."""
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone() != (0,)


KEYS = {"Device": ("devices", "device"), "Party": ("parties", "party"), "Request": ("requests", "request_id")}


def require_declared(con: duckdb.DuckDBPyConnection, program: ir.Program, rulesets: list[ir.RuleSet],
                     records: tuple[str, ...] = ("Device", "Party", "Request")) -> None:
    """Refuse loaded tables in which a declared field that one of `rulesets` reads, and that is not optional,
    is null (or its column left out): as STATE.json, such a field is required by the rule sets that read it."""
    for rs in rulesets:
        for name in sorted(reads(program, rs).relations):
            if not _exists(con, relation_table(name)):
                raise ImpactInputError(name, None, f"no {name}.parquet or {name}.csv: rule set `{rs.name}` reads the declared "
                                       f"relation `{name}` (give the file, with its header only if no tuple holds)")
        for record in records:
            table, key = KEYS[record]
            hit = declared.missing_value(con, program, rs, record, table, key)
            if hit is not None:
                column, row = hit
                raise ImpactInputError(table, column, f"missing value: rule set `{rs.name}` reads this declared field, "
                                       "which is not optional (give it in every row, or declare it optional)", {key: row})


class Loader:
    """Loads the tables of one fleet into a DuckDB connection, checking every row."""

    def __init__(self, con: duckdb.DuckDBPyConnection, program: ir.Program, catalogue: Any,
                 bad_rows: Path | None = None) -> None:
        self.con, self.program, self.catalogue, self.bad_rows = con, program, catalogue, bad_rows
        self.schemas = schemas(program)
        self.rejected: dict[str, int] = {}
        self.types: dict[tuple[str, ...], str] = {}  # an enum column's members -> its ENUM type (_vocabularies)
        self.party_type: str | None = PARTY_TYPE  # what party ids load as: PARTY_TYPE, or text (_vocabularies)
        self.files: dict[str, str] = {}  # each file read: path -> table
        self.paths: dict[str, Path] = {}  # table -> its file

    def load_dir(self, root: Path, with_requests: bool) -> None:
        for table in TABLES:
            if table == "requests" and not with_requests:
                continue
            path = table_file(root, table)
            if path is None:
                raise ImpactInputError(table, None, f"no {table}.parquet or {table}.csv in {root}")
            self._source(table, path)
        for name in self.program.relations:  # a relation's file is needed only if a rule set asked about reads it
            path = table_file(root, name)
            if path is not None:
                self._source(name, path)
        try:
            self.stage(with_requests)
        except (duckdb.InvalidInputException, duckdb.IOException) as e:  # a row past what DuckDB's sniffer looked at
            named = unreadable.named_file(e, self.files)
            if named is None:
                raise
            path = self.paths[named]
            why = csvfiles.mixed_line_ending(path) if path.suffix == ".csv" and "invalid state" in str(e) else None
            raise ImpactInputError(named, None, f"cannot read {path}: {why or unreadable.reason(e)}") from None

    def _source(self, table: str, path: Path) -> None:
        self.files[str(path)], self.paths[table] = table, path
        try:
            reader = f"read_parquet({lit(str(path))})" if path.suffix == ".parquet" else csvfiles.reader(path, lit)
        except csvfiles.HeaderError as e:
            raise ImpactInputError(table, None, f"cannot read {path}: {e}") from None
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW raw_{table} AS SELECT * FROM {reader}")
            self.con.execute(f"DESCRIBE raw_{table}").fetchall()
        except duckdb.Error as e:
            raise ImpactInputError(table, None, f"cannot read {path}: {unreadable.reason(e)}") from None

    def stage(self, with_requests: bool) -> None:
        """raw_<table> views (from files or tests) to the checked, loaded tables."""
        self._vocabularies(with_requests)
        self._parties()
        self._devices()
        self._registration()
        self._relations()
        if with_requests:
            self._requests()

    # ---- the vocabularies: ENUM types of the loaded columns -------------------

    def _vocabularies(self, with_requests: bool) -> None:
        """An ENUM type for each vocabulary the loaded tables hold: each enum column's members, the SRVs of
        the rule sets' catalogues and every well-formed party id the tables name (listed or not), each sorted,
        so that an ENUM orders and prints as its strings do. A request's User Role, SRV and sender, a device's
        type and trust anchors are then small integers to the queries that join and compare them (a third
        less CPU to judge a log than as strings); to everything else they are the strings they were."""
        self.types = {self.program.roles(): ROLE_TYPE}  # named: the verdict query's plans are cast to it
        self._create_type(ROLE_TYPE, sorted(self.program.roles()))
        for cols in self.schemas.values():
            for c in cols:
                if c.kind == "enum" and c.members not in self.types:
                    self.types[c.members] = f"redline_enum_{len(self.types)}"
                    self._create_type(self.types[c.members], sorted(c.members))
        srvs = set(self.catalogue).union(*(rs.catalogue for rs in self.program.rulesets.values()))
        self._create_type(SRV_TYPE, sorted(srvs))
        ids = []
        for table, cols in self.schemas.items():
            if table == "requests" and not with_requests or not _exists(self.con, f"raw_{table}"):
                continue
            given = {str(r[0]): str(r[1]) for r in self.con.execute(f"DESCRIBE raw_{table}").fetchall()}
            # Only text columns: any other type is refused by name when the table is checked.
            named = [f'"{c.name}"' for c in cols if _is_party(table, c) and given.get(c.name) == "VARCHAR"]
            if named and table in self.paths and self.paths[table].suffix == ".csv":  # one pass: each reads every column
                ids.append(f"SELECT DISTINCT unnest([{', '.join(named)}]) AS x FROM raw_{table}")
            else:  # a column at a time: Parquet reads one column's dictionary, not the rows
                ids += [f"SELECT DISTINCT {n} AS x FROM raw_{table}" for n in named]
        # Each column's distinct values first, held in a table: in one query, DuckDB pushed upper() and the
        # pattern below the DISTINCT, onto every value of 5 M devices' seven trust anchors (2 s, not 0.1).
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE party_ids_given AS {' UNION '.join(ids)}" if ids else
                         "CREATE OR REPLACE TEMP TABLE party_ids_given AS SELECT NULL::VARCHAR AS x WHERE FALSE")
        self.con.execute(f"""CREATE OR REPLACE TEMP TABLE party_ids AS SELECT DISTINCT upper(x) AS id FROM party_ids_given
                             WHERE regexp_full_match(x, '{EUI_RE}')""")
        # An ENUM's members are copied into every table and view that holds it: a few hundred DCC Users cost
        # nothing, but millions of distinct unlisted ids made loading 20 times slower. Past MAX_PARTY_ENUM the
        # party ids stay text (as strings they compare alike, only more slowly).
        count = self.con.execute("SELECT count(*) FROM party_ids").fetchone()
        self.party_type = PARTY_TYPE if count is not None and count[0] <= MAX_PARTY_ENUM else None
        if self.party_type:
            self.con.execute(f"CREATE OR REPLACE TYPE {PARTY_TYPE} AS ENUM (SELECT id FROM party_ids ORDER BY id)")
        self._drop("party_ids_given", "party_ids")

    def _create_type(self, name: str, members: list[str]) -> None:
        self.con.execute(f"CREATE OR REPLACE TYPE {name} AS ENUM ({', '.join(lit(m) for m in members)})")

    def _loaded_type(self, table: str, col: Column) -> str | None:
        """The ENUM type `col` of `table` is loaded as, if any (`_vocabularies`)."""
        if col.kind == "enum":
            return self.types[col.members]
        if _is_party(table, col):
            return self.party_type
        return None

    # ---- the shared machinery: typed columns, problems, bad rows -----------

    def _checked(self, table: str, extra: list[tuple[str, str, str]], joins: str = "",
                 among: list[tuple[str, str]] | None = None, fast: bool = True,
                 careful_extra: list[tuple[str, str, str]] | None = None, computed: str = "") -> bool:
        """checked_<table>: the typed columns plus `problem`, the first thing wrong with the row (null if none).
        `extra`: (column, message, condition over the typed columns, or UNIQUE). `among`: problems of a row among
        the others, (message, SELECT of the row_numbers it fits among the rows of `{rows}` with no other problem).
        `careful_extra`: more of `extra`, checked the careful way only (a later step finds such rows anyway).
        `computed`: more columns, `, <SQL over the typed columns t."..."> AS name`, computed in the same pass.

        Without `among`, first the fast way (`_fast`), for the usual input where every row is good. Only if it
        finds something is the table built again the careful way, with the raw values and row numbers a bad
        row is reported by (`_settle`), so a bad row is told exactly as before."""
        note(f"checking every row of {table}")
        cols = self.schemas[table]
        described = self.con.execute(f"DESCRIBE raw_{table}").fetchall()
        found = {str(r[0]): str(r[1]) for r in described}
        missing = [c.name for c in cols if c.name not in found and not c.declared]
        unknown = [n for n in found if n not in {c.name for c in cols}]
        if missing:
            raise ImpactInputError(table, missing[0], f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        if unknown:
            raise ImpactInputError(table, unknown[0], f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                                   f"expected exactly {', '.join(c.name for c in cols)}")
        source = self._given(table, [c.name for c in cols if c.name not in found])
        for c in cols:
            self._column_type(table, c, found.setdefault(c.name, "NULL"))
        to = {c.name: self._loaded_type(table, c) for c in cols}
        typed = {c.name: _typed(c, found[c.name], to[c.name]) for c in cols}
        if fast and not among and self._fast(table, source, cols, typed, to, extra, joins, computed):
            return True
        # The typed columns are computed once, below the checks that read them: written inline, each
        # id's pattern match ran twice per row (for the value and for its check).
        problems = self._row_problems(cols)
        for col, msg, cond in [*extra, *(careful_extra or [])]:
            if cond == UNIQUE:
                cond = self._repeated(table, col, typed[col])
            problems.append((cond.format(**{c.name: f't."{c.name}"' for c in cols}), f"{col}: {msg}"))
        problem = "CASE " + " ".join(f"WHEN {cond} THEN {lit(msg)}" for cond, msg in problems) + " END"
        select = ", ".join(f'{typed[c.name]} AS "{c.name}"' for c in cols)
        raw_cols = ", ".join(f't."{c.name}" AS "raw_{c.name}"' for c in cols)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE checked_{table} AS SELECT t.*, {problem} AS problem, "
                         f"row_number() OVER () AS row_number{computed} FROM (SELECT {select}, {raw_cols} FROM {source} t {joins}) t")
        for msg, rows in among or []:
            self.con.execute(f"UPDATE checked_{table} SET problem = {lit(msg)} WHERE problem IS NULL AND row_number IN "
                             f"({rows.format(rows=f'checked_{table}')})")
        self._settle(table, cols)
        return False

    def _given(self, table: str, absent: list[str]) -> str:
        """What `table`'s rows are read from: raw_<table>, with a null column for each declared field it leaves out."""
        if not absent:
            return f"raw_{table}"
        nulls = ", ".join(f'NULL::VARCHAR AS "{name}"' for name in absent)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW given_{table} AS SELECT *, {nulls} FROM raw_{table}")
        return f"given_{table}"

    def _column_type(self, table: str, col: Column, source_type: str) -> None:
        """Refuse a Parquet column whose type cannot hold what `col` means: a struct, a list or a number read
        as text would otherwise parse as some other string (a struct MPxN as "{'a': ...}", an MPAN given
        as an integer losing its form), and a fraction would round to an integer id. A column with no
        value at all is let through whatever its type (writers type an all-null column as they like)."""
        allowed = _SOURCE_TYPES[col.kind]
        if source_type in allowed or source_type in ("VARCHAR", "NULL"):
            return
        if col.kind == "int" and source_type.startswith("DECIMAL(") and source_type.endswith(",0)"):
            return  # a decimal with no fraction digits holds integers only
        row = self.con.execute(f'SELECT count("{col.name}") FROM raw_{table}').fetchone()
        if row == (0,):
            return
        kinds = " or ".join(["a string", *(_TYPE_NAMES[col.kind] if allowed else [])])
        raise ImpactInputError(table, col.name, f"a column of type {source_type} cannot hold {_EXPECT_KIND[col.kind]}; "
                               f"give {kinds} column")

    @staticmethod
    def _row_problems(cols: tuple[Column, ...]) -> list[tuple[str, str]]:
        """(condition, message) for each column's own problems: a missing value, a value that does not parse."""
        problems: list[tuple[str, str]] = []
        for c in cols:
            raw = f't."raw_{c.name}"'
            if not c.nullable:
                problems.append((f"{raw} IS NULL", f"{c.name}: missing value"))
            what = f"one of {', '.join(c.members)}" if c.kind == "enum" else _EXPECT[c.kind]
            problems.append((f'{raw} IS NOT NULL AND t."{c.name}" IS NULL', f"{c.name}: expected {what}"))
        return problems

    def _fast(self, table: str, source: str, cols: tuple[Column, ...], typed: dict[str, str], to: dict[str, str | None],
              extra: list[tuple[str, str, str]], joins: str, computed: str) -> bool:
        """checked_<table> with the typed columns and a null `problem`, if no row has any problem; else False
        (and nothing is left behind). One pass computes each row's own problems; uniqueness follows. Problems
        among rows are the caller's to look for first (as `_registration` does, where they can be)."""
        # Ids are taken as they are, in upper case, as the synthetic fleet and most systems write them: upper()
        # on every id of a national fleet (hundreds of millions) cost about a tenth of the loading. An id in
        # lower case is then a row's problem here, and the careful way, which reads ids in any case, loads it.
        typed = {c.name: _as_given(c, typed[c.name], to[c.name]) for c in cols}
        problems = self._row_problems(cols)
        aliased = {c.name: f't."{c.name}"' for c in cols}
        problems += [(cond.format(**aliased), col) for col, _, cond in extra if cond != UNIQUE]
        bad = " OR ".join(f"COALESCE({cond}, FALSE)" for cond, _ in problems) or "FALSE"  # as CASE WHEN reads a null
        select = ", ".join(f'{typed[c.name]} AS "{c.name}"' for c in cols)
        raw_cols = ", ".join(f't."{c.name}" AS "raw_{c.name}"' for c in cols)
        names = ", ".join(f'"{c.name}"' for c in cols)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE checked_{table} AS SELECT {names}, NULL::VARCHAR AS problem, "
                         f"{bad} AS bad{computed} FROM (SELECT {select}, {raw_cols} FROM {source} t {joins}) t")
        clean = self.con.execute(f"SELECT NOT bool_or(bad) FROM checked_{table}").fetchone()
        ok = clean is None or clean[0] is not False  # an empty table, or no bad row

        def unique(key: str) -> bool:
            return self.con.execute(f"SELECT count(*) FROM (SELECT {key} AS k FROM checked_{table} GROUP BY k "
                                    "HAVING count(*) > 1) t").fetchone() == (0,)
        for col, _, cond in extra:
            # Unique if no two rows share the key's hash (a fixed-size integer, cheaper to group than the
            # string); only if some do is the key itself grouped, to tell a repeat from two keys of one hash.
            if ok and cond == UNIQUE:
                ok = unique(f'hash("{col}")') or unique(f'"{col}"')
        if not ok:
            self.con.execute(f"DROP TABLE checked_{table}")
        return ok

    def _repeated(self, table: str, col: str, typed: str) -> str:
        """The condition "this row's `col` is also another row's", from a hash aggregate of the keys seen twice.

        A window count partitioned by the key sorted every row and grew worse than linearly with the
        fleet; the aggregate is one parallel pass and its result (usually empty) a small semi-join.
        A null key never reaches this check: its column check comes first."""
        name = f"repeated_{table}_{col}"
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {typed} AS k FROM raw_{table} t "
                         f"GROUP BY ALL HAVING count(*) > 1 AND k IS NOT NULL")
        return f"{{{col}}} IN (SELECT k FROM {name})"

    def _settle(self, table: str, cols: tuple[Column, ...]) -> None:
        bad = self.con.execute(f"SELECT count(*) FROM checked_{table} WHERE problem IS NOT NULL").fetchone()
        count = int(bad[0]) if bad else 0
        if count == 0:
            return
        names = ", ".join(f'"raw_{c.name}" AS "{c.name}"' for c in cols)
        if self.bad_rows is None:
            first = self.con.execute(f"SELECT problem, row_number, {names} FROM checked_{table} "
                                     f"WHERE problem IS NOT NULL ORDER BY row_number LIMIT 1")
            header = [str(d[0]) for d in first.description or ()]
            row = first.fetchone()
            assert row is not None
            column, _, message = str(row[0]).partition(": ")
            example = dict(zip(header[2:], row[2:], strict=True))
            more = f" ({count} bad rows in all; row {row[1]})" if count > 1 else f" (row {row[1]})"
            raise ImpactInputError(table, column, message + more, example)
        self.bad_rows.mkdir(parents=True, exist_ok=True)
        out = lit(str(self.bad_rows / f"{table}.csv"))
        self.con.execute(f"COPY (SELECT row_number, problem, {names} FROM checked_{table} WHERE problem IS NOT NULL "
                         f"ORDER BY row_number) TO {out} (HEADER)")
        self.rejected[table] = count

    # ---- the tables ----------------------------------------------------------

    def _parties(self) -> None:
        self._checked("parties", [("party", "listed twice (ids compare without regard to case)",
                                   UNIQUE), *_references("parties", self.schemas["parties"])])
        self._checked("party_roles", [
            ("party", "not in parties", "{party} NOT IN (SELECT party FROM checked_parties WHERE problem IS NULL)")])
        self.con.execute(f"""CREATE OR REPLACE TEMP TABLE parties AS
            SELECT p.party, p.dcc_user{_declared_names(self.schemas["parties"], "p.")},
                   COALESCE((SELECT list(DISTINCT r.role ORDER BY r.role) FROM checked_party_roles r
                             WHERE r.party = p.party AND r.problem IS NULL), []::{ROLE_TYPE}[]) AS roles
            FROM checked_parties p WHERE p.problem IS NULL""")

    def _devices(self) -> None:
        cells = self.program.cells()
        extra = [("device", "listed twice (ids compare without regard to case)", UNIQUE),
                 ("mpxn", "give exactly one of mpxn (a meter) and associated_device (any other device)",
                  "({mpxn} IS NULL) = ({associated_device} IS NULL)")]
        extra += _references("devices", self.schemas["devices"])
        described = {str(r[0]) for r in self.con.execute("DESCRIBE raw_devices").fetchall()}
        row = self.con.execute("SELECT count(associated_device) FROM raw_devices").fetchone() \
            if "associated_device" in described else None  # a missing column is told by _checked
        # An associated device that is not loaded is told by name the careful way only: the fast way's
        # associations walk finds it anyway, without a set of every device id built to look it up.
        missing = [] if row == (0,) else [("associated_device", "not in devices", "{associated_device} IS NOT NULL AND "
                                           "{associated_device} NOT IN (SELECT upper(CAST(device AS VARCHAR)) FROM raw_devices)")]
        careful = not self._checked("devices", extra, careful_extra=missing)
        if not self._associations(mark=careful):
            self._checked("devices", extra, fast=False, careful_extra=missing)  # to report the bad rows with their raw values
            self._associations(mark=True)
        self._settle("devices", self.schemas["devices"])
        # The loaded devices are a view of the checked rows, not a copy of them (a copy of 35 M rows
        # costs seconds and gigabytes); a device's MPxN found through its associations is written in.
        self.con.execute("UPDATE checked_devices SET mpxn = x.mpxn FROM resolved x WHERE checked_devices.device = x.device "
                         "AND checked_devices.problem IS NULL")
        anchors = ", ".join(anchor_column(c) for c in cells)
        self.con.execute(f"""CREATE OR REPLACE TEMP VIEW devices AS
            SELECT device, type, generation, smi_status, mpxn, {anchors}{_declared_names(self.schemas["devices"], "")}
            FROM checked_devices WHERE problem IS NULL""")
        self._drop("resolved")

    def _associations(self, mark: bool) -> bool:
        """`resolved(device, mpxn)` for each device without its own MPxN; marks those whose associations cycle,
        run too deep or end at a device not loaded, and says whether there were none."""
        note("resolving associated devices' MPxNs")
        # A5: a device's MPxN is its own, or that of the device it is associated with, at most 8 deep.
        # Only devices without their own MPxN are walked: meters, nearly all of a fleet, need no join.
        self.con.execute(f"""CREATE OR REPLACE TEMP TABLE resolved AS
            WITH RECURSIVE walk(start, cur, mpxn, depth) AS (
              SELECT device, associated_device, mpxn, 0 FROM checked_devices WHERE problem IS NULL AND mpxn IS NULL
              UNION ALL
              SELECT w.start, d.associated_device, d.mpxn, w.depth + 1 FROM walk w
              JOIN checked_devices d ON d.device = w.cur AND d.problem IS NULL
              WHERE w.mpxn IS NULL AND w.depth < {MAX_ASSOCIATION_DEPTH})
            SELECT start AS device, max(mpxn) AS mpxn FROM walk GROUP BY start""")
        unresolved = self.con.execute("SELECT count(*) FROM resolved WHERE mpxn IS NULL").fetchone()
        if unresolved == (0,):
            return True
        if not mark:
            return False  # the fast way's table cannot report a row
        self.con.execute("""UPDATE checked_devices SET problem = 'associated_device: associations form a cycle, are too deep'
                            || ' or end at a device that is not loaded'
                            WHERE problem IS NULL AND device IN (SELECT device FROM resolved WHERE mpxn IS NULL)""")
        return True

    def _invariants(self) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
        """The program's declared invariants (rules/invariants.redline) as checks of registration rows: a row
        naming a never-registered role; an assignment overlapping an earlier one of another party in a role
        with one registered party (the later is the bad row, so the rest keep the invariant). Only the (MPxN, role)
        keys with more than one party are joined with themselves: a hash aggregate finds them in one pass."""
        extra, among = [], []
        for inv in self.program.invariants:
            roles = ", ".join(lit(r) for r in sorted(inv.roles))
            if not inv.roles:
                continue
            if inv.form == "never_registered":
                extra.append(("role", f"breaks the invariant `{inv.name}` ({inv.cite}): this role is never in Registration Data",
                              f"{{role}} IN ({roles})"))
            elif inv.form == "one_registered":
                among.append((f"party: breaks the invariant `{inv.name}` ({inv.cite}): another party is registered for "
                              "this MPxN in this role at the same time (from an earlier or equal from_time)", f"""
                    WITH a AS (SELECT row_number, mpxn, role, party, from_time AS s, COALESCE(to_time, {END_OF_TIME}) AS e
                               FROM {{rows}} WHERE problem IS NULL AND role IN ({roles})),
                    several AS (SELECT mpxn, role FROM a GROUP BY mpxn, role HAVING min(party) <> max(party)),
                    b AS (SELECT a.* FROM a SEMI JOIN several USING (mpxn, role))
                    SELECT x.row_number FROM b x JOIN b y ON x.mpxn = y.mpxn AND x.role = y.role AND x.party <> y.party
                    WHERE y.s < x.e AND x.s < y.e AND (y.s < x.s OR (y.s = x.s AND y.party < x.party))"""))
            else:
                raise ImpactInputError("registration", None, f"the invariant `{inv.name}` ({inv.form}) cannot be checked on "
                                       "the fleet tables: redline impact checks one_registered and never_registered only")
        return extra, among

    def _registration(self) -> None:
        extra, among = self._invariants()
        rows = [("to_time", "must be after from_time", "{to_time} IS NOT NULL AND {to_time} <= {from_time}"), *extra]
        # Each row's (MPxN, role) hash is computed in the pass that types it, for the three statements that
        # find, collect and replace the rows of keys with several (tens of millions of rows each).
        key = ', hash(t."mpxn", t."role") AS key_hash'
        self._checked("registration", rows, computed=key)
        self._several()
        # An invariant between rows can only be broken by two rows of one (MPxN, role): such rows are all in
        # registration_several, usually a few per cent of them, so that is where it is looked for first.
        several = "(SELECT *, 0 AS row_number FROM registration_several)"
        if any(self.con.execute(f"SELECT count(*) FROM ({sql.format(rows=several)}) t").fetchone() != (0,)
               for _, sql in among):
            self._checked("registration", rows, among=among, fast=False, computed=key)
            self._several()
        note("merging registrations")
        # Islands: each party's touching or overlapping assignments per (MPxN, role), merged. Most keys
        # hold one assignment, which is its own island and stays where it is: only the rows of keys with
        # several are sorted, swept and replaced by their islands.
        self.con.execute(f"""CREATE OR REPLACE TEMP TABLE registration_swept AS
            WITH m AS (SELECT *, max(COALESCE(to_time, {END_OF_TIME})) OVER (PARTITION BY mpxn, role, party
                         ORDER BY from_time, to_time ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
                       FROM registration_several),
            n AS (SELECT *, sum(CASE WHEN reach IS NULL OR from_time > reach THEN 1 ELSE 0 END)
                    OVER (PARTITION BY mpxn, role, party ORDER BY from_time, to_time ROWS UNBOUNDED PRECEDING) AS island FROM m)
            SELECT mpxn, role, party, min(from_time) AS from_time,
                   CASE WHEN bool_or(to_time IS NULL) THEN NULL ELSE max(to_time) END AS to_time
            FROM n GROUP BY mpxn, role, party, island""")
        self.con.execute("""DELETE FROM checked_registration WHERE key_hash IN (SELECT k FROM registration_several_keys)""")
        self.con.execute("""INSERT INTO checked_registration BY NAME
                            SELECT mpxn, role, party, from_time, to_time FROM registration_swept""")
        self.con.execute("""CREATE OR REPLACE TEMP VIEW registration_islands AS
            SELECT mpxn, role, party, from_time AS start_us, to_time AS end_us FROM checked_registration WHERE problem IS NULL""")
        self._drop("registration_several_keys", "registration_several", "registration_swept")

    def _several(self) -> None:
        """`registration_several`: the good rows of the (MPxN, role) keys that have more than one, found by one
        hash aggregate whose result is small; both the invariants between rows and the islands start there.
        The keys are grouped by their hash, a fixed-size integer (a quarter faster than the two strings): two
        keys of one hash only bring a key of one row along, which is swept into the island it already is."""
        self.con.execute("""CREATE OR REPLACE TEMP TABLE registration_several_keys AS
            SELECT key_hash AS k FROM checked_registration WHERE problem IS NULL GROUP BY k HAVING count(*) > 1""")
        self.con.execute("""CREATE OR REPLACE TEMP TABLE registration_several AS
            SELECT mpxn, role, party, from_time, to_time, problem FROM checked_registration
            WHERE problem IS NULL AND key_hash IN (SELECT k FROM registration_several_keys)""")

    def _relations(self) -> None:
        """relation_<name>: the distinct tuples of each declared relation whose table was given."""
        for name in self.program.relations:
            if not _exists(self.con, f"raw_{name}"):
                continue
            cols = self.schemas[name]
            self._checked(name, _references(name, cols))
            names = ", ".join(c.name for c in cols)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {relation_table(name)} AS "
                             f"SELECT DISTINCT {names} FROM checked_{name} WHERE problem IS NULL")
            self._drop(f"checked_{name}")

    def _requests(self) -> None:
        carrying = sorted(ir.carrying_srvs(self.catalogue))
        srvs = ", ".join(lit(s) for s in sorted(self.catalogue))
        rep = ", ".join(lit(s) for s in carrying) or "NULL"
        self._checked("requests", [
            ("request_id", "listed twice", UNIQUE),
            ("srv", "not in the DUIS catalogue", f"{{srv}} NOT IN ({srvs})"),
            ("remote_party_role", "an SRV that carries a certificate needs remote_party_role and new_certificate_owner",
             f"{{srv}} IN ({rep}) AND ({{remote_party_role}} IS NULL OR {{new_certificate_owner}} IS NULL)"),
            ("remote_party_role", "must be empty, with new_certificate_owner, for an SRV that carries no certificate",
             f"{{srv}} NOT IN ({rep}) AND ({{remote_party_role}} IS NOT NULL OR {{new_certificate_owner}} IS NOT NULL)"),
            ("date_range_to", "give both date_range_from and date_range_to, or neither",
             "({date_range_from} IS NULL) <> ({date_range_to} IS NULL)"),
            ("date_range_to", "inverted date range: before date_range_from", "{date_range_to} < {date_range_from}"),
            *_references("requests", self.schemas["requests"])])
        # The SRV is text until it is checked against the catalogue (an SRV of another rule set's is not one).
        cols = ", ".join({"now": '"timestamp" AS now', "srv": f'CAST(srv AS {SRV_TYPE}) AS srv'}.get(c, f'"{c}"')
                         for c in REQUEST_COLUMNS)
        cols += _declared_names(self.schemas["requests"], "")
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE requests AS SELECT {cols} FROM checked_requests WHERE problem IS NULL")
        self._drop("checked_requests")

    def _drop(self, *tables: str) -> None:
        """Free what is no longer asked about: the checked copies hold every column twice (typed and raw)."""
        for t in tables:
            self.con.execute(f"DROP TABLE IF EXISTS {t}")
        for (name,) in self.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE 'repeated_%'").fetchall():
            self.con.execute(f"DROP TABLE {name}")
