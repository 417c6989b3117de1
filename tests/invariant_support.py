"""Generated Registration Data kept to the declared invariants (rules/invariants.redline): a
generator drops an assignment that would register a second party in a role at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redline.times import parse_iso


def one_at_a_time(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`items` (one MPxN's assignments) in order, without those that overlap an earlier kept one
    of another party in the same role."""
    def span(a: dict[str, Any]) -> tuple[int, float]:
        return parse_iso(a["from"]), parse_iso(a["to"]) if a.get("to") is not None else float("inf")

    kept: list[dict[str, Any]] = []
    for a in items:
        lo, hi = span(a)
        if not any(b["role"] == a["role"] and b["party"].upper() != a["party"].upper()
                   and lo < span(b)[1] and span(b)[0] < hi for b in kept):
            kept.append(a)
    return kept
