"""Source text and spans.

A `Span` is a pair of character offsets into one `Source`; line and column
are computed only when a diagnostic is rendered, so passes never carry them.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_LINE_END = re.compile(r"\n|\r(?!\n)")


@dataclass(frozen=True, slots=True)
class Source:
    path: str
    text: str
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Lines end at \n, \r\n or a lone \r, as editors (and LSP) count them: the grammar takes a lone \r
        for white space, so a file with old Mac line endings checks, and its diagnostics must point into it."""
        starts = [0] + [m.end() for m in _LINE_END.finditer(self.text)]
        object.__setattr__(self, "_line_starts", tuple(starts))

    def __repr__(self) -> str:
        return f"Source({self.path!r})"

    def line_starts(self) -> tuple[int, ...]:
        return self._line_starts

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        end = self._line_starts[line] if line < len(self._line_starts) else len(self.text)
        text = self.text[start:end]
        return text.removesuffix("\n").removesuffix("\r")


@dataclass(frozen=True, slots=True)
class Span:
    source: Source | None
    start: int
    end: int

    @staticmethod
    def none() -> Span:
        return Span(None, 0, 0)


NO_SPAN = Span.none()
