"""The project's documentation stands on its own.

Every relative link in README.md and docs/*.md names a file or directory
that exists (a `#fragment` is allowed, not checked), and nothing a user
gets (README.md, docs/, src/) refers to `../shared` or to this machine's
`/work/` paths. README.md and docs/ also no longer send the reader to the
design notes outside the repository by name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
# [text](target) and [text](target "title"); images too. Code spans are removed first.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
EXTERNAL = ("http://", "https://", "mailto:")
OUTSIDE = ("../shared", "/work/")
DESIGN_NOTES = ("CONTRACTS.md", "DOMAIN.md", "ARCHITECTURE.md")


def links(text: str) -> list[str]:
    return LINK.findall(CODE.sub("", text))


def test_the_docs_are_there() -> None:
    names = {p.name for p in DOCS.glob("*.md")}
    assert {"README.md", "formats.md", "exit-codes.md", "domain.md", "assumptions.md", "architecture.md"} <= names


def test_link_reader() -> None:
    text = "see [a](docs/a.md#x), ![i](img.png \"t\"), `[no](code.md)`,\n```\n[no](x.md)\n```\nand [w](https://example.org)"
    assert links(text) == ["docs/a.md#x", "img.png", "https://example.org"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if target.startswith(EXTERNAL) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        if not (page.parent / path).exists():
            broken.append(target)
    assert broken == [], f"{page.relative_to(ROOT)} links to files that do not exist"


def _user_files() -> list[Path]:
    return [*PAGES, *sorted((ROOT / "src").rglob("*.py")), *sorted((ROOT / "src").rglob("*.lark")), *_rule_files()]


def _rule_files() -> list[Path]:
    """The shipped rules and proofs: their cites reach the evidence bundle a user files."""
    return sorted(p for d in ("rules", "proofs") for p in (ROOT / d).rglob("*.redline"))


@pytest.mark.parametrize("f", [*sorted((ROOT / "src").rglob("*.py")), *_rule_files()], ids=lambda p: str(p.relative_to(ROOT)))
def test_program_text_and_cites_do_not_name_design_notes_users_do_not_have(f: Path) -> None:
    text = f.read_text(encoding="utf-8")
    assert [n for n in DESIGN_NOTES if n in text] == []


def test_nothing_points_outside_the_repository() -> None:
    found = []
    for f in _user_files():
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{f.relative_to(ROOT)}:{n}: {bad}" for bad in OUTSIDE if bad in line]
    assert found == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_do_not_send_the_reader_to_design_notes_they_do_not_have(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert [n for n in DESIGN_NOTES if n in text] == []
