"""The verdict query on Spark (local mode) gives the same result table as on DuckDB, row for row.

One Spark session for the module and small data: starting the JVM is most of the cost. Skips, saying
why, only when pyspark or a Java runtime is missing (`.ci/run` installs Java where it can).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from redline.check import checked as ir
from redline.cli import main
from redline.impact.fleet import candidates, mis_set
from redline.impact.params import FleetParams
from redline.impact.replay import judge
from redline.impact.synth import generate
from redline.impact.synth_declared import add_declared
from redline.impact.tables import Loader
from redline.loading import load_program, repo_rules
from redline.times import parse_iso
from test_impact_declared import REGIONAL, program_of

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (pip install '.[spark]')")
if shutil.which("java") is None:
    pytest.skip("no Java runtime for Spark (.ci/run installs default-jre-headless as root)", allow_module_level=True)

from redline.impact import spark as engine  # noqa: E402


@pytest.fixture(scope="module")
def program() -> ir.Program:
    prog, _ = load_program(repo_rules(), [])
    assert prog is not None
    return prog


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    spark = engine.session("local[1]")
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def fleet(program: ir.Program, tmp_path_factory: pytest.TempPathFactory) -> tuple[duckdb.DuckDBPyConnection, Path]:
    con = duckdb.connect()
    generate(con, FleetParams(devices=300, requests=1000, wrong_no_share=0.2, correction_share=0.3, seed=3),
             tuple(program.enums["RemotePartyRole"]), ir.carrying_srvs(program.rulesets["baseline"].catalogue))
    Loader(con, program, program.rulesets["baseline"].catalogue).stage(with_requests=True)
    mis_set(con, program, parse_iso("2026-03-01T12:00:00Z"), "NetworkOperator", "NetworkOperator")
    cands = candidates(con, program.rulesets["mp107"], program, parse_iso("2026-03-01T12:00:00Z"), "NetworkOperator")
    # One source for both questions (a log and the fleet's candidate corrections): each Spark query costs.
    con.execute(f"""CREATE TEMP TABLE sample AS SELECT * FROM requests UNION ALL
                    SELECT * REPLACE (request_id + 1000000 AS request_id) FROM {cands}""")
    out = tmp_path_factory.mktemp("staged")
    engine.export(con, out, (*engine.TABLES, "sample"))
    return con, out


def test_spark_and_duckdb_give_the_same_verdict_table(program: ir.Program, session: Any,
                                                      fleet: tuple[duckdb.DuckDBPyConnection, Path]) -> None:
    con, staged = fleet
    source = "sample"
    for rs in (program.rulesets["baseline"], program.rulesets["mp107"]):
        on_spark = sorted(tuple(row) for row in engine.judge(session, program, rs, staged, source).collect())
        on_duckdb = sorted(con.execute(f"SELECT * FROM {judge(con, rs, program, source)}").fetchall())
        assert len(on_duckdb) > 100
        assert on_spark == on_duckdb, rs.name
        assert {row[1] for row in on_duckdb} == {True, False}  # both outcomes occur: the comparison can fail


def test_cli_engine_spark_prints_the_same_json_as_duckdb(program: ir.Program, session: Any, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`redline impact fleet|replay --engine spark` through the command line, byte for byte DuckDB's output.
    The module's session is active, so the command judges on it and leaves it running (one JVM start)."""
    monkeypatch.setattr("redline.cli.load_program", lambda rules, extra: (program, []))
    root = tmp_path / "fleet"
    assert main(["impact", "generate", str(root), "--devices", "200", "--requests", "300", "--wrong-no-share", "0.3",
                 "--correction-share", "0.4", "--seed", "5"]) == 0
    capsys.readouterr()
    for question in (["fleet", "--at", "2026-03-01T12:00:00Z", "--visit-cost", "150"], ["replay", "--examples", "5"]):
        printed = []
        for name in ("duckdb", "spark"):
            jobs = len(session.sparkContext.statusTracker().getJobIdsForGroup())
            code = main(["impact", question[0], str(root), *question[1:], "--format", "json", "--engine", name])
            out, err = capsys.readouterr()
            assert code == 0, err
            ran = len(session.sparkContext.statusTracker().getJobIdsForGroup()) > jobs
            assert ran == (name == "spark")  # Spark judged, and only when asked to
            printed.append(out)
        assert printed[0] == printed[1], question[0]
        result = json.loads(printed[1])
        # the answer is not empty: devices freed, requests changed (so an engine that judged wrongly would show)
        assert result.get("freed", 0) > 0 or result.get("changes", {}).get("changed", 0) > 0, result
    assert session.sparkContext._jsc is not None  # still running: the command did not stop a session it did not start


class _InProcess:
    """A stand-in for fleet_impact's one-worker process pool: the work runs here, on the module's Spark session."""

    def __init__(self, **_: Any) -> None:
        pass

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *_: Any) -> None:
        pass

    def submit(self, fn: Any, *args: Any) -> Any:
        from concurrent.futures import Future
        done: Future[Any] = Future()
        done.set_result(fn(*args))
        return done


def test_report_fleet_engine_spark_gives_the_bundle_the_same_impact_section(
        program: ir.Program, session: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`redline report --fleet DIR --engine spark`: the bundle's impact section (results.json's `impact`, the HTML and
    Markdown sections, the chart files) byte for byte DuckDB's. Run in this process (its own child would start
    another JVM); the proofs are not what this is about."""
    import concurrent.futures

    from redline.report import render_md
    from redline.report.fleet_section import FleetInput, chart_files, fleet_impact, html_section, markdown_lines

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", _InProcess)
    root = tmp_path / "fleet"
    assert main(["impact", "generate", str(root), "--devices", "200", "--requests", "300", "--wrong-no-share", "0.3",
                 "--correction-share", "0.4", "--seed", "5"]) == 0
    capsys.readouterr()
    from redline.impact.params import Engine
    sections = []
    for name in ("duckdb", "spark"):
        jobs = len(session.sparkContext.statusTracker().getJobIdsForGroup())
        impact = fleet_impact(program, program.rulesets["mp107"],
                              FleetInput(root, parse_iso("2026-03-01T12:00:00Z"), 150.0, Engine(name)))
        assert (len(session.sparkContext.statusTracker().getJobIdsForGroup()) > jobs) == (name == "spark")
        sections.append((json.dumps(impact, indent=2, sort_keys=True), html_section(impact),
                         markdown_lines(impact, render_md.inline, render_md.table), chart_files(impact)))
        assert impact["fleet"]["freed"] > 0 and impact["replay"]["changes"]["changed"] > 0  # not empty
    assert sections[0] == sections[1]


def test_declared_fields_and_relations_give_the_same_verdict_table(session: Any, tmp_path: Path) -> None:
    """Data a modification declares (impact/declared.py) on both engines: a field of each record (regional) and a
    relation with a declared request field (the shipped smi_joins), over a generated fleet that fills them."""
    prog = program_of(REGIONAL)
    con = duckdb.connect()
    params = FleetParams(devices=300, requests=1000, wrong_no_share=0.2, correction_share=0.3, seed=5)
    generate(con, params, prog.cells(), ir.carrying_srvs(prog.rulesets["baseline"].catalogue))
    add_declared(con, prog, params)
    Loader(con, prog, prog.rulesets["baseline"].catalogue).stage(with_requests=True)
    staged = tmp_path / "staged"
    for rs in (prog.rulesets["regional"], prog.rulesets["smi_joins"]):
        engine.export(con, staged, (*engine.TABLES, *engine.related(prog, rs)))
        on_spark = sorted(tuple(row) for row in engine.judge(session, prog, rs, staged).collect())
        on_duckdb = sorted(con.execute(f"SELECT * FROM {judge(con, rs, prog)}").fetchall())
        assert len(on_duckdb) == 1000 and {row[1] for row in on_duckdb} == {True, False}
        assert on_spark == on_duckdb, rs.name
