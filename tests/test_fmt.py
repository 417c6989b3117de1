"""Printing the AST and parsing it again gives the same AST; `redline fmt` keeps comments and meaning."""

from __future__ import annotations

import re
from pathlib import Path

import lark
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

from redline.build import build
from redline.cli import main
from redline.source import Source
from redline.syntax import parse
from redline.syntax.parser import _token_parser, format_source
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
    laid_out = formatted(text)  # and `redline fmt`'s layout of the same text: same AST, a fixed point
    assert parse(Source("laid out", laid_out))[0] == module, (text, laid_out)
    assert formatted(laid_out) == laid_out, text


# ---- the layout of `redline fmt`: comments kept, meaning unchanged ---------

COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|(#[^\n]*)')


def comments(text: str) -> list[str]:
    return [m.group(1).rstrip() for m in COMMENT.finditer(text) if m.group(1)]


def formatted(text: str) -> str:
    out, diags = format_source(Source("t", text))
    assert out is not None, [d.message for d in diags]
    return out


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_layout_keeps_every_comment_and_is_idempotent(path: Path) -> None:
    text = path.read_text()
    out = formatted(text)
    assert comments(text) and comments(out) == comments(text)
    assert formatted(out) == out
    assert parse(Source("out", out))[0] == parse(Source("in", text))[0]


def test_shipped_files_are_formatted(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`make test` holds every shipped rule file, and the tests' modifications, to `redline fmt --check`."""
    assert main(["fmt", "--check", "rules", "proofs", "tests/modifications"]) == 0, capsys.readouterr().err


def test_layout_keeps_the_checked_program(tmp_path: Path) -> None:
    """Formatting every shipped file at once leaves the checked IR (rule sets, properties, scenarios) equal."""
    before = build([Source(str(p), p.read_text()) for p in FILES])[0]
    after = build([Source(str(p), formatted(p.read_text())) for p in FILES])[0]
    assert before is not None and after is not None
    assert after == before
    assert after.rulesets and after.properties and after.scenarios


def test_layout_notices_a_change_in_meaning() -> None:
    """Guard for the test above: a changed rule gives a different checked program."""
    texts = [(p, p.read_text()) for p in FILES]
    before = build([Source(str(p), t) for p, t in texts])[0]
    changed = build([Source(str(p), t.replace("when role == OU", "when role == ED")) for p, t in texts])[0]
    assert before is not None and changed is not None and changed != before


def _tokens(text: str) -> list[str]:
    tree = _token_parser().parse(text)
    return [t.value for t in sorted(tree.scan_values(lambda v: isinstance(v, lark.Token)), key=lambda t: t.start_pos)]


MESSED = ["rules/baseline.redline", "rules/mp107.redline", "rules/vocabulary.redline", "rules/world.redline",
          "rules/events.redline", "rules/scenarios/mp107-story.redline", "rules/scenarios/worlds.redline",
          "proofs/mp107.redline", "proofs/temporal.redline"]
SHIPPED_TOKENS = {name: _tokens((ROOT / name).read_text()) for name in MESSED}
GAPS = st.sampled_from([" ", "  ", "\n", "\n    ", "\n\n\n", "\t", " # note\n", "\n# own line\n  "])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SHIPPED_TOKENS)), st.data())
def test_any_spacing_gives_one_layout(name: str, data: st.DataObject) -> None:
    """Shipped tokens with random whitespace and comments between them: same AST, every comment in order, idempotent."""
    tokens = SHIPPED_TOKENS[name]
    gaps = data.draw(st.lists(GAPS, min_size=len(tokens), max_size=len(tokens)))
    numbered, n = [], 0
    for tok, gap in zip(tokens, gaps, strict=True):
        if "#" in gap:
            n += 1
            gap = gap.replace("note", f"note {n}").replace("own line", f"own line {n}")
        numbered.append(tok + gap)
    text = "".join(numbered)
    out = formatted(text)
    assert comments(out) == comments(text)
    assert formatted(out) == out
    assert parse(Source("out", out))[0] == parse(Source("in", text))[0]
    assert all(line == line.rstrip() for line in out.splitlines())


@pytest.mark.parametrize("text,expected", [
    ('assumption A1 "x"   [A] # why\n\n\n\nassumption   A2 "y"\n', 'assumption A1 "x" [A]  # why\n\nassumption A2 "y"\n'),
    ("ruleset r \"c\" check a \"c\" at DSP reject E1 requires f( x ,y ).z [ k ] rests on A1\n",
     'ruleset r "c"\n  check a "c" at DSP reject E1\n    requires f(x, y).z[k]\n    rests on A1\n'),
    ("group G of R = { A , B } \"c\"\nenum E {A,B}\n", 'group G of R = {A, B} "c"\nenum E { A, B }\n'),
    ("record R { a: T b: set of U }\n", "record R {\n  a: T\n  b: set of U\n}\n"),
    ("property p \"c\" expect base..new proved holds forall s: State .\n(a and\nb) implies c\n",
     'property p "c"\n  expect base..new proved\n  holds forall s: State .\n    (a and\n     b) implies c\n'),
    ("# only a comment   \n", "# only a comment\n"),
    ("record R {\na: T\n# last\n}\nenum E {\n A,\n # more to come\n}\n",
     "record R {\n  a: T\n  # last\n}\nenum E {\n  A,\n  # more to come\n}\n"),
    ("", ""),
])
def test_layout_examples(text: str, expected: str) -> None:
    assert formatted(text) == expected


def test_fmt_check_diff_and_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messy, tidy = tmp_path / "messy.redline", tmp_path / "tidy.redline"
    messy.write_text('assumption   A1 "x" [A]   # kept\n')
    tidy.write_text('assumption A2 "y" [A]\n')
    messy.chmod(0o640)
    assert main(["fmt", "--check", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "messy.redline: not in canonical layout" in err and "tidy" not in err
    assert main(["fmt", "--diff", str(messy), str(tidy)]) == 1
    out, _ = capsys.readouterr()
    assert '-assumption   A1 "x" [A]   # kept\n+assumption A1 "x" [A]  # kept\n' in out and "tidy" not in out
    assert main(["fmt", str(messy)]) == 0
    assert capsys.readouterr().out == 'assumption A1 "x" [A]  # kept\n'
    assert messy.read_text() == 'assumption   A1 "x" [A]   # kept\n'  # printing leaves the file alone
    assert main(["fmt", "--write", str(tmp_path)]) == 0
    assert "1 file(s) reformatted, 1 unchanged" in capsys.readouterr().err
    assert messy.read_text() == 'assumption A1 "x" [A]  # kept\n' and messy.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messy.redline", "tidy.redline"]  # no temporary left
    assert main(["fmt", "--check", str(tmp_path)]) == 0


def test_fmt_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad, good = tmp_path / "bad.redline", tmp_path / "good.redline"
    bad.write_text("check (\n")
    good.write_text('assumption   A1 "x"\n')
    assert main(["fmt", "--write", str(bad), str(good)]) == 2
    err = capsys.readouterr().err
    assert "bad.redline:1:1: error[E001]" in err and "^^^^^" in err
    assert bad.read_text() == "check (\n" and good.read_text() == 'assumption A1 "x"\n'  # the good one is still done
    assert main(["fmt", "--write", "--check", str(good)]) == 2
    assert "does not go with" in capsys.readouterr().err
    assert main(["fmt", str(tmp_path / "absent.redline")]) == 2
