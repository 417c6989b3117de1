"""The command line's own conventions: --version, `python -m redline`."""

from __future__ import annotations

import argparse
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
    assert f"z3-solver {z3.get_version_string()}" in out  # the metadata's version is the one imported
    assert f"lark {lark.__version__}" in out
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in out


def test_python_dash_m_runs_the_same_command_line() -> None:
    done = subprocess.run([sys.executable, "-m", "redline", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("redline ")
    bad = subprocess.run([sys.executable, "-m", "redline", "no-such-command"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_know_every_command_and_option(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    from redline.cli import make_parser

    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    sub = next(a for a in make_parser()._actions if a.dest == "command")
    for name, parser in sub.choices.items():  # type: ignore[attr-defined]
        assert name in script
        for action in parser._actions:
            for opt in action.option_strings:
                if opt.startswith("--"):
                    assert (opt if shell != "fish" else f"-l {opt[2:]}") in script, (name, opt)
    if shell != "fish":
        assert "'text json'" in script  # an option's choices complete


def test_bash_completion_script_is_valid_bash_and_completes_commands(capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    main(["completion", "bash"])
    script = capsys.readouterr().out
    probe = script + '\nCOMP_WORDS=(redline val); COMP_CWORD=1; _redline; echo "${COMPREPLY[@]}"\n' \
        'COMP_WORDS=(redline diff --fo); COMP_CWORD=2; _redline; echo "${COMPREPLY[@]}"\n'
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["validate", "--format"]


@pytest.mark.parametrize(("statuses", "code"), [
    ([("proved", "proved"), ("unknown", "proved")], 3),
    ([("refuted", "proved"), ("unknown", "proved")], 1),  # a known failure outranks an unknown
    ([("refuted", "proved")], 1),
    ([("proved", "proved"), ("refuted", "refuted")], 0),
])
def test_prove_exit_code_puts_a_settled_failure_before_an_unknown(
        statuses: list[tuple[str, str]], code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import redline.cli as cli
    from redline.props.results import ProofResult

    results = [ProofResult(f"p{i}", ("baseline",), status, expected, 0.0, (), ()) for i, (status, expected) in enumerate(statuses)]
    monkeypatch.setattr(cli, "prove", lambda *a, **k: results)
    assert main(["prove"]) == code
    capsys.readouterr()


def test_every_option_has_help_and_every_command_an_example_and_its_exit_codes() -> None:
    from redline.cli import make_parser

    sub = next(a for a in make_parser()._actions if a.dest == "command")
    for name, parser in sub.choices.items():  # type: ignore[attr-defined]
        nested = [x for a in parser._actions if isinstance(a, argparse._SubParsersAction) for x in a.choices.items()]
        for where, p in [(name, parser), *((f"{name} {n}", q) for n, q in nested)]:
            for action in p._actions:
                if not isinstance(action, argparse._SubParsersAction):
                    assert action.help, f"`redline {where}`: {action.option_strings or action.dest} has no help text"
        text = parser.format_help()
        assert f"examples:\n  redline {name}" in text or (name == "completion" and "examples:\n" in text), name
        assert "exit codes (docs/exit-codes.md):\n  0 " in text and "\n  2 bad input" in text, name
        assert " -\n" not in text, name  # a code the command never gives is left out, not shown as "-"


def test_the_command_line_loads_no_engine_it_does_not_use() -> None:
    # DuckDB in the process slows Z3 by about half and shifted the garbage collector's timing enough to
    # change an obligation's bytes between two runs (smt/smt2.py); only `redline impact` loads it.
    probe = "import sys\nfrom redline.cli import make_parser\nmake_parser()\nprint(sorted({'duckdb', 'pyspark', 'pygls'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
