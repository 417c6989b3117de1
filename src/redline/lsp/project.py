"""The rule files an open document is checked with, parsed once per text.

A document is checked the way `redline check` checks it. With `--rules DIR`,
with every rule file of that directory. Else, under a project configuration
(`redline.toml` or `[tool.redline]`, found upwards from the document, as the
command line finds it from the working directory), with the configuration's
rules and proofs (the shipped ones underneath, when it says so) and the
document. Else with every rule file of its rules directory (the nearest
enclosing directory named `rules`, else the `rules` beside its own directory,
as for `proofs/`, else its own directory, not searched below: that may be a
home directory). The files of its own directory come too when that is not
inside the rules. Open documents' text replaces what is on disk.

A document with syntax errors still yields declarations: each top-level
declaration is parsed on its own, its lines in error blanked, and one that
still does not parse falls back to its last good parse, so hover and symbols
keep working while a file is edited.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from redline import ast
from redline.check import check
from redline.check.checked import Program
from redline.diagnostics import Diagnostic
from redline.inputs import BadInput
from redline.loading import rule_files
from redline.project import ConfigError, find_config, read_config
from redline.source import Source
from redline.syntax import parse
from redline.syntax.parser import TOP_LEVEL as PARSER_TOP_LEVEL

# Where a top-level declaration starts; the parser resumes at the same places.
# Where a declaration starts: the parser's own recovery pattern, so the two never disagree.
TOP_LEVEL = PARSER_TOP_LEVEL


def rules_dir(path: Path) -> Path:
    for parent in path.parents:
        if parent.name == "rules":
            return parent
    beside = path.parent.parent / "rules"
    return beside if beside.is_dir() else path.parent


def project_files(path: Path, rules: Path | None = None) -> list[Path]:
    """The rule files checked with `path`: `rules`', or its project configuration's, or its rules directory's
    and its own directory's; and itself."""
    if rules is None:
        configured = configured_files(path)
        if configured is not None:
            return sorted({*configured, path})
    rules = rules_dir(path) if rules is None else rules
    below = rules != path.parent or rules.name == "rules"  # an arbitrary directory is not searched below
    found = set(rules.rglob("*.redline") if below else rules.glob("*.redline"))
    if rules not in path.parents:
        found.update(path.parent.glob("*.redline"))
    found.add(path)
    return sorted(f for f in found if f == path or f.is_file())


def configured_files(path: Path) -> list[Path] | None:
    """The rule and property files of the project configuration above `path`, or None without one. A
    configuration that cannot be used is said once on standard error (as `redline check` would say it, exit 2)
    and the document is checked as if there were none."""
    try:
        config = find_config(path.parent)
        if config is None:
            return None
        project = read_config(config)
        return [f.resolve() for f in rule_files([*project.rules, *project.proofs])]
    except (ConfigError, BadInput) as e:
        if str(e) not in _said:
            _said.add(str(e))
            logging.getLogger("pygls").warning("%s; the document is checked without the configuration", e)
        return None


_said: set[str] = set()


@dataclass(frozen=True, slots=True)
class Parsed:
    source: Source
    module: ast.Module  # what parses: all of it, or the declarations that parse on their own
    errors: tuple[Diagnostic, ...]
    kept: tuple[ast.Decl, ...] = ()  # from the last good parse: declarations that no longer parse (stale spans)

    @property
    def decls(self) -> tuple[ast.Decl, ...]:
        return self.module.decls + self.kept


BLANKING_ROUNDS = 4  # enough for a clause typed across a few lines; each round re-parses only the chunks that changed


def partial_module(source: Source, errors: Sequence[Diagnostic]) -> ast.Module:
    """What parses of a file with syntax errors: its declarations one by one, with the lines in error blanked.

    Blanking a broken line often leaves a declaration that parses (a clause
    fewer); a few rounds are tried, each blanking the lines still in error.
    """
    text, decls = source.text, list[ast.Decl]()
    parsed: dict[tuple[int, str], list[ast.Decl] | int] = {}  # a chunk's decls, or the offset of its first error
    bad = [d.span.start for d in errors]
    for _ in range(BLANKING_ROUNDS):
        text = _blank_lines(text, bad)
        starts = [m.start() for m in TOP_LEVEL.finditer(text)]
        decls, bad = [], []
        for start, end in zip(starts, [*starts[1:], len(text)][:len(starts)], strict=True):  # no start: no chunk
            key = (start, text[start:end])
            if key not in parsed:
                head = "".join(ch if ch == "\n" else " " for ch in text[:start])
                module, errs = parse(Source(source.path, head + key[1]))
                parsed[key] = list(module.decls) if not errs else errs[0].span.start
            found = parsed[key]
            if isinstance(found, int):
                bad.append(found)
            else:
                decls.extend(found)
        if not bad:
            break
    return ast.Module(decls=tuple(decls))


def _blank_lines(text: str, offsets: Sequence[int]) -> str:
    for at in offsets:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        text = text[:start] + " " * (end - start) + text[end:]
    return text


@dataclass(slots=True)
class Project:
    """Parses cached by text; the last good parse of each file kept for the declarations a broken edit loses."""

    rules: Path | None = None  # the rules directory of every document (`redline lsp --rules DIR`), else found per document
    _parsed: dict[str, Parsed] = field(default_factory=dict)
    _good: dict[str, ast.Module] = field(default_factory=dict)
    _disk: dict[Path, tuple[tuple[int, int], str]] = field(default_factory=dict)  # (mtime, size) -> text

    def parse(self, path: str, text: str) -> Parsed:
        cached = self._parsed.get(path)
        if cached is not None and cached.source.text == text:
            return cached
        source = Source(path, text)
        module, errors = parse(source)
        kept: tuple[ast.Decl, ...] = ()
        if errors:
            module = partial_module(source, errors)
            kept = _lost(module, self._good.get(path))
        else:
            self._good[path] = module
        parsed = Parsed(source, module, tuple(errors), kept)
        self._parsed[path] = parsed
        return parsed

    def load(self, path: Path, open_docs: dict[str, str]) -> list[Parsed]:
        """Every file checked with `path`, parsed; unreadable files are left out."""
        out = []
        for f in project_files(path, self.rules):
            text = open_docs.get(str(f))
            if text is None:
                text = self._read(f)
            if text is not None:
                out.append(self.parse(str(f), text))
        return out

    def _read(self, path: Path) -> str | None:
        """A file's text, read again only when its modification time or size changes."""
        try:
            st = path.stat()
            if not stat.S_ISREG(st.st_mode):
                return None  # a pipe named *.redline would block the server for ever, waiting for a writer
            stamp = (st.st_mtime_ns, st.st_size)
            cached = self._disk.get(path)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            text = path.read_text(encoding="utf-8-sig")  # a byte order mark is not part of the text
        except (OSError, UnicodeDecodeError):
            return None
        self._disk[path] = (stamp, text)
        return text


def _lost(partial: ast.Module, good: ast.Module | None) -> tuple[ast.Decl, ...]:
    """The declarations of the last good parse that the partial one lacks."""
    if good is None:
        return ()
    have = {(type(d), d.name.name) for d in partial.decls}
    return tuple(d for d in good.decls if (type(d), d.name.name) not in have)


def diagnostics(files: Sequence[Parsed]) -> tuple[Program | None, list[Diagnostic]]:
    """What `redline check` reports for these files, property bodies included."""
    errors = [d for p in files for d in p.errors]
    if errors:
        return None, errors
    return check([p.module for p in files])
