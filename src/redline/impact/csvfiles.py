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


_ENDINGS = {b"\r\n": "CRLF", b"\n": "LF", b"\r": "CR"}


def mixed_line_ending(path: Path, chunk: int = 1 << 20) -> str | None:
    """Where the file's lines stop ending as its header line does, in words, or None. DuckDB fixes a CSV
    file's line ending from its first line, and a later line ending otherwise is "the CSV Parser state
    machine reached an invalid state", with no line: this finds the line (read only when that happened)."""
    with path.open("rb") as f:
        data, line, first = b"", 1, None
        while True:
            more = f.read(chunk)
            data += more
            i = 0
            while True:
                j = min((k for k in (data.find(b"\r", i), data.find(b"\n", i)) if k >= 0), default=-1)
                if j < 0 or (data[j:j + 1] == b"\r" and j + 1 == len(data) and more):
                    break  # no line end left in this chunk, or a CR whose LF may be in the next
                end = b"\r\n" if data[j:j + 2] == b"\r\n" else data[j:j + 1]
                if first is None:
                    first = end
                elif end != first:
                    return f"line {line} ends in {_ENDINGS[end]}, and the header line in {_ENDINGS[first]}: " \
                           "give every line the same ending"
                line, i = line + 1, j + len(end)
            data = data[i:]
            if not more:
                return None
