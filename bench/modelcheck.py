#!/usr/bin/env python3
"""Benchmark: the model checker.

Prints the bounded search's time against depth k = 1..8 for `stuck_forever`
under baseline (no run breaks it, so every depth is searched in full: the
worst case), the unbounded proof's time, and the time of each shipped
temporal result and of the whole suite (median of 3 runs each).
Target: the shipped suite under 30 s.
"""

from __future__ import annotations

import statistics
import sys
import time

from redline.check.propir import RunProp
from redline.loading import load_program, repo_rules
from redline.props import prove
from redline.smt import Sorts
from redline.smt.temporal import bmc, induction

RUNS = 3
TIMEOUT_MS, RLIMIT, SEED = 60_000, 200_000_000, 0


def median_time(work) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    rules = repo_rules()
    program, diags = load_program(rules, [rules.parent / "proofs" / "temporal.redline"])
    if program is None:
        print("the rules do not check", file=sys.stderr)
        return 1
    prop = next(p for p in program.properties if p.name == "stuck_forever")
    shape = prop.body
    assert isinstance(shape, RunProp)
    baseline = program.rulesets["baseline"]
    sorts = Sorts(program, sorted(baseline.catalogue))
    print("bounded model checking, stuck_forever under baseline (no run breaks it: every depth searched in full)")
    print(f"{'depth':>6} {'median s':>9}")
    for k in range(1, 9):
        found = bmc(sorts, program, baseline, shape, k, TIMEOUT_MS, RLIMIT, SEED)
        assert found.run is None and found.depth_reached == k, found.reason
        t = median_time(lambda k=k: bmc(sorts, program, baseline, shape, k, TIMEOUT_MS, RLIMIT, SEED))
        print(f"{k:>6} {t:>9.2f}")
    proof = induction(sorts, program, baseline, shape, TIMEOUT_MS, RLIMIT, SEED)
    t = median_time(lambda: induction(sorts, program, baseline, shape, TIMEOUT_MS, RLIMIT, SEED))
    print(f"unbounded proof ({proof.status}, {proof.method}: {' and '.join(proof.invariant)}): {t:.2f} s, "
          f"{proof.solver_calls} solver calls")
    print()
    print("the shipped temporal properties (proofs/temporal.redline), median of 3")
    suites = []
    per: dict[tuple[str, str], list[float]] = {}
    for _ in range(RUNS):
        start = time.perf_counter()
        results = prove(program, None, TIMEOUT_MS, RLIMIT, SEED)
        suites.append(time.perf_counter() - start)
        for r in results:
            per.setdefault((r.property, r.ruleset), []).append(r.seconds)
            assert r.matches(), (r.property, r.ruleset, r.status)
    for (name, rs), ts in per.items():
        print(f"  {name} [{rs}]: {statistics.median(ts):.2f} s")
    suite = statistics.median(suites)
    print(f"suite: {suite:.2f} s (target under 30 s: {'met' if suite < 30 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
