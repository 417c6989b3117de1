"""Completion, from the text before the cursor: SRV codes, checks, assumptions, enum members and groups in context."""

from __future__ import annotations

import re

from lsprotocol import types as lsp

from redline.lsp.cursor import enclosing_ruleset
from redline.lsp.index import Index

_SRV = re.compile(r'"([0-9.]*)$')
_CHECK = re.compile(r"(?:\b(?:amend|remove)\s+check|\b(?:before|after))\s+\w*$")
_BY = re.compile(r"^\s*expect\s+(\w+)\s+reject\b.*\bby\s+\w*$")
_RESTS = re.compile(r"\brests\s+on\s+(?:\w+\s*,\s*)*\w*$")
_ALLOWING = re.compile(r"\ballowing\s*\{[^}]*$")
_COMPARE = re.compile(r"(\w+)\s*(?:==|!=)\s*\w*$")
_IN = re.compile(r"(\w+)\s+(?:not\s+)?in\s+(\{[^}]*)?\w*$")
_EXPECT = re.compile(r"^\s*expect\s+\w*$")
KEYWORDS = (
    "enum", "group", "assumption", "record", "extend", "relation", "catalogue", "ruleset", "modification", "property", "event",
    "invariant", "world",
    "scenario", "check", "effect", "define", "applies", "when", "except", "requires", "rests", "on", "reject", "at",
    "add", "remove", "amend", "intends", "where", "expect", "holds", "allowing", "forall", "exists", "always",
    "reachable", "within", "from", "implies", "if", "then", "else", "and", "or", "not", "in", "throughout", "true",
    "false", "null", "request", "sends", "to", "replacing", "with", "over", "party", "device", "registered",
)
_KINDS = {
    "check": lsp.CompletionItemKind.Function, "define": lsp.CompletionItemKind.Variable,
    "assumption": lsp.CompletionItemKind.Reference, "member": lsp.CompletionItemKind.EnumMember,
    "group": lsp.CompletionItemKind.Enum, "enum": lsp.CompletionItemKind.Enum, "field": lsp.CompletionItemKind.Field,
    "record": lsp.CompletionItemKind.Struct, "event": lsp.CompletionItemKind.Event,
}


def _item(label: str, kind: str, detail: str) -> lsp.CompletionItem:
    return lsp.CompletionItem(label=label, kind=_KINDS.get(kind, lsp.CompletionItemKind.Text), detail=detail)


def _members(index: Index, enum: str) -> list[lsp.CompletionItem]:
    return [_item(d.name, "member", d.detail) for m in index.enums[enum] for d in index.lookup(m, ["member"])
            if d.owner == enum]


def complete(index: Index, text: str, offset: int, contextual_only: bool = False) -> list[lsp.CompletionItem]:
    """What may come at `offset`; with `contextual_only` (typing a space), nothing unless the context says what."""
    line = text[text.rfind("\n", 0, offset) + 1: offset]
    if _SRV.search(line) and line.count('"') % 2 == 1:
        return [_item(code, "srv", row.detail) for code, row in sorted(index.rows.items())]
    here = enclosing_ruleset(text, offset)
    if _CHECK.search(line) and here is not None:
        return [_item(d.name, "check", f"{d.owner}: {d.detail}") for d in index.checks_of(index.bases.get(here, here))]
    by = _BY.match(line)
    if by:
        return [_item(d.name, "check", f"{d.owner}: {d.detail}") for d in index.checks_of(by.group(1))]
    if _RESTS.search(line):
        return [_item(d.name, "assumption", d.detail) for ds in index.by_name.values() for d in ds
                if d.kind == "assumption"]
    if _ALLOWING.search(line):
        return [_item(d.name, "event", d.detail) for ds in index.by_name.values() for d in ds if d.kind == "event"]
    if _EXPECT.match(line):
        return [_item(d.name, d.kind, d.detail) for ds in index.by_name.values() for d in ds
                if d.kind in ("ruleset", "modification")]
    m = _IN.search(line)
    if m and (enum := index.enum_of(m.group(1))) is not None:
        groups = [_item(g, "group", f"group of {enum}") for g, e in sorted(index.groups.items()) if e == enum]
        return _members(index, enum) if m.group(2) else groups + _members(index, enum)
    m = _COMPARE.search(line)
    if m and (enum := index.enum_of(m.group(1))) is not None:
        return _members(index, enum)
    if contextual_only:
        return []
    names = [_item(d.name, d.kind, d.detail) for ds in index.by_name.values() for d in ds[:1]
             if d.kind in ("check", "define", "group", "member", "enum", "record", "assumption")]
    return names + [lsp.CompletionItem(label=k, kind=lsp.CompletionItemKind.Keyword) for k in KEYWORDS]
