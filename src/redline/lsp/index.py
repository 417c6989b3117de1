"""Every named thing the rule files declare: where, and what to say about it on hover.

Built from the surface AST of each file, so it needs no checked program: a
project with errors still has an index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from redline import ast
from redline.source import Span
from redline.syntax.printer import expr, quote, type_text

# Kinds looked up first when a name means several things (a group and a Remote Party role, say).
_PREFERENCE = ("define", "check", "effect", "assumption", "field", "group", "member", "enum", "record",
               "ruleset", "modification", "property", "event", "invariant", "world", "scenario", "catalogue")


@dataclass(frozen=True, slots=True)
class Definition:
    kind: str
    name: str
    span: Span  # the name where it is declared
    owner: str | None  # the rule set, modification, record or enum it belongs to
    detail: str  # one line: the cite or the type
    hover: str  # Markdown


@dataclass(slots=True)
class Index:
    by_name: dict[str, list[Definition]] = field(default_factory=dict)
    rows: dict[str, Definition] = field(default_factory=dict)  # SRV code -> its catalogue row
    bases: dict[str, str] = field(default_factory=dict)  # modification -> the rule set it amends
    field_types: dict[str, list[tuple[str, ast.TypeExpr]]] = field(default_factory=dict)  # field -> (record, type)
    groups: dict[str, str] = field(default_factory=dict)  # group -> its enum
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)  # enum -> its members
    amendments: dict[str, list[str]] = field(default_factory=dict)  # check -> what each modification changes in it

    def add(self, d: Definition) -> None:
        self.by_name.setdefault(d.name, []).append(d)

    def lookup(self, name: str, kinds: Iterable[str] | None = None) -> list[Definition]:
        found = self.by_name.get(name, [])
        if kinds is not None:
            wanted = set(kinds)
            found = [d for d in found if d.kind in wanted]
        return sorted(found, key=lambda d: _PREFERENCE.index(d.kind) if d.kind in _PREFERENCE else len(_PREFERENCE))

    def enum_of(self, field_name: str) -> str | None:
        """The enum a field's values come from, looking through optional, set and map."""
        for _record, t in self.field_types.get(field_name, []):
            while not isinstance(t, ast.SimpleType):
                match t:
                    case ast.OptionalType(inner=i):
                        t = i
                    case ast.SetType(elem=e):
                        t = ast.SimpleType(name=e)
                    case ast.MapType(value=v):
                        t = v
            if t.name.name in self.enums:
                return t.name.name
        return None

    def checks_of(self, ruleset: str) -> list[Definition]:
        """The checks a rule set or modification has, its base's included, nearest first."""
        out: list[Definition] = []
        seen: set[str] = set()
        current: str | None = ruleset
        while current is not None and current not in seen:
            seen.add(current)
            out += [d for ds in self.by_name.values() for d in ds if d.kind == "check" and d.owner == current]
            current = self.bases.get(current)
        return out

    def check_in(self, ruleset: str, name: str) -> Definition | None:
        return next((d for d in self.checks_of(ruleset) if d.name == name), None)


def _rests(rs: Sequence[ast.Ident]) -> str:
    return f"\n\nrests on {', '.join(r.name for r in rs)}" if rs else ""


def _check_hover(c: ast.CheckDecl, owner: str) -> str:
    lines = [f"**check** `{c.name.name}` in `{owner}`: at {c.layer.name}, reject {c.code or '(no code)'}",
             "", f"*{c.cite}*", "", "```redline"]
    if c.applies is not None:
        lines.append(f"applies when {expr(c.applies)}")
    lines += [f"except {quote(e.cite)} when {expr(e.when)}" for e in c.excepts]
    if c.requires is not None:
        lines.append(f"requires {expr(c.requires)}")
    lines.append("```")
    return "\n".join(lines) + _rests(c.rests)


def _rule_item(index: Index, it: ast.RuleItem, owner: str) -> None:
    match it:
        case ast.CheckDecl():
            index.add(Definition("check", it.name.name, it.name.span, owner, it.cite, _check_hover(it, owner)))
        case ast.EffectDecl():
            hover = (f"**effect** `{it.name.name}` in `{owner}`\n\n*{it.cite}*\n\n```redline\nwhen {expr(it.when)}\n"
                     f"set {expr(it.target)} to {expr(it.value)}\n```{_rests(it.rests)}")
            index.add(Definition("effect", it.name.name, it.name.span, owner, it.cite, hover))
        case ast.DefineDecl():
            cite = f"\n\n*{it.cite}*" if it.cite else ""
            hover = f"**define** `{it.name.name}` in `{owner}`{cite}\n\n```redline\n{expr(it.value)}\n```{_rests(it.rests)}"
            index.add(Definition("define", it.name.name, it.name.span, owner, it.cite or "", hover))


def _decl(index: Index, d: ast.Decl) -> None:
    name = d.name.name
    match d:
        case ast.EnumDecl():
            index.enums[name] = tuple(m.name.name for m in d.members)
            members = ", ".join(f"`{m.name.name}`" for m in d.members)
            index.add(Definition("enum", name, d.name.span, None, d.cite or "", f"**enum** `{name}`: {members}"))
            for m in d.members:
                label = f" ({m.label})" if m.label else ""
                index.add(Definition("member", m.name.name, m.name.span, name, f"{name}{label}",
                                     f"`{m.name.name}`{label}: a member of enum `{name}`"))
        case ast.GroupDecl():
            index.groups[name] = d.enum.name
            members = ", ".join(m.name for m in d.members)
            cite = f"\n\n*{d.cite}*" if d.cite else ""
            index.add(Definition("group", name, d.name.span, d.enum.name, f"{{{members}}}",
                                 f"**group** `{name}` of `{d.enum.name}` = {{{members}}}{cite}"))
        case ast.AssumptionDecl():
            tag = f" {d.tag}" if d.tag else ""
            index.add(Definition("assumption", name, d.name.span, None, d.text, f"**assumption** `{name}`{tag}: {d.text}"))
        case ast.RecordDecl():
            fields = "\n".join(f"  {f.name.name}: {type_text(f.type)}" for f in d.fields)
            index.add(Definition("record", name, d.name.span, None, d.cite or "",
                                 f"**record** `{name}`\n\n```redline\n{fields}\n```"))
            for f in d.fields:
                index.field_types.setdefault(f.name.name, []).append((name, f.type))
                index.add(Definition("field", f.name.name, f.name.span, name, type_text(f.type),
                                     f"`{name}.{f.name.name}`: `{type_text(f.type)}`{_rests(f.rests)}"))
        case ast.CatalogueDecl():
            index.add(Definition("catalogue", name, d.name.span, None, d.cite or "",
                                 f"**catalogue** `{name}` of `{d.record.name}`: {len(d.rows)} SRVs"))
            for row in d.rows:
                index.rows[row.srv.value] = _row(row, name)
        case ast.RulesetDecl():
            index.add(Definition("ruleset", name, d.name.span, None, d.cite, f"**rule set** `{name}`\n\n*{d.cite}*"))
            for it in d.items:
                _rule_item(index, it, name)
        case ast.ModificationDecl():
            index.bases[name] = d.base.name
            index.add(Definition("modification", name, d.name.span, None, d.cite,
                                 f"**modification** `{name}` amends `{d.base.name}`\n\n*{d.cite}*"))
            for r in d.redlines:
                match r:
                    case ast.AddCheck(check=it) | ast.AddEffect(effect=it) | ast.AddDefine(define=it):
                        _rule_item(index, it, name)
                    case ast.AmendCheck():
                        index.amendments.setdefault(r.name.name, []).append(_amendment(r, name))
                    case ast.AddRow():  # a new SRV: completed and hovered like a catalogue row
                        index.rows.setdefault(r.srv.value, _row(r, name))
        case ast.PropertyDecl():
            expects = ", ".join(f"{x.ruleset.name}{'..' + x.other.name if x.other else ''} {x.outcome}"
                                for x in d.expectations)
            index.add(Definition("property", name, d.name.span, None, d.cite,
                                 f"**property** `{name}`: expect {expects}\n\n*{d.cite}*"))
        case ast.AcknowledgementDecl():
            pass  # names the generic property it acknowledges, which is the definition
        case ast.EventDecl():
            index.add(Definition("event", name, d.name.span, None, d.cite, f"**event** `{name}`\n\n*{d.cite}*"))
        case ast.InvariantDecl():
            args = ", ".join(a.name for a in d.args)
            index.add(Definition("invariant", name, d.name.span, None, d.cite,
                                 f"**invariant** `{name}`: {d.form.name}({args})\n\n*{d.cite}*"))
        case ast.WorldDecl():
            index.add(Definition("world", name, d.name.span, None, d.cite or "", f"**world** `{name}`"))
        case ast.ScenarioDecl():
            index.add(Definition("scenario", name, d.name.span, None, d.cite, f"**scenario** `{name}`\n\n*{d.cite}*"))


def _amendment(a: ast.AmendCheck, modification: str) -> str:
    lines = [f"applies when {expr(a.applies)}"] if a.applies is not None else []
    lines += [f"except {quote(e.cite)} when {expr(e.when)}" for e in a.excepts]
    if a.requires is not None:
        lines.append(f"requires {expr(a.requires)}")
    body = "\n".join(lines)
    return f"amended by `{modification}`:\n\n```redline\n{body}\n```"


def hover_text(index: Index, d: Definition) -> str:
    """A definition's hover; a check's also says what each modification amends in it."""
    if d.kind != "check":
        return d.hover
    return "\n\n".join([d.hover, *index.amendments.get(d.name, [])])


def _row(row: ast.Row | ast.AddRow, catalogue: str) -> Definition:
    values = {f.name.name: expr(f.value) for f in row.fields}
    title = values.get("name", "").strip('"')
    table = "\n".join(f"| {k} | {v} |" for k, v in values.items() if k != "name")
    hover = f"**SRV {row.srv.value}** {title}\n\n| attribute | value |\n|---|---|\n{table}"
    return Definition("srv", row.srv.value, row.srv.span, catalogue, title, hover)


def build_index(decls: Iterable[ast.Decl]) -> Index:
    index = Index()
    for d in decls:
        _decl(index, d)
    return index


def merge(parts: Iterable[Index]) -> Index:
    """One index of several files' (each built once per text, so an edit rebuilds only its own file's part)."""
    out = Index()
    for part in parts:
        for name, defs in part.by_name.items():
            out.by_name.setdefault(name, []).extend(defs)
        out.rows.update(part.rows)
        out.bases.update(part.bases)
        for f, types in part.field_types.items():
            out.field_types.setdefault(f, []).extend(types)
        out.groups.update(part.groups)
        out.enums.update(part.enums)
        for check, texts in part.amendments.items():
            out.amendments.setdefault(check, []).extend(texts)
    return out
