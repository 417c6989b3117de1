"""The vocabulary is found from the declarations by purpose, not by name (issue 18, item 2).

A copy of the shipped rules and proofs with `UserRole` renamed `Role` and
`RemotePartyRole` renamed `Cell` everywhere must behave exactly as the
shipped ones; a rename that leaves the declarations out of shape gets one
precise diagnostic.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from prove_support import Proved, properties_of
from redline.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "stuck-smets1"
RENAMES = {"UserRole": "Role", "RemotePartyRole": "Cell"}


def _rename(root: Path, renames: dict[str, str]) -> None:
    for f in root.rglob("*.redline"):
        text = f.read_text(encoding="utf-8")
        for old, new in renames.items():
            text = re.sub(rf"\b{old}\b", new, text)
        f.write_text(text, encoding="utf-8")


@pytest.fixture
def renamed(tmp_path: Path) -> Path:
    """rules/ renamed consistently (without proofs/: see test_renamed_proofs_check_and_prove)."""
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    _rename(tmp_path, RENAMES)
    assert "UserRole" not in (tmp_path / "rules" / "world.redline").read_text(encoding="utf-8")
    return tmp_path / "rules"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_renamed_rules_check_clean(renamed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["check", "--rules", str(renamed), "--format", "json"], capsys)
    assert code == 0, out + err
    assert [d for d in json.loads(out)["diagnostics"] if d["severity"] == "error"] == []


def test_renamed_rules_pass_every_scenario(renamed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["test", "--rules", str(renamed)], capsys)
    assert code == 0, out + err
    shipped, _, _ = _run(["test"], capsys)
    assert shipped == 0


@pytest.mark.parametrize("ruleset", ["baseline", "mp107"])
def test_renamed_rules_validate_alike(renamed: Path, ruleset: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["validate", "--ruleset", ruleset, "--state", str(EXAMPLE / "state.json"), "--format", "json",
            str(EXAMPLE / "request.json")]
    code, out, err = _run([*args, "--rules", str(renamed)], capsys)
    want_code, want, _ = _run(args, capsys)
    assert (code, json.loads(out)) == (want_code, json.loads(want)), err
    # and the renamed enum's own members are what the loader checks against
    bad = json.loads((EXAMPLE / "request.json").read_text(encoding="utf-8"))
    bad["role"] = "Role"
    (renamed.parent / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    code, _, err = _run(["validate", "--rules", str(renamed), "--ruleset", ruleset, "--state",
                         str(EXAMPLE / "state.json"), str(renamed.parent / "bad.json")], capsys)
    assert code == 2 and "unknown User Role `Role`" in err


def test_renamed_rules_generate_a_validator_that_agrees(renamed: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "gen.py"
    code, out, err = _run(["codegen", "--rules", str(renamed), "--ruleset", "mp107", "-o", str(target)], capsys)
    assert code == 0, out + err
    text = target.read_text(encoding="utf-8")
    assert '"UserRole"' not in text and "'UserRole'" not in text and "'Role'" in text
    ns: dict[str, object] = {}
    exec(compile(text, str(target), "exec"), ns)  # noqa: S102 - our own generated module
    state = json.loads((EXAMPLE / "state.json").read_text(encoding="utf-8"))
    request = json.loads((EXAMPLE / "request.json").read_text(encoding="utf-8"))
    verdict = ns["validate"](state, request)  # type: ignore[operator]
    assert verdict["verdict"] == "accept"


def test_renamed_proofs_check_and_prove(tmp_path: Path, capsys: pytest.CaptureFixture[str], proved: Proved) -> None:
    """rules/ and proofs/ side by side (rules/../proofs is found), renamed consistently."""
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    shutil.copytree(REPO / "proofs", tmp_path / "proofs")
    _rename(tmp_path, RENAMES)
    code, out, err = _run(["check", "--rules", str(tmp_path / "rules")], capsys)
    assert code == 0, out + err
    # One-step and relational proofs (MP107's) and runs (the model checker's): the other proofs files
    # use the same builtins over other rule sets, and would only make this slower.
    files = ("mp107.redline", "temporal.redline")
    code, out, err = _run(["prove", "--rules", str(tmp_path / "rules"), *(str(tmp_path / "proofs" / f) for f in files),
                           "--format", "json"], capsys)
    # What the unrenamed files give, read from the one prove run over every shipped property (tests/prove_support.py):
    # every result there as its file expects (exit 0), so these files' own run would exit 0 too.
    named = set().union(*(properties_of(REPO / "proofs" / f) for f in files))
    want = [(r["property"], r["ruleset"], r["status"]) for r in proved.results if r["property"] in named]
    assert proved.code == 0 and code == 0, out + err
    assert len(want) >= len(named)
    assert [(r["property"], r["ruleset"], r["status"]) for r in json.loads(out)["results"]] == want


def test_inconsistent_rename_gives_one_precise_diagnostic(rules_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _rename(rules_copy, RENAMES)
    world = rules_copy / "world.redline"
    text = world.read_text(encoding="utf-8")
    # The request's role left as the trust anchor cell: every enum exists, but the parts disagree.
    world.write_text(text.replace("  role: Role\n", "  role: Cell\n"), encoding="utf-8")
    code, out, err = _run(["check", "--rules", str(rules_copy), "--format", "json"], capsys)
    assert code == 1
    diags = [d for d in json.loads(out)["diagnostics"] if d["severity"] == "error"]
    assert len(diags) == 1, diags
    d = diags[0]
    assert d["code"] == "E212"
    assert "`Request.role` must be `Role`, the User Role enum, found `Cell`" in d["message"]
    line = text[: text.index("  role: Role\n")].count("\n") + 1
    assert d["path"].endswith("world.redline") and d["line"] == line and d["column"] == 3
    code, out, err = _run(["check", "--rules", str(rules_copy)], capsys)
    assert f"world.redline:{line}:3: error[E212]" in out + err
    assert "the back ends find the User Role enum as the element enum of `Party.roles`" in out + err


def test_party_roles_of_wrong_shape(rules_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = rules_copy / "world.redline"
    world.write_text(world.read_text(encoding="utf-8").replace("roles: set of UserRole", "roles: UserRole"), encoding="utf-8")
    code, out, _ = _run(["check", "--rules", str(rules_copy), "--format", "json"], capsys)
    diags = [d for d in json.loads(out)["diagnostics"] if d["severity"] == "error"]
    assert code == 1 and [d["code"] for d in diags] == ["E212"]
    assert "`Party.roles` must be a set of the User Role enum, found `UserRole`" in diags[0]["message"]
