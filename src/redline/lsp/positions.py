"""Character offsets (what spans hold) to and from LSP positions (lines, and UTF-16 code units within a line)."""

from __future__ import annotations

from lsprotocol import types as lsp

from redline.source import Source, Span


def position(source: Source, offset: int) -> lsp.Position:
    line, col = source.line_col(offset)
    before = source.line_text(line)[: col - 1]
    return lsp.Position(line=line - 1, character=len(before.encode("utf-16-le")) // 2)


def span_range(span: Span) -> lsp.Range:
    assert span.source is not None
    return lsp.Range(start=position(span.source, span.start), end=position(span.source, max(span.start, span.end)))


def offset(text: str, pos: lsp.Position) -> int:
    """The character offset of an LSP position in `text`, clamped to the text."""
    source = Source("", text)  # lines as editors count them: ending at \n, \r\n or a lone \r
    starts = source.line_starts()
    if pos.line >= len(starts):
        return len(text)
    start = starts[pos.line]
    units, i, line = 0, 0, source.line_text(pos.line + 1)
    while i < len(line) and units < pos.character:
        units += 2 if ord(line[i]) > 0xFFFF else 1
        i += 1
    return start + i
