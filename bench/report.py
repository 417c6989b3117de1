#!/usr/bin/env python3
"""Benchmark: building the whole MP107 evidence bundle, re-checks included (target: under 30 s).

Prints the median of 3 builds (in memory, as `redline report` builds it before writing), and the
share of the last build spent proving, re-checking and diffing.
"""

from __future__ import annotations

import statistics
import sys
import time

from redline.loading import load_program, repo_rules
from redline.report import RuleFile, Settings, build_bundle, load_cvc5

RUNS = 3


def main() -> int:
    program, diags = load_program(repo_rules(), [repo_rules().parent / "proofs"])
    assert program is not None, diags
    files = [RuleFile(p.name, p.read_bytes()) for p in sorted(repo_rules().rglob("*.redline"))]
    cvc5 = load_cvc5()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        b = build_bundle(program, files, Settings(), cvc5=cvc5)
        times.append(time.perf_counter() - start)
    t = b.evidence.timings
    prove = sum(x["prove"] for x in t["results"].values())
    recheck = sum(x["recheck"] for x in t["results"].values())
    n = b.evidence.counts()
    median = statistics.median(times)
    print(f"redline report benchmark: median of {RUNS} builds {median:.2f} s (target under 30 s); "
          f"{n['results']} results, {n['rechecked']} re-checks agree")
    print(f"  last build: proofs {prove:.2f} s, re-checks {recheck:.2f} s, diff {t['diff']:.2f} s, total {t['total']:.2f} s")
    return 0 if median < 30 and n["rechecked"] == n["results"] else 1


if __name__ == "__main__":
    sys.exit(main())
