"""Shared fixtures and the `--regen` option for golden files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bundle_support import Bundles, bundles_once
from cli_support import Run, run_cli
from prove_support import Proved, proved_once

REPO = Path(__file__).resolve().parents[1]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen",
        action="store_true",
        default=False,
        help="rewrite the golden .expect files from the current output (review the diff!)",
    )


@pytest.fixture
def regen(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen"))


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """run(*argv): redline's command line in this process, its code, output and records (tests/cli_support.py)."""
    return run_cli(capsys)


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root, so rendered paths are `rules/...` and `tests/cases/...`."""
    monkeypatch.chdir(REPO)
    return REPO


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A private copy of the shipped rules, for tests that add or change a rule file."""
    import shutil

    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    return rules


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Bundles:
    """The shipped rules' evidence bundles, built once per test run (tests/bundle_support.py)."""
    return bundles_once(tmp_path_factory)


@pytest.fixture(scope="session")
def evidence_bundle(bundles: Bundles) -> tuple[Path, int, str]:
    """`redline report` on the shipped rules: (bundle dir, exit code, stdout)."""
    return bundles.plain, bundles.code, bundles.stdout


@pytest.fixture(scope="session")
def proved(tmp_path_factory: pytest.TempPathFactory) -> Proved:
    """`redline prove` over every shipped property, run once per test run (tests/prove_support.py)."""
    return proved_once(tmp_path_factory)


_PROGRAMS: dict[tuple[str, tuple[str, ...]], Any] = {}


def _contents(paths: tuple[Path, ...]) -> str:
    """A digest of every rule file under `paths` (what loading reads: redline.loading.rule_files), so a test that
    changes a rule file between two commands on one directory gets the new program, never a stale one."""
    import hashlib

    from redline.loading import rule_files

    digest = hashlib.sha256()
    for f in rule_files([p for p in paths if p.exists()]):
        digest.update(str(f).encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()


@pytest.fixture
def cached_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check the rules once, not once per command (about 0.8 s of CPU for the shipped ones): the path after
    loading is unchanged. Keyed by the files' contents as well as their paths."""
    from redline import cli
    real = cli.load_program

    def load_program(rules: Path | tuple[Path, ...], extra: Any) -> Any:
        roots = (rules,) if isinstance(rules, Path) else tuple(rules)
        key = (":".join(str(r.resolve()) for r in roots), tuple(str(p) for p in extra),
               _contents(tuple(roots) + tuple(Path(p) for p in extra)), os.getcwd())  # sources are named from it
        if key not in _PROGRAMS:
            _PROGRAMS[key] = real(rules, extra)
        return _PROGRAMS[key]

    monkeypatch.setattr(cli, "load_program", load_program)


@pytest.fixture(scope="session")
def generated_validators(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both shipped rule sets written by `redline codegen` once per session and imported (modules by rule set)."""
    import importlib.util

    from redline.cli import main

    out = tmp_path_factory.mktemp("generated")
    modules = {}
    for name in ("baseline", "mp107"):  # tests/test_codegen.py holds every shipped rule set's module to the interpreter
        path = out / f"{name}.py"
        assert main(["codegen", "--ruleset", name, "-o", str(path)]) == 0
        spec = importlib.util.spec_from_file_location(f"session_generated_{name}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules[name] = module
    return modules


# Under `--dist loadfile` xdist hands out whole modules, by default those with the most tests first; a
# module with few tests but minutes of CPU then starts last, and one worker idles while the other
# finishes it. These go first instead, heaviest first (by a full run's `--durations`; re-measure when a
# module grows): a stale list costs only time, never a test.
HEAVY_FIRST = (
    "test_report.py",  # builds the shared evidence bundles early (bundle_support.py), then a second plain bundle
    "test_codegen.py",
    "test_prove.py",  # builds the shared prove run early (prove_support.py); three modules below read it
    "test_cos_certificate.py",
    "test_generic_properties.py",
    "test_differential.py",  # 300 examples, about 42 s (the 1,000 of `-m slow` are about 135 s)
    "test_vocabulary.py",
    "test_packaging.py",
    "test_diff.py",
    "test_declared.py",
    "test_fmt.py",
    "test_example_modifications.py",
    "test_codegen_vendor.py",
    "test_impact_spark.py",
    "test_properties.py",
)


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "dist", "no") == "loadfile":
        config.option.loadscopereorder = False  # keep the order below


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules of HEAVY_FIRST first, in its order; the rest after, most tests first (xdist's own order)."""
    rank = {name: i for i, name in enumerate(HEAVY_FIRST)}
    count: dict[str, int] = {}
    for item in items:
        count[item.path.name] = count.get(item.path.name, 0) + 1
    items.sort(key=lambda item: (rank.get(item.path.name, len(rank)), -count[item.path.name], item.path.name))
