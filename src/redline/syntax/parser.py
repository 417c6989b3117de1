"""Parse rule-file text into the surface AST, or into syntax diagnostics.

Contract: `parse(source)` never raises for any text; it returns the module
(possibly partial) and a list of diagnostics. A syntax error stops the file
at that point: errors after it would only echo the first.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from redline import ast
from redline import diagnostics as diag
from redline.diagnostics import Diagnostic
from redline.source import Source, Span
from redline.syntax.to_ast import build

# Friendly names for terminals in "expected ..." lists.
_TERMINALS = {
    "NAME": "a name", "STRING": "a quoted string", "TIME": "a time (2026-01-01T00:00:00Z)",
    "CODE": "a response code (E4)", "TAG": "a tag ([A], [C] or [S])", "CMP": "`==` or `!=`",
"OUTCOME": "`proved` or `refuted`",
    "LBRACE": "`{`", "RBRACE": "`}`", "LPAR": "`(`", "RPAR": "`)`", "LSQB": "`[`", "RSQB": "`]`",
    "COMMA": "`,`", "COLON": "`:`", "EQUAL": "`=`", "DOT": "`.`", "$END": "end of file",
}


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    grammar = resources.files("redline.syntax").joinpath("grammar.lark").read_text()
    # cache=True keeps the built LALR tables in a temp file: a second process starts ~0.4 s sooner.
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True, cache=True)


def _terminal_name(name: str, parser: lark.Lark) -> str:
    if name in _TERMINALS:
        return _TERMINALS[name]
    try:
        pattern = parser.get_terminal(name).pattern
    except KeyError:
        return name
    if isinstance(pattern, lark.lexer.PatternStr):
        return f"`{pattern.value}`"
    return name.lower()


def _describe(token: lark.Token) -> str:
    if token.type == "$END":
        return "end of file"
    return f"`{token.value}`"


def parse(source: Source) -> tuple[ast.Module, list[Diagnostic]]:
    parser = _parser()
    try:
        tree = parser.parse(source.text)
    except UnexpectedInput as err:
        return ast.Module(decls=()), [_syntax_diagnostic(source, err, parser)]
    except RecursionError:
        return ast.Module(decls=()), [diag.syntax_error(Span(source, 0, 1), "nesting too deep", ["a shallower expression"])]
    return build(source, tree)


def _syntax_diagnostic(source: Source, err: UnexpectedInput, parser: lark.Lark) -> Diagnostic:
    if isinstance(err, UnexpectedToken):
        tok = err.token
        start = tok.start_pos if tok.start_pos is not None else len(source.text)
        end = tok.end_pos if tok.end_pos is not None else start + 1
        expected = [_terminal_name(t, parser) for t in err.expected]
        return diag.syntax_error(Span(source, start, max(end, start + 1)), _describe(tok), expected)
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        ch = source.text[pos] if pos < len(source.text) else "end of file"
        if ch == '"':
            return diag.syntax_error(Span(source, pos, pos + 1), "an unterminated string", ['a closing `"` on the same line'])
        return diag.bad_character(Span(source, pos, pos + 1), ch)
    if isinstance(err, UnexpectedEOF):
        end = len(source.text)
        expected = [_terminal_name(t, parser) for t in err.expected]
        return diag.syntax_error(Span(source, max(0, end - 1), end), "end of file", expected)
    return diag.syntax_error(Span(source, 0, 1), "input", ["a rule file"])  # pragma: no cover
