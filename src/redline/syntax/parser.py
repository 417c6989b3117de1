"""Parse rule-file text into the surface AST, or into syntax diagnostics.

Contract: `parse(source)` never raises for any text; it returns the module
and a list of diagnostics. After a syntax error the parser resumes at the
next line that starts a top-level declaration, so one run reports the
errors of every declaration, not just the first.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from redline import ast
from redline import diagnostics as diag
from redline.diagnostics import Diagnostic
from redline.source import Source, Span
from redline.syntax.layout import layout
from redline.syntax.limits import check_limits
from redline.syntax.to_ast import build

# Friendly names for terminals in "expected ..." lists.
_TERMINALS = {
    "NAME": "a name", "STRING": "a quoted string", "TIME": "a time (2026-01-01T00:00:00Z)",
    "CODE": "a response code (E4)", "TAG": "a tag ([A], [C] or [S])", "CMP": "`==` or `!=`",
    "OUTCOME": "`proved` or `refuted`", "INT": "a positive whole number (a depth)",
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


TOP_LEVEL = re.compile(r"^(enum|group|assumption|record|extend|relation|catalogue|ruleset|modification|property|event|invariant|world|scenario)\b", re.M)
MAX_SYNTAX_ERRORS = 20


def parse(source: Source) -> tuple[ast.Module, list[Diagnostic]]:
    """The module and the syntax diagnostics of one rule file. Parsing is nearly all of loading a program (about
    0.7 s for the shipped rules), and a process often loads the same files again (the language server on every
    edit, a test suite's commands): a file of the same path and text is parsed once. The AST and diagnostics
    are frozen, so sharing them is safe; the list is the caller's own. At most 64 files are kept (about 1.5 MiB
    each for the largest shipped file, so a long editing session's versions cost under 100 MiB)."""
    module, errors = _parse_once(source)
    return module, list(errors)


@lru_cache(maxsize=64)
def _parse_once(source: Source) -> tuple[ast.Module, tuple[Diagnostic, ...]]:
    module, errors = _parse(source)
    return module, tuple(errors)


def _parse(source: Source) -> tuple[ast.Module, list[Diagnostic]]:
    parser = _parser()
    text, errors = source.text, list[Diagnostic]()
    while len(errors) < MAX_SYNTAX_ERRORS:
        try:
            tree = parser.parse(text)
        except UnexpectedInput as err:
            d = _syntax_diagnostic(source, err, parser)
            errors.append(d)
            resume = TOP_LEVEL.search(source.text, d.span.end if d.span.end > d.span.start else d.span.start + 1)
            if resume is None:
                break
            # Blank out what came before, keeping newlines, so offsets stay true.
            head = "".join(ch if ch == "\n" else " " for ch in source.text[: resume.start()])
            text = head + source.text[resume.start():]
            continue
        except RecursionError:
            return ast.Module(decls=()), [diag.syntax_error(Span(source, 0, 1), "nesting too deep", ["a shallower expression"])]
        if not errors:
            beyond = check_limits(source, tree)
            return (ast.Module(decls=()), [beyond]) if beyond is not None else build(source, tree)
        break
    return ast.Module(decls=()), errors


def _syntax_diagnostic(source: Source, err: UnexpectedInput, parser: lark.Lark) -> Diagnostic:
    if isinstance(err, UnexpectedToken):
        tok = err.token
        start = tok.start_pos if tok.start_pos is not None else len(source.text)
        end = tok.end_pos if tok.end_pos is not None else start + 1
        # The interactive parser knows exactly which terminals this state shifts;
        # err.expected is LALR's merged lookahead and lists too much.
        accepts = err.interactive_parser.accepts() if err.interactive_parser is not None else err.expected  # type: ignore[no-untyped-call]  # lark leaves accepts() unannotated
        expected = [_terminal_name(t, parser) for t in (accepts or err.expected)]
        return diag.syntax_error(Span(source, start, max(end, start + 1)), _describe(tok), expected)
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        ch = source.text[pos] if pos < len(source.text) else "end of file"
        if ch == '"':
            return diag.unterminated_string(Span(source, pos, pos + 1))
        return diag.bad_character(Span(source, pos, pos + 1), ch)
    if isinstance(err, UnexpectedEOF):
        end = len(source.text)
        expected = [_terminal_name(t, parser) for t in err.expected]
        return diag.syntax_error(Span(source, end, end + 1), "end of file", expected)
    return diag.syntax_error(Span(source, 0, 1), "input", ["a rule file"])  # pragma: no cover


@lru_cache(maxsize=1)
def _token_parser() -> lark.Lark:
    grammar = resources.files("redline.syntax").joinpath("grammar.lark").read_text()
    return lark.Lark(grammar, parser="lalr", keep_all_tokens=True, maybe_placeholders=True, cache=True)


def format_source(source: Source) -> tuple[str | None, list[Diagnostic]]:
    """The text laid out by `layout`, or None and the syntax diagnostics when it does not parse."""
    _, errors = parse(source)
    if errors:
        return None, errors
    try:
        return layout(_token_parser().parse(source.text), source.text), []
    except RecursionError:
        return None, [diag.syntax_error(Span(source, 0, 1), "nesting too deep", ["a shallower expression"])]
