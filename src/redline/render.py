"""Render diagnostics as `path:line:col: error[code]: message` plus a caret."""

from __future__ import annotations

from collections.abc import Sequence

from redline.diagnostics import Diagnostic
from redline.jsondoc import JsonObject


def location(d: Diagnostic) -> tuple[str, int, int]:
    src = d.span.source
    if src is None:
        return "<input>", 0, 0
    line, col = src.line_col(d.span.start)
    return src.path, line, col


def render_text(d: Diagnostic) -> str:
    path, line, col = location(d)
    head = f"{path}:{line}:{col}: {d.severity.value}[{d.code}]: {d.message}"
    src = d.span.source
    lines = [head]
    if src is not None and line > 0:
        text = src.line_text(line)
        end_line, end_col = src.line_col(max(d.span.start, d.span.end - 1))
        width = (end_col - col + 1) if end_line == line and d.span.end > d.span.start else 1
        width = max(1, min(width, len(text) - col + 1 if len(text) >= col else 1))
        gutter = f"{line:>4} | "
        lines.append(gutter + text)
        # Keep the source's tabs in the padding so the carets line up however tabs are shown.
        pad = "".join(ch if ch == "\t" else " " for ch in text[: col - 1])
        lines.append(" " * (len(gutter) - 2) + "| " + pad + "^" * width)
    lines.extend(f"     = note: {n}" for n in d.notes)
    return "\n".join(lines)


def render_all_text(diags: Sequence[Diagnostic], all_warnings: bool = False) -> list[str]:
    """Every error in full; warnings of one code in one file, when there are several, as one line
    (the shipped catalogue's deliberate gaps should not bury what a reviewer just wrote)."""
    groups: dict[tuple[str, str], list[Diagnostic]] = {}
    for d in diags:
        if not d.is_error:
            groups.setdefault((location(d)[0], d.code), []).append(d)
    out: list[str] = []
    told: set[tuple[str, str]] = set()
    for d in diags:
        key = (location(d)[0], d.code)
        alike = groups.get(key, [])
        if d.is_error or all_warnings or len(alike) < 2:
            out.append(render_text(d))
        elif key not in told:
            told.add(key)
            lines = ", ".join(str(location(x)[1]) for x in alike)
            out.append(f"{key[0]}: {len(alike)} warnings[{d.code}] at lines {lines}; the first: {d.message} "
                       "(--all-warnings shows each)")
    return out


def render_json(d: Diagnostic) -> JsonObject:
    path, line, col = location(d)
    return {
        "path": path,
        "line": line,
        "column": col,
        "severity": d.severity.value,
        "code": d.code,
        "message": d.message,
    }
