"""The solver/interpreter cross-check of a one-step finding, keyed by value.

Every verdict the solver's model gives on a (rule set, state, request) the property body judged must
be matched by the interpreter's verdict on the decoded records of the same binders. A judgement with
no replayed verdict is an error, never a skip: a finding whose model was not replayed is not shown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from redline.props.results import ReplayError


@dataclass(frozen=True, order=True)
class Judged:
    """Which rule set (by its place in the property's list) judged which request in which state, by binder names."""
    which: int
    state: str
    request: str


@dataclass(frozen=True)
class Said:
    """A verdict, as either side gives it: whether it accepts, and the first check that rejects."""
    accepted: bool
    failed: str | None


def cross_check(solver: Mapping[Judged, Said], interpreter: Mapping[Judged, Said], rulesets: Sequence[str]) -> None:
    """Raise ReplayError unless every solver verdict has an equal interpreter verdict."""
    for key, said in sorted(solver.items()):
        where = f"`{key.request}` in `{key.state}` under {rulesets[key.which]}"
        got = interpreter.get(key)
        if got is None:
            raise ReplayError(f"the solver judged {where}, but the interpreter never replayed it")
        if said != got:
            raise ReplayError(f"the solver's verdict on {where} ({_text(said)}) differs from the interpreter's ({_text(got)})")


def _text(s: Said) -> str:
    return ("accept" if s.accepted else "reject") + (f" {s.failed}" if s.failed else "")


__all__ = ["Judged", "Said", "cross_check"]
