"""Tie each request whose verdict changes to the `redline diff` region it falls in.

A region is a conjunction of facts (props/diff.py): finite attributes of the request (SRV, role,
whether the device is in the SMI, its type, generation and SMI status, the target cell) and the truth
of conditions the rule sets test, each labelled as the SMT encoding labels them (smt/encode.py
`Encoder.atoms`: a defined name, else the condition's source text; `(under NAME)` where the two rule
sets judge a condition worded alike differently). Each label is found again here as the rule set's own
IR and compiled by the same SQL compiler as the verdicts, so a region's condition is evaluated exactly,
with the verdicts' null semantics, over the changed requests. A request belongs to a region when its
facts hold and its (old, new) outcomes are the region's. One that belongs to none is a bug in redline
(the diff or the compiler), reported as such; so is one in more than one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from redline.check import checked as ir
from redline.check.types import BOOL, strip
from redline.codec import judgement_json
from redline.impact.replay import differ
from redline.impact.sql import Compiler, Unsupported, anchor_column, lit, select_sql
from redline.jsondoc import JsonObject
from redline.props.diff import Change

# The finite attributes of a request as the verdict query's columns (r: the request, d: its device).
FINITE = {"srv": "r.srv", "role": "r.role", "device_type": "d.type", "generation": "d.generation",
          "smi_status": "d.smi_status", "target": "r.remote_party_role"}


def _text(e: Any) -> str:
    """A condition's label: the same as smt.encode.source_text (its source span, whitespace collapsed)."""
    span = e.span
    if span.source is None:
        return type(e).__name__
    return " ".join(span.source.text[span.start:span.end].split())


def atoms(rs: ir.RuleSet) -> dict[str, ir.Expr]:
    """The truth-valued leaves of `rs`'s conditions by label, found as smt.encode.Encoder.atoms finds them."""
    found: dict[str, ir.Expr] = {}

    def visit(e: Any) -> None:
        if isinstance(e, ir.AndE | ir.OrE | ir.NotE):
            for child in ir.children(e):
                visit(child)
        elif isinstance(e, ir.IfE):  # a condition's branches: visited as the encoding visits them
            visit(e.cond)
            if strip(e.type) == BOOL:
                visit(e.then)
                visit(e.otherwise)
        elif strip(e.type) == BOOL and not isinstance(e, ir.Const):
            found.setdefault(e.name if isinstance(e, ir.Defined) else _text(e), e)
    for c in rs.checks:
        for x in (c.applies, c.requires, *(w.when for w in c.exceptions)):
            if x is not None:
                visit(x)
    for ef in rs.effects:
        visit(ef.when)
    return found


def _effect_atoms(rs: ir.RuleSet) -> dict[str, ir.Effect]:
    """`device.trust_anchors[CELL] == OWNER` of each effect: whether the effect would change anything."""
    return {f"device.trust_anchors[{_text(ef.cell)}] == {_text(ef.owner)}": ef for ef in rs.effects}


def _holds(truth: str, values: Sequence[Any]) -> str:
    if True in values and False in values:
        return "TRUE"
    return truth if True in values else f"(NOT {truth})"


def _owner(name: str, old: ir.RuleSet, new: ir.RuleSet) -> tuple[str, str]:
    """(the rule set whose IR a condition label is, the label without `(under ...)`): a label both word alike
    is the old rule set's, as in smt/diff.py's Setup, which takes the old rule set's atoms first."""
    if name.endswith(")") and " (under " in name:
        label, whose = name[:-1].rsplit(" (under ", 1)
        if whose in (old.name, new.name):
            return whose, label
    for rs in (old, new):
        if name in atoms(rs) or name in _effect_atoms(rs):
            return rs.name, name
    raise Unsupported(f"the diff region condition `{name}` names nothing in `{old.name}` or `{new.name}`")


def fact_sql(comp: Compiler, rs: ir.RuleSet, old: ir.RuleSet, new: ir.RuleSet, name: str, values: Sequence[Any]) -> str | None:
    """The fact as SQL under `rs`; None when it is the other rule set's to say (the finite ones, the old one's)."""
    if name == "device" or name in FINITE:
        if rs is not old:
            return None
        if name == "device":
            return _holds("(d.device IS NOT NULL)", values)
        inside = f"{FINITE[name]} IN ({', '.join(lit(v) for v in values)})" if values else "FALSE"
        guard = "d.device IS NOT NULL AND " if FINITE[name].startswith("d.") else f"{FINITE[name]} IS NOT NULL AND "
        return f"({guard}{inside})"
    whose, label = _owner(name, old, new)
    if whose != rs.name:
        return None
    expr = atoms(rs).get(label)
    if expr is not None:
        return _holds(comp.truth(expr), values)
    ef = _effect_atoms(rs).get(label)
    if ef is not None:
        cell, owner = comp.value(ef.cell), comp.value(ef.owner)
        current = "CASE " + " ".join(f"WHEN {cell} = {lit(c)} THEN d.{anchor_column(c)}" for c in comp.cells) + " END"
        return _holds(f"(d.device IS NOT NULL AND ({current}) IS NOT NULL AND ({current}) IS NOT DISTINCT FROM {owner})",
                      values)
    raise Unsupported(f"the diff region condition `{name}` names nothing in `{rs.name}`")


def tie(con: duckdb.DuckDBPyConnection, program: ir.Program, old: ir.RuleSet, new: ir.RuleSet, old_table: str,
        new_table: str, regions: list[Change], complete: bool, examples: int = 20, changed: str | None = None) -> JsonObject:
    """Counts of the changed requests per region (`regions[i]`: a props/diff change, with its `facts`), and those
    in no region or in several, with example request ids.

    The diff's regions cover the difference but may overlap: each is a cube generalised after the earlier ones
    were blocked (smt/diff.py), so a later one can reach into an earlier one of the same outcomes. A request
    in several is counted in the first of them, in the diff's order, so that the regions' counts add up to
    the changed requests; how many were is said (`in_several_regions`). Only a request in none is a bug.

    `changed`: the table of changed requests `replay.changes(..., keep=True)` left (replay.CHANGED), read instead
    of the verdict tables `old_table` and `new_table`, so the tie costs as many changed requests as there are,
    not the log's size; without it, the two verdict tables are compared here."""
    if changed is None:
        joins, differs = differ(program.cells())
        changed = f"""(SELECT request_id, a.accepted AS old_accepted, a."check" AS old_check, b.accepted AS new_accepted,
            b."check" AS new_check FROM {old_table} a JOIN {new_table} b USING (request_id) {joins} WHERE {differs})"""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE changed_requests AS SELECT q.*, c.old_accepted, c.old_check,
        c.new_accepted, c.new_check FROM {changed} c JOIN requests q USING (request_id)""")
    # Each rule set's truth of every region's facts, per changed request; then which regions hold, all in the
    # engine: a log's changed requests can be millions, too many to hold in Python.
    for side, rs in (("old", old), ("new", new)):
        def columns(comp: Compiler, rs: ir.RuleSet = rs) -> list[str]:
            out = []
            for region in regions:
                parts = [fact_sql(comp, rs, old, new, n, vs) for n, vs in region.facts.items()]
                out.append(" AND ".join(["TRUE", *(p for p in parts if p is not None)]))
            return out
        con.execute(f"CREATE OR REPLACE TEMP TABLE region_facts_{side} AS {select_sql(rs, program, 'changed_requests', columns)}")
    hits = [f"""(COALESCE(o.c{i} AND n.c{i}, FALSE) AND q.old_check IS NOT DISTINCT FROM {lit(r.before.check)}
        AND q.new_check IS NOT DISTINCT FROM {lit(r.after.check)} AND q.old_accepted = {lit(r.before.verdict == 'accept')}
        AND q.new_accepted = {lit(r.after.verdict == 'accept')})""" for i, r in enumerate(regions)]
    listed = "".join(f", {h} AS h{i}" for i, h in enumerate(hits))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE region_hits AS SELECT q.request_id{listed}
        FROM changed_requests q JOIN region_facts_old o USING (request_id) JOIN region_facts_new n USING (request_id)""")
    found = " + ".join(f"CAST(h{i} AS INTEGER)" for i in range(len(regions))) or "0"
    first = "CASE " + " ".join(f"WHEN h{i} THEN {i}" for i in range(len(regions))) + " END" if regions else "NULL"
    counted = "".join(f", count(*) FILTER (WHERE first = {i})" for i in range(len(regions)))
    row = con.execute(f"SELECT count(*) FILTER (WHERE found = 0), count(*) FILTER (WHERE found > 1){counted}"
                      f" FROM (SELECT *, {found} AS found, {first} AS first FROM region_hits)").fetchone()
    assert row is not None

    def example(where: str) -> list[int]:
        return [int(r[0]) for r in con.execute(f"SELECT request_id FROM (SELECT *, {found} AS found FROM region_hits)"
                                              f" WHERE {where} ORDER BY request_id LIMIT {int(examples)}").fetchall()]
    counts = [int(n) for n in row[2:]]
    out: JsonObject = {
        "regions": [{"region": i + 1, "summary": r.summary, "before": judgement_json(r.before),
                     "after": judgement_json(r.after), "requests": n}
                    for i, (r, n) in enumerate(zip(regions, counts, strict=True))],
        "diff_complete": complete,
        "outside_every_region": {"requests": int(row[0]), "examples": example("found = 0")},
        "in_several_regions": {"requests": int(row[1]), "examples": example("found > 1")},
    }
    return out
