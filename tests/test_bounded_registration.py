"""The bounded Registration Data encoding (used for every counterexample and
witness) covers a closed range exactly when the interpreter says it does."""

from __future__ import annotations

from dataclasses import dataclass

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from redline.interp.compile import covers
from redline.smt.symbolic import Sorts, bounded_state
from test_properties import PROGRAM

SORTS = Sorts(PROGRAM, ["6.15.1"])
ROLE = SORTS.member("UserRole", "ED")


@dataclass(frozen=True)
class A:
    party: str
    start: int
    end: int | None


assignment = st.builds(
    lambda p, s, length: A(p, s, None if length is None else s + length),
    st.sampled_from(["p", "q"]), st.integers(0, 20), st.one_of(st.none(), st.integers(1, 10)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(assignment, max_size=2), st.integers(0, 30), st.integers(0, 10))
def test_bounded_covers_matches_the_interpreter(assignments: list[A], lo: int, width: int) -> None:
    hi = lo + width
    state = bounded_state(SORTS, "b", 2)
    ids = {"p": 1, "q": 2}
    pins = []
    rows = state.assignments or []
    for i, row in enumerate(rows):
        if i < len(assignments):
            a = assignments[i]
            pins += [row.used, row.party == ids[a.party], row.role == ROLE, row.mpxn == 7, row.start == a.start,
                     row.open_ended == (a.end is None)]
            if a.end is not None:
                pins.append(row.end == a.end)
        else:
            pins.append(z3.Not(row.used))
    assert state.covers is not None
    term = state.covers(z3.IntVal(1, ctx=SORTS.ctx), ROLE, z3.IntVal(7, ctx=SORTS.ctx), z3.IntVal(lo, ctx=SORTS.ctx), z3.IntVal(hi, ctx=SORTS.ctx))
    solver = z3.Solver(ctx=SORTS.ctx)
    solver.add(pins)
    assert solver.check() == z3.sat
    got = z3.is_true(solver.model().eval(term, model_completion=True))
    ordered = sorted(assignments, key=lambda a: a.start)
    assert got == covers(ordered, "p", lo, hi), (assignments, lo, hi)
