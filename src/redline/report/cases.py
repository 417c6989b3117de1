"""Counterexamples and witnesses as files to replay with `redline validate` (--cex-dir)."""

from __future__ import annotations

import json
from typing import Any

from redline.props.diff import DiffReport
from redline.props.diff import Replayed as DiffWitness
from redline.props.results import ProofResult


def result_files(results: list[ProofResult]) -> dict[str, bytes]:
    """Each counterexample and witness as files to replay: PROPERTY.RULESET/state.json, request.json, ..."""
    files: dict[str, bytes] = {}

    def put(path: str, value: Any) -> None:
        files[path] = (json.dumps(value, indent=2) + "\n").encode("utf-8")
    for r in results:
        found = r.counterexample or r.witness
        if not found:
            continue
        d = f"{r.property}.{r.ruleset}"
        put(f"{d}/state.json", found.state)
        if found.request is not None:
            put(f"{d}/request.json", found.request)
        for i, c in enumerate(r.candidates, 1):
            put(f"{d}/candidate-{i:02d}.json", c.request)
        for i, step in enumerate(found.trace, 1):  # a run: each step's state and request, to replay
            put(f"{d}/step-{i}-state.json", step.state)
            if step.request is not None:
                put(f"{d}/step-{i}-request.json", step.request)
    return files


def _diff_witnesses(d: DiffReport) -> list[tuple[str, DiffWitness]]:
    """Each witness of a diff with the directory it is written to under --cex-dir."""
    out = [(f"region-{i}", c.witness) for i, c in enumerate(d.changes, 1)]
    return out + [(f"intent-{i}", v.witness) for i, v in enumerate(d.intent.violations, 1) if v.witness is not None]


def diff_files(d: DiffReport) -> dict[str, bytes]:
    """Each witness of a diff as files to replay: region-N/state.json, request.json (and intent-N/)."""
    return {f"{name}/{part}.json": (json.dumps(doc, indent=2) + "\n").encode("utf-8")
            for name, w in _diff_witnesses(d) for part, doc in (("state", w.state), ("request", w.request))}
