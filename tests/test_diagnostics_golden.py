"""Golden tests for rule-file diagnostics.

Each `tests/cases/NAME.redline` starts with the command that checks it
(`# redline check tests/cases/NAME.redline`); the test runs that command
through `redline.cli.main` from the repository root and compares stderr
with `tests/cases/NAME.expect`. `pytest --regen` rewrites the expect files;
review the diff before committing.

Beyond the golden text, every case states the diagnostics it must produce
in its own file (code and the exact underlined text), parsed back out of
the rendered caret lines, so a golden file regenerated carelessly cannot
hide a wrong span.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from redline.cli import main

CASES = Path(__file__).parent / "cases"

HEADER = re.compile(
    r"^(?P<path>[^\s:][^:\n]*):(?P<line>\d+):(?P<col>\d+): (?P<severity>error|warning)\[(?P<code>[A-Z0-9]+)\]: (?P<message>.*)$"
)
SOURCE_LINE = re.compile(r"^(?P<gutter> *(?P<line>\d+) \| )(?P<text>.*)$")
CARET_LINE = re.compile(r"^(?P<gutter> *\| )(?P<pad> *)(?P<carets>\^+)$")


@dataclass(frozen=True)
class Rendered:
    path: str
    line: int
    col: int
    severity: str
    code: str
    message: str
    source_text: str
    underlined: str


def parse_rendered(stderr: str) -> list[Rendered]:
    """Every diagnostic in rendered text output, with the text above its carets."""
    lines = stderr.splitlines()
    out: list[Rendered] = []
    for i, line in enumerate(lines):
        m = HEADER.match(line)
        if not m:
            continue
        src = SOURCE_LINE.match(lines[i + 1]) if i + 1 < len(lines) else None
        car = CARET_LINE.match(lines[i + 2]) if i + 2 < len(lines) else None
        assert src and car, f"diagnostic without source and caret lines: {line!r}"
        assert len(src["gutter"]) == len(car["gutter"]), "caret gutter does not line up with the source gutter"
        assert int(src["line"]) == int(m["line"]), "the quoted line is not the line in the header"
        start = len(car["pad"])
        assert start + 1 == int(m["col"]), "the caret does not start at the header's column"
        underlined = src["text"][start : start + len(car["carets"])]
        assert len(underlined) == len(car["carets"]), "carets run past the end of the source line"
        out.append(
            Rendered(
                m["path"],
                int(m["line"]),
                int(m["col"]),
                m["severity"],
                m["code"],
                m["message"],
                src["text"],
                underlined,
            )
        )
    return out


@dataclass(frozen=True)
class Want:
    """One diagnostic a case must produce in its own file."""

    code: str | None  # None: the code is not pinned here
    underlined: tuple[str, ...]  # acceptable underlined texts; () means not pinned
    message_has: tuple[str, ...] = ()


def W(code: str | None, *underlined: str, has: tuple[str, ...] = ()) -> Want:
    return Want(code, tuple(underlined), has)


# What each case must report about its own file, in order.
EXPECTED: dict[str, tuple[list[Want], int]] = {
    "missing_keyword": ([W("E001", "DSP", has=("unexpected `DSP`", "`at`"))], 1),
    "unterminated_string": ([W("E001", '"', has=("unterminated string",))], 1),
    "bad_character": ([W("E002", "&", has=("'&'",))], 1),
    "invalid_time": ([W("E003", "2026-02-30T00:00:00Z", has=("`2026-02-30T00:00:00Z`", "day is out of range"))], 1),
    "nesting_too_deep": ([W("E004", "(", has=("nested more than 100 levels deep here", "a chain of `and` or `or` does not nest"))], 1),
    "unknown_enum_value": ([W("E101", "SMETS3", has=("`SMETS3`", "did you mean", "`SMETS2`"))], 1),
    "unknown_field": (
        [W("E202", "generaton", has=("`Device` has no field `generaton`", "did you mean `generation`"))],
        1,
    ),
    "type_error": ([W("E201", "SMETS1", "role == SMETS1", has=("SMETS1", "UserRole", "Generation"))], 1),
    "unknown_srv": ([W("E103", '"6.16.1"', has=("`6.16.1`", "not in the DUIS catalogue", "closest SRVs"))], 1),
    "amend_missing_check": (
        [
            W(
                "E105",
                "eligible_users",
                has=("cannot amend check `eligible_users`", "`baseline`", "did you mean `eligible_user`"),
            )
        ],
        1,
    ),
    "amend_missing_row": ([W("E105", '"6.16.1"', has=("cannot amend catalogue row `6.16.1`", '`add row "6.16.1"'))], 1),
    "add_existing_row": ([W("E108", '"6.32"', has=("cannot add catalogue row `6.32`", "already has it", '`amend row "6.32"`'))], 1),
    "add_row_missing_field": (
        [W("E201", '"no"', has=("row field `critical`", "expected Bool")),
         W("E205", '"6.99"', has=("row is missing field `smi_statuses` of `Service`",))],
        1,
    ),
    "add_row_disagree": ([W("E109", '"6.99"', has=("modifications `one` and `other` both add SRV `6.99`", "`critical`, `device_types`"))], 1),
    "unknown_base": ([W("E106", "baseln", has=("unknown rule set `baseln`", "did you mean `baseline`"))], 1),
    "unknown_assumption": ([W("E104", "A99", has=("unknown assumption `A99`",))], 1),
    "duplicate_check": ([W("E102", "twice", has=("check `twice` is defined more than once",))], 1),
    "layer_order": ([W("E208", "at_dsp", has=("`at_dsp` at DSP comes after a check at Device",))], 1),
    "several_errors": (
        [
            W("E101", "SMETS3"),
            W("E202", "generaton"),
            W("E103", '"6.16.1"'),
        ],
        1,
    ),
    "several_syntax_errors": (
        [
            W("E001", "Green", has=("unexpected `Green`",)),
            W("E001", "DSP", has=("unexpected `DSP`",)),
            W("E001", "[A]", has=("unexpected `[A]`", "a quoted string")),
        ],
        1,
    ),
    "group_needs_in": ([W("E201", "NetworkOperator", has=("expected UserRole", "RemotePartyRole"))], 1),
    "set_of_parties": ([W("E201", "sender", has=("expected an enum value or SRV", "sets of records are not supported"))], 1),
    "quoted_enum_value": ([W("E201", 'device.generation == "SMETS1"', has=("Generation", "Text"))], 1),
    "duplicate_ruleset": ([W("E102", "MP107", has=("rule set `MP107` is defined more than once",))], 1),
    "clean_modification": ([], 0),
}

# The fix each common mistake's diagnostic names, as a note under it.
HINTS: dict[str, str] = {
    "bad_character": "= note: write `and` (not `&&` or `&`)",
    "group_needs_in": "= note: `NetworkOperator` is also a group of UserRole: test membership with `in`, e.g. `role in NetworkOperator`",
    "quoted_enum_value": '= note: enum values are written bare: `SMETS1`, not `"SMETS1"`',
    "duplicate_ruleset": "= note: first defined at rules/mp107.redline:",
    "add_row_disagree": "= note: `one` adds it at tests/cases/add_row_disagree.redline:4:11",
}


@pytest.mark.parametrize("name", sorted(HINTS))
def test_common_mistakes_name_their_fix(name: str, capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    code, _out, err = run_case(name, capsys)
    assert code == 1
    assert HINTS[name] in err


def case_names() -> list[str]:
    return sorted(p.stem for p in CASES.glob("*.redline"))


def command_of(case: Path) -> list[str]:
    first = case.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# redline "), f"{case.name}: the first line must be `# redline COMMAND ...`"
    argv = shlex.split(first[2:])
    assert argv[0] == "redline"
    return argv[1:]


_RUNS: dict[str, tuple[int, str, str]] = {}


def run_case(name: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run a case's header command once per session (several tests look at the same run)."""
    if name not in _RUNS:
        argv = command_of(CASES / f"{name}.redline")
        code = main(argv)
        captured = capsys.readouterr()
        _RUNS[name] = (code, captured.out, captured.err)
    return _RUNS[name]


def test_every_case_has_expectations() -> None:
    names = case_names()
    assert len(names) >= 16
    assert sorted(EXPECTED) == names


@pytest.mark.parametrize("name", case_names())
def test_golden(name: str, capsys: pytest.CaptureFixture[str], in_repo: Path, regen: bool) -> None:
    code, out, err = run_case(name, capsys)
    assert "Traceback" not in err + out
    expect = CASES / f"{name}.expect"
    if regen:
        expect.write_text(err, encoding="utf-8")
    assert expect.exists(), f"no golden file {expect}; run `pytest --regen` and review it"
    assert err == expect.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", case_names())
def test_exit_code_and_spans(name: str, capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    wants, exit_code = EXPECTED[name]
    code, out, err = run_case(name, capsys)
    assert code == exit_code
    rendered = parse_rendered(err)
    case_path = f"tests/cases/{name}.redline"
    mine = [d for d in rendered if d.path == case_path]
    assert [d.path for d in rendered if d.path not in (case_path,) and not d.path.startswith("rules/")] == []
    if exit_code == 0:
        assert not [d for d in rendered if d.severity == "error"]
        assert out.startswith("ok: ")
        assert mine == []
        return
    # Errors only: warnings from the shipped rules are allowed, errors from them are not.
    assert not [d for d in rendered if d.severity == "error" and d.path != case_path]
    assert out == ""
    assert err.rstrip().endswith(f"{len(mine)} error(s)")
    assert len(mine) == len(wants), "\n".join(f"{d.code} {d.message}" for d in mine)
    text_lines = (Path(case_path)).read_text(encoding="utf-8").splitlines()
    for d, w in zip(mine, wants, strict=True):
        assert d.severity == "error"
        if w.code is not None:
            assert d.code == w.code, d.message
        if w.underlined:
            assert d.underlined in w.underlined, f"underlined {d.underlined!r}, wanted one of {w.underlined}"
        for fragment in w.message_has:
            assert fragment in d.message
        # The quoted source line is really that line of the file.
        assert d.source_text == text_lines[d.line - 1]


def test_unknown_srv_names_its_neighbours(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    _, _, err = run_case("unknown_srv", capsys)
    [d] = [x for x in parse_rendered(err) if x.path.endswith("unknown_srv.redline")]
    closest = re.findall(r"`(\d+(?:\.\d+)*)`", d.message.split("closest SRVs are", 1)[1])
    assert 1 <= len(closest) <= 3
    assert {"6.15.1", "6.15.2"} & set(closest)


def test_several_errors_are_all_reported_in_source_order(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    _, _, err = run_case("several_errors", capsys)
    mine = [x for x in parse_rendered(err) if x.path.endswith("several_errors.redline")]
    assert [x.line for x in mine] == [5, 7, 9]
    assert err.rstrip().endswith("3 error(s)")


def test_check_json_format(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    import json

    code = main(["check", "--format", "json", "tests/cases/unknown_srv.redline"])
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert code == 1
    assert doc["ok"] is False
    errors = [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert [(d["path"], d["line"], d["column"], d["code"]) for d in errors] == [
        ("tests/cases/unknown_srv.redline", 4, 21, "E103")
    ]


def test_shipped_rules_check_clean(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    assert main(["check"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("ok: 129 SRVs")
    assert "error[" not in captured.err


def test_missing_path_is_a_usage_error(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    assert main(["check", "tests/cases/does-not-exist.redline"]) == 2
    err = capsys.readouterr().err
    assert "does-not-exist.redline" in err and "no such file" in err


# ---- regressions: behaviour fixed after these tests first found it ---------


def test_type_error_is_a_type_mismatch(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    _, _, err = run_case("type_error", capsys)
    [d] = [x for x in parse_rendered(err) if x.path.endswith("type_error.redline")]
    assert d.code == "E201"
    assert "UserRole" in d.message and "Generation" in d.message


def test_amend_missing_row_is_e105(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    _, _, err = run_case("amend_missing_row", capsys)
    [d] = [x for x in parse_rendered(err) if x.path.endswith("amend_missing_row.redline")]
    assert d.code == "E105"
    assert "cannot amend" in d.message


def test_layer_order_underlines_the_check_name(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    _, _, err = run_case("layer_order", capsys)
    [d] = [x for x in parse_rendered(err) if x.path.endswith("layer_order.redline")]
    assert "at_dsp" in d.underlined


def test_missing_keyword_expects_only_at(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    _, _, err = run_case("missing_keyword", capsys)
    [d] = [x for x in parse_rendered(err) if x.path.endswith("missing_keyword.redline")]
    assert d.message.endswith("expected `at`")


def test_unterminated_string_wording(capsys: pytest.CaptureFixture[str], in_repo: Path) -> None:
    _, _, err = run_case("unterminated_string", capsys)
    [d] = [x for x in parse_rendered(err) if x.path.endswith("unterminated_string.redline")]
    assert "unexpected an " not in d.message


def test_carets_line_up_under_tab_indented_source() -> None:
    from redline.render import render_text
    from redline.source import Source
    from redline.syntax import parse

    text = 'ruleset extra "t"\n\tcheck x "S" at DSP reject E1\n\t\trequires role == IS && true\n'
    _, diags = parse(Source("tabs.redline", text))
    [d] = diags
    assert d.code == "E002"
    _, src_line, caret_line = render_text(d).splitlines()[:3]
    shown_src, shown_caret = src_line.expandtabs(8), caret_line.expandtabs(8)
    col = shown_caret.index("^")
    assert shown_src[col] == "&", f"caret at display column {col}, under {shown_src[col]!r}"


def test_after_a_syntax_error_the_parser_resumes_at_every_kind_of_declaration() -> None:
    from redline.source import Source
    from redline.syntax import parse
    from redline.syntax.parser import TOP_LEVEL

    grammar = (Path(__file__).parents[1] / "src" / "redline" / "syntax" / "grammar.lark").read_text()
    kinds = re.findall(r'^(\w+)_decl: "(\w+)"', grammar, re.M)
    top = re.search(r"^_item: (.*?)\n\n", grammar, re.M | re.S)
    assert top is not None
    for rule, keyword in kinds:
        if f"{rule}_decl" in top.group(1):
            assert TOP_LEVEL.match(keyword + " "), f"the parser does not resume at `{keyword}`"
    text = 'ruleset x "t"\n  check a "S" at DSP reject E1\n    requires role == == IS\n\nevent bad_event "x" {\n'
    _, diags = parse(Source("x.redline", text))
    assert len(diags) == 2, [d.message for d in diags]  # the broken event after the first error is reported too
