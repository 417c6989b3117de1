#!/usr/bin/env python3
"""Benchmark: `redline diff baseline mp107` with the full catalogue.

Prints the median of 5 runs, the number of solver calls, and the classes
and regions found. Target: under 5 s.
"""

from __future__ import annotations

import statistics
import sys
import time

from redline.cli import load_program, repo_rules
from redline.props.diff import diff


def main() -> int:
    program, diags = load_program(repo_rules(), [])
    assert program is not None, diags
    times, result = [], None
    for _ in range(5):
        start = time.perf_counter()
        result = diff(program, program.rulesets["baseline"], program.rulesets["mp107"], 10_000, 0)
        times.append(time.perf_counter() - start)
    assert result is not None
    t = statistics.median(times)
    print(f"redline diff baseline mp107 ({len(program.rulesets['baseline'].catalogue)} SRVs): median of 5 {t:.2f} s "
          f"(target under 5 s: {'ok' if t < 5 else 'MISSED'}); {result['solver_calls']} solver calls; "
          f"{result['count']} classes in {len(result['changes'])} regions; complete: {result['complete']}")
    return 0 if t < 5 and result["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
