#!/usr/bin/env python3
"""Validate a request with a generated validator, as an embedding service would.

Standard library only, like the module it runs: it imports the file written
by `redline codegen`, prepares the state once and validates the request.

    python3 scripts/run_generated.py .redline-out/validators/mp107.py STATE.json REQUEST.json [--json]

Exit codes as `redline validate`: 0 ran (accept or reject), 2 bad input.
JSON is read as strictly as `redline validate` reads it (no repeated key,
no NaN or Infinity), with the same messages.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, NoReturn


def refuse(message: str) -> NoReturn:
    print(f"run_generated: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def load_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    if spec is None or spec.loader is None:
        refuse(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except OSError as e:
        refuse(f"{path}: cannot read: {e.strerror}")
    except Exception as e:  # not a module redline wrote: say so rather than show a traceback
        refuse(f"{path}: not a generated validator: {type(e).__name__}: {e}")
    if not all(hasattr(module, name) for name in ("prepare", "validate_prepared", "InputError")):
        refuse(f"{path}: not a generated validator (no prepare, validate_prepared or InputError)")
    return module


MAX_JSON_BYTES = 64 * 1024 * 1024  # as `redline validate`


class JsonError(ValueError):
    pass


def read_json(path: Path) -> Any:
    """Strict JSON, as `redline validate` reads it: UTF-8, no repeated key, no NaN or Infinity,
    no integer of more than 30 digits, bounded size; JsonError with redline's message otherwise."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_JSON_BYTES + 1)
    except OSError as e:
        raise JsonError(f"{path}: cannot read: {e.strerror}") from None
    if len(raw) > MAX_JSON_BYTES:
        raise JsonError(f"{path}: larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JsonError(f"{path}: not UTF-8 text: {e.reason} at byte {e.start}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys, parse_int=_bounded_int)
    except json.JSONDecodeError as e:
        lines = text.split("\n")  # JSON counts lines by \n alone
        line = lines[e.lineno - 1] if e.lineno <= len(lines) else ""
        raise JsonError(f"{path}:{e.lineno}:{e.colno}: error[json]: invalid JSON: {e.msg}\n"
                        f"{e.lineno:>4} | {line}\n     | {' ' * (e.colno - 1)}^") from None
    except (ValueError, RecursionError) as e:
        raise JsonError(f"{path}: invalid JSON: {e}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:  # json.loads alone would keep the last one
            raise ValueError(f"the key `{k}` appears twice in one object")
        out[k] = v
    return out


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 30:
        raise ValueError(f"the number {text[:20]}... is too long")
    return int(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"`{name}` is not valid JSON")


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--json"]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    module_path, state_path, request_path = (Path(a) for a in args)
    validator = load_module(module_path)
    try:
        state = read_json(state_path)
        request = read_json(request_path)
    except JsonError as e:
        print(f"run_generated: error: {e}", file=sys.stderr)
        return 2
    try:
        prepared = validator.prepare(state)
    except validator.InputError as e:
        print(f"run_generated: error: {state_path}: {e}", file=sys.stderr)
        return 2
    try:
        v = validator.validate_prepared(prepared, request)
    except validator.InputError as e:
        print(f"run_generated: error: {request_path}: {e}", file=sys.stderr)
        return 2
    if "--json" in argv:
        print(json.dumps(v, indent=2))
        return 0
    if v["verdict"] == "accept":
        effects = "; ".join(f"{e['device']} {e['trust_anchor']} cell := {e['owner']}" for e in v["effects"])
        print(f"{v['ruleset']} (generated {module_path.name}): ACCEPT" + (f"; {effects}" if effects else ""))
    else:
        print(f"{v['ruleset']} (generated {module_path.name}): REJECT at {v['layer']} {v['code'] or '(no DUIS code)'} "
              f"by {v['check']} [{v['clause']}]")
    for t in v["trace"]:
        waived = f" (waived by {t['waived_by']})" if "waived_by" in t else ""
        print(f"  {t['outcome']:<7} {t['layer']:<6} {t['check']:<22}  {t['clause']}{waived}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
