"""Writing output files safely: the one policy of every command that writes (`report --out`,
`prove --cex-dir` and `--smt2`, `codegen -o`).

What redline overwrites: only output it can verify it wrote. A directory is
redline's when it holds a manifest (MANIFEST, marked as redline's) listing
every file in it with its SHA-256, every listed file is present and matches,
and nothing else is there; a single file is redline's when it starts with the
header redline writes at its top (a generated module's "Do not edit" line).
A path that does not exist, or an empty directory, may be written too.

What it refuses (OutputError, exit 2, saying why and what to do): anything
else, and a symbolic link as the output or inside an output directory: it
never writes through one.

How: output is written beside the target (`.NAME.partial-PID-*`), then renamed
into place; a directory being replaced is first set aside (`.NAME.old-PID-*`)
and removed once the new one is in place, so a reader sees the old output or
the new one, whole. A run killed at any point is recovered by the next one
(`recover`): output set aside and never replaced is put back; leftovers of a
process no longer running that hold redline's marker are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

MANIFEST = ".redline-manifest.json"
WRITTEN_BY = "redline"
MARKER = ".redline-in-progress"  # inside a staging or set-aside directory: this one is redline's to remove
MAX_MANIFEST_BYTES = 16 << 20


class OutputError(Exception):
    """Output that cannot be written where asked: bad input (exit 2), never a finding."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(files: dict[str, bytes]) -> bytes:
    """The manifest of a directory holding exactly `files` (path inside it -> content)."""
    doc = {"written_by": WRITTEN_BY, "files": {rel: _sha256(data) for rel, data in sorted(files.items())}}
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def _listed(directory: Path) -> dict[str, str] | str:
    """The files a directory's manifest lists, or why it has no manifest redline wrote."""
    path = directory / MANIFEST
    if path.is_symlink() or not path.is_file():
        return f"it holds no {MANIFEST}"
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        return f"its {MANIFEST} is larger than any redline writes"
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return f"its {MANIFEST} is not redline's (not readable JSON)"
    files = doc.get("files") if isinstance(doc, dict) else None
    if doc.get("written_by") != WRITTEN_BY or not isinstance(files, dict) or \
            not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return f"its {MANIFEST} is not redline's"
    return files


def not_ours(directory: Path) -> str | None:
    """None if `directory` is output redline wrote, unchanged since; else why not, for the user."""
    listed = _listed(directory)
    if isinstance(listed, str):
        return listed
    present, dirs = set(), set()
    for root, subdirs, names in os.walk(directory):  # os.walk does not descend into symlinked directories
        here = Path(root)
        for name in [*subdirs, *names]:
            p = here / name
            rel = p.relative_to(directory).as_posix()
            if p.is_symlink():
                return f"it holds a symbolic link, {rel}"
            if p.is_dir():
                dirs.add(rel)
            elif rel != MANIFEST:
                present.add(rel)
    extra = sorted(present - set(listed))
    if extra:
        return f"{extra[0]} is not one of the files redline wrote there"
    missing = sorted(set(listed) - present)
    if missing:
        return f"{missing[0]}, which redline wrote there, is missing"
    needed = {"/".join(Path(rel).parts[:i]) for rel in listed for i in range(1, len(Path(rel).parts))}
    if dirs - needed:
        return f"{sorted(dirs - needed)[0]}/ is not a directory redline made there"
    for rel, digest in sorted(listed.items()):
        if _sha256((directory / rel).read_bytes()) != digest:
            return f"{rel} has changed since redline wrote it"
    return None


# ---- recovery from a killed run -------------------------------------------

def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process writes one output at a time: anything of ours left over is from an earlier write
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _leftovers(target: Path, kind: str) -> list[Path]:
    """`.NAME.KIND-PID-*` beside `target`, of a process that is no longer running."""
    prefix = f".{target.name}.{kind}-"
    found = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return []
    for p in entries:
        if not p.name.startswith(prefix):
            continue
        pid = p.name[len(prefix):].partition("-")[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            found.append(p)
    return sorted(found)


def _ours_in_progress(p: Path) -> bool:
    """A staging or set-aside directory redline made: empty (killed before its marker), marked, or
    complete output (killed after the marker was dropped, before the rename)."""
    if p.is_symlink() or not p.is_dir():
        return False
    names = [c.name for c in p.iterdir()]
    return not names or MARKER in names or not_ours(p) is None


def _discard(d: Path) -> None:
    """Remove a staging or set-aside directory, its marker last: killed halfway, it is still recognisably redline's."""
    for child in d.iterdir():
        if child.name != MARKER:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    (d / MARKER).unlink(missing_ok=True)
    d.rmdir()


def recover(target: Path) -> None:
    """Undo what a killed run left beside `target`: put back output set aside and never replaced,
    then remove redline's own leftovers (never anything without its marker)."""
    for old in _leftovers(target, "old"):
        if not _ours_in_progress(old):
            continue
        kept = old / "output"
        if kept.is_dir() and not kept.is_symlink() and not os.path.lexists(target):
            os.replace(kept, target)  # killed between the two renames: the previous output comes back
        _discard(old)  # else superseded by the output now at `target`
    for partial in _leftovers(target, "partial"):
        if partial.is_dir() and _ours_in_progress(partial):
            _discard(partial)
        elif partial.is_file() and not partial.is_symlink():
            partial.unlink()  # a single file's staging copy: only ever written by redline, under this name


# ---- directories ----------------------------------------------------------

def _refusal(target: Path, what: str, why: str) -> OutputError:
    return OutputError(f"{target}: {why}, so it is not {what} redline wrote; refusing to replace it "
                       "(give another path, or remove it yourself if nothing in it is needed)")


def _check_parent(parent: Path) -> None:
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{parent}: cannot create the directory, so redline cannot write there: {e.strerror or e}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{parent}: not writable, so the output cannot be written there")


def check_dir(target: Path, what: str) -> None:
    """Recover from a killed run, then refuse early what `replace_dir` would refuse late."""
    if target.parent.is_dir():
        recover(target)
    if target.is_symlink():
        raise OutputError(f"{target}: is a symbolic link; redline never writes through one (give the real path)")
    if target.exists():
        if not target.is_dir():
            raise OutputError(f"{target}: exists and is not a directory; refusing to replace it")
        if any(target.iterdir()):
            why = not_ours(target)
            if why is not None:
                raise _refusal(target, what, f"exists, is not empty and {why}")
    _check_parent(target.parent)


def replace_dir(target: Path, files: dict[str, bytes], what: str) -> None:
    """Make `target` a directory holding exactly `files` and their manifest, replacing redline's earlier output."""
    if MANIFEST in files or any(Path(rel).is_absolute() or ".." in Path(rel).parts for rel in files):
        raise ValueError("output file names must be relative, inside the directory, and not the manifest's")
    check_dir(target, what)
    parent = target.parent
    tag = f".{target.name}.%s-{os.getpid()}-"
    try:
        staging = Path(tempfile.mkdtemp(prefix=tag % "partial", dir=parent))
    except OSError as e:
        raise OutputError(f"{parent}: cannot create a directory there: {e.strerror or e}") from None
    old: Path | None = None
    try:
        (staging / MARKER).write_bytes(b"")
        for rel, data in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (staging / MANIFEST).write_bytes(manifest(files))
        (staging / MARKER).unlink()
        os.chmod(staging, 0o755)  # mkdtemp makes it private; output is meant to be read by others
        if os.path.lexists(target):
            old = Path(tempfile.mkdtemp(prefix=tag % "old", dir=parent))
            (old / MARKER).write_bytes(b"")
            os.replace(target, old / "output")
        os.replace(staging, target)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            if (old / "output").exists() and not os.path.lexists(target):
                os.replace(old / "output", target)  # put the previous output back
            shutil.rmtree(old, ignore_errors=True)
        raise OutputError(f"{target}: cannot write {what}: {e.strerror or e}") from None
    # Not in a `finally`: interrupted between the renames, the previous output must stay where `recover` finds it.
    if old is not None:
        try:
            _discard(old)
        except OSError:
            pass  # the new output is in place; the next run removes what is left of the old one


# ---- single files ---------------------------------------------------------

def check_file(target: Path, header: bytes, what: str) -> None:
    """Refuse a symbolic link, a non-file, or a file that does not start with redline's `header`."""
    if target.parent.is_dir():
        recover(target)
    if target.is_symlink():
        raise OutputError(f"{target}: is a symbolic link; redline never writes through one (give the real path)")
    if target.exists():
        if not target.is_file():
            raise OutputError(f"{target}: exists and is not a regular file; refusing to replace it")
        try:
            with target.open("rb") as f:
                head = f.read(len(header))
        except OSError as e:
            raise OutputError(f"{target}: cannot read: {e.strerror or e}") from None
        if head != header:
            raise OutputError(f"{target}: exists and does not start with redline's header, so it is not {what} "
                              "redline wrote; refusing to overwrite it (give another path, or remove it yourself)")
    _check_parent(target.parent)


def write_file(target: Path, data: bytes, header: bytes, what: str) -> None:
    """Write `data` (which starts with `header`) to `target` atomically, replacing only redline's own file."""
    if not data.startswith(header):
        raise ValueError("output must start with its header, or redline could not recognise it later")
    check_file(target, header, what)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.partial-{os.getpid()}-", dir=target.parent)
    except OSError as e:
        raise OutputError(f"{target.parent}: cannot create a file there: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary file would be; mkstemp makes it private
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write: {e.strerror or e}") from None


__all__ = ["MANIFEST", "OutputError", "check_dir", "check_file", "manifest", "not_ours", "recover", "replace_dir", "write_file"]


def rewrite_text(path: Path, text: str) -> None:
    """Replace a file the user named (`fmt --write`) whole or not at all, keeping its mode: write a
    temporary file beside it, then rename it over."""
    try:
        mode = path.stat().st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        raise OutputError(f"{path}: cannot write: {e.strerror}") from None
