"""Print the surface AST back as rule-language text.

The output is canonical: one layout, whatever the input's. It satisfies
`parse(print(m)) == m` (spans do not take part in equality), which the
round-trip property test checks on generated trees. Comments are not part
of the AST, so they are not printed: `redline fmt` lays out the tokens
instead (`layout.py`), and other modules use `expr` to show an expression.
"""

from __future__ import annotations

from redline import ast

# Binding strength of each expression form; a child weaker than its slot
# requires is parenthesised.
QUANT, IF, IMPLIES, OR, AND, NOT, CMP, POSTFIX, ATOM = range(-1, 8)


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _level(e: ast.Expr) -> int:
    match e:
        case ast.Quant() | ast.Temporal():
            return QUANT
        case ast.If():
            return IF
        case ast.Implies():
            return IMPLIES
        case ast.Or():
            return OR
        case ast.And():
            return AND
        case ast.Not():
            return NOT
        case ast.Compare() | ast.In() | ast.Throughout():
            return CMP
        case ast.Field() | ast.Index() | ast.Call():
            return POSTFIX
    return ATOM


def expr(e: ast.Expr, need: int = QUANT) -> str:
    text = _expr(e)
    return f"({text})" if _level(e) < need else text


def _expr(e: ast.Expr) -> str:
    match e:
        case ast.Name(id=i):
            return i.name
        case ast.Str(value=v):
            return quote(v)
        case ast.TimeLit(text=t):
            return t
        case ast.BoolLit(value=v):
            return "true" if v else "false"
        case ast.NullLit():
            return "null"
        case ast.SetLit(items=items):
            return "{" + ", ".join(expr(x) for x in items) + "}"
        case ast.Field(obj=o, name=n):
            return f"{expr(o, POSTFIX)}.{n.name}"
        case ast.Index(obj=o, key=k):
            return f"{expr(o, POSTFIX)}[{expr(k)}]"
        case ast.Call(func=f, args=args):
            return f"{f.name}(" + ", ".join(expr(a) for a in args) + ")"
        case ast.Compare(op=op, left=a, right=b):
            return f"{expr(a, POSTFIX)} {op} {expr(b, POSTFIX)}"
        case ast.In(item=a, collection=b, negated=neg):
            return f"{expr(a, POSTFIX)} {'not in' if neg else 'in'} {expr(b, POSTFIX)}"
        case ast.Throughout(predicate=a, times=b):
            return f"{expr(a, POSTFIX)} throughout {expr(b, POSTFIX)}"
        case ast.And(items=items):
            return " and ".join(expr(x, NOT) for x in items)
        case ast.Or(items=items):
            return " or ".join(expr(x, AND) for x in items)
        case ast.Not(operand=o):
            return f"not {expr(o, NOT)}"
        case ast.Implies(premise=a, conclusion=b):
            right = _expr(b) if isinstance(b, ast.Quant | ast.Temporal) else expr(b, IMPLIES)
            return f"{expr(a, OR)} implies {right}"
        case ast.If(cond=c, then=t, otherwise=o):
            return f"if {expr(c)} then {expr(t)} else {expr(o, IF)}"
        case ast.Quant(kind=k, binders=bs, body=b):
            return f"{k} " + ", ".join(f"{x.name.name}: {x.type.name}" for x in bs) + f" . {expr(b)}"
        case ast.Temporal(kind=k, var=v, origin=o, depth=d, body=b):
            within = f" {d}" if d is not None else ""
            return f"{k}{within} {v.name} from {o.name} . {expr(b)}"
    raise AssertionError(f"unhandled expression {type(e).__name__}")  # pragma: no cover


def _cite(c: str | None) -> str:
    return f" {quote(c)}" if c is not None else ""


def _rests(rs: tuple[ast.Ident, ...]) -> str:
    return (" rests on " + ", ".join(r.name for r in rs)) if rs else ""


def type_text(t: ast.TypeExpr) -> str:
    """A field's type as the rule language writes it (`map RemotePartyRole to optional Party`)."""
    match t:
        case ast.SimpleType(name=n):
            return n.name
        case ast.OptionalType(inner=i):
            return f"optional {type_text(i)}"
        case ast.SetType(elem=n):
            return f"set of {n.name}"
        case ast.MapType(key=k, value=v):
            return f"map {k.name} to {type_text(v)}"
    raise AssertionError("unhandled type")  # pragma: no cover


def _fields(fields: tuple[ast.RowField, ...], indent: str) -> str:
    return ",\n".join(f"{indent}{f.name.name} = {expr(f.value)}" for f in fields)


def _except(e: ast.Except, indent: str) -> str:
    return f"{indent}except {quote(e.cite)} when {expr(e.when)}{_rests(e.rests)}"


def _check(c: ast.CheckDecl, indent: str) -> list[str]:
    code = f" {c.code}" if c.code else ""
    lines = [f"{indent}check {c.name.name} {quote(c.cite)} at {c.layer.name} reject{code}"]
    sub = indent + "  "
    if c.applies is not None:
        lines.append(f"{sub}applies when {expr(c.applies)}")
    lines.extend(_except(e, sub) for e in c.excepts)
    if c.requires is not None:
        lines.append(f"{sub}requires {expr(c.requires)}")
    if c.rests:
        lines.append(f"{sub}{_rests(c.rests).strip()}")
    return lines


def _effect(e: ast.EffectDecl, indent: str) -> list[str]:
    return [
        f"{indent}effect {e.name.name} {quote(e.cite)}",
        f"{indent}  when {expr(e.when)}",
        f"{indent}  set {expr(e.target)} to {expr(e.value)}{_rests(e.rests)}",
    ]


def _define(d: ast.DefineDecl, indent: str) -> list[str]:
    return [f"{indent}define {d.name.name}{_cite(d.cite)}{_rests(d.rests)} = {expr(d.value)}"]


def _ref(r: ast.Ref) -> str:
    return quote(r.name) if r.literal else r.name


def _world_item(it: ast.WorldItem) -> str:
    match it:
        case ast.NowItem(time=t):
            return f"  now {t.text}"
        case ast.PartyItem():
            tail = " not dcc_user" if not it.dcc_user else ""
            return f"  party {it.alias.name} {quote(it.id.value)} roles {', '.join(r.name for r in it.roles)}{tail}{_with(it.settings)}"
        case ast.DeviceItem():
            link = f"mpxn {quote(it.mpxn.value)}" if it.mpxn is not None else f"via {it.via.name if it.via else ''}"
            anchors = (" anchors " + ", ".join(f"{a.role.name}: {a.owner.name}" for a in it.anchors)) if it.anchors else ""
            return (f"  device {it.alias.name} {quote(it.id.value)} {it.type.name} {it.generation.name} "
                    f"{it.smi_status.name} {link}{anchors}{_with(it.settings)}")
        case ast.RegisteredItem():
            end = f" to {it.end.text}" if it.end else ""
            return f"  registered {quote(it.mpxn.value)} {it.role.name} {it.party.name} from {it.start.text}{end}"
        case ast.HoldsItem():
            return f"  holds {it.relation.name}({', '.join(_ref(a) for a in it.args)})"
    raise AssertionError("unhandled world item")  # pragma: no cover


def _with(settings: tuple[ast.Setting, ...]) -> str:
    return (" with " + ", ".join(f"{s.name.name} = {expr(s.value)}" for s in settings)) if settings else ""


def _request(r: ast.RequestSpec) -> str:
    parts = [f"  request {_ref(r.sender)} as {r.role.name} sends {quote(r.srv.value)}"]
    if r.device is not None:
        parts.append(f"to {_ref(r.device)}")
    if r.replacing is not None:
        parts.append(f"replacing {r.replacing[0].name} with {_ref(r.replacing[1])}")
    if r.carrying is not None:
        parts.append(f"carrying {r.carrying[0].name} certificate of {_ref(r.carrying[1])}")
    if r.execution_time is not None:
        parts.append(f"at {r.execution_time.text}")
    if r.date_range is not None:
        parts.append(f"over {r.date_range[0].text} to {r.date_range[1].text}")
    return " ".join(parts) + _with(r.settings)


def _expect(x: ast.ExpectAccept | ast.ExpectReject) -> str:
    match x:
        case ast.ExpectAccept(ruleset=rs, effect=eff):
            tail = f" setting {eff[0].name} {eff[1].name} to {_ref(eff[2])}" if eff else ""
            return f"  expect {rs.name} accept{tail}"
        case ast.ExpectReject(ruleset=rs, layer=layer, code=code, check=check):
            return (f"  expect {rs.name} reject at {layer.name}" + (f" {code}" if code else "")
                    + (f" by {check.name}" if check else ""))
    raise AssertionError("unhandled expectation")  # pragma: no cover


def _redline(r: ast.Redline) -> list[str]:
    match r:
        case ast.AddCheck(check=c, position=pos):
            lines = _check(c, "  ")
            lines[0] = "  add " + (f"{pos[0]} {pos[1].name} " if pos else "") + lines[0].strip()
            return lines
        case ast.AddEffect(effect=e):
            lines = _effect(e, "  ")
            lines[0] = "  add " + lines[0].strip()
            return lines
        case ast.AddDefine(define=d):
            return ["  add " + _define(d, "")[0]]
        case ast.RemoveCheck(name=n, cite=c):
            return [f"  remove check {n.name} {quote(c)}"]
        case ast.RemoveEffect(name=n, cite=c):
            return [f"  remove effect {n.name} {quote(c)}"]
        case ast.AmendCheck():
            lines = [f"  amend check {r.name.name}"]
            if r.applies is not None:
                lines.append(f"    applies when {expr(r.applies)}")
            lines.extend(_except(e, "    ") for e in r.excepts)
            if r.requires is not None:
                lines.append(f"    requires {expr(r.requires)}")
            return lines
        case ast.Intent(kind=k, cite=c, where=w):
            return [f"  intends {k} {quote(c)}", f"    where {expr(w)}"]
        case ast.AmendRow(srv=s, cite=c, fields=fs):
            return [f"  amend row {quote(s.value)} {quote(c)} {{", _fields(fs, "    "), "  }"]
        case ast.AddRow(srv=s, cite=c, fields=fs):
            return [f"  add row {quote(s.value)} {quote(c)} {{", _fields(fs, "    "), "  }"]
    raise AssertionError("unhandled redline")  # pragma: no cover


def _decl(d: ast.Decl) -> list[str]:
    match d:
        case ast.EnumDecl():
            members = ", ".join(m.name.name + (f" {quote(m.label)}" if m.label is not None else "") for m in d.members)
            return [f"enum {d.name.name}{_cite(d.cite)} {{ {members} }}"]
        case ast.GroupDecl():
            return [f"group {d.name.name} of {d.enum.name} = {{{', '.join(m.name for m in d.members)}}}{_cite(d.cite)}"]
        case ast.AssumptionDecl():
            return [f"assumption {d.name.name} {quote(d.text)}" + (f" {d.tag}" if d.tag else "")]
        case ast.RecordDecl():
            body = [f"  {f.name.name}: {type_text(f.type)}{_rests(f.rests)}" for f in d.fields]
            return [f"{'extend' if d.extends else 'record'} {d.name.name}{_cite(d.cite)} {{", *body, "}"]
        case ast.RelationDecl():
            return [f"relation {d.name.name}{_cite(d.cite)} ({', '.join(a.name for a in d.args)})"]
        case ast.CatalogueDecl():
            lines = [f"catalogue {d.name.name}{_cite(d.cite)} of {d.record.name}{_rests(d.rests)}"]
            for row in d.rows:
                lines += [f"  row {quote(row.srv.value)} {{", _fields(row.fields, "    "), "  }"]
            return lines
        case ast.RulesetDecl():
            lines = [f"ruleset {d.name.name} {quote(d.cite)}"]
            for it in d.items:
                lines.append("")
                match it:
                    case ast.CheckDecl():
                        lines += _check(it, "  ")
                    case ast.EffectDecl():
                        lines += _effect(it, "  ")
                    case ast.DefineDecl():
                        lines += _define(it, "  ")
            return lines
        case ast.ModificationDecl():
            reuse = f" with redlines of {d.reuses.name}" if d.reuses is not None else ""
            lines = [f"modification {d.name.name} {quote(d.cite)} amends {d.base.name}{reuse}"]
            for r in d.redlines:
                lines += ["", *_redline(r)]
            return lines
        case ast.PropertyDecl():
            lines = [f"property {d.name.name} {quote(d.cite)}"]
            for x in d.expectations:
                rs = x.ruleset.name + (f"..{x.other.name}" if x.other else "")
                lines.append(f"  expect {rs} {x.outcome}")
            if d.rests:
                lines.append(f"  {_rests(d.rests).strip()}")
            if d.allowing is not None:
                lines.append("  allowing {" + ", ".join(n.name for n in d.allowing) + "}")
            lines.append(f"  holds {expr(d.body)}")
            return lines
        case ast.AcknowledgementDecl():
            return [f"property {d.name.name} {quote(d.cite)}",
                    *(f"  expect {x.ruleset.name}{'..' + x.other.name if x.other else ''} {x.outcome}" for x in d.expectations)]
        case ast.EventDecl():
            target = d.target + (f" {d.group.name}" if d.group else "")
            return [f"event {d.name.name} {quote(d.cite)} on {target}"]
        case ast.InvariantDecl():
            return [f"invariant {d.name.name} {quote(d.cite)}", *([f"  {_rests(d.rests).strip()}"] if d.rests else []),
                    f"  holds {d.form.name}(" + ", ".join(a.name for a in d.args) + ")"]
        case ast.WorldDecl():
            return [f"world {d.name.name}{_cite(d.cite)}", *(_world_item(i) for i in d.items)]
        case ast.ScenarioDecl():
            return [
                f"scenario {d.name.name} {quote(d.cite)}", f"  in {d.world.name}",
                *(_world_item(i) for i in d.items), _request(d.request), *(_expect(x) for x in d.expects),
            ]
    raise AssertionError(f"unhandled declaration {type(d).__name__}")  # pragma: no cover


def print_module(m: ast.Module) -> str:
    return "\n\n".join("\n".join(_decl(d)) for d in m.decls) + "\n"
