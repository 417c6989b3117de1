"""`redline fmt`: printing the AST and parsing it again gives the same AST."""

from __future__ import annotations

from pathlib import Path

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.extra.lark import from_lark

from redline.source import Source
from redline.syntax import parse
from redline.syntax.printer import print_module

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([*ROOT.glob("rules/**/*.redline"), *ROOT.glob("proofs/*.redline")])
GRAMMAR = lark.Lark((ROOT / "src/redline/syntax/grammar.lark").read_text(), parser="lalr")


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_shipped_files_round_trip(path: Path) -> None:
    module, diags = parse(Source(str(path), path.read_text()))
    assert not diags
    printed = print_module(module)
    again, diags2 = parse(Source("printed", printed))
    assert not diags2, printed
    assert again == module
    assert print_module(again) == printed  # canonical: printing is idempotent


def test_round_trip_notices_a_change() -> None:
    """Guard against a vacuous equality: a different rule must not compare equal."""
    a, _ = parse(Source("a", 'assumption A1 "x" [A]'))
    b, _ = parse(Source("b", 'assumption A1 "y" [A]'))
    assert a != b


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(from_lark(GRAMMAR, start="start"))
def test_generated_programs_round_trip(text: str) -> None:
    module, diags = parse(Source("gen", text))
    if diags:  # the generator can produce invalid times or tokens that lex differently; they must be diagnosed
        assert all(d.code.startswith("E") for d in diags)
        return
    printed = print_module(module)
    again, diags2 = parse(Source("printed", printed))
    assert not diags2, (text, printed, [d.message for d in diags2])
    assert again == module, (text, printed)
