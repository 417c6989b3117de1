"""`redline report --fleet DIR`: the bundle's fleet impact section holds exactly the figures of
`redline impact fleet|replay --format json`, its charts as PNG and SVG files (hashed in the manifest,
the same bytes from another process), and a bad fleet is refused before any solving."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bundle_support import FLEET_AT, Bundles
from redline.cli import main
from redline.output import MANIFEST, not_ours

ROOT = Path(__file__).resolve().parents[1]
AT = FLEET_AT


def _json(capsys: pytest.CaptureFixture[str], args: list[str]) -> Any:
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def fleet_dir(bundles: Bundles) -> Path:
    """3,000 devices and 3,000 requests, 3% with a wrong NO certificate, seed 7 (tests/conftest.py)."""
    return bundles.fleet


@pytest.fixture(scope="module")
def bundle(bundles: Bundles) -> Path:
    """`redline report --fleet` on that fleet at AT, visit cost 150 (tests/conftest.py)."""
    assert bundles.fleet_code == 0
    return bundles.with_fleet


def test_the_bundle_holds_the_figures_of_impact_fleet_and_replay(bundle: Path, fleet_dir: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    impact = json.loads((bundle / "results.json").read_text())["impact"]
    fleet = _json(capsys, ["impact", "fleet", str(fleet_dir), "--at", AT, "--visit-cost", "150", "--format", "json"])
    replay = _json(capsys, ["impact", "replay", str(fleet_dir), "--format", "json"])
    assert impact["fleet"] == fleet and impact["replay"] == replay
    # Not vacuous: the synthetic fleet has devices stuck before MP107 that it frees, and a priced saving.
    assert fleet["stuck"]["baseline"]["devices"] > fleet["stuck"]["mp107"]["devices"] and fleet["freed"] > 0
    assert fleet["site_visits_saved_cost"] == fleet["freed"] * 150
    changes = replay["changes"]
    assert sum(x["requests"] for x in changes["by_srv"]) == changes["changed"] == sum(x["requests"] for x in changes["by_role"])
    md, page = (bundle / "report.md").read_text(), (bundle / "report.html").read_text()
    for text in (md, page):
        assert "Fleet impact" in text
        assert f"freed by mp107: {fleet['freed']:,}" in text
        assert f"Stuck under baseline: {fleet['stuck']['baseline']['devices']:,}" in text
        assert "Changed requests by region of the semantic diff baseline -&gt; mp107" in text or \
            "Changed requests by region of the semantic diff baseline -> mp107" in text
        assert "BUG" not in text
    assert replay["changes"]["by_region"]["outside_every_region"]["requests"] == 0


def test_every_chart_is_there_as_png_and_svg_shown_and_hashed(bundle: Path) -> None:
    charts = sorted(p.name for p in (bundle / "charts").iterdir())
    stems = {n.rsplit(".", 1)[0] for n in charts}
    assert {"fleet-stuck-by-network_operator", "fleet-stuck-by-generation", "fleet-stuck-by-device_type",
            "fleet-stuck-by-smi_status", "replay-changed-by-outcome"} == stems
    assert charts == sorted(f"{s}.{ext}" for s in stems for ext in ("png", "svg"))
    manifest = json.loads((bundle / MANIFEST).read_text())
    files = manifest.get("files", manifest)
    page, md = (bundle / "report.html").read_text(), (bundle / "report.md").read_text()
    for stem in stems:
        png, svg = (bundle / "charts" / f"{stem}.png").read_bytes(), (bundle / "charts" / f"{stem}.svg").read_text()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert "<svg" in svg and "<dc:date>" not in svg  # no creation date: reproducible
        assert f"charts/{stem}.png" in files and f"charts/{stem}.svg" in files
        # Shown with words for a reader who cannot see it, and kept within a phone's width.
        assert f'<img src="charts/{stem}.svg" alt="Bar chart: ' in page
        assert 'style="max-width:100%;height:auto"' in page
        assert f"](charts/{stem}.svg)" in md and f"[PNG](charts/{stem}.png)" in md
    assert not_ours(bundle) is None


def test_charts_are_the_same_bytes_from_another_process(bundle: Path) -> None:
    script = ("import json, sys; from redline.report.fleet_section import chart_files; "
              "files = chart_files(json.load(open(sys.argv[1]))['impact']); "
              "sys.stdout.write(json.dumps({k: v.hex() for k, v in files.items()}))")
    done = subprocess.run([sys.executable, "-c", script, str(bundle / "results.json")], capture_output=True, text=True,
                          check=True, env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    again = {k: bytes.fromhex(v) for k, v in json.loads(done.stdout).items()}
    assert sorted(again) == sorted(f"charts/{p.name}" for p in (bundle / "charts").iterdir())
    for name, data in again.items():
        assert (bundle / name).read_bytes() == data, name


def _tables(d: Path, parties: str) -> Path:
    d.mkdir()
    (d / "parties.csv").write_text(parties)
    for t in ("party_roles", "devices", "registration"):
        (d / f"{t}.csv").write_text("x\n")
    return d


@pytest.mark.parametrize("make,words", [
    (lambda d: d, "not a directory of fleet tables"),
    (lambda d: d.mkdir() or d, "no parties.parquet or parties.csv"),
    (lambda d: _tables(d, "party,dcc_user\n90-B3-D5-1F-30-01-00-00,maybe\n"), "parties"),
])
def test_a_bad_fleet_is_refused_before_any_solving(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch, make: Any, words: str) -> None:
    from redline.report import bundle as bundle_mod

    def no_solving(*_: Any, **__: Any) -> Any:
        raise AssertionError("solving started on a bad fleet")
    monkeypatch.setattr(bundle_mod, "collect", no_solving)
    fleet = make(tmp_path / "fleet")
    code = main(["report", "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "out"), "--fleet", str(fleet), "--at", AT])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"--fleet {fleet}" in err and words in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_fleet_options_without_a_fleet_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "out"), "--visit-cost", "150"]) == 2
    assert "give --fleet DIR" in capsys.readouterr().err


@pytest.mark.parametrize("options", [["--engine", "spark"], ["--engine", "duckdb"], ["--spark-master", "local[1]"],
                                     ["--spark-staging", "staging"]])
def test_engine_options_without_a_fleet_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    options: list[str]) -> None:
    assert main(["report", "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "out"), *options]) == 2
    assert "--engine, --spark-master and --spark-staging are about a fleet: give --fleet DIR" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", ["--spark-master", "--spark-staging"])
def test_spark_options_without_engine_spark_are_refused_as_impact_refuses_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, option: str) -> None:
    from redline.report import bundle as bundle_mod
    monkeypatch.setattr(bundle_mod, "collect", lambda *_, **__: pytest.fail("solving started"))
    (tmp_path / "fleet").mkdir()
    for engine in ([], ["--engine", "duckdb"]):
        code = main(["report", "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "out"), "--fleet",
                     str(tmp_path / "fleet"), *engine, option, "x"])
        assert code == 2
        assert "--spark-master and --spark-staging are options of --engine spark" in capsys.readouterr().err


def test_an_engine_that_cannot_run_is_exit_2_before_any_table_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No Java (or no pyspark): refused as `redline impact --engine spark` refuses it. The fleet directory is empty,
    so a run that read a table first would fail on the missing tables instead."""
    from redline.report import bundle as bundle_mod
    monkeypatch.setattr(bundle_mod, "collect", lambda *_, **__: pytest.fail("solving started"))
    monkeypatch.setenv("PATH", str(tmp_path))  # the fleet is judged in a child process: it inherits this
    monkeypatch.delenv("JAVA_HOME", raising=False)
    (tmp_path / "fleet").mkdir()
    code = main(["report", "--rules", str(ROOT / "rules"), "--out", str(tmp_path / "out"), "--fleet", str(tmp_path / "fleet"),
                 "--at", AT, "--engine", "spark"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--engine spark needs " in err and "parties" not in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_unknown_engine_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["report", "--out", str(tmp_path / "out"), "--fleet", str(tmp_path), "--engine", "postgres"])
    assert stop.value.code == 2 and "invalid choice" in capsys.readouterr().err
