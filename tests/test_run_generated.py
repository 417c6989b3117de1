"""scripts/run_generated.py, the documented embedding: JSON read as strictly as `redline validate` reads it (issue 15).

Run as `make demo` runs it (`python -I -S`: the standard library alone), on
a module generated once per session.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from redline.cli import main
from test_validate_cli import REQUEST, STATE

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "run_generated.py"

BAD_JSON = {
    "duplicate_key": b'{"now": "2026-03-01T12:00:00Z", "now": "2026-03-01T12:00:00Z"}',
    "nested_duplicate_key": json.dumps(STATE).replace('"dcc_user": true', '"dcc_user": true, "dcc_user": false', 1).encode(),
    "nan": b'{"now": NaN}',
    "infinity": b'{"now": Infinity}',
    "minus_infinity": b'{"now": -Infinity}',
    "long_integer": b'{"now": ' + b"9" * 40 + b"}",
    "not_utf8": b'{"now": "\xff"}',
    "not_json": b'{"now": }',
    "empty": b"",
}


def run_script(module: ModuleType, state: Path, request: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-I", "-S", str(SCRIPT), str(module.__file__), str(state), str(request)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.usefixtures("cached_rules")
@pytest.mark.parametrize("which", ["state", "request"])
@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_bad_json_is_refused_as_redline_refuses_it(generated_validators: dict[str, ModuleType], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str], case: str, which: str) -> None:
    good = {"state": json.dumps(STATE).encode(), "request": json.dumps(REQUEST).encode()}
    paths = {}
    for name in ("state", "request"):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_bytes(BAD_JSON[case] if name == which else good[name])
    done = run_script(generated_validators["mp107"], paths["state"], paths["request"])
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert main(["validate", "--ruleset", "mp107", "--state", str(paths["state"]), str(paths["request"])]) == 2
    redline_says = capsys.readouterr().err.removeprefix("redline: error: ")
    assert done.stderr.removeprefix("run_generated: error: ") == redline_says


def test_good_json_still_runs(generated_validators: dict[str, ModuleType], tmp_path: Path) -> None:
    state, request = tmp_path / "state.json", tmp_path / "request.json"
    state.write_text(json.dumps(STATE), encoding="utf-8")
    request.write_text(json.dumps(REQUEST), encoding="utf-8")
    done = run_script(generated_validators["mp107"], state, request)
    assert done.returncode == 0 and "ACCEPT" in done.stdout, done.stderr


@pytest.mark.parametrize(("text", "message"), [("not python(", "not a generated validator: SyntaxError"),
                                               ("x = 1\n", "not a generated validator (no prepare"),
                                               (None, "cannot read")])
def test_a_module_that_is_not_a_validator_is_exit_2(tmp_path: Path, text: str | None, message: str) -> None:
    module = tmp_path / "v.py"
    if text is not None:
        module.write_text(text, encoding="utf-8")
    state, request = tmp_path / "state.json", tmp_path / "request.json"
    state.write_text(json.dumps(STATE), encoding="utf-8")
    request.write_text(json.dumps(REQUEST), encoding="utf-8")
    done = subprocess.run([sys.executable, "-I", "-S", str(SCRIPT), str(module), str(state), str(request)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
