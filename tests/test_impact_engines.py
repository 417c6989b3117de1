"""`redline impact --engine spark` refused clearly (exit 2, no traceback) where Spark cannot run, before any
table is read; no JVM is started here (tests/test_impact_spark.py runs Spark itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from redline.cli import main
from redline.impact import spark


def fleet_dir(tmp_path: Path) -> Path:
    root = tmp_path / "fleet"
    root.mkdir()  # empty: a run that got past the engine check would fail on the missing tables instead
    return root


def test_no_java_is_exit_2_naming_what_to_install(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    real = spark.importlib.util.find_spec
    monkeypatch.setattr(spark.importlib.util, "find_spec",  # as if pyspark were installed
                        lambda name, *rest: object() if name == "pyspark" else real(name, *rest))
    code = main(["impact", "fleet", str(fleet_dir(tmp_path)), "--engine", "spark"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--engine spark needs a Java runtime" in err and "Traceback" not in err


def test_no_pyspark_is_exit_2_naming_the_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    real = spark.importlib.util.find_spec
    monkeypatch.setattr(spark.importlib.util, "find_spec", lambda name, *rest: None if name == "pyspark" else real(name, *rest))
    code = main(["impact", "replay", str(fleet_dir(tmp_path)), "--engine", "spark"])
    err = capsys.readouterr().err
    assert code == 2
    assert "pip install 'redline[spark]'" in err and "Traceback" not in err


def test_spark_options_need_engine_spark(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["impact", "fleet", str(fleet_dir(tmp_path)), "--spark-master", "spark://head:7077"])
    assert code == 2
    assert "--spark-master and --spark-staging are options of --engine spark" in capsys.readouterr().err


def test_a_staging_directory_that_cannot_be_made_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spark, "require", lambda: None)  # whether Java is here is not what this is about
    code = main(["impact", "fleet", str(fleet_dir(tmp_path)), "--engine", "spark",
                 "--spark-staging", str(tmp_path / "no" / "such")])
    err = capsys.readouterr().err
    assert code == 2
    assert "--spark-staging" in err and "cannot write there" in err


def test_an_unknown_engine_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["impact", "fleet", str(fleet_dir(tmp_path)), "--engine", "postgres"])
    assert stop.value.code == 2 and "invalid choice" in capsys.readouterr().err
