"""What is under the cursor, read from the text itself, so that it works on a document that does not parse."""

from __future__ import annotations

import re
from dataclasses import dataclass

from redline.lsp.index import Definition, Index
from redline.lsp.project import TOP_LEVEL

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_CHECK_REF = re.compile(r"(?:\b(?:amend|remove)\s+check|\b(?:before|after))\s+$")
_BY = re.compile(r"^\s*expect\s+(\w+)\s+reject\b.*\bby\s+$")
_COMPARED = re.compile(r"(\w+)\s*(?:==|!=)\s*$")
_HEADER = re.compile(r"(ruleset|modification)\s+(\w+)(?:[^\n]*?\bamends\s+(\w+))?")


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start: int
    end: int
    string: bool  # a quoted string (its text without the quotes)


def word_at(text: str, offset: int) -> Word | None:
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start: len(text) if line_end < 0 else line_end]
    col = offset - line_start
    for m in _STRING.finditer(line):
        if m.start() <= col < m.end():
            return Word(m.group()[1:-1], line_start + m.start(), line_start + m.end(), True)
    for m in _WORD.finditer(line):
        if m.start() <= col <= m.end():
            return Word(m.group(), line_start + m.start(), line_start + m.end(), False)
    return None


def enclosing_ruleset(text: str, offset: int) -> str | None:
    """The rule set or modification whose block holds `offset`."""
    header = None
    for m in TOP_LEVEL.finditer(text, 0, offset):
        header = m
    if header is None:
        return None
    named = _HEADER.match(text, header.start())
    return named.group(2) if named else None


def resolve(index: Index, text: str, word: Word) -> list[Definition]:
    """The definitions a word of the text refers to, nearest meaning first."""
    if word.string:
        row = index.rows.get(word.text)
        return [row] if row is not None else []
    before = text[text.rfind("\n", 0, word.start) + 1: word.start]
    here = enclosing_ruleset(text, word.start)
    if _CHECK_REF.search(before) and here is not None:
        base = index.bases.get(here, here)
        found = index.check_in(base, word.text)
        return [found] if found else []
    by = _BY.match(before)
    if by:
        found = index.check_in(by.group(1), word.text)
        return [found] if found else []
    if before.endswith("."):
        return index.lookup(word.text, ["field"])
    defs = index.lookup(word.text)
    compared = _COMPARED.search(before)
    enum = index.enum_of(compared.group(1)) if compared else None
    if enum is not None:  # `remote_party_role == NetworkOperator`: the member, not the group of that name
        defs.sort(key=lambda d: not (d.kind == "member" and d.owner == enum))
    if here is not None:  # a define or check of this rule set (or one it amends) before any other of that name
        chain = _chain(index, here)
        local = [d for d in defs if d.kind in ("define", "check", "effect") and d.owner in chain]
        if local:
            local.sort(key=lambda d: chain.index(d.owner or ""))
            return local + [d for d in defs if d not in local and d.kind not in ("define", "check", "effect")]
    return defs


def _chain(index: Index, name: str) -> list[str]:
    out: list[str] = []
    current: str | None = name
    while current is not None and current not in out:
        out.append(current)
        current = index.bases.get(current)
    return out
