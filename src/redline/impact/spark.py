"""The same verdict query on Apache Spark (pyspark, an optional extra: `pip install redline[spark]`).

One compiler, two engines: `verdict_sql(..., SPARK)` differs from DuckDB's query only where
`sql.Dialect` says. Loading and checking the tables stay with DuckDB (`tables.Loader`); the checked
tables are handed to Spark as Parquet (`export`), so both engines judge exactly the same rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from redline.check import checked as ir
from redline.impact.sql import SPARK, lit, verdict_sql

# What the compiled query reads: the loaded tables (tables.py), never the raw input.
LOADED = ("parties", "devices", "registration_islands", "requests")


def export(con: duckdb.DuckDBPyConnection, out: Path, tables: tuple[str, ...] = LOADED) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for t in tables:
        con.execute(f"COPY {t} TO {lit(str(out / f'{t}.parquet'))} (FORMAT parquet)")


def session(threads: int = 1) -> Any:
    """A local Spark session, quiet, with the UTC clock the tables are written in."""
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master(f"local[{threads}]").appName("redline-impact")
             .config("spark.sql.session.timeZone", "UTC").config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", str(max(2, threads * 2))).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def judge(spark: Any, program: ir.Program, rs: ir.RuleSet, staged: Path, source: str = "requests") -> Any:
    """The verdict DataFrame of every row of `source` under `rs`, the tables read from `staged`."""
    for t in (*LOADED[:3], source):
        spark.read.parquet(str(staged / f"{t}.parquet")).createOrReplaceTempView(t)
    return spark.sql(verdict_sql(rs, program, source, SPARK))
