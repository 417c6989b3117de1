"""The shipped rules (rules/): they check clean and say what DOMAIN.md says."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from redline.check import checked as ir
from redline.loading import load_program, repo_rules

PROGRAM, DIAGS = load_program(repo_rules(), [])
# ../shared sits beside the checkout (CI lays it there); found relative to this repository, never by an absolute path.
MATRIX = Path(__file__).resolve().parents[2] / "shared" / "domain" / "duis-srv-matrix.csv"


@pytest.fixture(scope="module")
def program() -> ir.Program:
    assert PROGRAM is not None, [f"{d.code} {d.message}" for d in DIAGS]
    return PROGRAM


@pytest.fixture(scope="module")
def catalogue(program: ir.Program) -> Any:
    return program.rulesets["baseline"].catalogue


def test_shipped_rules_have_no_errors() -> None:
    assert PROGRAM is not None
    assert [f"{d.code} {d.message}" for d in DIAGS if d.is_error] == []


def test_rule_sets(program: ir.Program) -> None:
    assert {"baseline", "mp107"} <= set(program.rulesets)
    assert program.rulesets["baseline"].base is None
    assert program.rulesets["mp107"].base == "baseline"
    assert program.ruleset("MP107") is program.rulesets["mp107"]
    assert program.ruleset("Baseline") is program.rulesets["baseline"]


def test_catalogue_size_and_critical_count(catalogue: Any) -> None:
    assert len(catalogue) == 129
    assert sum(1 for row in catalogue.values() if row["critical"]) == 37


def test_only_6_15_1_is_critical_for_network_operators(catalogue: Any) -> None:
    found = sorted(srv for srv, row in catalogue.items() if row["critical"] and row["eligible_roles"] & {"ED", "GT"})
    assert found == ["6.15.1"]
    assert {"ED", "GT"} <= catalogue["6.15.1"]["eligible_roles"]
    assert catalogue["6.15.1"]["replaces_trust_anchor"] is True
    assert sorted(srv for srv, row in catalogue.items() if row["replaces_trust_anchor"]) == ["6.15.1"]


def test_srvs_without_eligible_roles_warn_w001(catalogue: Any) -> None:
    empty = sorted(srv for srv, row in catalogue.items() if not row["eligible_roles"])
    assert empty == ["7.16", "8.5", "8.6"]
    warnings = [d for d in DIAGS if d.code == "W001"]
    assert all(not d.is_error for d in warnings)
    assert sorted(srv for d in warnings for srv in ("7.16", "8.5", "8.6") if f"`{srv}`" in d.message) == empty
    assert len(warnings) == 3
    # Each warning points at its row's SRV string in the catalogue file.
    for d in warnings:
        assert d.span.source is not None
        assert d.span.source.text[d.span.start : d.span.end].strip('"') in empty


def test_every_catalogue_row_has_every_service_field(program: ir.Program, catalogue: Any) -> None:
    fields = set(program.records["Service"])
    for srv, row in catalogue.items():
        assert set(row) == fields, srv


def test_catalogue_agrees_with_the_duis_matrix(catalogue: Any) -> None:
    if not MATRIX.exists():
        pytest.skip(f"{MATRIX} is absent: the matrix check needs ../shared beside the repository")
    with MATRIX.open(newline="") as f:
        rows = {r["srv"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(catalogue)
    futures = {"Device": "Device", "DSP": "DSP", "DSP & Device": "DSPAndDevice", "No": "No"}
    for srv, r in rows.items():
        row = catalogue[srv]
        assert row["name"] == r["name"], srv
        # The matrix writes 6.20's Service Reference as the number 6.2 (its DUIS requests say 6.20):
        # the catalogue keeps the SRV's own prefix, equal to the matrix's value as a number.
        assert float(row["service_reference"]) == float(r["service_reference"]), srv
        assert srv == row["service_reference"] or srv.startswith(row["service_reference"] + "."), srv
        for flag in ("critical", "on_demand", "dcc_scheduled", "non_device"):
            assert row[flag] is (r[flag] == "True"), (srv, flag)
        assert row["future_dated"] == futures[r["future_dated_pattern"]], srv
        assert row["eligible_roles"] == frozenset(r["eligible_roles"].split()), srv


def test_assumptions_declared(program: ir.Program) -> None:
    declared = set(program.assumptions)
    assert {f"A{i}" for i in range(1, 9)} <= declared
    for a in program.assumptions.values():
        assert a.text.strip(), a.name


def all_checks(program: ir.Program) -> list[tuple[str, ir.Check]]:
    return [(rs.name, c) for rs in program.rulesets.values() for c in rs.checks]


def test_every_check_cites_a_clause(program: ir.Program) -> None:
    checks = all_checks(program)
    assert len(checks) >= 2 * 9
    for rs, c in checks:
        assert c.cite.strip(), f"{rs}.{c.name} cites no clause"
        for x in c.exceptions:
            assert x.cite.strip(), f"an exception of {rs}.{c.name} cites no clause"
    for rs in program.rulesets.values():
        for e in rs.effects:
            assert e.cite.strip(), f"{rs.name}.{e.name} cites no clause"


def test_every_rests_on_names_a_declared_assumption(program: ir.Program) -> None:
    for rs, c in all_checks(program):
        for name in (*c.rests, *(r for x in c.exceptions for r in x.rests)):
            assert name in program.assumptions, f"{rs}.{c.name} rests on undeclared {name}"


def test_checks_run_in_layer_order(program: ir.Program) -> None:
    for rs in program.rulesets.values():
        orders = [c.layer.order for c in rs.checks]
        assert orders == sorted(orders), rs.name


def test_mp107_changes_only_eligible_user_and_s1sp_registration(program: ir.Program) -> None:
    base, mp = program.rulesets["baseline"], program.rulesets["mp107"]
    assert [c.name for c in base.checks] == [c.name for c in mp.checks]
    changed = sorted(b.name for b, m in zip(base.checks, mp.checks, strict=True) if b != m)
    assert changed == ["eligible_user", "s1sp_registration"]
    for b, m in zip(base.checks, mp.checks, strict=True):
        if b == m:
            continue
        # A redline here only adds exceptions: everything else is the baseline's.
        assert (m.layer, m.code, m.cite, m.applies, m.requires, m.rests) == (
            b.layer,
            b.code,
            b.cite,
            b.applies,
            b.requires,
            b.rests,
        )
        assert m.exceptions[: len(b.exceptions)] == b.exceptions
        added = m.exceptions[len(b.exceptions) :]
        assert len(added) == 1
        assert added[0].origin == "mp107"
        assert "MP107" in added[0].cite
    assert base.effects == mp.effects
    assert dict(base.catalogue) == dict(mp.catalogue)
