"""Reading the input files a command is given: bounded, strict, and refused with a precise message.

Every failure here is `BadInput` (exit 2): the message names the file and, for JSON, the line
and column. Nothing here prints or exits; the command line does that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from redline.jsondoc import JsonObject

MAX_JSON_BYTES = 64 * 1024 * 1024


class BadInput(Exception):
    """Input or usage that cannot be used (exit 2); the message is for the user, naming the file."""


def read_bounded(path: Path, cap: int, what: str, advice: str) -> bytes:
    """The bytes of `path`, refused beyond `cap`: at most cap + 1 bytes are ever read, so a pipe or a
    device (`/dev/zero`) is bounded like a file, whatever its size claims to be."""
    try:
        with path.open("rb") as f:
            data = read_upto(f, cap + 1)
    except OSError as e:
        raise BadInput(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > cap:
        raise BadInput(f"{path}: larger than {size_text(cap)}, the bound for {what}; {advice}")
    return data


def read_upto(f: BinaryIO, n: int) -> bytes:
    """At most `n` bytes of `f`, in chunks: `f.read(n)` allocates all `n` up front, so a bound of a terabyte
    (`--max-json-bytes 1000000000000`) was a MemoryError however small the file."""
    chunks = []
    while n > 0:
        chunk = f.read(min(n, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def size_text(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n:,} bytes"


def utf8_text(data: bytes, path: Path | str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadInput(f"{path}: not UTF-8 text: {e.reason} at byte {e.start}") from None


# ---- strict JSON ------------------------------------------------------------

def read_json(path: str, cap: int = MAX_JSON_BYTES) -> Any:
    """A JSON file (STATE.json or REQUEST.json), read to at most `cap` bytes; BadInput for anything else."""
    return parse_json(read_bounded(Path(path), cap, "a JSON file", "give a larger --max-json-bytes"), path)


def parse_json(raw: bytes, path: str) -> Any:
    """Strict JSON: UTF-8, no repeated keys, no NaN or Infinity, bounded integers and nesting."""
    text = utf8_text(raw, path)
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys, parse_int=_bounded_int)
    except json.JSONDecodeError as e:
        lines = text.split("\n")  # JSON counts lines by \n alone; splitlines() would also split at \r, \x0b, U+2028...
        line = lines[e.lineno - 1] if e.lineno <= len(lines) else ""
        raise BadInput(f"{path}:{e.lineno}:{e.colno}: error[json]: invalid JSON: {e.msg}\n"
                       f"{e.lineno:>4} | {line}\n     | {' ' * (e.colno - 1)}^") from None
    except (ValueError, RecursionError) as e:
        raise BadInput(f"{path}: invalid JSON: {e}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> JsonObject:
    """Fail closed on a repeated key: json.loads would silently keep the last one."""
    out: JsonObject = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key `{k}` appears twice in one object")
        out[k] = v
    return out


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 30:
        raise ValueError(f"the number {text[:20]}... is too long")
    return int(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"`{name}` is not valid JSON")


# ---- request files ----------------------------------------------------------

def request_inputs(paths: Sequence[Path]) -> list[Path]:
    """The files of a batch in input order: a directory gives its *.xml and *.json files (not recursing), sorted by name.
    A path the file system refuses (a name too long) is kept, to be that input's error record, and so is a
    directory with no such file, lest a batch that validated nothing pass as one that validated everything."""
    out: list[Path] = []
    for p in paths:
        found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in (".xml", ".json")) if _is_dir(p) else []
        out.extend(found or [p])
    return out


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # ENAMETOOLONG, which Path.is_dir does not take for "no"
        return False


def read_request(path: Path, xml_bound: int, json_bound: int) -> tuple[bool, bytes]:
    """(is DUIS XML, the bytes) of a request file, read once (a pipe cannot be read twice) and to at most
    its bound + 1 bytes: enough to refuse it. A DUIS request is recognised by content: it starts with `<`,
    after an optional BOM and white space; anything else is taken for REQUEST.json."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
            is_xml = head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")
            bound = xml_bound if is_xml else json_bound
            more = len(head) == 4096 and len(head) <= bound  # else the head is all there is, or already too much
            data = head + read_upto(f, bound + 1 - len(head)) if more else head
    except IsADirectoryError:
        raise BadInput(f"{path}: a directory with no *.xml or *.json file to validate") from None
    except OSError as e:
        raise BadInput(f"{path}: cannot read: {e.strerror or e}") from None
    if not is_xml and len(data) > json_bound:
        raise BadInput(f"{path}: larger than {size_text(json_bound)}, the bound for a JSON file; give a larger --max-json-bytes")
    return is_xml, data


# ---- JSON Lines out ---------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")


def json_line(record: JsonObject) -> str:
    """One JSON Lines record that strict readers accept: a file name with bytes that are not UTF-8 reaches
    Python as lone surrogates, which JSON cannot carry, so each such byte is shown as `\\xNN` instead."""
    line = json.dumps(record)
    if "\\ud" in line:
        line = json.dumps(_printable(record))
    return line + "\n"


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub(lambda m: f"\\x{ord(m[0]) - 0xDC00:02x}" if "\udc80" <= m[0] <= "\udcff" else f"\\u{ord(m[0]):04x}", value)
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value
