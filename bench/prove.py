#!/usr/bin/env python3
"""Benchmark: `redline prove` on the shipped properties, and how it grows.

Prints each result's time (median of 5), the suite's total, the suite's
time with the catalogue cut to 25%, 50% and 100% of its SRVs (6.15.1 and
6.23 always kept, since the properties name them), and with every check
repeated so that there are 2x and 4x as many. Targets: the suite under
10 s, no property over 2 s.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from redline.check.checked import Program
from redline.loading import load_program, repo_rules
from redline.props import prove

RUNS = 5


def cut_catalogue(program: Program, fraction: float) -> Program:
    rng = random.Random(20260301)
    srvs = sorted(next(iter(program.rulesets.values())).catalogue)
    keep = {"6.15.1", "6.23"} | set(rng.sample(srvs, max(2, int(len(srvs) * fraction))))
    rulesets = {k: replace(rs, catalogue={s: row for s, row in rs.catalogue.items() if s in keep}) for k, rs in program.rulesets.items()}
    return replace(program, rulesets=rulesets)


def more_checks(program: Program, copies: int) -> Program:
    """Each rule set with every check repeated `copies` more times (renamed): the same
    meaning, more for the solver to read; how proof time grows with the checks."""
    rulesets = {}
    for k, rs in program.rulesets.items():
        checks = []
        for c in rs.checks:
            checks.append(c)
            checks += [replace(c, name=f"{c.name}_copy{i}") for i in range(copies)]
        rulesets[k] = replace(rs, checks=tuple(checks))
    return replace(program, rulesets=rulesets)


def suite_seconds(program: Program) -> tuple[float, dict[str, list[float]], bool]:
    per: dict[str, list[float]] = {}
    totals, ok = [], True
    for _ in range(RUNS):
        start = time.perf_counter()
        for r in prove(program, None, 10_000, 20_000_000, 0):
            per.setdefault(f"{r.property} [{r.ruleset}]", []).append(r.seconds)
            ok = ok and r.matches()
        totals.append(time.perf_counter() - start)
    return statistics.median(totals), per, ok


def main() -> int:
    program, diags = load_program(repo_rules(), [Path(repo_rules()).parent / "proofs"])
    assert program is not None, diags
    total, per, ok = suite_seconds(program)
    print(f"redline prove benchmark: {len(per)} results, median of {RUNS} runs")
    for name, times in per.items():
        print(f"  {name:<50} {statistics.median(times):6.3f} s")
    worst = max(statistics.median(t) for t in per.values())
    print(f"  suite {total:.2f} s (target under 10 s); slowest result {worst:.2f} s (target under 2 s); all as expected: {ok}")
    print("growth with the catalogue:")
    for fraction in (0.25, 0.5, 1.0):
        t, _, ok_cut = suite_seconds(cut_catalogue(program, fraction))
        print(f"  {int(fraction * 100):>3}% of SRVs: suite {t:.2f} s; as expected: {ok_cut}")
    print("growth with the number of checks:")
    for copies in (0, 1, 3):
        grown = more_checks(program, copies)
        n = len(next(iter(grown.rulesets.values())).checks)
        t, _, ok_more = suite_seconds(grown)
        print(f"  {n:>3} checks per rule set: suite {t:.2f} s; as expected: {ok_more}")
    return 0 if ok and total < 10 and worst < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
