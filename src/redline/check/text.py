"""The checked IR written back as rule text: the one printer behind every place that shows a rule
(the generated validators' docstrings, the bundle's redline of a modification, the diff in prose)."""

from __future__ import annotations

from typing import Any, assert_never

from redline.check import checked as ir
from redline.check.types import RecordT


def value_text(v: Any, quoted: bool = False) -> str:
    """A catalogue value or constant as a rule file writes it (an SRV, a record's key, quoted)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, frozenset | set | tuple | list):
        return "{" + ", ".join(sorted(str(x) for x in v)) + "}"
    return f'"{v}"' if quoted or (isinstance(v, str) and not v.isidentifier()) else str(v)


def expr_text(e: ir.Expr) -> str:
    """An expression as its rule file writes it (on one line), or printed from the IR where it has no
    source (a node a modification's redlines built), its parts again as written where they have one."""
    if e.span.source is not None:
        return " ".join(e.span.source.text[e.span.start:e.span.end].split())
    return rule_text(e, expr_text)


def rule_text(e: ir.Expr, part: Any = None) -> str:
    """The expression printed from the IR (definitions by name); `part` prints its parts (default: the same)."""
    part = part or rule_text

    def sub(x: ir.Expr) -> str:
        text = part(x)
        return f"({text})" if isinstance(x, ir.AndE | ir.OrE | ir.IfE) else text
    match e:
        case ir.Const(value=v, type=t):
            return value_text(v, quoted=isinstance(t, RecordT))
        case ir.Var(name=n) | ir.Defined(name=n):
            return n
        case ir.GetField(obj=o, name=n):
            return f"{sub(o)}.{n}"
        case ir.GetIndex(obj=o, key=k):
            return f"{sub(o)}[{part(k)}]"
        case ir.Eq(left=a, right=b, negated=neg):
            return f"{sub(a)} {'!=' if neg else '=='} {sub(b)}"
        case ir.Member(item=a, collection=b, negated=neg):
            return f"{sub(a)} {'not in' if neg else 'in'} {sub(b)}"
        case ir.AndE(items=xs):
            return " and ".join(sub(x) for x in xs)
        case ir.OrE(items=xs):
            return " or ".join(sub(x) for x in xs)
        case ir.NotE(operand=x):
            return f"not {sub(x)}"
        case ir.IfE(cond=c, then=a, otherwise=b):
            return f"if {part(c)} then {part(a)} else {part(b)}"
        case ir.SetE(items=xs):
            return "{" + ", ".join(part(x) for x in xs) + "}"
        case ir.Registered(party=p, role=r, mpxn=m):
            return f"registered({part(p)}, {part(r)}, {part(m)})"
        case ir.ThroughoutE(predicate=p, times=t):
            return f"{part(p)} throughout {part(t)}"
        case ir.Related(name=n, args=xs):
            return f"{n}({', '.join(part(x) for x in xs)})"
        case _:
            assert_never(e)
