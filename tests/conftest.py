"""Shared fixtures and the `--regen` option for golden files."""

from __future__ import annotations

from pathlib import Path

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
