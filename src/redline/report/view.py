"""What the bundle shows a SEC Panel member beyond the results: the modification as a redline of its base's
rules, each property's formula, and each region of the diff in prose. Computed once from the checked
program when the evidence is built, so the renderers need no program."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from redline.check import checked as ir
from redline.codec import change_json
from redline.props.diff import DiffReport
from redline.report.prose import Wording, example_sentence, region_sentence
from redline.report.redline_view import Formula, RuleChange, formulas, rule_changes


@dataclass(frozen=True)
class Region:
    sentence: str  # the region in prose
    example: str | None  # its replayed witness in prose
    conditions: tuple[str, ...]  # the same region in rule syntax, for the expert


@dataclass(frozen=True)
class View:
    base: str | None
    rules: tuple[RuleChange, ...] = ()
    formulas: Mapping[str, Formula] = field(default_factory=dict)
    regions: tuple[Region, ...] = ()


def build_view(program: ir.Program, modification: str, diff: DiffReport | None) -> View:
    mod = program.ruleset(modification)
    regions: tuple[Region, ...] = ()
    if diff is not None and diff.old in program.rulesets and diff.new in program.rulesets:
        w = Wording(program, [program.rulesets[diff.old], program.rulesets[diff.new]])
        shown = [change_json(c) for c in diff.changes]  # the prose reads a region as the bundle shows it
        regions = tuple(Region(region_sentence(w, c, diff.old, diff.new), example_sentence(w, c), tuple(c["conditions"]))
                        for c in shown)
    return View(mod.base if mod is not None else None, tuple(rule_changes(program, modification)), formulas(program), regions)
