"""redline as a user installs it: a wheel, a clean virtual environment, an empty directory.

The wheel must carry the SEC rules and proofs, so that every command works from any directory
with no `--rules`; a project configuration layers a user's own rules over them. Building and
installing costs about a minute (pip takes the dependencies from its cache after `make`), so
the one wheel is built and installed once per session. The full evidence bundle from the
installed wheel is under `-m slow` (`pytest -m slow tests/test_packaging.py`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "stuck-smets1"


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the wheel, the `redline` script of a fresh virtual environment with only that wheel installed)."""
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(REPO), "-w", str(work)],
                           capture_output=True, text=True, timeout=600)
    if build.returncode != 0:
        pytest.fail(f"the wheel did not build:\n{build.stderr[-3000:]}")
    [wheel] = work.glob("redline-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)],
                             capture_output=True, text=True, timeout=900)
    if install.returncode != 0:
        pytest.fail(f"the wheel did not install in a clean environment:\n{install.stderr[-3000:]}")
    return wheel, venv / "bin" / "redline"


def run(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def test_the_wheel_carries_the_rules_proofs_grammar_types_and_licence(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in REPO.joinpath("rules").rglob("*.redline"):
        assert f"redline/rules/{f.relative_to(REPO / 'rules').as_posix()}" in names
    for f in REPO.joinpath("proofs").rglob("*.redline"):
        assert f"redline/proofs/{f.name}" in names
    assert {"redline/py.typed", "redline/syntax/grammar.lark"} <= names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "License-Expression: Apache-2.0" in text
    assert "Classifier: Typing :: Typed" in text


def test_installed_redline_works_in_an_empty_directory(installed: tuple[Path, Path], tmp_path: Path) -> None:
    _, redline = installed
    assert run(redline, "--version", cwd=tmp_path).stdout.startswith("redline 0.1.0")
    checked = run(redline, "check", "-v", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "the SEC rules shipped with redline" in checked.stderr
    assert "site-packages" in checked.stderr  # the rules came from the installed package, not this checkout
    shutil.copy(EXAMPLE / "state.json", tmp_path / "state.json")
    shutil.copy(EXAMPLE / "request.json", tmp_path / "request.json")
    before = run(redline, "validate", "--ruleset", "baseline", "--format", "json", "--state", "state.json", "request.json", cwd=tmp_path)
    after = run(redline, "validate", "--ruleset", "mp107", "--format", "json", "--state", "state.json", "request.json", cwd=tmp_path)
    assert json.loads(before.stdout)["verdict"] == "reject"
    assert json.loads(after.stdout)["verdict"] == "accept"
    proved = run(redline, "prove", "--property", "no_takeover", cwd=tmp_path)
    assert proved.returncode == 0, proved.stdout + proved.stderr


def test_a_project_configuration_layers_its_rules_over_the_shipped_ones(installed: tuple[Path, Path], tmp_path: Path) -> None:
    _, redline = installed
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "ou.redline").write_text(
        'modification ou_exempt "a test modification" amends baseline\n'
        '  amend check eligible_user\n'
        '    except "test" when role == OU\n', encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.redline]\nrules = ["mine"]\n', encoding="utf-8")
    sub = tmp_path / "deeper"
    sub.mkdir()
    checked = run(redline, "check", "-v", cwd=sub)  # found upwards
    assert checked.returncode == 0, checked.stderr
    assert "pyproject.toml [tool.redline], over the shipped SEC rules" in checked.stderr
    assert "ou_exempt" in checked.stdout and "baseline" in checked.stdout
    # No property of its own speaks of the new modification, but the shipped generic library does. Other
    # Users are already exempt from the DSP's Registration Data check, so the exception changes no verdict:
    # it changes only what it intends (nothing).
    proved = run(redline, "prove", "--modification", "ou_exempt", "--property", "changes_only_intended", "--format", "json", cwd=sub)
    assert proved.returncode == 0, proved.stdout + proved.stderr
    [result] = json.loads(proved.stdout)["results"]
    assert (result["ruleset"], result["status"]) == ("baseline..ou_exempt", "proved")


@pytest.mark.slow
def test_installed_redline_writes_the_evidence_bundle_in_an_empty_directory(installed: tuple[Path, Path], tmp_path: Path) -> None:
    _, redline = installed
    done = run(redline, "report", "--out", "evidence", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "evidence" / "results.json").read_text())
    assert results["results"]
