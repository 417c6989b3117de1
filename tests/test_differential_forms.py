"""Differential tests over every expression form, not only the forms the shipped rules use.

Hypothesis writes random rule sets as rule-file text (tests/forms_support.py: checks with
`applies when`, exceptions and `requires`, definitions and effects, whose conditions are random
well-typed expressions of every form), checks them with the real parser and checker, and draws
random states and requests. For each, three independent judges must agree exactly:

- the interpreter (redline.interp), whose verdict is the reference;
- the Z3 encoding (redline.smt.encode) with the inputs pinned: asked for any other verdict, rejecting
  check or trust anchors after the effects, it must answer `unsat` (redline.smt.concrete.agrees);
- the validator generated from the rule set (redline.codegen), run on the same JSON: the same
  verdict document, or the same input error.

`test_the_generator_reaches_every_expression_form` enumerates the IR expression classes of
check/checked.py (`EXPR_FORMS`), so a new form the generator cannot write fails it.

The default example counts keep this file under a minute on one core. `REDLINE_FORMS_EXAMPLES`
(default 40 rule sets, each judged on up to 4 worlds) raises the count for a slow run, e.g.
`REDLINE_FORMS_EXAMPLES=2000 pytest tests/test_differential_forms.py`.
"""

from __future__ import annotations

import ast
import itertools
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms_support import forms, program, rule_files, rule_sets, worlds
from redline.check import checked as ir
from redline.codegen import generate
from redline.interp import InputError, Validator, load_request, load_state
from redline.props.concrete import anchors_after, concrete
from redline.smt import Encoder, Sorts
from redline.smt.concrete import agrees

EXAMPLES = int(os.environ.get("REDLINE_FORMS_EXAMPLES", "40"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
_names = itertools.count()
SRC = Path(__file__).resolve().parents[1] / "src" / "redline"
PINNED_WORLDS = [(
    {"now": "2026-03-01T12:00:00Z", "parties": {"90-B3-D5-1F-30-01-00-00": {"roles": ["IS"], "dcc_user": True}},
     "devices": {}, "registration": {}},
    {"sender": "90-B3-D5-1F-30-01-00-00", "role": "IS", "srv": "1.1.1"},
)]


@dataclass(frozen=True)
class Judges:
    program: ir.Program
    ruleset: ir.RuleSet
    validator: Validator
    encoder: Encoder
    generated: ModuleType


def judges(text: str) -> Judges:
    prog = program(text)
    rs = prog.rulesets["generated"]
    source = generate(prog, rs, rule_files(text))
    name = f"generated_forms_{next(_names)}"
    module = ModuleType(name)
    sys.modules[name] = module  # dataclasses in the generated module look their module up
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a generated module compiles without a warning
            exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    finally:
        del sys.modules[name]
    return Judges(prog, rs, Validator(rs), Encoder(Sorts(prog, sorted(rs.catalogue)), rs), module)


def interpreted(j: Judges, state_json: Any, request_json: Any) -> tuple[str, Any]:
    try:
        state = load_state(state_json, j.program)
        request = load_request(request_json, state, j.program, j.ruleset)
    except InputError as e:
        return "error", str(e)
    return "ok", (state, request, j.validator.validate(state, request))


@SETTINGS
@given(rule_sets(), st.lists(worlds(), min_size=1, max_size=4))
def test_interpreter_encoding_and_generated_validator_agree(text: str, cases: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    j = judges(text)
    for state_json, request_json in cases:
        kind, got = interpreted(j, state_json, request_json)
        try:
            generated = "ok", j.generated.validate(state_json, request_json)
        except j.generated.InputError as e:
            generated = "error", str(e)
        if kind == "error":
            assert generated == (kind, got), text
            continue
        state, request, verdict = got
        assert generated == ("ok", verdict.to_json()), text
        x = concrete(state, request)
        failed = verdict.failed.name if verdict.failed else None
        assert agrees(j.encoder, x, verdict.accepted, failed, anchors_after(x, verdict)) is True, (text, verdict.to_json())


def test_the_generator_reaches_every_expression_form() -> None:
    seen: set[type] = set()

    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(rule_sets())
    def collect(text: str) -> None:
        seen.update(forms(program(text).rulesets["generated"]))

    collect()
    # A relation needs a world that declares one: tests/test_declared.py's random world extensions
    # (random declared relations, and rules reading them) hold the three judges to it.
    elsewhere = {ir.Related}
    assert set(ir.EXPR_FORMS) - seen == elsewhere
    assert seen <= set(ir.EXPR_FORMS), seen - set(ir.EXPR_FORMS)  # the enumeration itself is complete


def test_rule_sets_reach_every_outcome() -> None:
    """Not vacuous: generated rule sets accept, reject at each layer, waive checks and apply effects."""
    outcomes: set[str] = set()

    @settings(max_examples=90, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(rule_sets(), worlds())
    def collect(text: str, world: tuple[dict[str, Any], dict[str, Any]]) -> None:
        prog = program(text)
        rs = prog.rulesets["generated"]
        state = load_state(world[0], prog)
        v = Validator(rs).validate(state, load_request(world[1], state, prog, rs))
        doc = v.to_json()
        outcomes.add("accept" if v.accepted else f"reject {doc['layer']}")
        outcomes.update("waived" for t in doc["trace"] if "waived_by" in t)
        if doc["effects"]:
            outcomes.add("effect")

    collect()
    assert outcomes >= {"accept", "reject DSP", "reject S1SP", "reject Device", "waived", "effect"}, outcomes


def test_a_constant_compared_with_null_compiles_without_a_warning() -> None:
    """Found by the generated tests: `Root != null` was written `('Root' is not None)`, a SyntaxWarning."""
    text = ('ruleset generated "generated for the differential tests"\n'
            '  check c_0 "check 0" at DSP reject\n    requires (Root != null) and not (Root == null)\n')
    j = judges(text)  # compiles with warnings as errors
    world = next(iter(PINNED_WORLDS))
    assert j.generated.validate(*world)["verdict"] == "accept"


def _ends_in_assert_never(match: ast.Match, after: ast.stmt | None) -> bool:
    def is_never(s: ast.stmt | None) -> bool:
        return (isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                and getattr(s.value.func, "id", getattr(s.value.func, "attr", None)) == "assert_never")
    last = match.cases[-1]
    wildcard = isinstance(last.pattern, ast.MatchAs) and last.pattern.pattern is None
    return (wildcard and is_never(last.body[-1])) or is_never(after)


def ir_dispatches() -> list[tuple[str, int, bool]]:
    """Every `match` of the package whose cases name IR expression classes: (file, line, ends in assert_never)."""
    names = {cls.__name__ for cls in ir.EXPR_FORMS}
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            for block in (body, getattr(node, "orelse", None)):
                if not isinstance(block, list):
                    continue
                for i, stmt in enumerate(block):
                    if not isinstance(stmt, ast.Match):
                        continue
                    classes = {p.cls.attr for p in ast.walk(stmt) if isinstance(p, ast.MatchClass)
                               and isinstance(p.cls, ast.Attribute) and isinstance(p.cls.value, ast.Name) and p.cls.value.id == "ir"}
                    if classes & names:
                        after = block[i + 1] if i + 1 < len(block) else None
                        found.append((str(path.relative_to(SRC)), stmt.lineno, _ends_in_assert_never(stmt, after)))
    return found


def test_every_dispatch_over_ir_expressions_ends_in_assert_never() -> None:
    """So that mypy names every dispatch a new expression form has not reached (see check/checked.py)."""
    found = ir_dispatches()
    assert len(found) >= 10, found  # the interpreter, encoder, fold, emitter (4), SQL (3): not vacuous
    assert [(f, line) for f, line, ok in found if not ok] == []
