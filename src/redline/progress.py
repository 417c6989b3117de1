"""Progress on stderr for commands that can take a while (`prove`, `diff`, `report`).

The work says what it is doing with `note(...)`, wherever it is, without being handed a
callback; a `Ticker` around the command shows the latest note with the time elapsed, once
the command has run longer than `AFTER` seconds, and only on a terminal (never in a pipe,
a log or a test's captured output). `REDLINE_PROGRESS=1` shows it anyway and
`REDLINE_PROGRESS=0` never; `REDLINE_PROGRESS_AFTER=S` changes the delay.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

AFTER = 2.0  # seconds: a command quicker than this shows nothing
EVERY = 0.5  # seconds between refreshes

_now = ""  # the latest note: one string assignment, so the ticker thread reads it without a lock


def note(text: str) -> None:
    """Say what the work is doing now (shown by a running Ticker, if any)."""
    global _now
    _now = text


def enabled(stream: TextIO) -> bool:
    forced = os.environ.get("REDLINE_PROGRESS")
    if forced is not None:
        return forced not in ("", "0")
    return stream.isatty()


class Ticker:
    """`with Ticker("prove"):` shows `prove: 12 s: <latest note>` on one line of stderr, refreshed,
    and clears it at the end, so the command's own output is never interleaved with it."""

    def __init__(self, command: str, stream: TextIO | None = None) -> None:
        self.command = command
        self.stream = stream or sys.stderr
        self.after = float(os.environ.get("REDLINE_PROGRESS_AFTER", AFTER))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = False
        self._tty = self.stream.isatty()  # a terminal gets one line redrawn; a forced log, plain lines

    def __enter__(self) -> Ticker:
        note("")
        if enabled(self.stream):
            self._thread = threading.Thread(target=self._run, name="redline-progress", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        start = time.monotonic()
        if self._stop.wait(self.after):
            return
        while not self._stop.is_set():
            line = f"{self.command}: {time.monotonic() - start:.0f} s" + (f": {_now}" if _now else "")
            self.stream.write(("\r\x1b[K" + line[:160]) if self._tty else line + "\n")
            self.stream.flush()
            self._shown = True
            self._stop.wait(EVERY)

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._shown and self._tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
