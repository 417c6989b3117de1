"""Shared fixtures and the `--regen` option for golden files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The shipped rules' evidence bundles, built once per test run (tests/bundle_support.py)."""
    from bundle_support import bundles_once

    return bundles_once(tmp_path_factory)


@pytest.fixture(scope="session")
def evidence_bundle(bundles: Any) -> tuple[Path, int, str]:
    """`redline report` on the shipped rules: (bundle dir, exit code, stdout)."""
    return bundles.plain, bundles.code, bundles.stdout


_PROGRAMS: dict[tuple[str, tuple[str, ...]], Any] = {}


@pytest.fixture
def cached_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check the shipped rules once, not once per command: the validate path after loading is unchanged."""
    from redline import cli
    real = cli.load_program

    def load_program(rules: Path | tuple[Path, ...], extra: Any) -> Any:
        roots = (rules,) if isinstance(rules, Path) else tuple(rules)
        key = (":".join(str(r.resolve()) for r in roots), tuple(str(p) for p in extra))
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
