"""`impact replay` ties each request whose verdict changes to the `redline diff` region it falls in: on
every scenario and on random requests over random worlds, every changed request is in exactly one
region whose outcomes are its own; a region taken away or narrowed leaves requests outside, loudly."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from redline.check import checked as ir
from redline.impact.fromjson import write_requests, write_state
from redline.impact.regions import tie
from redline.impact.render import format_replay
from redline.impact.replay import CHANGED, changes, drop_verdicts, judge
from redline.impact.tables import Loader
from redline.loading import load_program, repo_rules
from redline.props.diff import Change, DiffReport, diff
from test_impact import merged_scenarios, random_requests


@pytest.fixture(scope="module")
def program() -> ir.Program:
    prog, _ = load_program(repo_rules(), [])
    assert prog is not None
    return prog


@pytest.fixture(scope="module")
def regions(program: ir.Program) -> DiffReport:
    return diff(program, program.rulesets["baseline"], program.rulesets["mp107"], 10_000, 0)


def tied(program: ir.Program, d: DiffReport, state: dict[str, Any], requests: list[Any],
         changes: list[Change] | None = None) -> tuple[dict[str, Any], int]:
    old, new = program.rulesets["baseline"], program.rulesets["mp107"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_state(state, program, root)
        write_requests(requests, program, root)
        con = duckdb.connect()
        Loader(con, program, old.catalogue).load_dir(root, with_requests=True)
        a, b = judge(con, old, program), judge(con, new, program)
        out = tie(con, program, old, new, a, b, list(d.changes) if changes is None else changes, d.complete)
        row = con.execute("SELECT count(*) FROM changed_requests").fetchone()
        return out, int(row[0]) if row else 0


def exactly_one_region_each(out: dict[str, Any], changed: int) -> None:
    assert out["diff_complete"]
    assert out["outside_every_region"]["requests"] == 0, out["outside_every_region"]
    assert out["in_several_regions"]["requests"] == 0, out["in_several_regions"]
    assert sum(r["requests"] for r in out["regions"]) == changed


def test_every_changed_scenario_request_is_in_exactly_one_region(program: ir.Program, regions: DiffReport) -> None:
    scenarios = [sc for sc in program.scenarios if set(sc.expected) == {"baseline", "mp107"}]
    state, requests = merged_scenarios(scenarios)
    out, changed = tied(program, regions, state, requests)
    exactly_one_region_each(out, changed)
    # Not vacuous: the MP107 scenarios change verdicts, and in more than one way.
    assert changed >= 3 and sum(r["requests"] > 0 for r in out["regions"]) >= 2, out["regions"]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_changed_random_request_is_in_exactly_one_region(program: ir.Program, regions: DiffReport, seed: int) -> None:
    state, requests = random_requests(seed, 200, 3000, program)
    out, changed = tied(program, regions, state, requests)
    exactly_one_region_each(out, changed)


def test_a_missing_or_narrowed_region_leaves_requests_outside_and_says_so(program: ir.Program, regions: DiffReport) -> None:
    scenarios = [sc for sc in program.scenarios if set(sc.expected) == {"baseline", "mp107"}]
    state, requests = merged_scenarios(scenarios)
    full, _ = tied(program, regions, state, requests)
    busiest = max(range(len(full["regions"])), key=lambda i: full["regions"][i]["requests"])
    fewer = [c for i, c in enumerate(regions.changes) if i != busiest]
    out, _ = tied(program, regions, state, requests, fewer)
    assert out["outside_every_region"]["requests"] == full["regions"][busiest]["requests"] > 0
    # Narrowed: its SRVs swapped for one no request of the region has.
    narrowed = [replace(c, facts={**c.facts, "srv": ("1.1.1",)}) if i == busiest else c for i, c in enumerate(regions.changes)]
    out, _ = tied(program, regions, state, requests, narrowed)
    assert out["outside_every_region"]["requests"] == full["regions"][busiest]["requests"]
    text = format_replay({"rulesets": ["baseline", "mp107"], "summary": {}, "changes": {
        "changed": 1, "classes": [], "examples": [], "by_srv": [], "by_role": [], "by_region": out}})
    assert "BUG:" in text and "fall outside every region" in text


def _loaded(program: ir.Program, root: Path, state: dict[str, Any], requests: list[Any],
            con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    old, new = program.rulesets["baseline"], program.rulesets["mp107"]
    root.mkdir()
    write_state(state, program, root)
    write_requests(requests, program, root)
    Loader(con, program, old.catalogue).load_dir(root, with_requests=True)
    return judge(con, old, program), judge(con, new, program)


def test_the_tie_reads_the_changed_set_changes_kept_not_the_verdict_tables(program: ir.Program, regions: DiffReport,
                                                                           tmp_path: Path) -> None:
    """The tie from `changes(..., keep=True)`'s table is the tie from the verdict tables, on requests in several
    regions; and it never reads the verdict tables (here gone: reading them would fail)."""
    old, new = program.rulesets["baseline"], program.rulesets["mp107"]
    scenarios = [sc for sc in program.scenarios if set(sc.expected) == {"baseline", "mp107"}]
    state, requests = merged_scenarios(scenarios)
    con = duckdb.connect()
    a, b = _loaded(program, tmp_path / "fleet", state, requests, con)
    before = tie(con, program, old, new, a, b, list(regions.changes), regions.complete, 5)
    counted = changes(con, a, b, keep=True)
    drop_verdicts(con, a)
    drop_verdicts(con, b)
    after = tie(con, program, old, new, a, b, list(regions.changes), regions.complete, 5, changed=CHANGED)
    assert after == before
    assert sum(r["requests"] > 0 for r in after["regions"]) >= 2 and sum(r["requests"] for r in after["regions"]) == \
        counted["changed"] > 0


def test_two_replays_on_one_connection_each_tie_their_own_changed_requests(program: ir.Program, regions: DiffReport,
                                                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`impact replay` twice on one connection (two logs, each changing other requests): each answers as on a
    connection of its own, and leaves no changed set behind for the next to read."""
    import redline.impact.run as run
    import redline.props.diff

    monkeypatch.setattr(redline.props.diff, "diff", lambda *_: regions)  # the solver's answer is not what this is about
    scenarios = [sc for sc in program.scenarios if set(sc.expected) == {"baseline", "mp107"}]
    fleets = [merged_scenarios(scenarios), random_requests(1, 200, 3000, program)]
    roots = []
    for i, (state, requests) in enumerate(fleets):
        roots.append(tmp_path / f"fleet{i}")
        roots[-1].mkdir()
        write_state(state, program, roots[-1])
        write_requests(requests, program, roots[-1])
    rulesets = [program.rulesets["baseline"], program.rulesets["mp107"]]
    alone = [run.run_replay(program, rulesets, root) for root in roots]
    shared = duckdb.connect()
    monkeypatch.setattr(run, "_connect", lambda threads: shared)
    together = [run.run_replay(program, rulesets, root) for root in roots]
    assert together == alone
    assert alone[0]["changes"]["by_region"] != alone[1]["changes"]["by_region"]  # not vacuous: the two logs differ
    assert alone[1]["changes"]["changed"] > 0
    left = {r[0] for r in shared.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert CHANGED not in left
