"""The validator: run one request through a rule set, in layer order.

Each check is skipped where it does not apply or where an exception waives
it; otherwise it passes or fails, and the first failure rejects. Effects
apply only to a request accepted by every layer. A reject at the Device
layer is still accepted by the DCC (`dcc_accepted`) but has no effect.
"""

from __future__ import annotations

from dataclasses import dataclass

from redline.check import checked as ir
from redline.check.types import Layer
from redline.interp.compile import Fn, compile_expr
from redline.interp.values import Request, State
from redline.jsondoc import JsonObject

PASS, FAIL, SKIP = "pass", "fail", "skipped"


@dataclass(frozen=True, slots=True)
class _CompiledCheck:
    check: ir.Check
    applies: Fn | None
    exceptions: tuple[tuple[ir.Exception_, Fn], ...]
    requires: Fn | None


@dataclass(frozen=True, slots=True)
class _CompiledEffect:
    effect: ir.Effect
    when: Fn
    cell: Fn
    owner: Fn


@dataclass(frozen=True, slots=True)
class Verdict:
    ruleset: str
    accepted: bool
    failed: ir.Check | None
    effects: tuple[tuple[str, str, str], ...]  # (device, trust anchor role, owner)
    trace: tuple[tuple[ir.Check, str, ir.Exception_ | None], ...]

    @property
    def layer(self) -> str | None:
        return self.failed.layer.value if self.failed else None

    @property
    def dcc_accepted(self) -> bool:
        # The S1SP is a DCC system too: only the device can reject what the DCC accepted.
        return self.failed is None or self.failed.layer is Layer.Device

    def to_json(self) -> JsonObject:
        f = self.failed
        trace = []
        for check, outcome, exc in self.trace:
            item: JsonObject = {"check": check.name, "layer": check.layer.value, "outcome": outcome,
                                    "clause": exc.cite if exc else check.cite}
            if exc is not None:
                item["waived_by"] = exc.origin
            trace.append(item)
        return {
            "ruleset": self.ruleset,
            "verdict": "accept" if self.accepted else "reject",
            "layer": f.layer.value if f else None,
            "code": f.code if f else None,
            "check": f.name if f else None,
            "clause": f.cite if f else None,
            "dcc_accepted": self.dcc_accepted,
            "effects": [{"device": d, "trust_anchor": c, "owner": o} for d, c, o in self.effects],
            "trace": trace,
        }


class Validator:
    """A rule set compiled for repeated use."""

    def __init__(self, ruleset: ir.RuleSet) -> None:
        self.ruleset = ruleset
        cat = ruleset.catalogue

        def c(e: ir.Expr | None) -> Fn | None:
            return None if e is None else compile_expr(e, cat)

        self._checks = tuple(
            _CompiledCheck(ch, c(ch.applies), tuple((x, compile_expr(x.when, cat)) for x in ch.exceptions), c(ch.requires))
            for ch in ruleset.checks
        )
        self._effects = tuple(
            _CompiledEffect(ef, compile_expr(ef.when, cat), compile_expr(ef.cell, cat), compile_expr(ef.owner, cat))
            for ef in ruleset.effects
        )

    def validate(self, state: State, request: Request) -> Verdict:
        trace: list[tuple[ir.Check, str, ir.Exception_ | None]] = []
        for cc in self._checks:
            if cc.applies is not None and not cc.applies(state, request):
                trace.append((cc.check, SKIP, None))
                continue
            waiver = next((x for x, f in cc.exceptions if f(state, request)), None)
            if waiver is not None:
                trace.append((cc.check, SKIP, waiver))
                continue
            if cc.requires is not None and not cc.requires(state, request):
                trace.append((cc.check, FAIL, None))
                return Verdict(self.ruleset.name, False, cc.check, (), tuple(trace))
            trace.append((cc.check, PASS, None))
        effects = []
        for ce in self._effects:
            if ce.when(state, request) and request.device is not None:
                cell, owner = ce.cell(state, request), ce.owner(state, request)
                if cell is not None and owner is not None:
                    effects.append((request.device, cell, owner))
        return Verdict(self.ruleset.name, True, None, tuple(effects), tuple(trace))
