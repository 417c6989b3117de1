"""The generic properties the property language cannot say, decided here and reported as results.

`no_check_made_dead` (proofs/generic.redline names it and gives its claim) compares the liveness of
every check under a modification's base with its liveness under the modification: a check that can
reject some request under the base but none under the modification has been made dead. Its
counterexample is the base's liveness witness, replayed through the interpreter under both; its proof
is a witness for each such check (a request it rejects under the modification), each replayed: the
bundle re-checks every one (`cases`).
"""

from __future__ import annotations

import time
from dataclasses import replace

from redline.check import checked as ir
from redline.interp import InputError, Validator, load_request, load_state
from redline.props.liveness import LivenessReport, RuleRow, liveness
from redline.props.prover import replayed
from redline.props.results import Case, Found, ProofResult, Replayed, ReplayError, VerdictKey
from redline.smt.diff import Witness

NO_CHECK_MADE_DEAD = "no_check_made_dead"
NO_CHECK_MADE_DEAD_CLAIM = ("every check that can reject some request under the base can still reject one "
                            "under the modification (redline liveness, of both)")


def selection_problem(program: ir.Program, bound: bool, prop: str | None) -> str | None:
    """Why `prove` cannot prove what it is asked (`prop`, or all), or None. `bound`: the generic
    properties have been bound to a modification (`--modification`)."""
    generic = [p.name for p in program.generic]
    if not bound and prop in (*generic, NO_CHECK_MADE_DEAD):
        return (f"`{prop}` is a generic property (over `base` and `modification`): "
                "give the modification it is about, --modification NAME")
    if prop and all(p.name != prop for p in program.properties) and prop != NO_CHECK_MADE_DEAD:
        return f"unknown property `{prop}`; the properties are {', '.join(p.name for p in program.properties)}"
    if not program.properties:
        return ("no properties to prove (give the files that hold them)" if not generic else
                "only generic properties to prove: give the modification they are about, --modification NAME")
    return None


def _judged(program: ir.Program, rs: ir.RuleSet, w: Witness) -> Replayed:
    try:
        state = load_state(w.state, program)
        return replayed(Validator(rs).validate(state, load_request(w.request, state, program, rs)))
    except InputError as e:
        raise ReplayError(f"a liveness witness is not valid input under {rs.name}: {e}") from None


def _witness(row: RuleRow) -> Witness:
    if row.witness is None:
        raise ReplayError(f"check `{row.check}` is {row.status} but has no liveness witness")
    return row.witness


def no_check_made_dead(program: ir.Program, modification: ir.RuleSet, timeout_ms: int, rlimit: int, seed: int,
                       found: dict[str, LivenessReport] | None = None) -> ProofResult:
    """The result of `no_check_made_dead` for `modification` against its base. `found` holds liveness
    reports already computed (by rule set), so a bundle runs liveness once."""
    assert modification.base is not None  # the caller looked it up as a modification
    base = program.rulesets[modification.base]
    start = time.perf_counter()
    runs = dict(found or {})
    for rs in (base, modification):
        if rs.name not in runs:
            runs[rs.name] = liveness(program, rs, timeout_ms, seed, rlimit)

    def checks(rs: ir.RuleSet) -> dict[str, RuleRow]:
        return {e.check: e for e in runs[rs.name].rules if e.exception is None}
    before, after = checks(base), checks(modification)
    live_before = [name for name, e in before.items() if e.status == "live"]
    # A live check the modification removes (`remove check`) can reject nothing under it: made dead as
    # surely as one whose `applies` never holds (it was skipped, so removing the S1SP's certificate
    # owner check was "proved"). A check moved under another name is a removal too: the claim is by name.
    removed = [n for n in live_before if n not in after]
    dead = [n for n in live_before if n in after and after[n].status == "dead"] + removed
    unsettled = [n for n in live_before if n in after and after[n].status == "unknown"]
    # A check whose base liveness was not settled may have been live: unless it is still live, the
    # claim about it is not settled either (it was left out, so an unknown could read as proved).
    unsettled += [n for n, e in before.items() if e.status == "unknown" and (n not in after or after[n].status != "live")]
    result = ProofResult(NO_CHECK_MADE_DEAD, (base.name, modification.name), "proved", "proved", 0.0,
                         tuple(before[n].clause for n in live_before), (), proof="liveness",
                         settled_by="unbounded", claim=NO_CHECK_MADE_DEAD_CLAIM)
    if dead:
        name = dead[0]
        w = _witness(before[name])
        verdicts = {VerdictKey("r", base.name): _judged(program, base, w),
                    VerdictKey("r", modification.name): _judged(program, modification, w)}
        if verdicts[VerdictKey("r", modification.name)].check == name:  # proved dead, yet it rejects: a bug, never a finding
            raise ReplayError(f"check `{name}` is dead under {modification.name}, yet rejects its base witness")
        result = replace(result, status="refuted", settled_by=None,
                         reason="made dead: " + ", ".join(f"`{n}` ({before[n].clause})" + (" (removed)" if n in removed else "")
                                                          for n in dead),
                         clauses=tuple(before[n].clause for n in dead),
                         counterexample=Found(w.state, w.request, (), {}, {}, verdicts))
    elif not unsettled and live_before:
        # The proof is a witness per check: a request the check rejects under the modification, replayed.
        cases = []
        for n in live_before:
            if n not in after:
                continue
            w = _witness(after[n])
            v = _judged(program, modification, w)
            if v.check != n:
                raise ReplayError(f"the liveness witness of `{n}` under {modification.name} is not rejected by it")
            cases.append(Case(n, w.state, w.request, {VerdictKey("r", modification.name): v}))
        if cases:
            first, *rest = cases
            result = replace(result, witness=Found(first.state, first.request, (), {}, {}, first.verdicts, tuple(rest)))
    elif unsettled:
        result = replace(result, status="unknown", settled_by=None,
                         reason="the liveness of " + ", ".join(
                             f"`{n}` under {base.name if before[n].status == 'unknown' else modification.name}" for n in unsettled)
                         + " was not settled")
    return replace(result, seconds=time.perf_counter() - start)
