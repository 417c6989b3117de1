"""`redline lsp`: the language server, on pygls, over standard input and output.

Diagnostics are those of `redline check` for the files checked together with
the document (`project.py`), published for every one of them, shortly after
each change (a burst of keystrokes is checked once). Property bodies take
seconds to compile, so their diagnostics follow in a second publication,
computed off the event loop, and are dropped if the text changed meanwhile.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import BinaryIO

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from redline.diagnostics import Diagnostic, Severity
from redline.lsp.answering import AnsweringProtocol
from redline.lsp.complete import complete
from redline.lsp.cursor import resolve, word_at
from redline.lsp.index import Index, build_index, hover_text, merge
from redline.lsp.logs import install
from redline.lsp.positions import offset, position, span_range
from redline.lsp.project import Parsed, Project, diagnostics
from redline.lsp.symbols import document_symbols
from redline.source import Source
from redline.syntax import format_source

DEBOUNCE_SECONDS = 0.03  # a burst of keystrokes is checked once; checking takes 60-150 ms here


def _uri(path: str) -> str:
    return str(from_fs_path(path))


def _version() -> str:
    try:
        return version("redline")
    except PackageNotFoundError:
        return "unknown"


class RedlineServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("redline", _version(), protocol_cls=AnsweringProtocol,
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.project = Project()
        self.published: set[str] = set()  # URIs that were last given a non-empty list
        self.pending: dict[str, asyncio.Task[None]] = {}
        self._index: tuple[tuple[Parsed, ...], Index] | None = None
        self._parts: dict[str, tuple[Parsed, Index]] = {}  # each file's own index, by path

    def open_texts(self) -> dict[str, str]:
        out = {}
        for uri, doc in self.workspace.text_documents.items():
            path = to_fs_path(uri)
            if path is not None:
                out[str(Path(path))] = doc.source
        return out

    def files(self, uri: str) -> tuple[list[Parsed], Parsed] | None:
        """The files checked with a document, and the document's own parse."""
        path = to_fs_path(uri)
        if path is None:
            return None
        files = self.project.load(Path(path), self.open_texts())
        own = next((p for p in files if p.source.path == str(Path(path))), None)
        return (files, own) if own is not None else None

    def index(self, files: Sequence[Parsed]) -> Index:
        key = tuple(files)
        if self._index is None or self._index[0] != key:
            parts = []
            for p in files:
                part = self._parts.get(p.source.path)
                if part is None or part[0] is not p:
                    part = (p, build_index(p.decls))
                    self._parts[p.source.path] = part
                parts.append(part[1])
            self._index = (key, merge(parts))
        return self._index[1]

    def publish(self, uri: str, files: Sequence[Parsed], diags: Sequence[Diagnostic]) -> None:
        """Diagnostics for the document `uri` (even none) and for each file checked with it that has or had some."""
        by_uri: dict[str, list[lsp.Diagnostic]] = {_uri(p.source.path): [] for p in files}
        for d in diags:
            if d.span.source is not None:
                by_uri.setdefault(_uri(d.span.source.path), []).append(to_lsp(d))
        for each, found in by_uri.items():
            if found or each in self.published or each == uri:
                version = self.workspace.get_text_document(each).version if each == uri else None
                self.text_document_publish_diagnostics(
                    lsp.PublishDiagnosticsParams(uri=each, diagnostics=found, version=version))
            (self.published.add if found else self.published.discard)(each)

    async def analyse(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        loaded = self.files(uri)
        if loaded is None:
            return
        files = loaded[0]
        _, diags = diagnostics(files)
        self.publish(uri, files, diags)

    def schedule(self, uri: str, delay: float) -> None:
        old = self.pending.pop(uri, None)
        if old is not None:
            old.cancel()
        self.pending[uri] = asyncio.get_running_loop().create_task(self.analyse(uri, delay))


def to_lsp(d: Diagnostic) -> lsp.Diagnostic:
    message = d.message + "".join(f"\nnote: {n}" for n in d.notes)
    severity = lsp.DiagnosticSeverity.Error if d.severity is Severity.ERROR else lsp.DiagnosticSeverity.Warning
    return lsp.Diagnostic(range=span_range(d.span), message=message, severity=severity, code=d.code, source="redline")


server = RedlineServer()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: RedlineServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, 0)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: RedlineServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
async def did_close(ls: RedlineServer, params: lsp.DidCloseTextDocumentParams) -> None:
    """Its unsaved text is gone: its diagnostics go with it (the file on disk is checked when next opened)."""
    uri = params.text_document.uri
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.published.discard(uri)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def _at(ls: RedlineServer, uri: str, pos: lsp.Position) -> tuple[Index, Parsed, int] | None:
    loaded = ls.files(uri)
    if loaded is None:
        return None
    files, own = loaded
    return ls.index(files), own, offset(own.source.text, pos)


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: RedlineServer, params: lsp.HoverParams) -> lsp.Hover | None:
    found = _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    index, own, at = found
    word = word_at(own.source.text, at)
    defs = resolve(index, own.source.text, word) if word is not None else []
    if word is None or not defs:
        return None
    r = lsp.Range(start=position(own.source, word.start), end=position(own.source, word.end))
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=hover_text(index, defs[0])), range=r)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: RedlineServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
    found = _at(ls, params.text_document.uri, params.position)
    if found is None:
        return []
    index, own, at = found
    word = word_at(own.source.text, at)
    defs = resolve(index, own.source.text, word) if word is not None else []
    return [lsp.Location(uri=_uri(d.span.source.path), range=span_range(d.span)) for d in defs if d.span.source]


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=['"', " ", "{", "."]))
def completion(ls: RedlineServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    found = _at(ls, params.text_document.uri, params.position)
    spaced = params.context is not None and params.context.trigger_character == " "
    items = complete(found[0], found[1].source.text, found[2], spaced) if found is not None else []
    return lsp.CompletionList(is_incomplete=False, items=items)


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def symbols(ls: RedlineServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    loaded = ls.files(params.text_document.uri)
    return document_symbols(loaded[1]) if loaded is not None else []


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: RedlineServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
    """The whole document laid out by `redline fmt`; nothing while it has syntax errors."""
    doc = ls.workspace.get_text_document(params.text_document.uri)
    source = Source(doc.path, doc.source)
    text, _ = format_source(source)
    if text is None or text == source.text:
        return []
    whole = lsp.Range(start=lsp.Position(line=0, character=0), end=position(source, len(source.text)))
    return [lsp.TextEdit(range=whole, new_text=text)]


MAX_MESSAGE_BYTES = 64 << 20  # as a JSON input file (redline.inputs.MAX_JSON_BYTES)
_CONTENT_LENGTH = re.compile(rb"Content-Length: \d+\r\n")  # what pygls reads; any other such header it ignores


class BoundedStdin:
    """Standard input for pygls, whose reader reads a message's Content-Length in one call: a header claiming more
    than MAX_MESSAGE_BYTES (99999999999999 ended the server with a MemoryError, exit 70) ends the session instead."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw

    def readline(self) -> bytes:
        line = self.raw.readline(MAX_MESSAGE_BYTES)
        if line[:15].lower() == b"content-length:" and not _CONTENT_LENGTH.fullmatch(line):
            print(f"redline lsp: error: a Content-Length header that is not a number of bytes ({line[:80]!r}); "
                  "the message is skipped", file=sys.stderr)
        return line

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > MAX_MESSAGE_BYTES:
            print(f"redline lsp: error: a message of {n} bytes (Content-Length) is over the limit of {MAX_MESSAGE_BYTES}; "
                  "stopping", file=sys.stderr)
            return b""
        return self.raw.read(n)


def serve(rules: Path | None = None, stdin: BinaryIO | None = None) -> None:
    server.project.rules = rules
    install(sys.stderr)  # one line per malformed message, no traceback; the server keeps serving
    server.start_io(BoundedStdin(stdin or sys.stdin.buffer))  # type: ignore[arg-type]
