"""From source texts to a checked program: parse every file, then check.

Syntax errors of every file are reported together; checking runs only when
all files parse (a later stage would only echo them).
"""

from __future__ import annotations

from collections.abc import Sequence

from redline.check import check
from redline.check.checked import Program
from redline.diagnostics import Diagnostic
from redline.source import Source
from redline.syntax import parse


def build(sources: Sequence[Source]) -> tuple[Program | None, list[Diagnostic]]:
    modules = []
    diagnostics: list[Diagnostic] = []
    for src in sources:
        module, diags = parse(src)
        modules.append(module)
        diagnostics.extend(diags)
    if any(d.is_error for d in diagnostics):
        return None, diagnostics
    program, diags = check(modules)
    return program, diagnostics + diags
