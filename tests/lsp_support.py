"""An editor for tests and benchmarks: a real `redline lsp` subprocess, spoken to in JSON-RPC over stdio.

pygls's client runs on an event loop in a thread of its own; each method here
waits for its answer, so a test reads like an editor session.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types as lsp
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

SRC = Path(__file__).resolve().parents[1] / "src"
T = TypeVar("T")


class Editor:
    def __init__(self, root: Path, *args: str, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = LanguageClient("redline-tests", "1")
        self.published: dict[str, list[tuple[float, int | None, list[lsp.Diagnostic]]]] = {}
        self.changed = threading.Condition()
        self.versions: dict[str, int] = {}

        @self.client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: lsp.PublishDiagnosticsParams) -> None:
            with self.changed:
                self.published.setdefault(params.uri, []).append(
                    (time.perf_counter(), params.version, list(params.diagnostics)))
                self.changed.notify_all()

        env = {**os.environ, "PYTHONPATH": str(SRC)}
        self.run(self.client.start_io(sys.executable, "-c", "from redline.cli import entry; entry()", "lsp", *args,
                                         env=env))
        self.run(self.client.initialize_async(lsp.InitializeParams(
            capabilities=lsp.ClientCapabilities(), root_uri=from_fs_path(str(root)))))
        self.notify(self.client.initialized, lsp.InitializedParams())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout)

    def notify(self, method: Any, params: Any) -> None:
        self.loop.call_soon_threadsafe(method, params)

    def open(self, path: Path, text: str | None = None) -> str:
        """Open a document (its text from disk unless given); one already open is left as it is."""
        uri = str(from_fs_path(str(path)))
        if uri in self.versions:
            return uri
        self.versions[uri] = 1
        item = lsp.TextDocumentItem(uri=uri, language_id="redline", version=1,
                                    text=path.read_text() if text is None else text)
        self.notify(self.client.text_document_did_open, lsp.DidOpenTextDocumentParams(text_document=item))
        return uri

    def change(self, uri: str, text: str) -> int:
        """Replace a document's text; its new version."""
        self.versions[uri] += 1
        doc = lsp.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri])
        change = lsp.TextDocumentContentChangeWholeDocument(text=text)
        self.notify(self.client.text_document_did_change,
                    lsp.DidChangeTextDocumentParams(text_document=doc, content_changes=[change]))
        return self.versions[uri]

    def count(self, uri: str) -> int:
        with self.changed:
            return len(self.published.get(uri, []))

    def diagnostics(self, uri: str, version: int | None = None, after: int = 0) -> list[lsp.Diagnostic]:
        """The first diagnostics published for `uri` at `version` (any, if None) after the first `after` ones."""
        return self.publication(uri, version, after)[1]

    def publication(self, uri: str, version: int | None = None, after: int = 0,
                    some: bool = False) -> tuple[float, list[lsp.Diagnostic]]:
        """(when it arrived, its diagnostics); with `some`, the first that has diagnostics."""
        def found() -> tuple[float, list[lsp.Diagnostic]] | None:
            for when, v, diags in self.published.get(uri, [])[after:]:
                if (version is None or v == version) and (diags or not some):
                    return when, diags
            return None

        with self.changed:
            if not self.changed.wait_for(lambda: found() is not None, self.timeout):
                raise TimeoutError(f"no diagnostics for {uri} at version {version}")
            got = found()
            assert got is not None
            return got

    @staticmethod
    def _doc(uri: str) -> lsp.TextDocumentIdentifier:
        return lsp.TextDocumentIdentifier(uri=uri)

    def hover(self, uri: str, line: int, character: int) -> lsp.Hover | None:
        pos = lsp.Position(line=line, character=character)
        return self.run(self.client.text_document_hover_async(lsp.HoverParams(text_document=self._doc(uri), position=pos)))

    def definition(self, uri: str, line: int, character: int) -> list[lsp.Location]:
        pos = lsp.Position(line=line, character=character)
        got = self.run(self.client.text_document_definition_async(
            lsp.DefinitionParams(text_document=self._doc(uri), position=pos)))
        return list(got) if isinstance(got, list) else [got] if isinstance(got, lsp.Location) else []  # type: ignore[list-item]

    def completion(self, uri: str, line: int, character: int, typed: str | None = None) -> list[lsp.CompletionItem]:
        """The completion at a position; `typed` is the trigger character just typed, if any."""
        pos = lsp.Position(line=line, character=character)
        context = None if typed is None else lsp.CompletionContext(
            trigger_kind=lsp.CompletionTriggerKind.TriggerCharacter, trigger_character=typed)
        got = self.run(self.client.text_document_completion_async(
            lsp.CompletionParams(text_document=self._doc(uri), position=pos, context=context)))
        return got.items if isinstance(got, lsp.CompletionList) else list(got or [])

    def symbols(self, uri: str) -> list[lsp.DocumentSymbol]:
        got = self.run(self.client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(text_document=self._doc(uri))))
        return [s for s in got or [] if isinstance(s, lsp.DocumentSymbol)]

    def formatting(self, uri: str) -> list[lsp.TextEdit]:
        options = lsp.FormattingOptions(tab_size=2, insert_spaces=True)
        got = self.run(self.client.text_document_formatting_async(
            lsp.DocumentFormattingParams(text_document=self._doc(uri), options=options)))
        return list(got or [])

    def close(self) -> None:
        self.run(self.client.shutdown_async(None))
        self.notify(self.client.exit, None)
        self.run(self.client.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(self.timeout)
