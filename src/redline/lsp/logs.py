"""What the language server says on standard error: one line per problem, never a traceback.

pygls logs a message it cannot read (a body that is not JSON, params of the
wrong types, a JSON value that is not a JSON-RPC message) with the Python
traceback, through the `logging` module's last-resort handler; the server
goes on serving. `install()` gives pygls's logger a handler that writes each
record as one line, with the reason the message was refused.
"""

from __future__ import annotations

import logging
from typing import TextIO

from cattrs import transform_error
from cattrs.errors import ClassValidationError

# pygls logs a message that does not fit its params twice: first this, with the traceback as text, then
# "Unable to handle message" with the exception, which is the line kept.
_DUPLICATE = "Unable to deserialize message"


def reason(exc: BaseException) -> str:
    """Why a message was refused, in one line: the JSON paths of params of the wrong type, else the exception."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ClassValidationError):
            return "params of the wrong type: " + "; ".join(transform_error(e, path="$"))
        e = e.__cause__ or e.__context__
    text = str(exc).splitlines()
    return type(exc).__name__ + (f": {text[0]}" if text else "")


class OneLine(logging.Handler):
    def __init__(self, stream: TextIO) -> None:
        super().__init__(logging.WARNING)
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            lines = record.getMessage().splitlines() or [""]
            if lines[0] == _DUPLICATE:
                return
            line = f"redline lsp: {record.levelname.lower()}: {lines[0]}"
            if record.exc_info and record.exc_info[1] is not None:
                line += f": {reason(record.exc_info[1])}"
            self.stream.write(line[:2000] + "\n")
            self.stream.flush()
        except Exception:  # noqa: BLE001 - a log line must never end the server
            pass


def install(stream: TextIO) -> None:
    """pygls's records, and asyncio's (a check run after an edit that fails is "Task exception was never
    retrieved", with the traceback), one line each."""
    for name in ("pygls", "asyncio"):
        log = logging.getLogger(name)
        log.handlers[:] = [OneLine(stream)]
        log.propagate = False
