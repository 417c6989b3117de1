"""The exit codes every redline command ends with: one definition (docs/exit-codes.md)."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0  # it ran and the answer is the good one
    FAIL = 1  # it ran and the answer is a failing one: a finding, not an error
    USAGE = 2  # bad input or usage: nothing was decided
    UNKNOWN = 3  # the solver could not settle something: no full answer either way
    INTERNAL = 70  # a bug in redline
    INTERRUPTED = 130  # Ctrl-C: the shell's convention (128 + SIGINT), not a redline answer
