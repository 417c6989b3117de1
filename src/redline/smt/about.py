"""Which solver the SMT back end runs: named in evidence, so a reader knows what decided a result."""

from __future__ import annotations

import z3


def solver_version() -> str:
    """The solver and its version, e.g. `Z3 4.13.0`."""
    return f"Z3 {z3.get_version_string()}"
