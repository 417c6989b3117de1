"""`redline prove` gives the same bytes in every process: the same results
(outside `seconds`, a time) and the same SMT-LIB2 obligations. Z3's models
and unsat cores follow the order in which a context made its terms, so each
result is decided in a context of its own, and writing the obligations makes
no term there (props/prover.py, smt/smt2.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from redline.loading import load_program
from redline.props import ProofResult, prove

ROOT = Path(__file__).resolve().parents[1]
# Its unbounded search always runs out of time (1 s here) and the witness comes from the search
# after it, which must not depend on the point where the clock stopped the one before.
GAVE_UP_FIRST = "owner_registered_stuck_state_still_reachable"


def _obligations(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_prove_gives_the_same_bytes_in_two_processes(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "redline", "prove", "--rules", str(ROOT / "rules"), str(ROOT / "proofs" / "owner-registered.redline"),
            "--property", GAVE_UP_FIRST, "--timeout", "1", "--format", "json"]
    # Side by side, so that they also run at different speeds.
    runs = [subprocess.Popen([*argv, "--smt2", str(tmp_path / f"smt2-{i}")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for i in (1, 2)]
    done = [(run.communicate(timeout=300), run.returncode) for run in runs]
    assert [code for _, code in done] == [0, 0], [err for (_, err), _ in done]
    texts = [re.sub(r'"seconds": [0-9.e-]+', '"seconds": 0', out) for (out, _), _ in done]
    assert '"settled_by": "bounded2"' in texts[0]  # the path this test is about: a witness found after a give-up
    assert texts[0] == texts[1]
    first, second = _obligations(tmp_path / "smt2-1"), _obligations(tmp_path / "smt2-2")
    assert f"{GAVE_UP_FIRST}.owner_registered.unbounded.smt2" in first
    assert first == second


def _answers(results: list[ProofResult]) -> list[ProofResult]:
    return [replace(r, seconds=0.0) for r in results]


def test_an_answer_depends_neither_on_writing_the_obligations_nor_on_what_was_proved_before() -> None:
    program, _ = load_program(ROOT / "rules", [ROOT / "proofs" / "smi-joins.redline"])
    assert program is not None
    plain = _answers(prove(program, None, 10_000, 20_000_000, 0))
    written: dict[str, str] = {}
    assert _answers(prove(program, None, 10_000, 20_000_000, 0, written.__setitem__)) == plain
    assert written  # the obligations were made, and printing them changed no answer
    later = "unjoin_still_possible"  # proved after six other properties of the file, and here alone
    assert _answers(prove(program, later, 10_000, 20_000_000, 0)) == [r for r in plain if r.property == later]
