"""Times as integers: microseconds since the epoch, UTC (what every back end uses).

DUIS's xs:dateTime allows fractions of a second, so a time keeps them, to the
microsecond; a seventh fraction digit is refused rather than rounded away.
The generated validator's runtime (codegen/runtime.py) is a port of this.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# ASCII digits only (`\d` would take any Unicode digit), the whole string (`$` would allow a final newline).
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")
MAX_FRACTION_DIGITS = 6
SECOND = 1_000_000  # microseconds
_EPOCH, _MICROSECOND = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)
# The times parse_iso can give (years 1 to 9999): a back end that can hold others (DuckDB: year 0, Parquet
# TIMESTAMPs far beyond 9999) bounds its times to these, so no engine reads a time the interpreter cannot.
EARLIEST = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // _MICROSECOND
LATEST = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - _EPOCH) // _MICROSECOND


def parse_iso(text: str) -> int:
    """`2026-03-01T12:00:00Z` or `2026-03-01T12:00:00.25Z` as microseconds; ValueError for anything else."""
    if TIME_RE.fullmatch(text) is None:
        raise ValueError(f"not an ISO 8601 UTC time: {text!r}")
    head, _, frac = text[:-1].partition(".")
    if len(frac) > MAX_FRACTION_DIGITS:
        raise ValueError(f"more than {MAX_FRACTION_DIGITS} digits after the decimal point (times are kept to the microsecond)")
    when = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return (when - _EPOCH) // _MICROSECOND + int(frac.ljust(MAX_FRACTION_DIGITS, "0"))


def format_iso(t: int) -> str:
    """The inverse of `parse_iso`: whole seconds as `...:00Z`, a fraction with its trailing zeros left off."""
    when = _EPOCH + t * _MICROSECOND
    frac = f"{when.microsecond:06d}".rstrip("0")
    # the year zero-padded by hand: strftime's %Y gives `1`, not `0001`, on some platforms
    return f"{when.year:04d}" + when.strftime("-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"
