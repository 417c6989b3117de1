#!/usr/bin/env python3
"""Mutation testing of the property suite.

Applies semantic mutations to the rule sources (drop a check, drop an
exception, widen a check to always apply or to always pass, swap an enum
value for another of its kind, swap a response code, narrow the Network
Operator group), re-checks and re-proves, and prints how many mutants change
at least one property result. A mutant no property notices is a survivor:
either the mutation does not matter to the MP107 properties, or a property
is missing.

    .venv/bin/python bench/mutation.py
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from redline import ast
from redline.build import build
from redline.loading import repo_rules, rule_files
from redline.props import prove
from redline.source import Source
from redline.syntax import parse
from redline.syntax.printer import print_module

MUTATED_FILES = ("baseline.redline", "mp107.redline", "vocabulary.redline")  # under rules/, not the properties


def results(sources: list[Source]) -> dict[tuple[str, str], str] | None:
    program, diags = build(sources)
    if program is None:  # a mutant that breaks a name the properties use does not check
        return None
    return {(r.property, r.ruleset): r.status for r in prove(program, None, 10_000, 20_000_000, 0)}


def _replace_in(node: Any, old: Any, new: Any) -> Any:
    """`node` with the subtree `old` (by identity) replaced by `new`; `new` None deletes it from a tuple."""
    if node is old:
        return new
    if isinstance(node, tuple):
        items = [_replace_in(x, old, new) for x in node]
        return tuple(x for x, orig in zip(items, node, strict=True) if not (orig is old and new is None))
    if is_dataclass(node) and not isinstance(node, type):
        changes = {f.name: _replace_in(getattr(node, f.name), old, new) for f in fields(node) if f.name != "span"}
        return replace(node, **changes)
    return node


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, tuple):
        for x in node:
            yield from _walk(x)
    elif is_dataclass(node) and not isinstance(node, type):
        for f in fields(node):
            if f.name != "span":
                yield from _walk(getattr(node, f.name))


def mutants(module: ast.Module, enums: dict[str, tuple[str, ...]]) -> Iterator[tuple[str, ast.Module]]:
    true = ast.BoolLit(value=True)
    for node in _walk(module):
        if isinstance(node, ast.CheckDecl):
            yield f"drop check {node.name.name}", _replace_in(module, node, None)
            if node.applies is not None:
                yield f"{node.name.name}: always applies", _replace_in(module, node, replace(node, applies=None))
            if node.requires is not None:
                yield f"{node.name.name}: always passes", _replace_in(module, node, replace(node, requires=true))
            if node.code:
                other = "E5" if node.code != "E5" else "E4"
                yield f"{node.name.name}: code {node.code} -> {other}", _replace_in(module, node, replace(node, code=other))
        if isinstance(node, ast.Except):
            yield f"drop exception '{node.cite[:50]}'", _replace_in(module, node, None)
        if isinstance(node, ast.EffectDecl):
            yield f"drop effect {node.name.name}", _replace_in(module, node, None)
        if isinstance(node, ast.Name):
            for enum, members in enums.items():
                if node.id.name in members and enum in ("Generation", "RemotePartyRole", "UserRole"):
                    other = next(m for m in members if m != node.id.name)
                    yield f"{node.id.name} -> {other} at offset {node.span.start}", _replace_in(
                        module, node, replace(node, id=ast.Ident(name=other)))
        if isinstance(node, ast.Str) and node.value == "6.15.1":
            yield f'"6.15.1" -> "6.15.2" at offset {node.span.start}', _replace_in(module, node, replace(node, value="6.15.2"))
        if isinstance(node, ast.GroupDecl) and len(node.members) > 1:
            yield f"group {node.name.name} narrowed to {node.members[0].name}", _replace_in(
                module, node, replace(node, members=node.members[:1]))


def main() -> int:
    files = rule_files([repo_rules(), repo_rules().parent / "proofs"])
    sources = [Source(str(f), f.read_text(encoding="utf-8")) for f in files]
    original = results(sources)
    assert original is not None
    program, _ = build(sources)
    assert program is not None
    enums = dict(program.enums)
    killed, survived, stillborn = [], [], 0
    for i, src in enumerate(sources):
        if Path(src.path).name not in MUTATED_FILES or Path(src.path).parent.name != "rules":
            continue
        module, _ = parse(src)
        for label, mutant in mutants(module, enums):
            text = print_module(mutant)
            got = results([*sources[:i], Source(src.path, text), *sources[i + 1:]])
            name = f"rules/{Path(src.path).name}: {label}"
            if got is None:
                stillborn += 1
            elif got != original:
                changed = [f"{p} [{r}] {original[(p, r)]}->{got.get((p, r))}" for p, r in original if got.get((p, r)) != original[(p, r)]]
                killed.append((name, changed))
            else:
                survived.append(name)
    total = len(killed) + len(survived)
    print(f"{total} mutants checked ({stillborn} more did not type-check): "
          f"{len(killed)} change at least one property result, {len(survived)} survive")
    for name, changed in killed:
        print(f"  killed   {name}: {'; '.join(changed[:2])}")
    for name in survived:
        print(f"  survived {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
