"""Partial evaluation of checked IR for one SRV.

Once the SRV is known, every `srv.<attribute>` is a catalogue constant, so
most `applies when` and `except when` conditions are decided before any
request arrives (`not srv.non_device`, `srv == "6.15.1"`). `fold` replaces
what it can decide by a `Const` and leaves the rest as residual IR. It
follows the null semantics of redline.check.checked exactly, as the
interpreter does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, assert_never

from redline.check import checked as ir
from redline.check.types import KNOWN_FIELDS, Prim

BOOL = Prim("Bool")


def _const(value: Any, like: ir.Expr) -> ir.Const:
    return ir.Const(value=value, type=like.type, span=like.span)


def _truth(value: Any, like: ir.Expr) -> ir.Const:
    return ir.Const(value=bool(value), type=BOOL, span=like.span)


def fold(e: ir.Expr, srv: str | None, catalogue: Mapping[str, Mapping[str, Any]],
         known: Mapping[str, Any] | None = None) -> ir.Expr:
    """`e` with everything that depends only on the SRV evaluated. `srv` None stands for any SRV outside
    the catalogue: `srv` itself stays unknown, and each of its attributes is null (it has no row).
    `known`: request fields whose value is known too (`{"role": "ED"}` folds `role` and `request.role`),
    for a question that generates its own requests (impact/fleet.py)."""
    def f(x: ir.Expr) -> ir.Expr:
        return fold(x, srv, catalogue, known)

    match e:
        case ir.Var(name="srv"):
            return e if srv is None else _const(srv, e)
        case ir.Var(name=name) | ir.GetField(obj=ir.Var(name="request"), record="Request", name=name) \
                if known and name in known and name != "srv":
            return _const(known[name], e)
        case ir.Const() | ir.Var():
            return e
        case ir.Defined(value=v):
            return f(v)
        case ir.GetField(obj=o, record="Service", name=name):
            fo = f(o)
            if isinstance(fo, ir.Const):
                row = catalogue.get(fo.value) if fo.value is not None else None
                return _const(None if row is None else row.get(name), e)
            if srv is None and isinstance(fo, ir.Var) and fo.name == "srv":
                return _const(None, e)
            return replace(e, obj=fo)
        case ir.GetField(obj=o):
            fo = f(o)
            if isinstance(fo, ir.Const) and fo.value is None:
                return _const(None, e)
            return replace(e, obj=fo)
        case ir.GetIndex(obj=o, key=k):
            fo, fk = f(o), f(k)
            if isinstance(fo, ir.Const) and fo.value is None:
                return _const(None, e)
            return replace(e, obj=fo, key=fk)
        case ir.Eq(left=a, right=b, negated=neg):
            fa, fb = f(a), f(b)
            if isinstance(fa, ir.Const) and isinstance(fb, ir.Const):
                return _truth((fa.value != fb.value) if neg else (fa.value == fb.value), e)
            return replace(e, left=fa, right=fb)
        case ir.Member(item=i, collection=c, negated=neg):
            fi, fc = f(i), f(c)
            if isinstance(fi, ir.Const) and fi.value is None:
                return _truth(neg, e)  # nothing is a member of anything when null
            if isinstance(fi, ir.Const) and isinstance(fc, ir.Const):
                found = fi.value in (fc.value or ())
                return _truth(not found if neg else found, e)
            return replace(e, item=fi, collection=fc)
        case ir.AndE(items=items):
            rest = []
            for x in map(f, items):
                if isinstance(x, ir.Const):
                    if not x.value:
                        return _truth(False, e)
                    continue
                rest.append(x)
            return replace(e, items=tuple(rest)) if rest else _truth(True, e)
        case ir.OrE(items=items):
            rest = []
            for x in map(f, items):
                if isinstance(x, ir.Const):
                    if x.value:
                        return _truth(True, e)
                    continue
                rest.append(x)
            return replace(e, items=tuple(rest)) if rest else _truth(False, e)
        case ir.NotE(operand=o):
            fo = f(o)
            if isinstance(fo, ir.Const):
                return _truth(not fo.value, e)
            return replace(e, operand=fo)
        case ir.IfE(cond=c, then=t, otherwise=o):
            fc = f(c)
            if isinstance(fc, ir.Const):
                return f(t) if fc.value else f(o)
            return replace(e, cond=fc, then=f(t), otherwise=f(o))
        case ir.SetE(items=items):
            fs = tuple(map(f, items))
            if all(isinstance(x, ir.Const) for x in fs):
                return _const(frozenset(x.value for x in fs if isinstance(x, ir.Const) and x.value is not None), e)
            return replace(e, items=fs)
        case ir.Registered(party=p, role=r, mpxn=m):
            return replace(e, party=f(p), role=f(r), mpxn=f(m))
        case ir.ThroughoutE(predicate=p, times=t):
            fp = f(p)
            assert isinstance(fp, ir.Registered)
            return replace(e, predicate=fp, times=f(t))
        case ir.Related(args=args):
            fs = tuple(map(f, args))
            if any(isinstance(x, ir.Const) and x.value is None for x in fs):
                return _truth(False, e)  # no tuple has a null in it
            return replace(e, args=fs)
        case _:
            assert_never(e)


def decided(e: ir.Expr | None) -> bool | None:
    """True or False where a folded condition is decided (None counts as true: no condition), else None."""
    if e is None:
        return True
    if isinstance(e, ir.Const):
        return bool(e.value)
    return None


def check_fails(ch: ir.Check, srv: str | None, catalogue: Mapping[str, Mapping[str, Any]],
                known: Mapping[str, Any] | None = None) -> bool | None:
    """Whether check `ch` fails every request for `srv` (with the `known` fields), none of them, or it
    depends (None): it fails when it applies, no exception waives it and its requirement does not hold."""
    applies = decided(None if ch.applies is None else fold(ch.applies, srv, catalogue, known))
    waived = [decided(fold(x.when, srv, catalogue, known)) for x in ch.exceptions]
    holds = decided(None if ch.requires is None else fold(ch.requires, srv, catalogue, known))
    if applies is False or True in waived or holds is True:
        return False
    if applies is True and all(w is False for w in waived) and holds is False:
        return True
    return None


def declared_read(rs: ir.RuleSet, srvs: Sequence[str | None], record: str) -> frozenset[str]:
    """The declared fields of `record` that `rs` still reads once the catalogue row of one of `srvs` (None: an SRV
    outside the catalogue) is folded in: a field only other SRVs read cannot change the verdict of a request
    for one of these (impact/fleet.py's candidates; a DUIS request, whose mapping fills no declared field)."""
    found: set[str] = set()

    def visit(e: object) -> None:
        if isinstance(e, ir.GetField) and e.record == record and e.name not in (KNOWN_FIELDS[record] or ()):
            found.add(e.name)
        for child in ir.children(e):
            visit(child)

    for srv in srvs:
        for ch in rs.checks:  # a check that cannot apply to the SRV reads nothing for it
            applies = fold(ch.applies, srv, rs.catalogue) if ch.applies is not None else None
            if applies is not None:
                if decided(applies) is False:
                    continue
                visit(applies)
            for x in (ch.requires, *(w.when for w in ch.exceptions)):
                if x is not None:
                    visit(fold(x, srv, rs.catalogue))
        for ef in rs.effects:
            when = fold(ef.when, srv, rs.catalogue)
            if decided(when) is not False:
                visit(when)
                visit(fold(ef.cell, srv, rs.catalogue))
                visit(fold(ef.owner, srv, rs.catalogue))
    return frozenset(found)
