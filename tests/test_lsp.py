"""The language server, driven over the protocol as an editor drives it: a `redline lsp` subprocess on stdio.

One session serves the module, on a private copy of the shipped rules and proofs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pygls.uris import from_fs_path

from lsp_support import SRC, Editor
from redline.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "rules", root / "rules")
    shutil.copytree(REPO / "proofs", root / "proofs")
    return root


@pytest.fixture(scope="module")
def editor(root: Path) -> Iterator[Editor]:
    e = Editor(root)
    yield e
    e.close()


def at(text: str, needle: str, delta: int = 0) -> tuple[int, int]:
    """The (line, character) of `needle` in `text`, `delta` characters in."""
    i = text.index(needle) + delta
    return text.count("\n", 0, i), i - (text.rfind("\n", 0, i) + 1)


def uri_of(path: Path) -> str:
    return str(from_fs_path(str(path)))


def hover_text(editor: Editor, uri: str, text: str, needle: str, delta: int = 1) -> str:
    h = editor.hover(uri, *at(text, needle, delta))
    assert h is not None and isinstance(h.contents, lsp.MarkupContent), needle
    return h.contents.value


def test_a_clean_file_gets_empty_diagnostics(editor: Editor, root: Path) -> None:
    uri = editor.open(root / "rules/mp107.redline")
    assert editor.diagnostics(uri, 1) == []


def test_hover(editor: Editor, root: Path) -> None:
    path = root / "rules/mp107.redline"
    uri, text = editor.open(path), path.read_text()
    amended = hover_text(editor, uri, text, "amend check eligible_user", len("amend check e"))
    assert "**check** `eligible_user` in `baseline`: at DSP, reject E4" in amended and "*SRPD 6.1(f)*" in amended
    assert "requires sender_is_eligible" in amended
    assert 'amended by `mp107`:\n\n```redline\nexcept "MP107 §1: no DSP RDP check' in amended
    srv = hover_text(editor, uri, text, '"6.15.1"')
    assert "**SRV 6.15.1** Update Security Credentials (KRP)" in srv and "| critical | true |" in srv
    assert "**group** `NetworkOperator` of `UserRole` = {ED, GT}" in hover_text(editor, uri, text, "in NetworkOperator", 4)
    member = hover_text(editor, uri, text, "remote_party_role == NetworkOperator", len("remote_party_role == N"))
    assert "a member of enum `RemotePartyRole`" in member  # the same name, read in context
    assert hover_text(editor, uri, text, "device.generation", 8) == "`Device.generation`: `Generation`"
    base = root / "rules/baseline.redline"
    buri, btext = editor.open(base), base.read_text()
    plain = hover_text(editor, buri, btext, "check dcc_user_in_role", 7)
    assert plain.startswith("**check** `dcc_user_in_role` in `baseline`: at DSP, reject E1") and "amended" not in plain
    define = hover_text(editor, buri, btext, "requires sender_is_eligible", len("requires s"))
    assert "**define** `sender_is_eligible`" in define and "registered(sender, role, device.mpxn) throughout" in define
    assumption = hover_text(editor, buri, btext, "rests on A10", len("rests on A"))
    assert assumption.startswith("**assumption** `A10` [A]: a requested date range includes both its ends")


def test_definition(editor: Editor, root: Path) -> None:
    path = root / "rules/mp107.redline"
    uri, text = editor.open(path), path.read_text()
    base = (root / "rules/baseline.redline").read_text()
    [loc] = editor.definition(uri, *at(text, "amend check s1sp_registration", len("amend check s")))
    assert loc.uri == uri_of(root / "rules/baseline.redline")
    assert (loc.range.start.line, loc.range.start.character) == at(base, "check s1sp_registration", 6)
    [row] = editor.definition(uri, *at(text, '"6.15.1"', 2))
    catalogue = (root / "rules/duis-catalogue.redline").read_text()
    assert row.uri == uri_of(root / "rules/duis-catalogue.redline")
    assert (row.range.start.line, row.range.start.character) == at(catalogue, 'row "6.15.1"', 4)
    buri = editor.open(root / "rules/baseline.redline")
    [define] = editor.definition(buri, *at(base, "throughout relevant_times", len("throughout r")))
    assert (define.range.start.line, define.range.start.character) == at(base, "define relevant_times", 7)
    [assumption] = editor.definition(buri, *at(base, "rests on A4", len("rests on A")))
    assumptions = (root / "rules/assumptions.redline").read_text()
    assert assumption.uri == uri_of(root / "rules/assumptions.redline")
    assert (assumption.range.start.line, assumption.range.start.character) == at(assumptions, "assumption A4 ", 11)


def test_completion(editor: Editor, root: Path) -> None:
    path = root / "rules/mp107.redline"
    uri, text = editor.open(path), path.read_text()
    edited = text.replace('srv == "6.15.1" and role', 'srv == "6.1', 1)
    editor.diagnostics(uri, editor.change(uri, edited))
    srvs = {i.label: i.detail for i in editor.completion(uri, *at(edited, 'srv == "6.1', len('srv == "6.1')))}
    assert srvs["6.15.1"] == "Update Security Credentials (KRP)" and len(srvs) == 129
    edited = text.replace("amend check eligible_user", "amend check ", 1)
    editor.diagnostics(uri, editor.change(uri, edited))
    checks = {i.label for i in editor.completion(uri, *at(edited, "amend check ", len("amend check ")), typed=" ")}
    assert {"eligible_user", "s1sp_registration", "dcc_user_in_role", "device_signature"} <= checks
    assert len(checks) == 9
    edited = text.replace("device.generation == SMETS1", "device.generation == S", 1)
    editor.diagnostics(uri, editor.change(uri, edited))
    members = {i.label for i in editor.completion(uri, *at(edited, "generation == S", len("generation == S")))}
    assert members == {"SMETS1", "SMETS2"}
    edited = text.replace("and role in NetworkOperator", "and role in N", 1)
    editor.diagnostics(uri, editor.change(uri, edited))
    roles = {i.label: i.kind for i in editor.completion(uri, *at(edited, "role in N", len("role in N")))}
    assert roles["NetworkOperator"] == lsp.CompletionItemKind.Enum and roles["ED"] == lsp.CompletionItemKind.EnumMember
    assert "SMETS1" not in roles
    anywhere = at(edited, "and device.generation", 4)  # after a space, in no particular context
    assert list(editor.completion(uri, *anywhere, typed=" ")) == []
    everything = {i.label for i in editor.completion(uri, *anywhere)}  # asked for: names and keywords
    assert {"eligible_user", "NetworkOperator", "forall", "A4"} <= everything
    assert editor.diagnostics(uri, editor.change(uri, text)) == []


def test_symbols(editor: Editor, root: Path) -> None:
    uri = editor.open(root / "rules/mp107.redline")
    [mod] = editor.symbols(uri)
    assert mod.name == "mp107" and mod.kind == lsp.SymbolKind.Module
    assert [c.name for c in mod.children or []] == ["amend eligible_user", "amend s1sp_registration"]
    assert mod.range.start.line == 7 and mod.selection_range.start.character == len("modification ")
    vocab = editor.symbols(editor.open(root / "rules/vocabulary.redline"))
    assert [s.name for s in vocab][:3] == ["UserRole", "NetworkOperator", "Supplier"]
    assert [c.name for c in vocab[0].children or []][:2] == ["IS", "ES"]


def test_a_broken_edit(editor: Editor, root: Path) -> None:
    """A syntax error is reported where `redline check` reports it; hover and symbols go on working."""
    path = root / "rules/mp107.redline"
    uri, text = editor.open(path), path.read_text()
    broken = text.replace("  amend check s1sp_registration", "  amend check (\n  amend check s1sp_registration", 1)
    [d] = editor.diagnostics(uri, editor.change(uri, broken))
    assert d.code == "E001" and d.severity == lsp.DiagnosticSeverity.Error
    assert (d.range.start.line, d.range.start.character) == at(broken, "(\n")
    assert "unexpected `(`" in d.message
    [mod] = editor.symbols(uri)
    assert [c.name for c in mod.children or []] == ["amend eligible_user", "amend s1sp_registration"]
    assert "reject E4" in hover_text(editor, uri, broken, "amend check eligible_user", len("amend check e"))
    [loc] = editor.definition(uri, *at(broken, "amend check s1sp_registration", len("amend check s")))
    assert loc.uri == uri_of(root / "rules/baseline.redline")
    checks = {i.label for i in editor.completion(uri, *at(broken, "amend check (", len("amend check ")), typed=" ")}
    assert "eligible_user" in checks and len(checks) == 9
    assert editor.formatting(uri) == []  # nothing to lay out until it parses
    assert editor.diagnostics(uri, editor.change(uri, text)) == []


def test_diagnostics_match_redline_check(editor: Editor, root: Path, tmp_path: Path) -> None:
    """A checker error (not a syntax error) on an unsaved edit: the codes and spans of `redline check --format json`."""
    path = root / "rules/mp107.redline"
    uri, text = editor.open(path), path.read_text()
    broken = text.replace("amend check eligible_user", "amend check eligible_usr").replace(
        "device.generation == SMETS1 and role", "device.generation == SMETS3 and role", 1)
    got = sorted((d.code, d.range.start.line + 1, d.range.start.character + 1, d.message)
                 for d in editor.diagnostics(uri, editor.change(uri, broken)))
    assert editor.diagnostics(uri, editor.change(uri, text)) == []
    rules = tmp_path / "rules"
    shutil.copytree(root / "rules", rules)
    (rules / "mp107.redline").write_text(broken)
    run = subprocess.run([sys.executable, "-c", "from redline.cli import entry; entry()", "check", "--rules", str(rules),
                          "--format", "json", str(rules)], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(SRC), "PATH": ""})
    expected = sorted((d["code"], d["line"], d["column"], d["message"])
                      for d in json.loads(run.stdout)["diagnostics"] if d["path"].endswith("mp107.redline"))
    assert got == expected and {c for c, *_ in got} == {"E105", "E101"}


def test_an_edit_elsewhere_reaches_the_file_it_breaks(editor: Editor, root: Path) -> None:
    """Renaming a check in baseline breaks mp107's `amend check`: mp107 gets the diagnostic, baseline none."""
    base, mod = root / "rules/baseline.redline", root / "rules/mp107.redline"
    buri, muri = editor.open(base), uri_of(mod)
    editor.diagnostics(buri, 1)
    seen = editor.count(muri)
    assert editor.diagnostics(buri, editor.change(buri, base.read_text().replace("check eligible_user", "check x"))) == []
    [d] = editor.diagnostics(muri, after=seen)
    assert d.code == "E105" and "eligible_user" in d.message
    seen = editor.count(muri)
    assert editor.diagnostics(buri, editor.change(buri, base.read_text())) == []
    assert editor.diagnostics(muri, after=seen) == []


def test_formatting(editor: Editor, root: Path) -> None:
    path = root / "rules/events.redline"
    text = path.read_text()
    messy = text.replace("event time_passes", "event   time_passes").replace("\n\nevent", "\n\n\n\nevent")
    uri = editor.open(path, messy)
    [edit] = editor.formatting(uri)
    assert edit.new_text == text and edit.range.start == lsp.Position(line=0, character=0)
    assert edit.range.end.line == messy.count("\n")
    editor.diagnostics(uri, editor.change(uri, text))
    assert editor.formatting(uri) == []


def test_property_bodies_are_checked_too(editor: Editor, root: Path) -> None:
    """A property file is checked with the rules, bodies included: their diagnostics come with the others."""
    path = root / "proofs/mp107.redline"
    uri, text = editor.open(path), path.read_text()
    assert editor.diagnostics(uri, 1) == []
    broken = text.replace("accepted(s, r) and owner(after(s, r), NetworkOperator) == c", "accepted(s) and owner(after(s, r), NetworkOperator) == c", 1)
    version = editor.change(uri, broken)
    [d] = editor.diagnostics(uri, version)
    assert (d.code, d.message) == ("E401", "`accepted` takes 2 argument(s): State, Request")
    assert (d.range.start.line, d.range.start.character) == at(broken, "accepted(s) and")
    version = editor.change(uri, text)
    assert editor.diagnostics(uri, version) == []


def test_rules_given_on_the_command_line(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`redline lsp --rules DIR`: a modification kept outside the rules directory is checked against it."""
    mine = tmp_path / "mine.redline"
    mine.write_text('modification mine "a draft" amends baseline\n\n  remove check s1sp_registration "draft §1"\n')
    editor = Editor(tmp_path, "--rules", str(root / "rules"))
    try:
        uri = editor.open(mine)
        assert editor.diagnostics(uri, 1) == []
        [loc] = editor.definition(uri, *at(mine.read_text(), "check s1sp_registration", 6))
        assert loc.uri == uri_of(root / "rules/baseline.redline")
        [d] = editor.diagnostics(uri, editor.change(uri, mine.read_text().replace("s1sp_registration", "s1sp_reg")))
        assert d.code == "E105" and "did you mean `s1sp_registration`" in d.message
    finally:
        editor.close()
    assert main(["lsp", "--rules", str(tmp_path / "absent")]) == 2
    assert "absent: rules directory not found" in capsys.readouterr().err


def test_a_content_length_over_the_limit_ends_the_session_not_the_process() -> None:
    """Content-Length: 99999999999999 ended the server with a MemoryError (exit 70); now a message and exit 0."""
    import os
    import subprocess
    import sys as _sys
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    r = subprocess.run([_sys.executable, "-m", "redline", "lsp"], input=b"Content-Length: 99999999999999\r\n\r\n{}",
                       capture_output=True, timeout=60, env=env)
    assert r.returncode == 0 and b"over the limit" in r.stderr and b"internal error" not in r.stderr
