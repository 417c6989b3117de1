"""Rule files from disk to a checked program: find the files, read each (bounded, UTF-8), then `build`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from redline.build import build
from redline.check.checked import Program
from redline.diagnostics import Diagnostic
from redline.inputs import BadInput, read_bounded, utf8_text
from redline.project import display_names, shipped
from redline.source import Source

MAX_RULE_FILE_BYTES = 1024 * 1024  # the largest shipped rule file is under 50 KiB


def repo_rules() -> Path:
    """The SEC rules shipped with redline (in the package, or beside src/ in a checkout)."""
    return shipped()[0]


def rule_bytes(path: Path) -> bytes:
    """A rule file's bytes. Checking costs about 190 times a rule file's size in memory, so its size is bounded."""
    return read_bounded(path, MAX_RULE_FILE_BYTES, "a rule file", "split it into several files (a rules directory takes any number)")


def rule_text(path: Path) -> str:
    """A rule file's text; a byte order mark at its start (some Windows editors write one) is not part of it."""
    return utf8_text(rule_bytes(path), path).removeprefix("\ufeff")


def rule_files(paths: Sequence[Path]) -> list[Path]:
    """The rule files under `paths` (a directory gives its *.redline files, recursively), each once."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(regular_rule_files(p))
        elif p.exists():
            found.append(p)
        else:
            raise BadInput(f"{p}: no such file or directory")
    unique: dict[Path, Path] = {}
    for f in found:
        unique.setdefault(f.resolve(), f)
    return list(unique.values())


def regular_rule_files(root: Path) -> list[Path]:
    """The *.redline files below `root`. Anything else of that name is refused: a pipe would block the read
    for ever, waiting for a writer (a pipe named on the command line is read, as the user asked)."""
    found = []
    for f in sorted(root.rglob("*.redline")):
        if not f.is_file():
            raise BadInput(f"{f}: not a regular file; a rules directory holds rule files (*.redline)")
        found.append(f)
    return found


def rule_source(path: Path) -> Source:
    """A rule file as a source, named relative to the working directory where it lies below it."""
    return Source(str(display_path(path)), rule_text(path))


def load_program(rules: Path | Sequence[Path], extra: Sequence[Path]) -> tuple[Program | None, list[Diagnostic]]:
    roots = [rules] if isinstance(rules, Path) else list(rules)
    for r in roots:
        if not r.exists():
            raise BadInput(f"{r}: rules directory not found (give --rules DIR)")
    return build([rule_source(f) for f in rule_files([*roots, *extra])])


def display_path(p: Path) -> Path:
    try:
        return p.resolve().relative_to(Path.cwd())
    except ValueError:
        return p


def named_rule_files(roots: Sequence[Path]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each rule file under `roots`, named relative to its root: what a bundle or a
    generated validator records, so that it does not depend on where redline ran."""
    found = rule_files(roots)
    return [(shown, rule_bytes(f)) for f, shown in zip(found, display_names(found, roots), strict=True)]
