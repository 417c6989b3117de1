"""Fleet impact: the rules compiled to SQL and evaluated by DuckDB over a fleet snapshot and a request log.

`fleet` answers which devices are stuck and which a modification frees; `replay` judges every request
of a log; `generate` writes a synthetic fleet. Each opens its own in-memory DuckDB connection, which
loads, checks and counts; the judging of requests runs there too, or on Spark (`Engine`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from redline.check import checked as ir
from redline.impact.fleet import analyse
from redline.impact.params import DUCKDB, Engine, FleetParams
from redline.impact.regions import tie
from redline.impact.replay import CHANGED, Judge, changes, judge, summary
from redline.impact.spark import EngineUnavailable
from redline.impact.sql import Unsupported
from redline.impact.synth import generate, write
from redline.impact.synth_declared import add_declared
from redline.impact.tables import TABLES, ImpactInputError, Loader, require_declared, table_file
from redline.jsondoc import JsonObject
from redline.progress import Ticker, note

__all__ = ["Engine", "EngineUnavailable", "FleetParams", "ImpactInputError", "OutputError", "Unsupported", "run_fleet",
           "run_generate", "run_replay"]


DIFF_TIMEOUT_MS = 10_000  # per solver call, as `redline diff`'s default

class OutputError(Exception):
    """A file or directory the results were to be written to cannot be."""


def _writing(what: Path, work: Callable[[], None]) -> None:
    try:
        work()
    except (OSError, duckdb.IOException) as e:
        raise OutputError(f"{what}: cannot write: {str(e).splitlines()[0]}") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def _refuse_overwriting_inputs(program: ir.Program, root: Path, with_requests: bool, bad_rows: Path | None,
                               verdicts_out: Path | None) -> None:
    """An output (a --bad-rows table, the --verdicts file) that is one of the fleet tables read is refused before any
    work: writing it would destroy the input (`--bad-rows DIR` with DIR the fleet directory overwrote its tables)."""
    tables = (*TABLES, *program.relations)  # a declared relation's table too
    inputs = [p for t in tables if with_requests or t != "requests" if (p := table_file(root, t)) is not None]
    outputs = [bad_rows / f"{t}.csv" for t in tables] if bad_rows is not None else []
    outputs += [verdicts_out] if verdicts_out is not None else []
    for out in outputs:
        for given in inputs:
            if _same_file(out, given):
                raise OutputError(f"{out}: cannot write: it is the fleet table {given} being read; write elsewhere")


def _connect(threads: int | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    return con


@contextmanager
def _judging(engine: Engine, threads: int | None) -> Iterator[Judge]:
    """The engine's Judge for one run; Spark's is refused (EngineUnavailable) before the tables are read."""
    if engine.name == "duckdb":
        yield judge
        return
    from redline.impact import spark
    staging = Path(engine.staging) if engine.staging else None
    with spark.judging(engine.master or spark.master_for(threads), staging) as judging:
        yield judging


def _load(con: duckdb.DuckDBPyConnection, program: ir.Program, rulesets: list[ir.RuleSet], root: Path,
          bad_rows: Path | None, with_requests: bool) -> Loader:
    loader = Loader(con, program, rulesets[0].catalogue, bad_rows)
    if bad_rows is None:
        loader.load_dir(root, with_requests)
    else:
        _writing(bad_rows, lambda: loader.load_dir(root, with_requests))
    return loader


def run_fleet(program: ir.Program, rulesets: list[ir.RuleSet], root: Path, at: int, visit_cost: float | None = None,
              bad_rows: Path | None = None, threads: int | None = None, engine: Engine = DUCKDB) -> JsonObject:
    _refuse_overwriting_inputs(program, root, False, bad_rows, None)
    with Ticker("impact fleet"), _judging(engine, threads) as judging:
        con = _connect(threads)
        loader = _load(con, program, rulesets, root, bad_rows, with_requests=False)
        result = analyse(con, program, rulesets, at, visit_cost, judging=judging, frugal=True)
    result["rejected_rows"] = loader.rejected
    return result


def run_replay(program: ir.Program, rulesets: list[ir.RuleSet], root: Path, bad_rows: Path | None = None,
               verdicts_out: Path | None = None, examples: int = 20, threads: int | None = None,
               engine: Engine = DUCKDB) -> JsonObject:
    _refuse_overwriting_inputs(program, root, True, bad_rows, verdicts_out)
    with Ticker("impact replay"), _judging(engine, threads) as judging:
        con = _connect(threads)
        loader = _load(con, program, rulesets, root, bad_rows, with_requests=True)
        require_declared(con, program, rulesets)
        tables = [judging(con, rs, program) for rs in rulesets]
        note("counting verdicts")
        result: JsonObject = {"rulesets": [rs.name for rs in rulesets],
                                  "summary": {rs.name: summary(con, t) for rs, t in zip(rulesets, tables, strict=True)}}
        if len(tables) == 2:
            note("comparing verdicts")
            result["changes"] = changes(con, tables[0], tables[1], examples, keep=True, cells=program.cells())
            try:
                result["changes"]["by_region"] = _by_region(con, program, rulesets, tables, examples)
            finally:  # the changed requests changes() kept for the tie
                con.execute(f"DROP TABLE IF EXISTS {CHANGED}")
        if verdicts_out is not None:
            note(f"writing {verdicts_out}")
            _writing(verdicts_out, lambda: _write_verdicts(con, rulesets, tables, verdicts_out))
            result["verdicts"] = str(verdicts_out)
    result["rejected_rows"] = loader.rejected
    return result


def _by_region(con: duckdb.DuckDBPyConnection, program: ir.Program, rulesets: list[ir.RuleSet], tables: list[str],
               examples: int) -> JsonObject:
    """The changed requests counted by the `redline diff` region each falls in (impact/regions.py)."""
    from redline.props.diff import diff
    from redline.smt import Unsupported as Unencodable

    old, new = rulesets
    note(f"the semantic diff {old.name} -> {new.name}, to tie each changed request to its region")
    try:
        d = diff(program, old, new, DIFF_TIMEOUT_MS, 0)
    except Unencodable as e:  # what `redline diff` refuses (exit 2), the replay's regions cannot be had either
        where = e.span.source
        at = f" at {where.path}:{':'.join(map(str, where.line_col(e.span.start)))}" if where is not None else ""
        raise Unsupported(f"the diff {old.name} -> {new.name} that gives the replay its regions cannot encode "
                          f"{e.what}{at}") from None
    note("tying the changed requests to the diff's regions")
    return tie(con, program, old, new, tables[0], tables[1], list(d.changes), d.complete, examples, changed=CHANGED)


def _write_verdicts(con: duckdb.DuckDBPyConnection, rulesets: list[ir.RuleSet], tables: list[str], out: Path) -> None:
    """One row per request and rule set: request_id, ruleset, accepted, dcc_accepted, layer, code, check, effects."""
    union = " UNION ALL ".join(f"SELECT request_id, '{rs.name}' AS ruleset, * EXCLUDE (request_id) FROM {t}"
                               for rs, t in zip(rulesets, tables, strict=True))
    fmt = "(FORMAT parquet)" if out.suffix == ".parquet" else "(HEADER)"
    path = "'" + str(out).replace("'", "''") + "'"
    con.execute(f"COPY ({union} ORDER BY request_id, ruleset) TO {path} {fmt}")


def run_generate(program: ir.Program, params: FleetParams, out: Path, threads: int | None = None) -> dict[str, int]:
    with Ticker("impact generate"):
        con = _connect(threads)
        catalogue = next(iter(program.rulesets.values())).catalogue if program.rulesets else {}
        generate(con, params, program.cells(), ir.carrying_srvs(catalogue))
        add_declared(con, program, params)
        _writing(out, lambda: write(con, out, with_requests=params.requests > 0, relations=tuple(program.relations)))
    counts = {}
    for t in ("parties", "party_roles", "devices", "registration", "requests"):
        if t != "requests" or params.requests:
            row = con.execute(f"SELECT count(*) FROM raw_{t}").fetchone()
            counts[t] = int(row[0]) if row else 0
    return counts
