#!/usr/bin/env python3
"""Benchmark: `redline diff` of MP107 and of a tightening change (tests/modifications/tighten.redline:
ED no longer eligible for 6.15.1) against baseline, with the full catalogue and default settings.

Prints, for each, the median of 5 runs in wall-clock and CPU time (Z3 runs in this process, so CPU
time is what the diff costs on a machine shared with other jobs), solver calls, request shapes and
regions, and whether the answer is complete. Target: complete, under 5 s each.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from redline.loading import load_program, repo_rules
from redline.props.diff import diff

TIGHTEN = Path(__file__).resolve().parents[1] / "tests" / "modifications" / "tighten.redline"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules"
        shutil.copytree(repo_rules(), rules)
        shutil.copy(TIGHTEN, rules / TIGHTEN.name)
        program, diags = load_program(rules, [])
    assert program is not None, diags
    ok = True
    for new in ("mp107", "tighten"):
        wall, cpu, result = [], [], None
        for _ in range(5):
            w, c = time.perf_counter(), time.process_time()
            result = diff(program, program.rulesets["baseline"], program.rulesets[new], 10_000, 0)
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
        assert result is not None
        t, tc = statistics.median(wall), statistics.median(cpu)
        print(f"redline diff baseline {new} ({len(program.rulesets['baseline'].catalogue)} SRVs): median of 5 "
              f"{t:.2f} s wall, {tc:.2f} s CPU (target under 5 s: {'ok' if t < 5 else 'MISSED'}); "
              f"{result.solver_calls} solver calls; {result.count} request shapes in {len(result.changes)} regions; "
              f"complete: {result.complete}")
        ok = ok and t < 5 and result.complete
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
