"""What the fleet loader types its columns as, and the verdict query's plans.

A vocabulary column (a User Role, an SRV, a RemotePartyRole, a device's type, generation and SMI status,
a declared enum) and every party id is loaded as a DuckDB ENUM, its members sorted, so that the queries
join and compare small integers and yet every value reads, orders and prints as its string
(impact/tables.py `Loader._vocabularies`). The verdict query chooses a plan by SRV and User Role
(impact/sql.py); the rule set's checks are folded once per SRV text and role, and the query is
remembered per rule set.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from contract_example import METER, NEW_OWNER, NO, STATE, SUPPLIER
from impact_support import disagreements
from redline.check import checked as ir
from redline.check.types import EnumT, RecordT
from redline.impact import sql, tables
from redline.impact.fromjson import write_requests, write_state
from redline.impact.sql import PARTY_TYPE, SRV_TYPE
from redline.impact.tables import Loader
from redline.loading import load_program, repo_rules

LOWER_NO = NO.lower()


def request(**fields: Any) -> dict[str, Any]:
    base = {"sender": NO, "role": "ED", "srv": "6.15.1", "device": METER, "remote_party_role": "NetworkOperator",
            "new_certificate_owner": NEW_OWNER, "execution_time": None, "date_range": None}
    return {**base, **fields}


REQUESTS = [(1, "2026-03-01T12:00:00Z", request()),
            (2, "2026-03-01T12:00:00Z", request(sender=SUPPLIER, role="IS")),
            (3, "2026-03-01T12:00:00Z", request(srv="6.13", remote_party_role=None, new_certificate_owner=None))]


@pytest.fixture(scope="module")
def program() -> ir.Program:
    return load_program(repo_rules(), [])[0]


def loaded(program: ir.Program, state: dict[str, Any], requests: list[Any]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_state(state, program, root)
        write_requests(requests, program, root)
        for csv in root.glob("*.csv"):  # a lower-case id, as some systems write them: loaded the careful way
            csv.write_text(csv.read_text().replace(f"{NO},", f"{LOWER_NO},", 1))
        Loader(con, program, program.rulesets["baseline"].catalogue).load_dir(root, with_requests=True)
    return con


def types_of(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return {str(r[0]): str(r[1]) for r in con.execute(f"DESCRIBE {table}").fetchall()}


def test_vocabularies_and_party_ids_load_as_enums_and_ids_as_text(program: ir.Program) -> None:
    con = loaded(program, STATE, REQUESTS)
    requests, devices = types_of(con, "requests"), types_of(con, "devices")
    for column in ("sender", "role", "srv", "remote_party_role", "new_certificate_owner"):
        assert requests[column].startswith("ENUM("), (column, requests[column])
    for column in ("type", "generation", "smi_status", "trust_anchor_Supplier", "trust_anchor_NetworkOperator"):
        assert devices[column].startswith("ENUM("), (column, devices[column])
    assert devices["device"] == "VARCHAR" and devices["mpxn"] == "VARCHAR"  # a fleet's worth of values: text
    assert types_of(con, "registration_islands")["party"].startswith("ENUM(")


def test_enum_members_sort_as_their_strings_and_hold_unlisted_and_lower_case_ids(program: ir.Program) -> None:
    con = loaded(program, STATE, REQUESTS)
    row = con.execute(f"SELECT enum_range(NULL::{PARTY_TYPE})").fetchone()
    assert row is not None
    # NEW_OWNER is listed nowhere but in a request; NO was given in lower case somewhere and loads in upper.
    assert row[0] == sorted({SUPPLIER, NO, NEW_OWNER})
    srvs = con.execute(f"SELECT enum_range(NULL::{SRV_TYPE})").fetchone()
    assert srvs is not None and srvs[0] == sorted(program.rulesets["baseline"].catalogue)
    # Ordered as text: the invariant's tie-break between two parties (`y.party < x.party`) reads them so.
    assert con.execute(f"SELECT '{NEW_OWNER}'::{PARTY_TYPE} > '{NO}'::{PARTY_TYPE}").fetchone() == (True,)
    assert con.execute("SELECT list(sender ORDER BY sender) FROM requests").fetchone() == ([SUPPLIER, NO, NO],)


def test_typed_tables_judge_as_the_interpreter(program: ir.Program) -> None:
    rulesets = [program.rulesets["baseline"], program.rulesets["mp107"]]
    state = copy.deepcopy(STATE)
    assert disagreements(program, rulesets, state, REQUESTS) == []


def test_folding_the_role_once_per_srv_text_is_folding_every_srv_and_role(program: ir.Program,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`_plans` folds a role into a check only where the check reads it, and once for all the SRVs whose
    folded text reads alike: the query must be the one folding every (SRV, role) from the rule text gives."""
    rs = program.rulesets["mp107"]
    grouped = sql.compile_verdicts(rs, program, "requests", narrow=True)
    assert any(sql.reads_role(ch) for ch in rs.checks) and not all(sql.reads_role(ch) for ch in rs.checks)
    monkeypatch.setattr(sql, "reads_role", lambda node: True)
    assert sql.compile_verdicts(rs, program, "requests", narrow=True) == grouped


def test_reads_role_sees_the_variable_and_the_request_field() -> None:
    role, request = ir.Var(name="role", type=EnumT("UserRole")), ir.Var(name="request", type=RecordT("Request"))
    sender = ir.Var(name="sender", type=RecordT("Party"))
    assert sql.reads_role(role)
    assert sql.reads_role(ir.GetField(obj=request, record="Request", name="role", type=EnumT("UserRole")))
    assert sql.reads_role((sender, role))  # a tuple of nodes, as a rule set's effects
    assert not sql.reads_role(ir.GetField(obj=request, record="Request", name="sender", type=RecordT("Party")))
    assert not sql.reads_role(sender)


def test_the_compiled_query_is_remembered_per_rule_set_and_program(program: ir.Program) -> None:
    rs = program.rulesets["mp107"]
    first = sql.verdict_sql(rs, program, "requests", narrow=True)
    assert sql.verdict_sql(rs, program, "requests", narrow=True) is first
    assert first == sql.compile_verdicts(rs, program, "requests", narrow=True)
    assert sql.verdict_sql(rs, program, "candidates", narrow=True) != first  # another source, its own query
    other = load_program(repo_rules(), [])[0]  # equal rules, another program: compiled for itself
    assert sql.verdict_sql(other.rulesets["mp107"], other, "requests", narrow=True) == first


@pytest.mark.parametrize("texts", [["6.15.1", "", "a,b", "it's", "tab\there"], ["x\x1fy", "z"], ["only"]])
def test_a_columns_relation_reads_back_its_rows_in_order(texts: list[str]) -> None:
    rows: list[tuple[str | int, ...]] = [(t, i * 7) for i, t in enumerate(texts)]
    relation = sql.DUCKDB.columns(["name", "number"], rows)
    got = duckdb.connect().execute(f"SELECT name, number FROM {relation}").fetchall()
    assert got == [(t, i * 7) for i, t in enumerate(texts)]


def test_past_the_party_enum_limit_party_ids_load_as_text_and_judge_alike(program: ir.Program,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An ENUM's members are copied into every table and view that holds it: millions of distinct (unlisted)
    party ids made loading 20 times slower, so past tables.MAX_PARTY_ENUM they stay text."""
    monkeypatch.setattr(tables, "MAX_PARTY_ENUM", 2)  # the example names three
    con = loaded(program, STATE, REQUESTS)
    assert types_of(con, "requests")["sender"] == "VARCHAR" and types_of(con, "devices")["trust_anchor_Supplier"] == "VARCHAR"
    assert types_of(con, "requests")["role"].startswith("ENUM(")  # the vocabularies are still ENUMs
    rulesets = [program.rulesets["baseline"], program.rulesets["mp107"]]
    assert disagreements(program, rulesets, copy.deepcopy(STATE), REQUESTS) == []
    assert con.execute("SELECT list(sender ORDER BY sender) FROM requests").fetchone() == ([SUPPLIER, NO, NO],)
