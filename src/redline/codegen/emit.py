"""Checked IR expressions as Python source over the generated module's locals.

A generated plan has these locals (see runtime.validate_prepared): `p` the
prepared state, `sender` and `sp` (the sender's id and Party record),
`role`, `srv` and `row` (its catalogue row), `device` (the id, or None if
the SMI does not hold it) and `dev` (its Device record), `rpr`, `owner`,
`exec_time`, `date_range` (a (from, to) tuple), `now`, and `rx` (the request's declared
fields). Declared fields of a party or device are in its `ext` mapping.

The source keeps the null semantics of redline.check.checked, as the
interpreter does: a guard appears only where a value can be null, so the
common cases read as plain Python (`role in sp.roles`). In a test position
(`if`, `and`, `not`) Python's truthiness already makes a null false; in a
value position `and`/`or` are turned into True/False, as `all`/`any` are.
"""

from __future__ import annotations

from typing import Any, assert_never

from redline.check import checked as ir
from redline.check.types import KNOWN_FIELDS

BUILTIN = {r: KNOWN_FIELDS[r] or frozenset() for r in ("Request", "Party", "Device")}

# Request fields as the plan's locals.
REQUEST_FIELDS = {
    "sender": "sender", "role": "role", "srv": "srv", "device": "device", "remote_party_role": "rpr",
    "new_certificate_owner": "owner", "execution_time": "exec_time", "date_range": "date_range",
}
NON_NULL_REQUEST_FIELDS = {"sender", "role", "srv"}
# The order of a check function's parameters, whichever of them it uses.
LOCALS = ("p", "sender", "sp", "role", "srv", "row", "device", "dev", "rpr", "owner", "exec_time", "date_range", "now", "rx")


class CodegenError(Exception):
    """A construct the generator does not translate (a new IR form): say so rather than guess."""


class Emitter:
    """Turns expressions into source; hoists set constants into module-level names."""

    def __init__(self) -> None:
        self.sets: dict[frozenset[Any], str] = {}
        self.used: set[str] = set()

    def set_name(self, value: frozenset[Any]) -> str:
        if value not in self.sets:
            self.sets[value] = f"SET_{len(self.sets) + 1}"
        return self.sets[value]

    def const(self, v: Any) -> str:
        if isinstance(v, frozenset):
            return self.set_name(v)
        if v is None or isinstance(v, (bool, int, str)):
            return repr(v)
        raise CodegenError(f"cannot write the constant {v!r} of type {type(v).__name__}")

    def local(self, name: str) -> str:
        self.used.add(name)
        return name

    def non_null(self, e: ir.Expr) -> bool:
        """Is `e` never null? False where it may be, or where this does not look closer (then the
        source keeps its guard, which is always correct, only slower)."""
        match e:
            case ir.Const(value=v):
                return v is not None
            case ir.Var(name=name):
                return name in ("sender", "role", "srv", "now")
            case ir.Defined(value=v):
                return self.non_null(v)
            case ir.GetField(obj=ir.Var(name="request"), record="Request", name=name):
                return name in NON_NULL_REQUEST_FIELDS
            case ir.GetField(obj=ir.Var(name="sender"), record="Party", name=name):
                return name in BUILTIN["Party"]  # a declared field may be absent (null)
            case ir.GetField(obj=ir.Var(name="srv"), record="Service"):
                return True  # every catalogue row gives every attribute (the generator checks)
            case ir.Eq() | ir.Member() | ir.AndE() | ir.OrE() | ir.NotE() | ir.SetE() | ir.ThroughoutE() | ir.Related():
                return True
            case ir.GetField() | ir.GetIndex() | ir.IfE():
                return False  # other records' fields, map entries and branches may be null
            case ir.Registered():
                return False  # not a value (only under `throughout`); `value` refuses it
            case _:
                assert_never(e)

    def test(self, e: ir.Expr) -> str:
        """Source whose truthiness is the condition's truth (null is false)."""
        match e:
            case ir.Const(value=v):
                return "True" if v else "False"
            case ir.Defined(value=v):
                return self.test(v)
            case ir.AndE(items=(item,)) | ir.OrE(items=(item,)):
                return self.test(item)  # as folding can leave them: no parentheses for nothing
            case ir.AndE(items=items):
                return "(" + " and ".join(self.test(x) for x in items) + ")"
            case ir.OrE(items=items):
                return "(" + " or ".join(self.test(x) for x in items) + ")"
            case ir.NotE(operand=o):
                return f"(not {self.test(o)})"
            case (ir.Var() | ir.GetField() | ir.GetIndex() | ir.Eq() | ir.Member() | ir.IfE() | ir.SetE()
                  | ir.Registered() | ir.ThroughoutE() | ir.Related()):
                return self.value(e)  # the value's truthiness is the condition's truth
            case _:
                assert_never(e)

    def value(self, e: ir.Expr) -> str:
        match e:
            case ir.Const(value=v):
                return self.const(v)
            case ir.Var(name="request"):
                raise CodegenError("the request itself is not a value; use one of its fields")
            case ir.Var(name=name):
                return self.local(name)
            case ir.Defined(value=v):
                return self.value(v)
            case ir.GetField():
                return self.field(e)
            case ir.GetIndex(obj=o, key=k):
                return f"_index({self.value(o)}, {self.value(k)})"
            case ir.Eq(left=a, right=b, negated=neg):
                if (_is_null(a) or _is_null(b)) and not (isinstance(a, ir.Const) and isinstance(b, ir.Const)):
                    # identity: the same truth for every value here, and quicker (not between two
                    # constants: `"Root" is not None` is a SyntaxWarning when the module is compiled)
                    return f"({self.value(a)} {'is not' if neg else 'is'} {self.value(b)})"
                return f"({self.value(a)} {'!=' if neg else '=='} {self.value(b)})"
            case ir.Member(item=i, collection=c, negated=neg):
                item, coll = self.value(i), self.value(c)
                if (isinstance(i, ir.GetField) and i.record == "Device" and isinstance(i.obj, ir.Var)
                        and i.obj.name == "device" and i.name in BUILTIN["Device"] and self.non_null(c)):
                    # A field of the request's device is null exactly when the SMI does not hold it.
                    dev = self.local("dev")
                    found = f"({dev} is not None and {dev}.{i.name} in {coll})"
                elif not self.non_null(i):
                    found = f"_member({item}, {coll})"
                elif not self.non_null(c):
                    found = f"({item} in ({coll} or ()))"
                else:
                    found = f"({item} in {coll})"
                return f"(not {found})" if neg else found
            case ir.AndE() | ir.OrE():
                return f"(True if {self.test(e)} else False)"
            case ir.NotE(operand=o):
                return f"(not {self.test(o)})"
            case ir.IfE(cond=c, then=t, otherwise=o):
                return f"({self.value(t)} if {self.test(c)} else {self.value(o)})"
            case ir.SetE(items=items):
                return "_set((" + "".join(f"{self.value(x)}, " for x in items) + "))"
            case ir.ThroughoutE(predicate=pr, times=t):
                return (f"_throughout({self.local('p')}, {self.value(pr.party)}, {self.value(pr.role)}, "
                        f"{self.value(pr.mpxn)}, {self.value(t)})")
            case ir.Registered():
                raise CodegenError("`registered` is only evaluated under `throughout`")
            case ir.Related(name=name, args=args):
                return f"_related({self.local('p')}, {name!r}, ({''.join(f'{self.value(x)}, ' for x in args)}))"
            case _:
                assert_never(e)

    def field(self, e: ir.GetField) -> str:
        o, name = e.obj, e.name
        if e.record in ("Request", "Party", "Device") and name not in BUILTIN[e.record]:
            return self.declared_field(e)
        match e.record:
            case "Request":
                if isinstance(o, ir.Var) and o.name == "request" and name in REQUEST_FIELDS:
                    return self.local(REQUEST_FIELDS[name])
                raise CodegenError(f"a Request field of something other than the request: {name}")
            case "Party":
                if isinstance(o, ir.Var) and o.name == "sender":
                    return f"{self.local('sp')}.{name}"
                return f"_party_field({self.local('p')}, {self.value(o)}, {name!r})"
            case "Device":
                if isinstance(o, ir.Var) and o.name == "device":
                    dev = self.local("dev")
                    return f"({dev}.{name} if {dev} is not None else None)"
                return f"_device_field({self.local('p')}, {self.value(o)}, {name!r})"
            case "Service":
                if isinstance(o, ir.Var) and o.name == "srv":
                    return f"{self.local('row')}.{name}"
                return f"_service_field({self.value(o)}, {name!r})"
            case "DateRange":
                return f"_bound({self.value(o)}, {0 if name == 'from' else 1})"
        raise CodegenError(f"unknown record {e.record}")


    def declared_field(self, e: ir.GetField) -> str:
        """A declared field (docs/formats.md "Declared fields"): from the record's `ext`, null where absent."""
        o, name = e.obj, e.name
        match e.record:
            case "Request":
                if isinstance(o, ir.Var) and o.name == "request":
                    return f"{self.local('rx')}.get({name!r})"
                raise CodegenError(f"a Request field of something other than the request: {name}")
            case "Party":
                if isinstance(o, ir.Var) and o.name == "sender":
                    return f"{self.local('sp')}.ext.get({name!r})"
                return f"_party_field({self.local('p')}, {self.value(o)}, {name!r})"
            case "Device":
                if isinstance(o, ir.Var) and o.name == "device":
                    dev = self.local("dev")
                    return f"({dev}.ext.get({name!r}) if {dev} is not None else None)"
                return f"_device_field({self.local('p')}, {self.value(o)}, {name!r})"
        raise CodegenError(f"unknown record {e.record}")  # pragma: no cover


def _is_null(e: ir.Expr) -> bool:
    return isinstance(e, ir.Const) and e.value is None


def definitions(e: ir.Expr | None, found: dict[str, ir.Defined] | None = None) -> dict[str, ir.Defined]:
    """The named definitions an expression uses, innermost last, each once."""
    found = {} if found is None else found
    if e is None:
        return found
    if isinstance(e, ir.Defined):
        if e.name not in found:
            found[e.name] = e
            definitions(e.value, found)
        return found
    for child in ir.children(e):
        definitions(child, found)  # type: ignore[arg-type]
    return found
