"""Times as integers: seconds since the epoch, UTC (what every back end uses)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_iso(t: int) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
