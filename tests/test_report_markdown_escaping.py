"""report.md: text from the rules reaches the Markdown as text, never as HTML or markup.

A modification's cite, an exception's cite and an intent's clause are
written by whoever wrote the rule file; the HTML page escapes them, and the
Markdown must too: no raw HTML, no link, no emphasis, no heading or list
started by a cite, no table cell broken by a `|`, no new line.
"""

from __future__ import annotations

from pathlib import Path

from redline.loading import load_program
from redline.report import RuleFile, Settings, build_bundle, load_cvc5
from redline.report.render_md import inline

HOSTILE = '<img src=x onerror=alert(1)> [click](javascript:alert(1)) **bold** | cell \\n# heading'
RULES = f"""
modification hostile "{HOSTILE}" amends baseline
  amend check s1sp_certificate_owner
    except "{HOSTILE}" when srv.non_device
  intends change "{HOSTILE}"
    where srv == "6.15.1" and srv.non_device
"""


def test_hostile_cites_are_inert_in_markdown(rules_copy: Path) -> None:
    (rules_copy / "hostile.redline").write_text(RULES, encoding="utf-8")
    program, diags = load_program(rules_copy, [])
    assert program is not None, diags
    b = build_bundle(program, [RuleFile("x", b"")], Settings("hostile"), [], load_cvc5())
    md = b.files["report.md"].decode()
    assert HOSTILE.split(" ")[0] not in md and "<img" not in md and "[click](" not in md and "[click\\](javascript" in md and "**bold**" not in md
    assert "&lt;img src=x onerror=alert(1)&gt; [click\\](javascript:alert(1)) \\*\\*bold\\*\\* \\| cell" in md
    assert not any(line.lstrip("> -").startswith("# heading") for line in md.splitlines())
    assert md.startswith("# Evidence for hostile: &lt;img")
    assert "&lt;img" in b.files["report.html"].decode()  # the HTML escaped it all along


def test_inline_keeps_ordinary_text_and_escapes_markup() -> None:
    assert inline("check eligible_user (SRPD 6.1(f)) 6.15.1") == "check eligible_user (SRPD 6.1(f)) 6.15.1"
    assert inline("# x") == "\\# x" and inline("1. x") == "1\\. x" and inline("- x") == "\\- x"
    assert inline("a\nb\r<b>&") == "a b &lt;b&gt;&amp;"
    assert inline("_em_ ~~s~~ a|b") == "\\_em\\_ \\~\\~s\\~\\~ a\\|b"
    assert inline("[A] a note ![x](y)") == "[A] a note ![x\\](y)"
