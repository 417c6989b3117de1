"""How a fleet table's CSV file is read: its header line here, its rows by DuckDB with that dialect fixed.

DuckDB's sniffer guesses a file's dialect from its first rows. A ragged row among them can make it guess
wrong (one column holding whole lines), so a bad row was reported as "missing columns" rather than by its
line. Here the header line alone decides the delimiter (the one of `DELIMITERS` that splits it into the
most names) and the column names; DuckDB then reads every row with exactly that many columns, and a row
with more or fewer is an error naming its line.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

DELIMITERS = (",", ";", "\t", "|")  # comma first: it wins a tie
MAX_HEADER_BYTES = 1 << 20


class HeaderError(Exception):
    """The file's header line cannot be read: the reason, in words."""


def header(path: Path) -> tuple[str, list[str]]:
    """(the delimiter, the column names) of the CSV file's first line."""
    try:
        with path.open("rb") as f:
            first = f.readline(MAX_HEADER_BYTES + 1)
    except OSError as e:
        raise HeaderError(e.strerror or type(e).__name__) from None
    # A line ends at LF, CRLF or a lone CR (as DuckDB reads the rows: a file saved with CR line endings
    # is one line to readline, and a CR inside the header's text was csv.Error, an internal error).
    end = min((i for i in (first.find(b"\r"), first.find(b"\n")) if i >= 0), default=None)
    if end is None and len(first) > MAX_HEADER_BYTES:
        raise HeaderError(f"its first line is longer than {MAX_HEADER_BYTES:,} bytes (no header?)")
    try:
        line = first[:end].decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise HeaderError(f"its header line is not UTF-8 (byte {e.start + 1})") from None
    if not line.strip():
        raise HeaderError("it is empty" if not first else "its first line is empty (a CSV file starts with its header)")
    delimiter = max(DELIMITERS, key=lambda d: len(next(csv.reader([line], delimiter=d))))
    names = [n.strip() for n in next(csv.reader([line], delimiter=delimiter))]
    if any(not n for n in names):
        raise HeaderError(f"its header has an empty column name: {line[:200]!r}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise HeaderError(f"its header names {', '.join(twice)} more than once")
    return delimiter, names


def reader(path: Path, quote: Callable[[str], str]) -> str:
    """The DuckDB table function reading every row of the file as text, with its header's dialect and names.
    `quote` makes a SQL string literal."""
    delimiter, names = header(path)
    columns = ", ".join(f"{quote(n)}: 'VARCHAR'" for n in names)
    return (f"read_csv({quote(str(path))}, header = true, auto_detect = false, delim = {quote(delimiter)},"
            f" quote = '\"', escape = '\"', columns = {{{columns}}})")
