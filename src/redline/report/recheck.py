"""Re-check every settled result without trusting the solver that settled it.

- An obligation Z3 found `unsat` (a proof over every state) is handed, as the
  SMT-LIB2 text written into the bundle, to a second solver, cvc5, which must
  also answer `unsat`.
- A result settled by a model (a counterexample or witness) is replayed: the
  state and every request recorded in it are loaded afresh and judged by the
  interpreter, whose verdicts must be the recorded ones; a multi-step trace is
  also checked step by step (each step's state is the previous one with its
  accepted request's effects applied). cvc5 must also find the obligation `sat`.

Every outcome is recorded as `recheck: {"solver", "status", ...}` with status
`agrees`, `disagrees`, `unknown` (cvc5 gave up), `unsupported` (nothing this
re-checker can do, with the reason) or `skipped` (the result itself is unknown).
Only `agrees` counts as re-checked; nothing else is ever reported as such.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from redline.check import checked as ir
from redline.codec import key_from_json, step_from_json
from redline.interp import InputError, Validator, load_request, load_state
from redline.interp.effects import apply_effects
from redline.jsondoc import JsonObject
from redline.props.modelcheck import check_event
from redline.props.results import ReplayError
from redline.report.collect import Collected, Obligation

# Tried in order until cvc5 gives a definite answer; each is a sound configuration
# (none of cvc5's unsafe options), named in the recheck so anyone can re-run it.
PORTFOLIO: list[tuple[str, dict[str, str]]] = [
    ("default", {}),
    ("cegqi-all", {"cegqi-all": "true"}),
    ("enum-inst", {"enum-inst": "true"}),
]
REPLAYER = "redline interpreter (replay)"


class SolverMissing(Exception):
    """cvc5 cannot be imported: the bundle cannot carry independent re-checks."""


def load_cvc5() -> ModuleType:
    try:
        return importlib.import_module("cvc5")
    except ImportError as e:
        raise SolverMissing(f"the second solver cvc5 is not installed ({e}); install it with `pip install cvc5`") from None


def cvc5_name(cvc5: ModuleType) -> str:
    return f"cvc5 {getattr(cvc5, '__version__', 'unknown version')}"


@dataclass
class Answer:
    answer: str | None  # sat | unsat | unknown, or None when the text could not be read
    config: str | None
    reason: str | None


def cvc5_solve(cvc5: ModuleType, text: str, name: str, timeout_ms: int) -> Answer:
    """Parse SMT-LIB2 text with cvc5's own parser and run its `(check-sat)` under each configuration."""
    reason = None
    for config, options in PORTFOLIO:
        tm = cvc5.TermManager()
        solver = cvc5.Solver(tm)
        solver.setLogic("ALL")  # Z3's output sets no logic; ALL admits its datatypes, arithmetic and quantifiers
        solver.setOption("tlimit-per", str(timeout_ms))
        for k, v in options.items():
            solver.setOption(k, v)
        symbols = cvc5.SymbolManager(tm)
        parser = cvc5.InputParser(solver, symbols)
        parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, text, name)
        answers = []
        try:
            while True:
                cmd = parser.nextCommand()
                if cmd.isNull():
                    break
                out = str(cmd.invoke(solver, symbols)).strip()
                if cmd.getCommandName() == "check-sat":
                    answers.append(out)
        except Exception as e:  # cvc5 raises its own exception types on text it cannot read
            return Answer(None, config, f"cvc5 cannot read the SMT-LIB2 text: {str(e).strip()}")
        if len(answers) != 1:
            return Answer(None, config, f"expected one (check-sat), found {len(answers)}")
        word = answers[0].split()[0] if answers[0] else ""
        if word in ("sat", "unsat"):
            return Answer(word, config, None)
        reason = answers[0]
    return Answer("unknown", None, f"every configuration ({', '.join(c for c, _ in PORTFOLIO)}) gave up: {reason}")


def _by_cvc5(cvc5: ModuleType, ob: Obligation, timeout_ms: int) -> JsonObject:
    got = cvc5_solve(cvc5, ob.text, ob.file, timeout_ms)
    out: JsonObject = {"solver": cvc5_name(cvc5), "file": f"smt2/{ob.file}", "expected": ob.answer}
    if got.answer is None:
        out.update(status="unsupported", reason=got.reason)
    elif got.answer == "unknown":
        out.update(status="unknown", answer="unknown", reason=got.reason)
    else:
        out.update(status="agrees" if got.answer == ob.answer else "disagrees", answer=got.answer, options=got.config)
    return out


# ---- replay ------------------------------------------------------------------

def _same(recorded: JsonObject, got: JsonObject) -> list[str]:
    """The verdict fields on which the recorded verdict and the interpreter's differ."""
    return [f"{k}: recorded {recorded[k]!r}, interpreter {got[k]!r}"
            for k in ("verdict", "layer", "code", "check", "clause", "effects") if k in recorded and recorded[k] != got[k]]


class _Mismatch(Exception):
    pass


def _judge(program: ir.Program, ruleset: str, state_json: Any, request_json: Any) -> JsonObject:
    rs = program.ruleset(ruleset)
    if rs is None:
        raise _Mismatch(f"the result names rule set `{ruleset}`, which the rules do not define")
    try:
        state = load_state(state_json, program)
        request = load_request(request_json, state, program, rs)
    except InputError as e:
        raise _Mismatch(f"not valid input: {e.where}: {e.message}") from None
    out: JsonObject = Validator(rs).validate(state, request).to_json()
    return out


def _replay_found(program: ir.Program, result: JsonObject, found: JsonObject) -> tuple[int, int]:
    """Replay one counterexample or witness; returns (verdicts replayed, transitions checked)."""
    judged = transitions = 0
    # `cases`: further requests, each in its own state, that the same finding rests on (no_check_made_dead: one per check)
    for case in [found, *(found.get("cases") or [])]:
        for key, recorded in (case.get("verdicts") or {}).items():
            got = _judge(program, key_from_json(key).ruleset, case["state"], case["request"])
            if diffs := _same(recorded, got):
                raise _Mismatch(f"`{key}`: " + "; ".join(diffs))
            judged += 1
    for c in result.get("candidates") or []:
        got = _judge(program, c["ruleset"], found["state"], c["request"])
        if diffs := _same(c["verdict"], got):
            raise _Mismatch(f"candidate {c['request']} under {c['ruleset']}: " + "; ".join(diffs))
        judged += 1
    steps = found.get("trace") or []
    for i, step in enumerate(steps, 1):
        if step.get("request") is None:
            ev = step.get("event")
            event = program.events.get(ev.get("name", "")) if isinstance(ev, dict) else None
            if event is not None and i < len(steps):  # a declared event may change only what its kind may
                try:
                    check_event(i, event, step_from_json(step), step_from_json(steps[i]))
                except ReplayError as e:
                    raise _Mismatch(str(e)) from None
                transitions += 1
            continue  # an undeclared event: taken as the trace gives it
        ruleset = (step.get("verdict") or {}).get("ruleset") or result["ruleset"]
        if ".." in ruleset:
            raise _Mismatch(f"step {i} does not say which of {ruleset} judged it")
        got = _judge(program, ruleset, step["state"], step["request"])
        if step.get("verdict") is not None and (diffs := _same(step["verdict"], got)):
            raise _Mismatch(f"step {i}: " + "; ".join(diffs))
        judged += 1
        if i < len(steps):
            expected = apply_effects(step["state"], got["effects"])
            if steps[i]["state"] != expected:
                raise _Mismatch(f"step {i + 1}'s state is not step {i}'s with the accepted request's effects applied")
            transitions += 1
    return judged, transitions


def replay(program: ir.Program, result: JsonObject) -> JsonObject:
    found = result.get("counterexample") or result.get("witness")
    out: JsonObject = {"solver": REPLAYER}
    if found is None:
        return {**out, "status": "unsupported", "reason": "the result carries no counterexample or witness to replay"}
    try:
        judged, transitions = _replay_found(program, result, found)
    except _Mismatch as e:
        return {**out, "status": "disagrees", "reason": str(e)}
    except (KeyError, TypeError, AttributeError) as e:
        return {**out, "status": "disagrees", "reason": f"the recorded finding is malformed: {type(e).__name__}: {e}"}
    if judged == 0:
        return {**out, "status": "unsupported", "reason": "the finding holds no request for the interpreter to judge"}
    out.update(status="agrees", verdicts=judged)
    if transitions:
        out["transitions"] = transitions
    return out


# ---- both ----------------------------------------------------------------------

def recheck(program: ir.Program, c: Collected, cvc5: ModuleType, timeout_ms: int) -> tuple[JsonObject, float]:
    """The recheck record of one result, and the seconds it took."""
    start = time.perf_counter()
    r, ob = c.result, c.obligation
    found = r.get("counterexample") or r.get("witness")
    if r["status"] == "unknown":
        out: JsonObject = {"solver": cvc5_name(cvc5), "status": "skipped", "reason": "the result is unknown: nothing was settled to re-check"}
    elif found is not None:
        out = replay(program, r)
        if ob is not None and ob.answer == "sat":
            side = _by_cvc5(cvc5, ob, timeout_ms)
            if out["status"] == "unsupported":
                # A finding that is a state alone: the interpreter has no request to judge, so the second
                # solver's `sat` on the same obligation is the re-check (a model exists; Z3's is not trusted).
                out = {**side, "replay": out}
            else:
                out["solver_check"] = side
                if out["status"] == "agrees" and side["status"] == "disagrees":
                    out["status"] = "disagrees"
                    out["reason"] = f"{side['solver']} finds the obligation {side['answer']}, not sat"
    elif ob is not None and ob.answer == "unsat":
        out = _by_cvc5(cvc5, ob, timeout_ms)
    else:
        out = {"solver": cvc5_name(cvc5), "status": "unsupported",
               "reason": "the result came with no SMT-LIB2 obligation and no finding to replay"}
    return out, time.perf_counter() - start
