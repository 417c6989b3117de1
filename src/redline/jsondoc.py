"""The one name for a JSON document that stays untyped on purpose.

A `JsonObject` is a document whose shape a contract fixes (docs/formats.md),
not one of redline's own types:

- a STATE.json or REQUEST.json record: what a model decodes into, what a
  scenario builds, what a witness hands the loader, validated closed where it
  comes in (`interp/values.py`; `inputs.py` reads JSON strictly);
- a verdict as `validate` prints it (`Verdict.to_json`), and a DUIS request's
  mapping beside it;
- the evidence bundle's results.json and its sections (`report/`): the bundle
  re-checks the results as recorded, so that a re-check trusts nothing but the
  document (`report/recheck.py`), and the renderers read the same document;
- a configuration table (`project.py`), and the `impact` command's reports
  (DuckDB rows, printed as `impact --format json` and embedded whole in the
  bundle by `report --fleet`; not yet typed).

Beside this alias, `dict[str, Any]` is left in three places: `check/checked.py`'s
`Row` (a catalogue row, whose columns the rule files declare), the program
checker's table of every kind of declaration, and `codegen/runtime.py`'s own
copy of this alias (a generated validator imports nothing of redline).

Results redline computes (proofs, findings and traces, diff regions, liveness
rows, scenario expectations) are frozen dataclasses instead, turned into JSON
in one place, `redline/codec.py`.
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]

__all__ = ["JsonObject"]
