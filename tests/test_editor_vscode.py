"""The VS Code extension folder: its files are valid, and its grammar knows every keyword of the language."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VSCODE = ROOT / "editors" / "vscode"


def load(name: str) -> dict[str, object]:
    data = json.loads((VSCODE / name).read_text())
    assert isinstance(data, dict)
    return data


def test_package_declares_the_language_grammar_and_client() -> None:
    pkg = load("package.json")
    contributes = pkg["contributes"]
    assert isinstance(contributes, dict)
    [language] = contributes["languages"]
    assert language["id"] == "redline" and language["extensions"] == [".redline"]
    [grammar] = contributes["grammars"]
    assert (VSCODE / grammar["path"]).is_file() and (VSCODE / language["configuration"]).is_file()
    assert (VSCODE / str(pkg["main"])).is_file()
    assert contributes["configuration"]["properties"]["redline.server.command"]["default"] == ["redline", "lsp"]
    assert "vscode-languageclient" in pkg["dependencies"]  # type: ignore[operator]


def test_comment_syntax_is_the_grammars() -> None:
    assert load("language-configuration.json")["comments"] == {"lineComment": "#"}
    assert "COMMENT: /#[^\\n]*/" in (ROOT / "src/redline/syntax/grammar.lark").read_text()


def test_every_keyword_is_highlighted() -> None:
    """A keyword added to grammar.lark and not to the TextMate grammar fails here."""
    keywords = set(re.findall(r'"([a-z_]+)"', (ROOT / "src/redline/syntax/grammar.lark").read_text()))
    text = (VSCODE / "syntaxes/redline.tmLanguage.json").read_text()
    patterns = json.loads(text)["repository"]
    found: set[str] = set()
    for rule in (patterns["declaration"], *patterns["keyword"]["patterns"], *patterns["literal"]["patterns"]):
        for group in re.findall(r"\(([a-z_|]+)\)", rule["match"]):
            found.update(group.split("|"))
    assert keywords - found == set()
    assert len(keywords) > 60
