"""Hostile input, second campaign: classes test_hostile_inputs.py and test_fuzz_inputs.py do not cover.

Each is a precise refusal (exit 2, one clear line), a correct answer or a
record of its own in a batch; never a traceback or an internal error (70).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli_support import Run
from lsp_support import SRC
from redline.cli import main
from redline.impact.fromjson import write_requests, write_state
from redline.loading import load_program, repo_rules

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "stuck-smets1"


# ---- the language server: malformed JSON-RPC ------------------------------------------

def _frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _message(obj: Any) -> bytes:
    return _frame(json.dumps(obj).encode())


def test_the_language_server_logs_a_malformed_message_in_one_line_and_keeps_serving(tmp_path: Path) -> None:
    """pygls printed its traceback (for some, two) for each of these on stderr; now one line each, and serving goes on."""
    doc = tmp_path / "x.redline"
    doc.write_text('ruleset x "y"\n')
    hover = {"textDocument": {"uri": doc.as_uri()}, "position": {"line": 0, "character": 0}}
    stream = b"".join([
        _message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
        _frame(b"{not json"),
        _frame(b"\xff\xfe not UTF-8"),
        _frame(b"[" * 100_000),
        b"Content-Length: abc\r\n\r\n",
        _message({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover",
                  "params": {**hover, "position": {"line": "x", "character": 0}}}),
        _message({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": 7}}),
        _message([1, 2, 3]),
        _message({"jsonrpc": "2.0", "id": 3, "method": "textDocument/hover", "params": hover}),
        _message({"jsonrpc": "2.0", "id": 4, "method": "shutdown"}),
        _message({"jsonrpc": "2.0", "method": "exit"}),
    ])
    p = subprocess.run([sys.executable, "-c", "from redline.cli import entry; entry()", "lsp"], input=stream,
                       capture_output=True, timeout=60, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(SRC)})
    err = p.stderr.decode()
    assert "Traceback" not in err and "Exception Group" not in err, err
    lines = err.splitlines()
    assert len(lines) == 7 and all(line.startswith("redline lsp: error: ") for line in lines), err
    assert "JSONDecodeError: Expecting property name enclosed in double quotes" in lines[0]
    assert "JSONDecodeError" in lines[1] and "RecursionError" in lines[2]
    assert lines[3] == "redline lsp: error: a Content-Length header that is not a number of bytes " \
                       "(b'Content-Length: abc\\r\\n'); the message is skipped"
    assert lines[4].endswith("params of the wrong type: invalid value for type, expected int @ $.params.position.line")
    assert "params of the wrong type" in lines[5] and "'list' object has no attribute 'jsonrpc'" in lines[6]
    out = p.stdout.decode()
    assert '"id": 3, "jsonrpc": "2.0", "result": null' in out and '"id": 4, "jsonrpc": "2.0", "result": null' in out
    # The request whose params do not fit is answered (Invalid Params, with why): an editor waiting on it stops.
    answers = [json.loads(body) for body in re.split(rb"Content-Length: \d+\r\n(?:[^\r\n]+\r\n)*\r\n", p.stdout) if body]
    refused = [a for a in answers if a.get("id") == 2]
    assert len(refused) == 1 and refused[0]["error"]["code"] == -32602, answers
    assert "expected int @ $.params.position.line" in refused[0]["error"]["message"], refused


# ---- batches: paths that are not request files ------------------------------------------

def test_a_batch_item_the_file_system_refuses_is_that_items_record(tmp_path: Path, run: Run) -> None:
    """A name too long for the file system ended the whole batch (exit 2, no records); an empty directory was
    no input at all, so a batch of it validated nothing and exited 0."""
    long, empty = "a" * 5000, tmp_path / "empty"
    empty.mkdir()
    good = str(EXAMPLE / "request.json")
    r = run("validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"), good, long, str(empty), good)
    records = r.lines()
    assert r.code == 2 and [x["input"] for x in records] == [good, long, str(empty), good]
    assert records[0]["verdict"] == records[3]["verdict"] == "accept"
    assert records[1]["error"] == f"{long}: cannot read: File name too long"
    assert records[2]["error"] == f"{empty}: a directory with no *.xml or *.json file to validate"
    r = run("validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"), str(empty))
    assert r.code == 2 and [x["input"] for x in r.lines()] == [str(empty)]


# ---- solver options: bounds ---------------------------------------------------------------

@pytest.mark.parametrize(("argv", "said"), [
    (["prove", "--depth", "1000"], "argument --depth: expected a number of at most 32, found 1000"),
    (["prove", "--timeout", "4294968"], "argument --timeout: expected a number of at most 4294967, found 4294968"),
    (["diff", "baseline", "mp107", "--rlimit", "4294967297"], "argument --rlimit: expected a number of at most 4294967295"),
    (["liveness", "mp107", "--timeout", str(10**30)], "argument --timeout: expected a number of at most 4294967"),
])
def test_solver_options_beyond_what_is_meant_are_refused(capsys: pytest.CaptureFixture[str], argv: list[str], said: str) -> None:
    """--depth 1000 ran for minutes; Z3 wraps a timeout or rlimit past 32 bits to a tiny one (`unknown` at once)."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and said in capsys.readouterr().err


# ---- redline.toml -------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["[" * 5000 + "]" * 5000, "{x=" * 2000 + "1" + "}" * 2000])
def test_a_configuration_nested_too_deeply_names_the_file(tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch,
                                                           value: str) -> None:
    """Before: `redline: error: input nested too deeply`, naming no file."""
    (tmp_path / "redline.toml").write_text(f"a = {value}\n")
    monkeypatch.chdir(tmp_path)
    r = run("check")
    assert r.code == 2 and r.err == f"redline: error: {tmp_path / 'redline.toml'}: arrays or tables nested too deeply for a configuration\n"


# ---- impact: CSV past what DuckDB's sniffer reads ---------------------------------------------

@pytest.fixture(scope="module")
def fleet_world() -> Any:
    program, _ = load_program(repo_rules(), [])
    sc = next(s for s in program.scenarios if s.name == "stuck_owner_no_fixes_under_mp107")

    def write(root: Path) -> Path:
        write_state(sc.state, program, root)
        write_requests([(1, sc.state["now"], sc.request)], program, root)
        return root
    return write


_GOOD_PARTIES = "".join(f"90-B3-D5-1F-40-{i >> 8:02X}-{i & 255:02X}-00,true\r\n" for i in range(30_000)).encode()


@pytest.mark.usefixtures("cached_rules")
@pytest.mark.parametrize(("last", "said"), [
    (b"90-B3-D5-1F-30-0A-00-00,true,x\r\n", "CSV Error on Line: 30006: Expected Number of Columns: 2 Found: 3"),
    (b"90-B3-D5-1F-30-0A-00-00\r\n", "CSV Error on Line: 30006: Expected Number of Columns: 2 Found: 1"),
    (b"90-B3-D5-1F-30-0A-00-0\xe9,true\r\n", "CSV Error on Line: 30006: Invalid unicode (byte sequence mismatch) detected"),
    (b"90-B3-D5-1F-30-0A-00-00," + b"x" * 2_100_000 + b"\r\n", "CSV Error on Line: 30006: Maximum line size of 2000000 bytes"),
])
def test_a_bad_csv_row_past_the_sniffed_rows_is_bad_input(tmp_path: Path, run: Run, fleet_world: Any, last: bytes,
                                                           said: str) -> None:
    """DuckDB sniffs the first 20,480 rows; a ragged, non-UTF-8 or over-long row after them was an internal error (70)."""
    root = fleet_world(tmp_path)
    parties = root / "parties.csv"
    parties.write_bytes(parties.read_bytes() + _GOOD_PARTIES + last)
    for command in (["replay", str(root)], ["fleet", str(root), "--at", "2026-03-01T12:00:00Z"]):
        r = run("impact", *command)
        assert r.code == 2 and r.out == "" and r.err.startswith(f"redline: error: parties: cannot read {parties}: {said}"), r.err
        assert len(r.err) < 400 and r.err.count("\n") == 1


@pytest.mark.usefixtures("cached_rules")
@pytest.mark.parametrize(("edit", "said"), [
    # A ragged row among the first rows made DuckDB's sniffer read each line as one column ("missing columns").
    (lambda t: t.replace(b"\r\n", b",x\r\n", 2).replace(b",x\r\n", b"\r\n", 1), "CSV Error on Line: 2: Expected Number of Columns"),
    (lambda t: t.replace(b"party,", b"party,party,", 1), "its header names party more than once"),
    (lambda t: b"", "it is empty"),
    (lambda t: b"\r\n" + t, "its first line is empty"),
    (lambda t: b"\xff" + t, "its header line is not UTF-8"),
])
def test_a_csv_files_dialect_is_its_headers_and_a_bad_row_is_named_by_its_line(
        tmp_path: Path, run: Run, fleet_world: Any, edit: Any, said: str) -> None:
    root = fleet_world(tmp_path)
    parties = root / "parties.csv"
    parties.write_bytes(edit(parties.read_bytes()))
    r = run("impact", "replay", str(root))
    assert r.code == 2 and r.err.startswith(f"redline: error: parties: cannot read {parties}: ") and said in r.err, r.err
    assert r.err.count("\n") == 1


@pytest.mark.usefixtures("cached_rules")
def test_a_semicolon_csv_with_a_byte_order_mark_reads_as_the_comma_one(tmp_path: Path, run: Run, fleet_world: Any) -> None:
    """A spreadsheet's export (a BOM, `;` between fields, a quoted field holding a `;`) gives the same answer."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    want = run("impact", "replay", str(fleet_world(tmp_path / "a")), "--format", "json")
    root = fleet_world(tmp_path / "b")
    for path in root.glob("*.csv"):
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f, delimiter=";", quoting=csv.QUOTE_ALL).writerows(rows)
    got = run("impact", "replay", str(root), "--format", "json")
    assert want.code == got.code == 0 and json.loads(want.out)["rulesets"] == json.loads(got.out)["rulesets"], got.err


# ---- odd option values ----------------------------------------------------------------------

@pytest.mark.usefixtures("cached_rules")
@pytest.mark.parametrize("bound", ["--max-json-bytes", "--max-xml-bytes"])
def test_a_huge_input_bound_reads_only_what_is_there(tmp_path: Path, run: Run, bound: str) -> None:
    """A bound of a terabyte was a MemoryError (f.read allocates the bound up front); past sys.maxsize an OverflowError."""
    r = run("validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"), bound, str(10**12),
            str(EXAMPLE / "request.json"))
    assert r.code == 0 and "mp107: ACCEPT" in r.out
    with pytest.raises(SystemExit) as e:
        main(["validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"), bound, str(10**20), "r.json"])
    assert e.value.code == 2


@pytest.mark.parametrize(("argv", "said"), [
    (["check", "--rules", ""], "argument --rules: an empty value"),  # was: the shipped rules, silently
    (["validate", "--ruleset", "mp107", "--state", str(EXAMPLE / "state.json"), ""], "argument REQUEST: an empty value"),
    (["fmt", ""], "argument paths: an empty value"),  # was: the working directory's files
    (["codegen", "--ruleset", "mp107", "-o", ""], "argument -o/--output: an empty value"),
    (["impact", "fleet", ""], "argument DIR: an empty value"),
])
def test_an_empty_argument_is_refused(capsys: pytest.CaptureFixture[str], argv: list[str], said: str) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and said in capsys.readouterr().err


# ---- the language server: a file with no declaration ------------------------------------------

def test_a_file_with_no_declaration_gets_its_diagnostics_and_breaks_no_other(tmp_path: Path) -> None:
    """The parse kept for a file with errors split it at its declarations, and failed on a file with none
    (`hello`, or one starting with a BOM): every request on it or on any file beside it was an internal error."""
    from lsp_support import Editor

    (tmp_path / "junk.redline").write_text("hello\n")
    good = tmp_path / "good.redline"
    good.write_text('ruleset x "y"\n  check c "z" at DSP reject E4\n    requires true\n')
    editor = Editor(tmp_path, timeout=30)
    try:
        uri = editor.open(good)
        assert editor.symbols(uri)[0].name == "x"
        junk = editor.open(tmp_path / "junk.redline")
        assert [d.code for d in editor.diagnostics(junk, 1)] == ["E001"]
    finally:
        editor.close()


def test_a_failed_check_after_an_edit_is_one_line() -> None:
    """asyncio logged a failed background check ("Task exception was never retrieved") with its traceback."""
    import io
    import logging

    from redline.lsp import logs

    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in ("pygls", "asyncio")}
    stream = io.StringIO()
    try:
        logs.install(stream)
        try:
            raise ValueError("boom\nmore")
        except ValueError:
            logging.getLogger("asyncio").error("Task exception was never retrieved\nfuture: <Task ...>", exc_info=True)
    finally:
        for n, (handlers, propagate) in saved.items():
            logging.getLogger(n).handlers[:], logging.getLogger(n).propagate = handlers, propagate
    assert stream.getvalue() == "redline lsp: error: Task exception was never retrieved: ValueError: boom\n"


# ---- rule files with old Mac line endings ----------------------------------------------------

@pytest.mark.parametrize("end", ["\r", "\r\n"])
def test_a_diagnostic_in_a_file_with_cr_line_endings_points_into_it(tmp_path: Path, run: Run, end: str) -> None:
    """The grammar takes a lone CR for white space, so such a file checks; its diagnostics said line 1, column 59,
    and printed the whole file as that line (which a terminal overprints at each CR)."""
    f = tmp_path / "cr.redline"
    f.write_bytes(end.join(['ruleset x "y"', '  check c "z" at DSP reject E4', "    requires nope", ""]).encode())
    r = run("check", "--rules", str(REPO / "rules"), str(f))
    at = r.err.index(f"{f}:")
    head, line, caret = r.err[at:].splitlines()[:3]
    assert r.code == 1 and head.startswith(f"{f}:3:14: error[E101]: unknown name `nope`")
    assert line == "   3 |     requires nope" and caret == "     |              ^^^^"


# ---- rule files: a pipe in a rules directory, a byte order mark -----------------------------------

def test_a_pipe_named_like_a_rule_file_is_refused_not_waited_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check` read every *.redline below the rules directory; a FIFO of that name blocked it for ever."""
    import os

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ok.redline").write_text('ruleset x "y"\n  check c "z" at DSP reject E4\n    requires true\n')
    os.mkfifo(rules / "stuck.redline")
    assert main(["check", "--rules", str(rules)]) == 2
    err = capsys.readouterr().err
    assert "stuck.redline: not a regular file" in err and "Traceback" not in err


def test_a_rule_file_with_a_byte_order_mark_checks_as_without(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A byte order mark (as some Windows editors save UTF-8) was E002 at 1:1; it is not part of the text."""
    rules = tmp_path / "rules"
    rules.mkdir()
    text = 'ruleset x "y"\n  check c "z" at DSP reject E4\n    requires (true and\n'
    (rules / "a.redline").write_bytes(b"\xef\xbb\xbf" + text.encode())
    code = main(["check", "--rules", str(rules)])
    with_bom = capsys.readouterr().err
    (rules / "a.redline").write_text(text)
    assert main(["check", "--rules", str(rules)]) == code == 1
    assert capsys.readouterr().err == with_bom and "a.redline:3:20: error[E001]" in with_bom, with_bom


# ---- the language server: a reviewer's project -----------------------------------------------------

def test_a_document_under_a_project_configuration_is_checked_with_its_rules(tmp_path: Path) -> None:
    """A reviewer's modification in a project (`redline.toml`: its own rules over the shipped ones) was checked
    with its own directory only: `amends baseline` named nothing, and every other rule was an error. It is now
    checked as `redline check` checks it from there; a typo in it is the one diagnostic. And a lone file in a
    directory with many below it (a home directory) does not make the server search them all."""
    from lsp_support import Editor

    mods = tmp_path / "project" / "mods"
    mods.mkdir(parents=True)
    (tmp_path / "project" / "redline.toml").write_text('rules = ["mods"]\nshipped = true\n')
    good = mods / "widen.redline"
    good.write_text('modification widen "x" amends baseline\n\n'
                    '  amend row "4.6.1" "x" { eligible_roles = {IS, GS, ED} }\n')
    typo = mods / "typo.redline"
    typo.write_text('modification typo "x" amends baseline\n\n'
                    '  amend row "4.6.1" "x" { eligible_roles = {IS, GS, EDD} }\n')
    lone = tmp_path / "home" / "draft.redline"
    (tmp_path / "home" / "deep" / "deeper").mkdir(parents=True)
    (tmp_path / "home" / "deep" / "deeper" / "broken.redline").write_text("this does not parse\n")
    lone.write_text('ruleset draft "x"\n')
    editor = Editor(tmp_path, timeout=60)
    try:
        assert editor.diagnostics(editor.open(good), 1) == []
        said = editor.diagnostics(editor.open(typo), 1)
        assert len(said) == 1 and "EDD" in said[0].message and said[0].range.start.line == 2, said
        assert editor.diagnostics(editor.open(lone), 1) == []  # deep/deeper/broken.redline is not read
    finally:
        editor.close()
