"""Run the scenarios written in the rule language through the interpreter.

Each scenario's world becomes STATE.json and its request REQUEST.json; they
go through the same loader and validator as `redline validate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from redline.check.checked import ExpectedVerdict, Program, Scenario
from redline.interp import InputError, Validator, load_request, load_state
from redline.jsondoc import JsonObject


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    scenario: Scenario
    ruleset: str
    ok: bool
    expected: ExpectedVerdict
    actual: JsonObject | None  # the verdict as `validate` prints it
    problem: str | None


def _differences(want: ExpectedVerdict, got: JsonObject) -> list[str]:
    out = []
    for key, value in (("verdict", want.verdict), ("layer", want.layer), ("code", want.code), ("check", want.check)):
        # An expectation that leaves out the code or check accepts any.
        if value is not None and value != got.get(key):
            out.append(f"{key}: expected {value}, got {got.get(key)}")
    if want.effect is not None:
        eff = {"device": want.effect.device, "trust_anchor": want.effect.trust_anchor, "owner": want.effect.owner}
        if eff not in got.get("effects", []):
            out.append(f"effect: expected {eff}, got {got.get('effects')}")
    return out


def run_scenario(program: Program, scenario: Scenario, validators: dict[str, Validator] | None = None) -> list[ScenarioResult]:
    results = []
    validators = validators if validators is not None else {}
    try:
        state = load_state(scenario.state, program)
    except InputError as e:
        return [ScenarioResult(scenario, name, False, want, None, f"the scenario's input is invalid: {e}")
                for name, want in scenario.expected.items()]
    for name, want in scenario.expected.items():
        rs = program.rulesets[name]
        if name not in validators:  # compiling a rule set is the costly part: once per run
            validators[name] = Validator(rs)
        try:
            request = load_request(scenario.request, state, program, rs)
        except InputError as e:
            results.append(ScenarioResult(scenario, name, False, want, None, f"the scenario's input is invalid: {e}"))
            continue
        got = validators[name].validate(state, request).to_json()
        diffs = _differences(want, got)
        results.append(ScenarioResult(scenario, name, not diffs, want, got, "; ".join(diffs) or None))
    return results


def run_scenarios(program: Program) -> list[ScenarioResult]:
    """Every scenario of the program, in order, with one validator per rule set shared by all."""
    cache: dict[str, Validator] = {}
    return [r for sc in program.scenarios for r in run_scenario(program, sc, cache)]
