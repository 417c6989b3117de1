"""`redline prove` over every shipped property, run once per test run and shared by the modules that only read
its results (tests/test_prove.py, tests/test_example_modifications.py): a run costs about 20 s of CPU, and
under `pytest -n 2 --dist loadfile` those modules may run on either worker."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Proved:
    """`prove --format json --cex-dir cex_dir --rules rules proofs`: its exit code, its results, and where it
    wrote the counterexamples and witnesses."""

    code: int
    results: list[dict[str, Any]]
    cex_dir: Path


def proved_once(tmp_path_factory: pytest.TempPathFactory) -> Proved:
    """The first worker to ask runs it under a lock; the others wait and read what it wrote (as
    bundle_support.bundles_once). Tests only read the results and the cex directory."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "proved"
    shared.mkdir(exist_ok=True)
    done = shared / "done.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            from redline.cli import main

            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                code = main(["prove", "--format", "json", "--cex-dir", str(shared / "cex"),
                             "--rules", str(REPO / "rules"), str(REPO / "proofs")])
            done.write_text(json.dumps({"code": code, "results": json.loads(buf.getvalue())["results"]}),
                            encoding="utf-8")
    got = json.loads(done.read_text(encoding="utf-8"))
    return Proved(got["code"], got["results"], shared / "cex")


def properties_of(proof_file: Path) -> set[str]:
    """The names of the properties a proof file states."""
    return set(re.findall(r"^property (\w+)", proof_file.read_text(encoding="utf-8"), re.M))
