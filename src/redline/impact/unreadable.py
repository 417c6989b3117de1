"""A fleet file DuckDB cannot read, said in one line: which file, where, and why.

DuckDB reads a CSV file lazily: its sniffer looks at the first rows only
(20,480), so a row further on that is ragged, not UTF-8 or longer than a line
may be is found while the rows are checked, not when the file is opened. Its
message runs to dozens of lines and quotes the offending line whole (which
may be megabytes); this keeps the first line and the reason.
"""

from __future__ import annotations

import re

import duckdb

_REASONS = re.compile(r"(Expected Number of Columns.*|Invalid unicode.*|Maximum line size.*|Value with unterminated quote.*"
                      r"|It was not possible to automatically detect.*)")
_FILE = re.compile(r"^\s*file = (.*)$", re.MULTILINE)
MAX_SHOWN = 300


def reason(e: duckdb.Error) -> str:
    """`CSV Error on Line: 30006: Expected Number of Columns: 2 Found: 3`, from DuckDB's message."""
    lines = str(e).splitlines() or [type(e).__name__]
    head = lines[0].removeprefix("Invalid Input Error: ").removeprefix("IO Error: ")
    why = next((m[1] for line in lines[1:] if (m := _REASONS.match(line.strip()))), None)
    return (head if why is None else f"{head.rstrip('.')}: {why}")[:MAX_SHOWN]


def named_file(e: duckdb.Error, files: dict[str, str]) -> str | None:
    """The table whose file (path -> table in `files`) the message names, if any."""
    text = str(e)
    m = _FILE.search(text)
    if m is not None and m[1].strip() in files:
        return files[m[1].strip()]
    return next((table for path, table in files.items() if f'"{path}"' in text or f"'{path}'" in text), None)
