"""Build the surface AST from a lark parse tree, attaching source spans.

Also validates what the grammar cannot: that times are real calendar times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import lark
from lark import Token, Transformer, v_args

from redline import ast
from redline import diagnostics as diag
from redline.diagnostics import Diagnostic
from redline.source import Source, Span


@dataclass(frozen=True)
class _Cite:
    text: str


@dataclass(frozen=True)
class _Rests:
    names: tuple[ast.Ident, ...]


@dataclass(frozen=True)
class _Clause:
    kind: str
    value: Any


def unquote(text: str) -> str:
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _pick(children: list[Any], kind: type) -> list[Any]:
    return [c for c in children if isinstance(c, kind)]


def _one(children: list[Any], kind: type) -> Any:
    found = _pick(children, kind)
    return found[0] if found else None


@dataclass(frozen=True)
class _Allowing:
    names: tuple[ast.Ident, ...]


def _rests(children: list[Any]) -> tuple[ast.Ident, ...]:
    r = _one(children, _Rests)
    return r.names if r else ()


def _is_with(x: Any) -> bool:
    return isinstance(x, tuple) and len(x) == 2 and x[0] == "with"


def _settings(children: list[Any]) -> tuple[ast.Setting, ...]:
    return next((x[1] for x in children if _is_with(x)), ())


def _cite(children: list[Any]) -> str | None:
    c = _one(children, _Cite)
    return c.text if c else None


def _names(children: list[Any]) -> list[Token]:
    return [c for c in children if isinstance(c, Token) and c.type == "NAME"]


@v_args(meta=True)
class _Builder(Transformer[Token, Any]):
    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    # -- helpers --
    def _span(self, meta: Any) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.source, 0, 0)
        return Span(self.source, meta.start_pos, meta.end_pos)

    def _tspan(self, tok: Token) -> Span:
        return Span(self.source, tok.start_pos or 0, tok.end_pos or 0)

    def _ident(self, tok: Token) -> ast.Ident:
        return ast.Ident(name=str(tok), span=self._tspan(tok))

    def _time(self, tok: Token) -> ast.TimeLit:
        text = str(tok)
        try:
            datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
        except ValueError as e:
            self.diagnostics.append(diag.bad_time(self._tspan(tok), text, str(e)))
        return ast.TimeLit(text=text, span=self._tspan(tok))

    def _str(self, tok: Token) -> ast.Str:
        return ast.Str(value=unquote(str(tok)), span=self._tspan(tok))

    # -- top level --
    def start(self, meta: Any, children: list[Any]) -> ast.Module:
        return ast.Module(decls=tuple(children))

    def cite(self, meta: Any, c: list[Any]) -> _Cite:
        return _Cite(unquote(str(c[0])))

    def rests(self, meta: Any, c: list[Any]) -> _Rests:
        return _Rests(tuple(self._ident(t) for t in c))

    def enum_decl(self, meta: Any, c: list[Any]) -> ast.EnumDecl:
        return ast.EnumDecl(name=self._ident(c[0]), cite=_cite(c), members=tuple(_pick(c, ast.Member)))

    def member(self, meta: Any, c: list[Any]) -> ast.Member:
        label = unquote(str(c[1])) if len(c) > 1 and c[1] is not None else None
        return ast.Member(name=self._ident(c[0]), label=label)

    def group_decl(self, meta: Any, c: list[Any]) -> ast.GroupDecl:
        names = _names(c)
        return ast.GroupDecl(
            name=self._ident(names[0]), enum=self._ident(names[1]),
            members=tuple(self._ident(t) for t in names[2:]), cite=_cite(c),
        )

    def assumption_decl(self, meta: Any, c: list[Any]) -> ast.AssumptionDecl:
        tag = str(c[2]) if len(c) > 2 and c[2] is not None else None
        return ast.AssumptionDecl(name=self._ident(c[0]), text=unquote(str(c[1])), tag=tag)

    def record_decl(self, meta: Any, c: list[Any]) -> ast.RecordDecl:
        return ast.RecordDecl(name=self._ident(c[0]), cite=_cite(c), fields=tuple(_pick(c, ast.FieldDecl)))

    def extend_decl(self, meta: Any, c: list[Any]) -> ast.RecordDecl:
        return ast.RecordDecl(name=self._ident(c[0]), cite=_cite(c), fields=tuple(_pick(c, ast.FieldDecl)), extends=True)

    def relation_decl(self, meta: Any, c: list[Any]) -> ast.RelationDecl:
        names = _names(c)
        return ast.RelationDecl(name=self._ident(names[0]), cite=_cite(c), args=tuple(self._ident(t) for t in names[1:]))

    def with_clause(self, meta: Any, c: list[Any]) -> tuple[str, tuple[ast.Setting, ...]]:
        return ("with", tuple(c))

    def setting(self, meta: Any, c: list[Any]) -> ast.Setting:
        return ast.Setting(name=self._ident(c[0]), value=c[1])

    def holds_item(self, meta: Any, c: list[Any]) -> ast.HoldsItem:
        return ast.HoldsItem(relation=self._ident(c[0]), args=tuple(c[1:]))

    def field_decl(self, meta: Any, c: list[Any]) -> ast.FieldDecl:
        return ast.FieldDecl(name=self._ident(c[0]), type=c[1], rests=_rests(c))

    def simple_type(self, meta: Any, c: list[Any]) -> ast.SimpleType:
        return ast.SimpleType(name=self._ident(c[0]))

    def optional_type(self, meta: Any, c: list[Any]) -> ast.OptionalType:
        return ast.OptionalType(inner=c[0])

    def set_type(self, meta: Any, c: list[Any]) -> ast.SetType:
        return ast.SetType(elem=self._ident(c[0]))

    def map_type(self, meta: Any, c: list[Any]) -> ast.MapType:
        return ast.MapType(key=self._ident(c[0]), value=c[1])

    def catalogue_decl(self, meta: Any, c: list[Any]) -> ast.CatalogueDecl:
        names = _names(c)
        return ast.CatalogueDecl(
            name=self._ident(names[0]), cite=_cite(c), record=self._ident(names[1]),
            rests=_rests(c), rows=tuple(_pick(c, ast.Row)),
        )

    def row(self, meta: Any, c: list[Any]) -> ast.Row:
        return ast.Row(srv=self._str(c[0]), fields=tuple(_pick(c, ast.RowField)))

    def row_field(self, meta: Any, c: list[Any]) -> ast.RowField:
        return ast.RowField(name=self._ident(c[0]), value=c[1])

    # -- rule sets --
    def ruleset_decl(self, meta: Any, c: list[Any]) -> ast.RulesetDecl:
        items = [x for x in c[2:] if isinstance(x, (ast.CheckDecl, ast.EffectDecl, ast.DefineDecl))]
        return ast.RulesetDecl(name=self._ident(c[0]), cite=c[1].text, items=tuple(items))

    def define_decl(self, meta: Any, c: list[Any]) -> ast.DefineDecl:
        return ast.DefineDecl(name=self._ident(c[0]), cite=_cite(c), rests=_rests(c), value=c[-1])

    def check_decl(self, meta: Any, c: list[Any]) -> ast.CheckDecl:
        code = next((str(x) for x in c if isinstance(x, Token) and x.type == "CODE"), None)
        clauses = _pick(c, _Clause)
        applies = [x.value for x in clauses if x.kind == "applies"]
        requires = [x.value for x in clauses if x.kind == "requires"]
        rests: list[ast.Ident] = []
        for r in _pick(c, _Rests):
            rests.extend(r.names)
        return ast.CheckDecl(
            name=self._ident(c[0]), cite=c[1].text, layer=self._ident(c[2]), code=code,
            applies=applies[-1] if applies else None,
            excepts=tuple(x.value for x in clauses if x.kind == "except"),
            requires=requires[-1] if requires else None, rests=tuple(rests),
            span=self._span(meta),
        )

    def applies_clause(self, meta: Any, c: list[Any]) -> _Clause:
        return _Clause("applies", c[0])

    def requires_clause(self, meta: Any, c: list[Any]) -> _Clause:
        return _Clause("requires", c[0])

    def except_clause(self, meta: Any, c: list[Any]) -> _Clause:
        return _Clause("except", ast.Except(cite=c[0].text, when=c[1], rests=_rests(c)))

    def effect_decl(self, meta: Any, c: list[Any]) -> ast.EffectDecl:
        return ast.EffectDecl(
            name=self._ident(c[0]), cite=c[1].text, when=c[2], target=c[3], value=c[4], rests=_rests(c)
        )

    # -- modifications --
    def modification_decl(self, meta: Any, c: list[Any]) -> ast.ModificationDecl:
        reuses = c[3] if len(c) > 3 and isinstance(c[3], ast.Ident) else None
        rest = c[4:] if reuses is not None else c[3:]
        return ast.ModificationDecl(
            name=self._ident(c[0]), cite=c[1].text, base=self._ident(c[2]), redlines=tuple(rest), reuses=reuses
        )

    def reuse(self, meta: Any, c: list[Any]) -> ast.Ident:
        return self._ident(c[0])

    def add_check(self, meta: Any, c: list[Any]) -> ast.AddCheck:
        return ast.AddCheck(check=c[-1], position=c[0] if len(c) > 1 else None)

    def before(self, meta: Any, c: list[Any]) -> tuple[str, ast.Ident]:
        return ("before", self._ident(c[0]))

    def after(self, meta: Any, c: list[Any]) -> tuple[str, ast.Ident]:
        return ("after", self._ident(c[0]))

    def add_effect(self, meta: Any, c: list[Any]) -> ast.AddEffect:
        return ast.AddEffect(effect=c[0])

    def add_define(self, meta: Any, c: list[Any]) -> ast.AddDefine:
        return ast.AddDefine(define=c[0])

    def remove_check(self, meta: Any, c: list[Any]) -> ast.RemoveCheck:
        return ast.RemoveCheck(name=self._ident(c[0]), cite=c[1].text)

    def remove_effect(self, meta: Any, c: list[Any]) -> ast.RemoveEffect:
        return ast.RemoveEffect(name=self._ident(c[0]), cite=c[1].text)

    def amend_check(self, meta: Any, c: list[Any]) -> ast.AmendCheck:
        clauses = _pick(c, _Clause)
        req = [x.value for x in clauses if x.kind == "requires"]
        app = [x.value for x in clauses if x.kind == "applies"]
        return ast.AmendCheck(
            name=self._ident(c[0]), excepts=tuple(x.value for x in clauses if x.kind == "except"),
            requires=req[-1] if req else None, applies=app[-1] if app else None,
        )

    def intent(self, meta: Any, c: list[Any]) -> ast.Intent:
        return ast.Intent(kind=str(c[0]), cite=c[1].text, where=c[2])

    def amend_row(self, meta: Any, c: list[Any]) -> ast.AmendRow:
        return ast.AmendRow(srv=self._str(c[0]), cite=c[1].text, fields=tuple(_pick(c, ast.RowField)))

    def add_row(self, meta: Any, c: list[Any]) -> ast.AddRow:
        return ast.AddRow(srv=self._str(c[0]), cite=c[1].text, fields=tuple(_pick(c, ast.RowField)))

    # -- properties --
    def property_decl(self, meta: Any, c: list[Any]) -> ast.PropertyDecl:
        return ast.PropertyDecl(
            name=self._ident(c[0]), cite=c[1].text, expectations=tuple(_pick(c, ast.Expectation)),
            rests=_rests(c), body=c[-1], allowing=a.names if (a := _one(c, _Allowing)) else None,
        )

    def acknowledgement_decl(self, meta: Any, c: list[Any]) -> ast.AcknowledgementDecl:
        return ast.AcknowledgementDecl(name=self._ident(c[0]), cite=c[1].text, expectations=tuple(_pick(c, ast.Expectation)))

    def allowing(self, meta: Any, c: list[Any]) -> _Allowing:
        return _Allowing(tuple(self._ident(t) for t in c if t is not None))

    def event_decl(self, meta: Any, c: list[Any]) -> ast.EventDecl:
        target, group, span = c[2]
        return ast.EventDecl(name=self._ident(c[0]), cite=c[1].text, target=target, group=group, target_span=span)

    def invariant_decl(self, meta: Any, c: list[Any]) -> ast.InvariantDecl:
        names = [self._ident(t) for t in c[2:] if isinstance(t, Token)]
        return ast.InvariantDecl(name=self._ident(c[0]), cite=c[1].text, rests=_rests(c), form=names[0],
                                 args=tuple(names[1:]))

    def field_target(self, meta: Any, c: list[Any]) -> tuple[str, ast.Ident | None, Any]:
        return (str(c[0]), self._ident(c[1]) if len(c) > 1 and c[1] is not None else None, self._span(meta))

    def now_target(self, meta: Any, c: list[Any]) -> tuple[str, ast.Ident | None, Any]:
        return ("now", None, self._span(meta))

    def expectation(self, meta: Any, c: list[Any]) -> ast.Expectation:
        other = self._ident(c[1]) if len(c) > 2 else None
        return ast.Expectation(ruleset=self._ident(c[0]), other=other, outcome=str(c[-1]))

    # -- worlds and scenarios --
    def world_decl(self, meta: Any, c: list[Any]) -> ast.WorldDecl:
        items = [x for x in c[1:] if not isinstance(x, _Cite)]
        return ast.WorldDecl(name=self._ident(c[0]), cite=_cite(c), items=tuple(items))

    def now_item(self, meta: Any, c: list[Any]) -> ast.NowItem:
        return ast.NowItem(time=self._time(c[0]))

    def party_item(self, meta: Any, c: list[Any]) -> ast.PartyItem:
        names = _names(c)
        inactive = any(isinstance(x, lark.Tree) and x.data == "inactive" for x in c) or "inactive" in c
        return ast.PartyItem(
            alias=self._ident(names[0]), id=self._str(c[1]),
            roles=tuple(self._ident(t) for t in names[1:]), dcc_user=not inactive, settings=_settings(c),
        )

    def inactive(self, meta: Any, c: list[Any]) -> str:
        return "inactive"

    def device_item(self, meta: Any, c: list[Any]) -> ast.DeviceItem:
        link = c[5]
        anchors = c[6] if len(c) > 6 and c[6] is not None and not _is_with(c[6]) else ()
        return ast.DeviceItem(
            alias=self._ident(c[0]), id=self._str(c[1]), type=self._ident(c[2]),
            generation=self._ident(c[3]), smi_status=self._ident(c[4]),
            mpxn=link if isinstance(link, ast.Str) else None,
            via=link if isinstance(link, ast.Ident) else None, anchors=tuple(anchors), settings=_settings(c),
        )

    def mpxn_link(self, meta: Any, c: list[Any]) -> ast.Str:
        return self._str(c[0])

    def via_link(self, meta: Any, c: list[Any]) -> ast.Ident:
        return self._ident(c[0])

    def anchors(self, meta: Any, c: list[Any]) -> tuple[ast.Anchor, ...]:
        return tuple(c)

    def anchor(self, meta: Any, c: list[Any]) -> ast.Anchor:
        return ast.Anchor(role=self._ident(c[0]), owner=self._ident(c[1]))

    def registered_item(self, meta: Any, c: list[Any]) -> ast.RegisteredItem:
        end = self._time(c[4]) if len(c) > 4 and c[4] is not None else None
        return ast.RegisteredItem(
            mpxn=self._str(c[0]), role=self._ident(c[1]), party=self._ident(c[2]),
            start=self._time(c[3]), end=end,
        )

    def scenario_decl(self, meta: Any, c: list[Any]) -> ast.ScenarioDecl:
        items = [x for x in c[3:] if isinstance(x, (ast.NowItem, ast.PartyItem, ast.DeviceItem, ast.RegisteredItem, ast.HoldsItem))]
        req = _one(c, ast.RequestSpec)
        expects = [x for x in c if isinstance(x, (ast.ExpectAccept, ast.ExpectReject))]
        return ast.ScenarioDecl(
            name=self._ident(c[0]), cite=c[1].text, world=self._ident(c[2]), items=tuple(items),
            request=req, expects=tuple(expects),
        )

    def request(self, meta: Any, c: list[Any]) -> ast.RequestSpec:
        parts = {k: v for k, v in (x for x in c[3:] if isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str))}
        return ast.RequestSpec(
            sender=c[0], role=self._ident(c[1]), srv=self._str(c[2]),
            device=parts.get("to"), replacing=parts.get("replacing"),
            execution_time=parts.get("at"), date_range=parts.get("over"), settings=parts.get("with", ()), span=self._span(meta),
            carrying=parts.get("carrying"),
        )

    def ref(self, meta: Any, c: list[Any]) -> ast.Ref:
        tok = c[0]
        if tok.type == "STRING":
            return ast.Ref(name=unquote(str(tok)), literal=True, span=self._tspan(tok))
        return ast.Ref(name=str(tok), literal=False, span=self._tspan(tok))

    def target(self, meta: Any, c: list[Any]) -> tuple[str, ast.Ref]:
        return ("to", c[0])

    def replacing(self, meta: Any, c: list[Any]) -> tuple[str, tuple[ast.Ident, ast.Ref]]:
        return ("replacing", (self._ident(c[0]), c[1]))

    def carrying(self, meta: Any, c: list[Any]) -> tuple[str, tuple[ast.Ident, ast.Ref]]:
        return ("carrying", (self._ident(c[0]), c[1]))

    def at_time(self, meta: Any, c: list[Any]) -> tuple[str, ast.TimeLit]:
        return ("at", self._time(c[0]))

    def over(self, meta: Any, c: list[Any]) -> tuple[str, tuple[ast.TimeLit, ast.TimeLit]]:
        return ("over", (self._time(c[0]), self._time(c[1])))

    def expect_accept(self, meta: Any, c: list[Any]) -> ast.ExpectAccept:
        return ast.ExpectAccept(ruleset=self._ident(c[0]), effect=c[1] if len(c) > 1 else None)

    def effect_expect(self, meta: Any, c: list[Any]) -> tuple[ast.Ident, ast.Ident, ast.Ref]:
        return (self._ident(c[0]), self._ident(c[1]), c[2])

    def expect_reject(self, meta: Any, c: list[Any]) -> ast.ExpectReject:
        code = next((str(x) for x in c if isinstance(x, Token) and x.type == "CODE"), None)
        names = _names(c)
        return ast.ExpectReject(
            ruleset=self._ident(names[0]), layer=self._ident(names[1]), code=code,
            check=self._ident(names[2]) if len(names) > 2 else None,
        )

    # -- expressions --
    def if_expr(self, meta: Any, c: list[Any]) -> ast.If:
        return ast.If(cond=c[0], then=c[1], otherwise=c[2], span=self._span(meta))

    def forall_expr(self, meta: Any, c: list[Any]) -> ast.Quant:
        return ast.Quant(kind="forall", binders=tuple(_pick(c, ast.Binder)), body=c[-1], span=self._span(meta))

    def exists_expr(self, meta: Any, c: list[Any]) -> ast.Quant:
        return ast.Quant(kind="exists", binders=tuple(_pick(c, ast.Binder)), body=c[-1], span=self._span(meta))

    def always_expr(self, meta: Any, c: list[Any]) -> ast.Temporal:
        return ast.Temporal(kind="always", var=self._ident(c[0]), origin=self._ident(c[1]), depth=None, body=c[-1], span=self._span(meta))

    def reachable_expr(self, meta: Any, c: list[Any]) -> ast.Temporal:
        return ast.Temporal(kind="reachable", var=self._ident(c[0]), origin=self._ident(c[1]), depth=None, body=c[-1], span=self._span(meta))

    def within_expr(self, meta: Any, c: list[Any]) -> ast.Temporal:
        digits = str(c[0])
        depth = int(digits) if len(digits) <= 6 else 10**6  # the checker says why a depth is too large
        return ast.Temporal(kind="within", var=self._ident(c[1]), origin=self._ident(c[2]), depth=depth, body=c[-1],
                            span=self._span(meta))

    def implies(self, meta: Any, c: list[Any]) -> ast.Implies:
        return ast.Implies(premise=c[0], conclusion=c[1], span=self._span(meta))

    def binder(self, meta: Any, c: list[Any]) -> ast.Binder:
        return ast.Binder(name=self._ident(c[0]), type=self._ident(c[1]))

    def or_expr(self, meta: Any, c: list[Any]) -> ast.Expr:
        if len(c) == 1:
            return c[0]  # type: ignore[no-any-return]  # a lone operand is not a disjunction
        return ast.Or(items=tuple(c), span=self._span(meta))

    def and_expr(self, meta: Any, c: list[Any]) -> ast.Expr:
        if len(c) == 1:
            return c[0]  # type: ignore[no-any-return]  # a lone operand is not a conjunction
        return ast.And(items=tuple(c), span=self._span(meta))

    def not_expr(self, meta: Any, c: list[Any]) -> ast.Not:
        return ast.Not(operand=c[0], span=self._span(meta))

    def compare(self, meta: Any, c: list[Any]) -> ast.Compare:
        return ast.Compare(op=str(c[1]), left=c[0], right=c[2], span=self._span(meta))

    def in_expr(self, meta: Any, c: list[Any]) -> ast.In:
        return ast.In(item=c[0], collection=c[1], negated=False, span=self._span(meta))

    def not_in_expr(self, meta: Any, c: list[Any]) -> ast.In:
        return ast.In(item=c[0], collection=c[1], negated=True, span=self._span(meta))

    def throughout(self, meta: Any, c: list[Any]) -> ast.Throughout:
        return ast.Throughout(predicate=c[0], times=c[1], span=self._span(meta))

    def field(self, meta: Any, c: list[Any]) -> ast.Field:
        return ast.Field(obj=c[0], name=self._ident(c[1]), span=self._span(meta))

    def index(self, meta: Any, c: list[Any]) -> ast.Index:
        return ast.Index(obj=c[0], key=c[1], span=self._span(meta))

    def call(self, meta: Any, c: list[Any]) -> ast.Call:
        args = tuple(x for x in c[1:] if x is not None)
        return ast.Call(func=self._ident(c[0]), args=args, span=self._span(meta))

    def name(self, meta: Any, c: list[Any]) -> ast.Name:
        return ast.Name(id=self._ident(c[0]), span=self._span(meta))

    def string(self, meta: Any, c: list[Any]) -> ast.Str:
        return ast.Str(value=unquote(str(c[0])), span=self._span(meta))

    def time(self, meta: Any, c: list[Any]) -> ast.TimeLit:
        return self._time(c[0])

    def true(self, meta: Any, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(value=True, span=self._span(meta))

    def false(self, meta: Any, c: list[Any]) -> ast.BoolLit:
        return ast.BoolLit(value=False, span=self._span(meta))

    def null(self, meta: Any, c: list[Any]) -> ast.NullLit:
        return ast.NullLit(span=self._span(meta))

    def set_lit(self, meta: Any, c: list[Any]) -> ast.SetLit:
        return ast.SetLit(items=tuple(x for x in c if x is not None), span=self._span(meta))


def build(source: Source, tree: lark.Tree[Token]) -> tuple[ast.Module, list[Diagnostic]]:
    builder = _Builder(source)
    module = builder.transform(tree)
    assert isinstance(module, ast.Module)
    return module, builder.diagnostics
