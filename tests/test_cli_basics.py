"""The command line's own conventions: --version, `python -m redline`."""

from __future__ import annotations

import subprocess
import sys

import lark
import pytest
import z3

from redline.cli import main


def test_version_names_redline_and_what_decides_its_answers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("redline ")
    assert f"z3-solver {z3.get_version_string()}" in out
    assert f"lark {lark.__version__}" in out
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in out


def test_python_dash_m_runs_the_same_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "redline", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("redline ")
    bad = subprocess.run([sys.executable, "-m", "redline", "no-such-command"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
