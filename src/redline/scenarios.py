"""Run the scenarios written in the rule language through the interpreter.

Each scenario's world becomes STATE.json and its request REQUEST.json; they
go through the same loader and validator as `redline validate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redline.check.checked import Program, Scenario
from redline.interp import InputError, Validator, load_request, load_state


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    scenario: Scenario
    ruleset: str
    ok: bool
    expected: dict[str, Any]
    actual: dict[str, Any] | None
    problem: str | None

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario.name, "ruleset": self.ruleset, "ok": self.ok, "expected": self.expected,
                "actual": self.actual, "problem": self.problem}


def _differences(want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    out = []
    for key in ("verdict", "layer", "code", "check"):
        # An expectation that leaves out the code or check accepts any.
        if want.get(key) is not None and want[key] != got.get(key):
            out.append(f"{key}: expected {want[key]}, got {got.get(key)}")
    eff = want.get("effect")
    if eff is not None and eff not in got.get("effects", []):
        out.append(f"effect: expected {eff}, got {got.get('effects')}")
    return out


def run_scenario(program: Program, scenario: Scenario, validators: dict[str, Validator] | None = None) -> list[ScenarioResult]:
    results = []
    validators = validators if validators is not None else {}
    try:
        state = load_state(scenario.state, program)
    except InputError as e:
        return [ScenarioResult(scenario, name, False, dict(want), None, f"the scenario's input is invalid: {e}")
                for name, want in scenario.expected.items()]
    for name, want in scenario.expected.items():
        rs = program.rulesets[name]
        if name not in validators:  # compiling a rule set is the costly part: once per run
            validators[name] = Validator(rs)
        try:
            request = load_request(scenario.request, state, program, rs)
        except InputError as e:
            results.append(ScenarioResult(scenario, name, False, dict(want), None, f"the scenario's input is invalid: {e}"))
            continue
        got = validators[name].validate(state, request).to_json()
        diffs = _differences(dict(want), got)
        results.append(ScenarioResult(scenario, name, not diffs, dict(want), got, "; ".join(diffs) or None))
    return results


def run_scenarios(program: Program) -> list[ScenarioResult]:
    """Every scenario of the program, in order, with one validator per rule set shared by all."""
    cache: dict[str, Validator] = {}
    return [r for sc in program.scenarios for r in run_scenario(program, sc, cache)]
