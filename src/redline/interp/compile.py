"""Compile checked IR expressions to Python closures.

Interpreting the tree per request is too slow for batch validation, so each
expression becomes a closure `f(state, request)` once per rule set. Null is
Python's None, with the semantics stated once in redline.check.checked
("Null semantics"), which the SMT encoding shares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, assert_never

from redline.check import checked as ir
from redline.check.types import KNOWN_FIELDS
from redline.interp.values import UNLISTED, Request, State

Fn = Callable[[State, Request], Any]


def compile_expr(e: ir.Expr, catalogue: Mapping[str, Mapping[str, Any]]) -> Fn:
    match e:
        case ir.Const(value=v):
            return lambda s, r: v
        case ir.Var(name=name):
            return _var(name)
        case ir.Defined(value=v):
            return compile_expr(v, catalogue)
        case ir.GetField():
            return _field(e, catalogue)
        case ir.GetIndex(obj=o, key=k):
            fo, fk = compile_expr(o, catalogue), compile_expr(k, catalogue)

            def index(s: State, r: Request) -> Any:
                m = fo(s, r)
                return None if m is None else m.get(fk(s, r))
            return index
        case ir.Eq(left=a, right=b, negated=neg):
            fa, fb = compile_expr(a, catalogue), compile_expr(b, catalogue)
            if neg:
                return lambda s, r: fa(s, r) != fb(s, r)
            return lambda s, r: fa(s, r) == fb(s, r)
        case ir.Member(item=i, collection=c, negated=neg):
            fi, fc = compile_expr(i, catalogue), compile_expr(c, catalogue)

            def member(s: State, r: Request) -> bool:
                x = fi(s, r)
                found = x is not None and x in (fc(s, r) or ())
                return not found if neg else found
            return member
        case ir.AndE(items=items):
            fs = [compile_expr(x, catalogue) for x in items]
            return lambda s, r: all(f(s, r) for f in fs)
        case ir.OrE(items=items):
            fs = [compile_expr(x, catalogue) for x in items]
            return lambda s, r: any(f(s, r) for f in fs)
        case ir.NotE(operand=o):
            fo = compile_expr(o, catalogue)
            return lambda s, r: not fo(s, r)
        case ir.IfE(cond=c, then=t, otherwise=o):
            fc, ft, fo = (compile_expr(x, catalogue) for x in (c, t, o))
            return lambda s, r: ft(s, r) if fc(s, r) else fo(s, r)
        case ir.SetE(items=items):
            fs = [compile_expr(x, catalogue) for x in items]
            return lambda s, r: frozenset(v for v in (f(s, r) for f in fs) if v is not None)
        case ir.ThroughoutE(predicate=p, times=t):
            return _throughout(p, t, catalogue)
        case ir.Registered():
            raise AssertionError("`registered` is only evaluated under `throughout`")
        case ir.Related(name=name, args=args):
            fs = [compile_expr(x, catalogue) for x in args]

            def related(s: State, r: Request) -> bool:
                key = tuple(f(s, r) for f in fs)
                return None not in key and key in s.relations.get(name, frozenset())
            return related
        case _:
            assert_never(e)


def _var(name: str) -> Fn:
    match name:
        case "request":
            return lambda s, r: r
        case "now":
            return lambda s, r: s.now
        case "sender":
            return lambda s, r: r.sender
        case "role":
            return lambda s, r: r.role
        case "srv":
            return lambda s, r: r.srv
        case "device":
            return lambda s, r: r.device
    raise AssertionError(f"unknown variable {name}")  # pragma: no cover


def _get(record: str, name: str) -> Callable[[Any], Any]:
    """How to read a field of a loaded record: built-in fields are attributes, declared ones are in `ext`."""
    builtin = KNOWN_FIELDS.get(record)
    if builtin is None or name in builtin:
        return lambda x: getattr(x, name)
    return lambda x: x.ext.get(name)


def _field(e: ir.GetField, catalogue: Mapping[str, Mapping[str, Any]]) -> Fn:
    name = e.name
    get = _get(e.record, name)
    if e.record == "Request" and isinstance(e.obj, ir.Var) and e.obj.name == "request":
        return lambda s, r: get(r)
    fo = compile_expr(e.obj, catalogue)
    match e.record:
        case "Party":
            def party(s: State, r: Request) -> Any:
                pid = fo(s, r)  # a party the state does not list is UNLISTED: no DCC User, no role
                return None if pid is None else get(s.parties.get(pid, UNLISTED))
            return party
        case "Device":
            def device(s: State, r: Request) -> Any:
                did = fo(s, r)
                d = s.devices.get(did) if did is not None else None
                return None if d is None else get(d)
            return device
        case "Service":
            def service(s: State, r: Request) -> Any:
                row = catalogue.get(fo(s, r))
                return None if row is None else row.get(name)
            return service
        case "DateRange":
            i = 0 if name == "from" else 1

            def bound(s: State, r: Request) -> Any:
                v = fo(s, r)
                return None if v is None else v[i]
            return bound
        case "Request":
            return lambda s, r: get(fo(s, r))
    raise AssertionError(f"unknown record {e.record}")  # pragma: no cover


def covers(assignments: Any, party: str, lo: int, hi: int) -> bool:
    """Do `party`'s assignments (sorted by start) cover every instant of [lo, hi]?"""
    cur = lo
    for a in assignments:
        if a.party != party:
            continue
        if a.start > cur:
            return False
        if a.end is None:
            return True
        if a.end > cur:
            cur = a.end
            if cur > hi:
                return True
    return False


def _throughout(p: ir.Registered, t: ir.Expr, catalogue: Mapping[str, Mapping[str, Any]]) -> Fn:
    fp, fr, fm, ft = (compile_expr(x, catalogue) for x in (p.party, p.role, p.mpxn, t))

    def throughout(s: State, r: Request) -> bool:
        times, party, mpxn = ft(s, r), fp(s, r), fm(s, r)
        if times is None or party is None or mpxn is None:
            return False
        lo, hi = times if isinstance(times, tuple) else (times, times)
        return covers(s.registration.get((mpxn, fr(s, r)), ()), party, lo, hi)
    return throughout
