"""The evidence bundles of the shipped rules, shared by every module that reads one (tests/conftest.py
`bundles` and `evidence_bundle`): building one costs about a minute of CPU, and under `pytest -n 2 --dist
loadfile` the modules that read them run on both workers."""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]

FLEET_AT = "2026-03-01T12:00:00Z"


@dataclass(frozen=True)
class Bundles:
    """The shipped rules' evidence bundles: `redline report` as is (`plain`, its exit code and stdout), and with
    `--fleet fleet --at FLEET_AT --visit-cost 150 --format json` (`with_fleet`, its exit code)."""

    plain: Path
    code: int
    stdout: str
    fleet: Path
    with_fleet: Path
    fleet_code: int


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every xdist worker of this run sees (their base temps share a parent unique to the run);
    without xdist, this session's own base temp."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def bundles_once(tmp_path_factory: pytest.TempPathFactory) -> Bundles:
    """Built once per test run, not once per module or per worker: a plain bundle costs about 25 s of CPU. The
    first worker to ask builds under a lock; the others wait for it and read what it wrote. Tests only read
    the bundles (test_report.py builds its own to compare or to break)."""
    import fcntl

    shared = shared_dir(tmp_path_factory) / "evidence-bundles"
    shared.mkdir(exist_ok=True)
    done = shared / "done.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            done.write_text(json.dumps(build_bundles(shared)), encoding="utf-8")
    got = json.loads(done.read_text(encoding="utf-8"))
    return Bundles(Path(got["plain"]), got["code"], got["stdout"], Path(got["fleet"]), Path(got["with_fleet"]),
                   got["fleet_code"])


def build_bundles(shared: Path) -> dict[str, Any]:
    """The fleet bundle's proofs, diff and liveness are the plain bundle's: the same program and settings give
    the same collection (test_report.py's two-runs test holds the bundle to that), so the second build costs
    only the fleet, the re-checks and the rendering. Everything after `collect` runs as `redline report` runs."""
    from redline.cli import main
    from redline.report import bundle as bundle_mod

    real = bundle_mod.collect
    kept: list[tuple[Any, Any]] = []

    def keep(program: Any, settings: Any, providers: Any = None) -> Any:
        got = real(program, settings, providers)
        kept.append((settings, got))
        return got

    def again(program: Any, settings: Any, providers: Any = None) -> Any:
        [(was, got)] = kept
        assert settings == was and providers is None, "the fleet bundle asked for another collection"
        return got

    plain, fleet, with_fleet = shared / "plain", shared / "fleet", shared / "with-fleet"
    rules = str(REPO / "rules")
    buf = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(buf):
        mp.setattr(bundle_mod, "collect", keep)
        code = main(["report", "--rules", rules, "--out", str(plain)])
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["impact", "generate", str(fleet), "--devices", "3000", "--requests", "3000",
                     "--wrong-no-share", "0.03", "--seed", "7", "--format", "json"]) == 0
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()):
        mp.setattr(bundle_mod, "collect", again)
        fleet_code = main(["report", "--rules", rules, "--out", str(with_fleet), "--fleet", str(fleet), "--at", FLEET_AT,
                           "--visit-cost", "150", "--format", "json"])
    return {"plain": str(plain), "code": code, "stdout": buf.getvalue(), "fleet": str(fleet),
            "with_fleet": str(with_fleet), "fleet_code": fleet_code}
