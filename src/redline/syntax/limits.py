"""Bounds on what a rule file may hold, checked on the parse tree before anything walks it.

Every pass after parsing (the tree transformer, the checker, the encoders,
the printer, codegen) recurses over expressions, so nesting is bounded here,
with a diagnostic at the place it is exceeded, rather than left to Python's
recursion limit. String literals are bounded because a rule file's checking
costs far more memory than its text: no cite needs more than a paragraph.
"""

from __future__ import annotations

import lark
from lark import Token

from redline.diagnostics import Diagnostic, nesting_too_deep, string_too_long
from redline.source import Source, Span

MAX_NESTING = 100  # levels of the parse tree; the shipped rules use at most 20
MAX_STRING = 4096  # characters in one string literal, quotes included


def check_limits(source: Source, tree: lark.Tree[Token]) -> Diagnostic | None:
    """The first bound `tree` exceeds, in the order a depth-first walk meets it; None if within bounds."""
    stack: list[tuple[lark.Tree[Token] | Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, Token):
            if node.type == "STRING" and len(node) > MAX_STRING and node.start_pos is not None:
                return string_too_long(Span(source, node.start_pos, node.start_pos + 1), len(node), MAX_STRING)
            continue
        if depth > MAX_NESTING:
            return nesting_too_deep(_first_token(source, node), MAX_NESTING)
        stack.extend((c, depth + 1) for c in reversed(node.children) if c is not None)
    return None


def _first_token(source: Source, tree: lark.Tree[Token]) -> Span:
    """The span of the first token under `tree` (a walk, not recursion: what lies below may be deep)."""
    stack: list[lark.Tree[Token] | Token] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Token):
            if node.start_pos is not None and node.end_pos is not None:
                return Span(source, node.start_pos, node.end_pos)
            continue
        stack.extend(c for c in reversed(node.children) if c is not None)
    start = tree.meta.start_pos if not tree.meta.empty else 0
    return Span(source, start, start + 1)
