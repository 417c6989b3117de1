"""Lay out rule-file text (`redline fmt`): the token stream re-spaced, every comment kept.

The formatter works on tokens, not on the AST, so it cannot change what a
file means: it re-emits the same tokens in the same order and only decides
the whitespace between them. Comments travel with the token they precede
(an own-line comment) or follow (a trailing one).

Layout, in the manner of gofmt:
- a declaration starts at column 0; its parts (a ruleset's checks, a check's
  clauses, a property's `expect` and `holds`, a scenario's lines, ...) each
  start their own line, two spaces deeper than what they belong to;
- inside an expression or a list the line breaks are the author's, the
  indentation is not: a continuation line is indented two spaces past its
  line's start, or just inside an open bracket (one column past it when
  something follows it on its line, two spaces past its line when not);
- one space between tokens, none inside `f(x)`, `a.b`, `x[i]`, `{A, B}`;
- a blank line is kept (one for many) before a part or next to a comment,
  dropped inside one; trailing comments on consecutive lines share a column.

`layout(parse_tree, text)` needs the tree of a file that parsed without
error; the parser module gives that tree (`parser.token_tree`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import lark

# Parts that start their own line, by the rule they belong to: child rules, then keyword tokens.
_PART_RULES = {
    "start": {"*"},
    "record_decl": {"field_decl"},
    "extend_decl": {"field_decl"},
    "catalogue_decl": {"row"},
    "ruleset_decl": {"check_decl", "effect_decl", "define_decl"},
    "check_decl": {"applies_clause", "except_clause", "requires_clause", "rests"},
    "effect_decl": {"rests"},
    "modification_decl": {"add_check", "add_effect", "add_define", "remove_check", "remove_effect",
                          "amend_check", "amend_row", "add_row", "intent"},
    "amend_check": {"applies_clause", "except_clause", "requires_clause"},
    "property_decl": {"expectation", "rests", "allowing"},
    "acknowledgement_decl": {"expectation"},
    "invariant_decl": {"rests"},
    "world_decl": {"now_item", "party_item", "device_item", "registered_item", "holds_item"},
    "scenario_decl": {"now_item", "party_item", "device_item", "registered_item", "holds_item", "request",
                      "expect_accept", "expect_reject"},
}
_PART_KEYWORDS = {
    "effect_decl": {"when", "set"},
    "intent": {"where"},
    "property_decl": {"holds"},
    "invariant_decl": {"holds"},
    "scenario_decl": {"in"},
}
# Braces written without inner spaces: sets of names. The others (enum, row) hold a space.
_TIGHT_BRACES = {"set_lit", "group_decl", "allowing"}
_OPEN, _CLOSE = {"(", "[", "{"}, {")", "]", "}"}
_COMMENT = re.compile(r"#[^\n]*")


@dataclass(frozen=True, slots=True)
class _Tok:
    tok: lark.Token
    rule: str  # the rule the token sits in
    part: int | None  # the indent of the line it must start, if it starts a part


def _tokens(tree: lark.Tree[lark.Token]) -> list[_Tok]:
    """The tree's tokens in order, each with its rule and, for the first token of a part, that part's indent."""
    out: list[_Tok] = []
    # (node, the rule it sits in, the indent of the part it belongs to, its own indent if it starts a part)
    stack: list[tuple[lark.Tree[lark.Token] | lark.Token, str, int, int | None]] = [(tree, "start", -2, None)]
    while stack:
        node, parent, indent, part = stack.pop()
        if isinstance(node, lark.Token):
            if part is None and node.value in _PART_KEYWORDS.get(parent, ()):
                part = indent + 2
            out.append(_Tok(node, parent, part))
            continue
        rule = str(node.data)
        own = part if part is not None else indent
        parts = _PART_RULES.get(rule, set())
        children = [c for c in node.children if c is not None]
        for i, child in reversed(list(enumerate(children))):
            starts = isinstance(child, lark.Tree) and ("*" in parts or str(child.data) in parts)
            # A part's first token takes the part's indent; only the node's first child inherits its own.
            inherited = part if i == 0 else None
            stack.append((child, rule, own, own + 2 if starts else inherited))
            if isinstance(child, lark.Token) and rule in ("record_decl", "extend_decl") and child.value == "}":
                stack[-1] = (child, rule, own, own)  # a record's closing brace has a line of its own
    return out


@dataclass(slots=True)
class _Line:
    indent: int
    code: str = ""
    comment: str | None = None  # a trailing comment

    def text(self) -> str:
        return " " * self.indent + self.code


@dataclass(slots=True)
class _Bracket:
    column: int  # where the bracket is
    line_indent: int  # the indent of the line it opened on
    block: bool = False  # nothing follows it on its line


@dataclass(slots=True)
class _Writer:
    lines: list[_Line] = field(default_factory=list)
    brackets: list[_Bracket] = field(default_factory=list)
    unit: int = 0  # the indent of the last part begun

    def newline(self, t: _Tok | None, blank: bool, comment: bool = False) -> _Line:
        """Start a line for `t` (None: the end of the file), or for a comment before it."""
        last = self.lines[-1] if self.lines else None
        if self.brackets and last is not None and last.code.endswith(("(", "[", "{")):
            self.brackets[-1].block = True  # nothing followed the bracket on its line
        if t is None:
            indent = 0
        elif t.part is not None:
            indent = t.part
        else:
            indent = self._continuation(t.tok.value in _CLOSE)
        if comment and t is not None and t.tok.value in _CLOSE:
            indent += 2  # a comment before a closing bracket belongs inside the brackets
        if blank and last is not None and last.code:
            self.lines.append(_Line(0))
        line = _Line(indent)
        self.lines.append(line)
        return line

    def _continuation(self, closing: bool) -> int:
        if not self.brackets:
            return self.unit + 2
        b = self.brackets[-1]
        inside = b.line_indent + 2 if b.block else b.column + 1
        if closing:
            return b.line_indent if b.block else b.column
        return max(inside, self.unit + 2)


def _space(prev: _Tok, cur: _Tok) -> bool:
    p, c = prev.tok.value, cur.tok.value
    if c in (",", ")", "]", ":", "..") or p in ("(", "[", ".."):
        return False
    if c == "." or p == ".":
        return cur.rule != "field" and prev.rule != "field"
    if c in ("(", "["):
        return cur.rule not in ("call", "index", "holds_item", "invariant_decl")
    if p == "{":
        return prev.rule not in _TIGHT_BRACES and c != "}"
    if c == "}":
        return cur.rule not in _TIGHT_BRACES and p != "{"
    return True


def _gap(text: str) -> list[tuple[int, str | None]]:
    """The newlines and comments of the text between two tokens: (newlines before, comment), ending in (n, None)."""
    out: list[tuple[int, str | None]] = []
    pos = 0
    for m in _COMMENT.finditer(text):
        out.append((text.count("\n", pos, m.start()), m.group().rstrip()))
        pos = m.end()
    out.append((text.count("\n", pos), None))
    return out


def layout(tree: lark.Tree[lark.Token], text: str) -> str:
    w = _Writer()
    prev: _Tok | None = None
    end = 0
    for t in [*_tokens(tree), None]:
        start = len(text) if t is None else t.tok.start_pos or 0
        pieces = _gap(text[end:start])
        for newlines, comment in pieces[:-1]:
            assert comment is not None
            if newlines == 0 and prev is not None and w.lines and w.lines[-1].comment is None:
                w.lines[-1].comment = comment
                continue
            w.newline(t, newlines >= 2, comment=True).code = comment
        if t is None:
            break
        newlines = pieces[-1][0]
        commented = bool(w.lines) and (w.lines[-1].comment is not None or w.lines[-1].code.startswith("#"))
        if t.part is not None:
            w.unit = t.part
        if not w.lines or t.part is not None or newlines or commented:
            line = w.newline(t, newlines >= 2 and (t.part is not None or commented))
        else:
            line = w.lines[-1]
            if prev is not None and _space(prev, t):
                line.code += " "
        if t.tok.value in _CLOSE and w.brackets:
            w.brackets.pop()
        if t.tok.value in _OPEN:
            w.brackets.append(_Bracket(line.indent + len(line.code), line.indent))
        line.code += t.tok.value
        prev, end = t, t.tok.end_pos or start
    return _render(w.lines)


def _render(lines: list[_Line]) -> str:
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j].comment is not None:
            j += 1
        if j == i:
            out.append(lines[i].text())
            i += 1
            continue
        column = max(len(line.text()) for line in lines[i:j]) + 2
        out.extend(f"{line.text().ljust(column)}{line.comment}" for line in lines[i:j])
        i = j
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n" if out else ""
