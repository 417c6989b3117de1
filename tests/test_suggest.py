"""One did-you-mean (redline.suggest), with one cutoff, for every input a name can be misspelt in."""

from __future__ import annotations

from pathlib import Path

from redline.codegen import runtime
from redline.suggest import CUTOFF, closest, closest_srvs, did_you_mean

SRC = Path(__file__).resolve().parents[1] / "src" / "redline"


def test_closest_likest_first_then_ignoring_case() -> None:
    assert closest("generaton", ["type", "generation", "smi_status"]) == ["generation"]
    assert closest("supplier", ["Supplier", "ED", "GT"]) == ["Supplier"]  # only alike ignoring case
    assert closest("xyz", ["Supplier", "ED"]) == []
    assert closest("ab", ["abc", "abd", "abe", "abf"]) == ["abf", "abe", "abd"]  # at most three


def test_one_cutoff_for_every_input() -> None:
    # "rol" and "roles" are 0.75 alike; "EDX" and "GT" are 0.4: under the cutoff, no suggestion.
    assert did_you_mean("rol", ["roles", "dcc_user"]) == "; did you mean `roles`?"
    assert did_you_mean("EDX", ["GT"]) == "" and CUTOFF > 0.4
    assert closest_srvs("6.15.2", ["6.15.1", "8.3"]) == "; the closest SRVs are `6.15.1`"
    assert closest_srvs("99", ["6.15.1"]) == ""


def test_generated_validators_suggest_the_same() -> None:
    """The generated module's standalone copy gives the same suggestions as redline's."""
    cases = [("generaton", ["type", "generation", "smi_status"]), ("supplier", ["Supplier", "ED"]),
             ("ab", ["abc", "abd", "abe", "abf"]), ("EDX", ["ED", "GT", "EDX1"]), ("xyz", ["a"])]
    for name, cands in cases:
        assert runtime._closest(name, cands) == closest(name, cands)
        assert runtime._hint(name, cands) == did_you_mean(name, cands)


def test_no_other_suggestion_builder() -> None:
    users = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if "get_close_matches" in p.read_text(encoding="utf-8"))
    assert users == ["codegen/runtime.py", "suggest.py"]
