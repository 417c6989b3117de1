#!/usr/bin/env python3
"""Validate a request with a generated validator, as an embedding service would.

Standard library only, like the module it runs: it imports the file written
by `redline codegen`, prepares the state once and validates the request.

    python3 scripts/run_generated.py .redline-out/validators/mp107.py STATE.json REQUEST.json [--json]

Exit codes as `redline validate`: 0 ran (accept or reject), 2 bad input.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any


def load_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--json"]
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    module_path, state_path, request_path = (Path(a) for a in args)
    validator = load_module(module_path)
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
        request = json.loads(request_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
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
