"""How deep an expression is once its definitions are expanded.

Every pass over the checked IR (the interpreter's compiler, the Z3
encoders, codegen) recurses through a definition's value wherever it is
used, so a chain of definitions, each shallow, can still nest too deep for
them. The parser bounds each expression as written; this bounds what a
definition expands to, with each definition's depth computed once.
"""

from __future__ import annotations

import dataclasses

from redline.check import checked as ir


def expanded_depth(e: ir.Expr, known: dict[int, int]) -> int:
    """Levels of `e` with every definition expanded; `known` maps id(a definition's value) to that value's depth."""
    best = 0
    stack: list[tuple[object, int]] = [(e, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ir.Defined):
            best = max(best, depth + known.get(id(node.value), 0))
            continue
        best = max(best, depth)
        for f in dataclasses.fields(node):  # type: ignore[arg-type]  # every IR node is a dataclass
            if f.name in ("type", "span"):
                continue
            value = getattr(node, f.name)
            for child in value if isinstance(value, tuple) else (value,):
                if dataclasses.is_dataclass(child) and type(child).__module__ == ir.__name__:
                    stack.append((child, depth + 1))
    return best
