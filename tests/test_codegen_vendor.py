"""Issue 16 item 6: a generated validator fit to vendor.

An implementer copies the generated module into their own code and does not
maintain it, so it must pass their linters (mypy --strict, ruff at the
project's line length), run on the oldest Python it states, say what its
public API is, read its catalogue rows by name, say which redline wrote it,
and state whether a prepared state may be shared between threads.
"""

from __future__ import annotations

import ast
import importlib.metadata
import itertools
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import codegen_space
from redline.cli import main
from redline.codegen import module as codegen_module
from redline.codegen import runtime
from redline.interp import load_request, load_state
from test_codegen import VALIDATORS, import_file
from test_properties import PROGRAM, RULESETS

FLOOR = (3, 9)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both shipped rule sets written by the CLI."""
    out = tmp_path_factory.mktemp("vendored")
    paths = {}
    for name in RULESETS:
        path = out / f"{name}.py"
        assert main(["codegen", "--ruleset", name, "-o", str(path)]) == 0
        paths[name] = path
    return paths


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_generated_modules_pass_mypy_strict(written: dict[str, Path], tmp_path: Path) -> None:
    # A control in the same run: an untyped function, which --strict must flag, so that a
    # silent or misconfigured mypy cannot pass the generated modules by checking nothing.
    control = tmp_path / "control.py"
    control.write_text("def f(x):\n    return x\n", encoding="utf-8")
    # mypy cannot target 3.9 any more (3.10 is its oldest); the floor's syntax is tested below.
    done = run("mypy", "--strict", "--python-version", "3.10", "--cache-dir", str(tmp_path / "cache"),
               *map(str, written.values()), str(control), cwd=tmp_path)
    errors = [ln for ln in done.stdout.splitlines() if ": error:" in ln]
    assert errors and all(ln.startswith(("control.py:", str(control))) for ln in errors), done.stdout + done.stderr
    assert f"in 1 file (checked {len(written) + 1} source files)" in done.stdout, done.stdout


def test_generated_modules_pass_ruff_at_line_length_120(written: dict[str, Path], tmp_path: Path) -> None:
    control = tmp_path / "control.py"
    control.write_text("X = 1  # " + "x" * 120 + " long\n", encoding="utf-8")
    done = run("ruff", "check", "--isolated", "--no-cache", "--line-length", "120", "--select", "E,F,I,B,UP",
               "--target-version", f"py{FLOOR[0]}{FLOOR[1]}", "--output-format", "concise",
               *map(str, written.values()), str(control), cwd=tmp_path)
    found = [ln for ln in done.stdout.splitlines() if ".py:" in ln]
    assert found and all(ln.startswith(("control.py:", str(control))) and "E501" in ln for ln in found), done.stdout + done.stderr
    for path in written.values():
        assert max(len(ln) for ln in path.read_text(encoding="utf-8").splitlines()) <= 120


def test_generated_modules_are_python_3_9(written: dict[str, Path]) -> None:
    """No interpreter older than 3.11 is at hand here: the syntax is parsed as 3.9 parses it, and
    the names that came after 3.9 and that this code once used (datetime.UTC) are absent."""
    assert runtime.PYTHON_FLOOR == FLOOR
    assert codegen_module.PYTHON_FLOOR == f"{FLOOR[0]}.{FLOOR[1]}"
    for path in written.values():
        text = path.read_text(encoding="utf-8")
        ast.parse(text, feature_version=FLOOR)
        assert f"Needs Python {FLOOR[0]}.{FLOOR[1]} or later" in text
        tree = ast.parse(text)
        imported = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert ("datetime", "UTC") not in imported
        for node in ast.walk(tree):
            assert not isinstance(node, ast.Match)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "zip":
                assert not node.keywords, "zip(strict=) is Python 3.10"
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("UTC", "bit_count", "pairwise"), node.attr
    # The control: 3.9's grammar really is applied (a match statement is refused).
    with pytest.raises(SyntaxError):
        ast.parse("match x:\n    case 1:\n        pass\n", feature_version=FLOOR)


def test_an_older_python_is_refused_on_import(written: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 8, 18, "final", 0))
    with pytest.raises(ImportError, match=r"needs Python 3\.9 or later"):
        import_file(written["mp107"], "generated_vendor_too_old")
    monkeypatch.setattr(sys, "version_info", (3, 9, 0, "final", 0))
    assert import_file(written["mp107"], "generated_vendor_floor").RULESET == "mp107"


@pytest.fixture(scope="module")
def imported(written: dict[str, Path]) -> dict[str, ModuleType]:
    return {name: import_file(path, f"generated_vendor_{name}") for name, path in written.items()}


def test_all_names_the_public_api(imported: dict[str, ModuleType]) -> None:
    for module in imported.values():
        public = set(module.__all__)
        assert {"prepare", "validate", "validate_prepared", "InputError"} <= public
        assert all(hasattr(module, n) for n in public)
        # Not the helpers, checks, plans or tables a regeneration may rename.
        assert not any(n.startswith(("_", "check_", "plan_", "SET_")) for n in public), public
        assert len(module.__all__) == len(public)


def test_catalogue_rows_are_written_with_keywords(written: dict[str, Path], imported: dict[str, ModuleType]) -> None:
    fields = list(PROGRAM.records["Service"])
    for name, path in written.items():
        calls = [n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "Service"]
        catalogue = RULESETS[name].catalogue
        assert len(calls) == len(catalogue)
        for call in calls:
            assert not call.args and [k.arg for k in call.keywords] == ["srv", *fields]
        module = imported[name]
        for srv, row in catalogue.items():
            made = module.SRVS[srv][0]
            assert made.srv == srv and all(getattr(made, f) == row[f] for f in fields), srv
        with pytest.raises(TypeError):
            module.Service("1.1.1", *(catalogue["1.1.1"][f] for f in fields))  # keyword arguments only


def test_header_names_the_redline_version(written: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        version = importlib.metadata.version("redline")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    for path in written.values():
        assert f"Generated by redline {version}." in path.read_text(encoding="utf-8")

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(codegen_module.metadata, "version", missing)
    assert codegen_module.redline_version() == "unknown"


def thread_requests() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One state of the exhaustive space and requests against it that fill both memos as they go:
    devices spelt in lower case (the alias memo) and execution times on many days (the day memo)."""
    state, requests = next(iter(codegen_space.space(RULESETS["baseline"].catalogue, PROGRAM.enums, sorted(PROGRAM.relations))))
    out = []
    for i, q in enumerate(itertools.islice(requests, 0, None, 7)):
        if len(out) >= 1500:
            break
        q = dict(q)
        if i % 3 == 0 and isinstance(q.get("device"), str):
            q["device"] = q["device"].lower()
        if i % 2 == 0 and q.get("execution_time") is not None:
            q["execution_time"] = f"2026-{1 + i % 12:02}-{1 + i % 28:02}T{i % 24:02}:{i % 60:02}:07Z"
        out.append(q)
    return state, out


def validate_in_threads(module: ModuleType, prepared: Any, requests: list[dict[str, Any]], n: int) -> list[list[Any]]:
    """Each of `n` threads validates every request against the one prepared state, each starting
    at a different request, all released at once; each thread's verdicts in request order."""
    start = threading.Barrier(n)
    got: list[list[Any]] = [[] for _ in range(n)]

    def work(t: int) -> None:
        order = list(range(len(requests)))
        order = order[t * len(order) // n:] + order[:t * len(order) // n]
        start.wait()
        results = {i: module.validate_prepared(prepared, requests[i]) for i in order}
        got[t] = [results[i] for i in range(len(requests))]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(5e-6)  # switch threads every few requests
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(interval)
    return got


def test_one_prepared_state_shared_by_threads_gives_the_single_thread_verdicts(written: dict[str, Path]) -> None:
    state_json, requests = thread_requests()
    state = load_state(state_json, PROGRAM)
    for name, path in written.items():
        alone = import_file(path, f"generated_vendor_alone_{name}")
        want = [alone.validate_prepared(alone.prepare(state_json), q) for q in requests]
        for i in range(0, len(requests), 50):  # and they are the interpreter's
            q = requests[i]
            assert want[i] == VALIDATORS[name].validate(state, load_request(q, state, PROGRAM, RULESETS[name])).to_json()
        shared = import_file(path, f"generated_vendor_shared_{name}")  # its verdict table cold too
        prepared = shared.prepare(state_json)
        got = validate_in_threads(shared, prepared, requests, 8)
        for t, verdicts in enumerate(got):
            assert verdicts == want, (name, t)
        assert prepared.days and prepared.aliases  # the memos were written while shared
