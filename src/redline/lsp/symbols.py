"""Document symbols: each declaration, with its checks, defines, effects, redlines, fields, members or rows."""

from __future__ import annotations

from lsprotocol import types as lsp

from redline import ast
from redline.lsp.positions import position, span_range
from redline.lsp.project import TOP_LEVEL, Parsed
from redline.source import Span

K = lsp.SymbolKind
_KIND = {
    ast.EnumDecl: K.Enum, ast.GroupDecl: K.Enum, ast.AssumptionDecl: K.Constant, ast.RecordDecl: K.Struct,
    ast.RelationDecl: K.Interface,
    ast.CatalogueDecl: K.Object, ast.RulesetDecl: K.Module, ast.ModificationDecl: K.Module,
    ast.PropertyDecl: K.Property, ast.AcknowledgementDecl: K.Property, ast.EventDecl: K.Event, ast.WorldDecl: K.Namespace, ast.ScenarioDecl: K.Class,
    ast.InvariantDecl: K.Boolean,
}


def _leaf(name: str, kind: lsp.SymbolKind, span: Span, detail: str | None = None) -> lsp.DocumentSymbol:
    r = span_range(span)
    return lsp.DocumentSymbol(name=name, kind=kind, range=r, selection_range=r, detail=detail)


def _rule_item(it: ast.RuleItem, prefix: str = "") -> lsp.DocumentSymbol:
    match it:
        case ast.CheckDecl():
            return _leaf(prefix + it.name.name, K.Function, it.name.span, it.cite)
        case ast.EffectDecl():
            return _leaf(prefix + it.name.name, K.Event, it.name.span, it.cite)
        case ast.DefineDecl():
            return _leaf(prefix + it.name.name, K.Variable, it.name.span, it.cite)
    raise AssertionError("unhandled rule item")  # pragma: no cover


def _redline(r: ast.Redline) -> lsp.DocumentSymbol | None:
    match r:
        case ast.AddCheck(check=it) | ast.AddEffect(effect=it) | ast.AddDefine(define=it):
            return _rule_item(it, "add ")
        case ast.RemoveCheck(name=n, cite=c) | ast.RemoveEffect(name=n, cite=c):
            return _leaf(f"remove {n.name}", K.Function, n.span, c)
        case ast.AmendCheck(name=n):
            return _leaf(f"amend {n.name}", K.Function, n.span, "; ".join(e.cite for e in r.excepts) or None)
        case ast.AmendRow(srv=s, cite=c):
            return _leaf(f"amend row {s.value}", K.Object, s.span, c)
        case ast.AddRow(srv=s, cite=c):
            return _leaf(f"add row {s.value}", K.Object, s.span, c)
    return None  # an intent has no name of its own


def _children(d: ast.Decl) -> list[lsp.DocumentSymbol]:
    match d:
        case ast.EnumDecl():
            return [_leaf(m.name.name, K.EnumMember, m.name.span, m.label) for m in d.members]
        case ast.RecordDecl():
            return [_leaf(f.name.name, K.Field, f.name.span) for f in d.fields]
        case ast.CatalogueDecl():
            return [_leaf(r.srv.value, K.Object, r.srv.span) for r in d.rows]
        case ast.RulesetDecl():
            return [_rule_item(it) for it in d.items]
        case ast.ModificationDecl():
            return [s for s in map(_redline, d.redlines) if s is not None]
    return []


def document_symbols(parsed: Parsed) -> list[lsp.DocumentSymbol]:
    """The symbols of what parses, in the order written; a declaration's range runs to the next one's start."""
    text = parsed.source.text
    starts = [m.start() for m in TOP_LEVEL.finditer(text)] + [len(text)]
    out = []
    for d in sorted(parsed.module.decls, key=lambda d: d.name.span.start):
        begin = max((s for s in starts if s <= d.name.span.start), default=d.name.span.start)
        end = min(s for s in starts if s > d.name.span.start)
        while end > begin and text[end - 1].isspace():
            end -= 1
        whole = lsp.Range(start=position(parsed.source, begin), end=position(parsed.source, end))
        cite = getattr(d, "cite", None)
        out.append(lsp.DocumentSymbol(name=d.name.name, kind=_KIND[type(d)], range=whole,
                                      selection_range=span_range(d.name.span), detail=cite, children=_children(d)))
    return out
