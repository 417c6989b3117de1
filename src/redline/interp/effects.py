"""What an accepted request does to the world: each effect sets one trust anchor cell of the request's
device to a new owner. The one place this is written; the replays of solver models (a trace's steps,
a re-checked bundle, the encoding's concrete cross-check) all apply effects through it, so they
cannot disagree with each other about what "the effects applied" means."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from redline.jsondoc import JsonObject


def anchors_after(anchors: Mapping[str, str], effects: Iterable[tuple[str, str]]) -> dict[str, str]:
    """One device's trust anchors (cell -> owner) once the (cell, new owner) effects on it apply, in order."""
    after = dict(anchors)
    for cell, owner in effects:
        after[cell] = owner
    return after


def apply_effects(state: JsonObject, effects: Iterable[Mapping[str, Any]]) -> JsonObject:
    """A STATE.json record after an accepted request, given its verdict's `effects` records
    ({device, trust_anchor, owner}); the state given is left as it was."""
    after = copy.deepcopy(state)
    for e in effects:
        device = after["devices"][e["device"]]
        device["trust_anchors"] = anchors_after(device["trust_anchors"], [(e["trust_anchor"], e["owner"])])
    return after
