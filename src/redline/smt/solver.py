"""The one place a Z3 solver is made, so every query redline asks runs under the user's budget.

`--timeout` bounds the wall clock, `--rlimit` Z3's resource count (reproducible
across machines, unlike a timeout), `--seed` its random choices. A query that
runs out of either answers `unknown`: callers report that as unknown, never as
settled and never as an internal error.
"""

from __future__ import annotations

import z3

DEFAULT_RLIMIT = 20_000_000  # `--rlimit`'s default: far above what the shipped rules need, far below a hang


def new_solver(ctx: z3.Context, timeout_ms: int, rlimit: int, seed: int) -> z3.Solver:
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", timeout_ms)
    solver.set("rlimit", rlimit)
    solver.set("random_seed", seed)
    return solver


__all__ = ["DEFAULT_RLIMIT", "new_solver"]
