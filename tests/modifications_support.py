"""What the next-modification tests share: the modifications' folder, a project that loads one as a reviewer
would (a redline.toml beside it, the shipped rules underneath), the command line run in this process, and a
generated validator imported from its file."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from redline.cli import main
from redline.loading import repo_rules

MODS = Path(__file__).resolve().parent / "modifications"


def project(tmp: Path, rules: str, proofs: str | None = None) -> Path:
    (tmp / "redline.toml").write_text(
        f'rules = ["{MODS / rules}"]\n' + (f'proofs = ["{MODS / proofs}"]\n' if proofs else "") + "shipped = true\n",
        encoding="utf-8")
    return tmp


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def import_file(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def refuted_generic(tmp: Path, capsys: pytest.CaptureFixture[str], modification: str, prop: str) -> Path:
    """Prove one generic property (proofs/generic.redline) of a modification run from `tmp`; it must be refuted.
    The directory its counterexample was written to (state.json, request.json)."""
    code, out, err = run(capsys, "prove", str(repo_rules().parent / "proofs" / "generic.redline"), "--modification",
                         modification, "--property", prop, "--format", "json", "--cex-dir", "cex")
    [result] = json.loads(out)["results"]
    assert code == 1 and result["status"] == "refuted", out + err
    return next((tmp / "cex").glob(f"{prop}*"))
