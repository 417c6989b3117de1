"""The one name for a JSON document that stays untyped on purpose.

A `JsonObject` is a document whose shape a contract fixes, not redline's own
types: a STATE.json or REQUEST.json record (what a model decodes into, what a
scenario builds, what a witness hands the loader), a verdict as `validate`
prints it, a row of a DuckDB table, a configuration table. Its keys are the
contract's field names, and it is validated where it comes in
(`interp/values.py` loads records closed, `inputs.py` reads JSON strictly).
Results redline computes (proofs, diff regions, liveness rows, traces) are
frozen dataclasses instead, turned into JSON once, by `props/codec.py`.
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]

__all__ = ["JsonObject"]
