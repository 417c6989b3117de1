"""Every scenario of rules/scenarios, under every rule set it names, as a pytest item."""

from __future__ import annotations

import pytest

from redline.check.checked import Program
from redline.loading import load_program, repo_rules
from redline.scenarios import run_scenario


def _program() -> Program:
    program, diags = load_program(repo_rules(), [])
    assert program is not None, [d.message for d in diags]
    return program


PROGRAM = _program()
CASES = [(sc, rs) for sc in PROGRAM.scenarios for rs in sc.expected]


def test_there_are_enough_scenarios() -> None:
    assert len(PROGRAM.scenarios) >= 25


@pytest.mark.parametrize(("scenario", "ruleset"), CASES, ids=[f"{sc.name}[{rs}]" for sc, rs in CASES])
def test_scenario(scenario, ruleset) -> None:  # type: ignore[no-untyped-def]
    result = next(r for r in run_scenario(PROGRAM, scenario) if r.ruleset == ruleset)
    assert result.ok, result.problem
