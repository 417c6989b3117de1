"""The same verdict query on Apache Spark (pyspark, an optional extra: `pip install redline[spark]`).

One compiler, two engines: `verdict_sql(..., SPARK)` differs from DuckDB's query only where
`sql.Dialect` says. Loading and checking the tables stay with DuckDB (`tables.Loader`); the tables a
verdict query reads are handed to Spark as Parquet (`export`), so both engines judge exactly the same
rows, and Spark's verdicts come back to DuckDB as Parquet (`SparkJudge`), where the counting is done.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from redline.check import checked as ir
from redline.check.reads import reads
from redline.impact.replay import drop_verdicts
from redline.impact.sql import LOADED, SPARK, Relations, lit, relation_table, verdict_sql
from redline.progress import note

# Spark's logging: errors only (its start-up chatter is no use to someone asking about a fleet).
LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")

# What the compiled query reads by default: the loaded tables (tables.py), never the raw input.
TABLES = ("parties", "devices", "registration_islands", "requests")


class EngineUnavailable(Exception):
    """Spark cannot be used here: pyspark or a Java runtime is missing, or the session does not start."""


def export(con: duckdb.DuckDBPyConnection, out: Path, tables: tuple[str, ...] = TABLES) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for t in tables:
        con.execute(f"COPY {t} TO {lit(str(out / f'{t}.parquet'))} (FORMAT parquet)")


def require() -> None:
    """Refuse, before any work, a machine without pyspark or Java (pyspark itself would fail late and loudly)."""
    if importlib.util.find_spec("pyspark") is None:
        raise EngineUnavailable("--engine spark needs pyspark: pip install 'redline[spark]'")
    home = os.environ.get("JAVA_HOME")
    if not (home and (Path(home) / "bin" / "java").exists()) and shutil.which("java") is None:
        raise EngineUnavailable("--engine spark needs a Java runtime (java on PATH, or JAVA_HOME), "
                                "e.g. apt-get install default-jre-headless")


def master_for(threads: int | None) -> str:
    return f"local[{threads}]" if threads else "local[*]"


def session(master: str = "local[1]") -> Any:
    """A Spark session, quiet, with the UTC clock the tables are written in."""
    from pyspark.sql import SparkSession
    cores = master.removeprefix("local[").removesuffix("]").replace("*", str(os.cpu_count() or 1))
    builder = (SparkSession.builder.master(master).appName("redline-impact")
               .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"))
    if cores.isdigit():  # local mode: as many shuffle partitions as the cores can use, not Spark's 200
        builder = builder.config("spark.sql.shuffle.partitions", str(max(2, int(cores) * 2)))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def judge(spark: Any, program: ir.Program, rs: ir.RuleSet, staged: Path, source: str = "requests",
          relations: Relations = LOADED) -> Any:
    """The verdict DataFrame of every row of `source` under `rs`, the tables read from `staged`."""
    for t in ("parties", relations.devices, relations.islands, source, *related(program, rs)):
        spark.read.parquet(str(staged / f"{t}.parquet")).createOrReplaceTempView(t)
    return spark.sql(verdict_sql(rs, program, source, SPARK, relations=relations))


def related(program: ir.Program, rs: ir.RuleSet) -> list[str]:
    """The tables of the declared relations `rs` reads (sql.relation_table)."""
    return [relation_table(name) for name in sorted(reads(program, rs).relations)]


class SparkJudge:
    """A `replay.Judge` that runs the verdict query on Spark: the tables it reads are exported from `con`
    to `staging` (each once: within one run a table's name names its rows), and the verdicts written by
    Spark are read back into `con` as `verdicts_<rule set>`. The session starts at the first judgement,
    so a fleet that does not load costs no JVM."""

    def __init__(self, master: str, staging: Path) -> None:
        self.master, self.staging = master, staging
        self.spark: Any = None
        self.owned = False  # a session this judge started (one already active, as in a notebook, is left running)
        self.staged: set[str] = set()
        self.calls = 0

    def __call__(self, con: duckdb.DuckDBPyConnection, rs: ir.RuleSet, program: ir.Program, source: str = "requests",
                 relations: Relations = LOADED) -> str:
        note(f"judging {source} under {rs.name} on Spark ({self.master})")
        spark = self.start()
        needed = tuple(dict.fromkeys(t for t in ("parties", relations.devices, relations.islands, source, *related(program, rs))
                                     if t not in self.staged))
        export(con, self.staging, needed)
        self.staged.update(needed)
        self.calls += 1
        out = self.staging / f"verdicts_{self.calls}"
        judge(spark, program, rs, self.staging, source, relations).write.parquet(str(out))
        name = f"verdicts_{rs.name}"
        drop_verdicts(con, name)
        con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM read_parquet({lit(str(out / '*.parquet'))})")
        return name

    def start(self) -> Any:
        if self.spark is None:
            from pyspark.sql import SparkSession
            active = SparkSession.getActiveSession()
            try:
                self.spark, self.owned = (active, False) if active is not None else (session(self.master), True)
            except Exception as e:  # pyspark says why the JVM did not start in many ways: give its first line
                raise EngineUnavailable(f"Spark did not start ({self.master}): {str(e).strip().splitlines()[0]}") from None
        return self.spark

    def stop(self) -> None:
        if self.owned:
            self.spark.stop()


@contextmanager
def judging(master: str, staging: Path | None = None) -> Iterator[SparkJudge]:
    """A SparkJudge for one run, its staged Parquet in a temporary directory (under `staging`, which on a
    cluster must be storage every executor reads at the same path), removed afterwards."""
    require()
    try:
        tmp = Path(tempfile.mkdtemp(prefix="redline-spark-", dir=staging))
    except OSError as e:
        raise EngineUnavailable(f"--spark-staging {staging}: cannot write there: {e.strerror}") from None
    judge_ = SparkJudge(master, tmp)
    try:
        yield judge_
    finally:
        judge_.stop()
        shutil.rmtree(tmp, ignore_errors=True)
