"""Times as integers: seconds since the epoch, UTC (what every back end uses)."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_iso(text: str) -> int:
    """`2026-03-01T12:00:00Z` as seconds; ValueError for anything else (fractions of a second are dropped)."""
    head, dot, frac = text.removesuffix("Z").partition(".")
    if not text.endswith("Z") or (dot and not frac.isdigit()):
        raise ValueError(f"not an ISO 8601 UTC time: {text!r}")
    return int(datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())


def format_iso(t: int) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
