"""World invariants declared in rule files (issue 13, item 4): one registered party per
User Role per MPxN at any instant, and Other Users never in Registration Data.

The loaders (interpreter and generated validator) refuse a STATE that breaks one,
scenarios are checked against them, and both SMT encodings assume them, so a
model decodes only to a state the loader accepts.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import z3

from redline.cli import main
from redline.interp.values import InputError, load_state
from redline.smt.decode import Decoder
from redline.smt.symbolic import Sorts, SymState, bounded_state
from test_properties import PROGRAM

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "stuck-smets1"
STATE: dict[str, Any] = json.loads((EXAMPLE / "state.json").read_text(encoding="utf-8"))
MPXN = "1900000000001"
NO_A, NO_B, OU = "90-B3-D5-1F-30-02-00-00", "90-B3-D5-1F-30-03-00-00", "90-B3-D5-1F-30-04-00-00"


@pytest.fixture(scope="module")
def program() -> Any:
    return PROGRAM


def _with_registration(*extra: dict[str, Any]) -> dict[str, Any]:
    s = copy.deepcopy(STATE)
    s["parties"].setdefault(OU, {"roles": ["OU"], "dcc_user": True})
    s["registration"][MPXN] = [*s["registration"][MPXN], *extra]
    return s


def _index(s: dict[str, Any]) -> int:
    return len(s["registration"][MPXN]) - 1


def test_shipped_invariants(program: Any) -> None:
    forms = {i.name: (i.form, i.roles) for i in program.invariants}
    assert forms["other_users_unregistered"] == ("never_registered", frozenset({"OU"}))
    assert forms["one_registered_party"] == ("one_registered", frozenset({"IS", "ES", "GS", "ED", "GT", "RSA"}))
    assert program.vocab.unregistered == frozenset({"OU"})
    assert "OU" not in program.registration_roles()


def test_a_second_registered_party_at_once_is_refused(program: Any) -> None:
    s = _with_registration({"role": "ED", "party": NO_B, "from": "2026-01-01T00:00:00Z", "to": None})
    with pytest.raises(InputError) as e:
        load_state(s, program)
    assert e.value.where == f'$.registration["{MPXN}"][{_index(s)}]'
    assert "invariant `one_registered_party`" in e.value.message and NO_B in e.value.message


@pytest.mark.parametrize("extra", [
    # the same party twice at once is still one registered party
    {"role": "ED", "party": NO_A, "from": "2026-01-01T00:00:00Z", "to": None},
    # another role, or another party after the first one's end
    {"role": "GT", "party": NO_B, "from": "2026-01-01T00:00:00Z", "to": None},
])
def test_what_the_invariant_allows(program: Any, extra: dict[str, Any]) -> None:
    load_state(_with_registration(extra), program)


def test_consecutive_assignments_do_not_overlap(program: Any) -> None:
    s = copy.deepcopy(STATE)
    ed = [a for a in s["registration"][MPXN] if a["role"] == "ED"]
    assert ed and ed[0]["to"] is None
    ed[0]["to"] = "2026-01-01T00:00:00Z"
    s["registration"][MPXN].append({"role": "ED", "party": NO_B, "from": "2026-01-01T00:00:00Z", "to": None})
    load_state(s, program)
    s["registration"][MPXN][-1]["from"] = "2025-12-31T23:59:59Z"
    with pytest.raises(InputError):
        load_state(s, program)


def test_other_users_in_registration_data_are_refused(program: Any) -> None:
    s = _with_registration({"role": "OU", "party": OU, "from": "2026-01-01T00:00:00Z", "to": None})
    with pytest.raises(InputError) as e:
        load_state(s, program)
    assert e.value.where == f'$.registration["{MPXN}"][{_index(s)}].role'
    assert "invariant `other_users_unregistered`" in e.value.message


def test_validate_exits_2_naming_the_invariant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = _with_registration({"role": "ED", "party": NO_B, "from": "2026-01-01T00:00:00Z", "to": None})
    (tmp_path / "state.json").write_text(json.dumps(s), encoding="utf-8")
    code = main(["validate", "--ruleset", "mp107", "--state", str(tmp_path / "state.json"), str(EXAMPLE / "request.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert f'$.registration["{MPXN}"][{_index(s)}]' in err and "invariant `one_registered_party`" in err


def test_the_generated_validator_refuses_alike(program: Any, tmp_path: Path) -> None:
    assert main(["codegen", "--ruleset", "mp107", "-o", str(tmp_path / "gen.py")]) == 0
    ns: dict[str, Any] = {}
    exec(compile((tmp_path / "gen.py").read_text(encoding="utf-8"), "gen.py", "exec"), ns)  # noqa: S102 - our own module
    for extra in ({"role": "ED", "party": NO_B, "from": "2026-01-01T00:00:00Z", "to": None},
                  {"role": "OU", "party": OU, "from": "2026-01-01T00:00:00Z", "to": None}):
        s = _with_registration(extra)
        with pytest.raises(InputError) as want:
            load_state(s, program)
        with pytest.raises(ns["InputError"]) as got:
            ns["prepare"](s)
        assert (got.value.where, got.value.message) == (want.value.where, want.value.message)
    ns["prepare"](_with_registration({"role": "GT", "party": NO_B, "from": "2026-01-01T00:00:00Z", "to": None}))


def _check(rules: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", "--rules", str(rules), "--format", "json"])
    return code, [d for d in json.loads(capsys.readouterr().out)["diagnostics"] if d["severity"] == "error"]


def test_a_scenario_that_breaks_an_invariant(rules_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (rules_copy / "scenarios" / "x.redline").write_text(
        'scenario two_eds "test" in smets1_electricity\n'
        '  registered "1900000000001" ED no_b from 2026-01-01T00:00:00Z\n'
        '  request no_a as ED sends "4.1.1" to meter\n'
        '  expect baseline accept\n'
        'scenario ou_registered "test" in smets1_electricity\n'
        '  registered "1900000000001" OU ou from 2026-01-01T00:00:00Z\n'
        '  request no_a as ED sends "4.1.1" to meter\n'
        '  expect baseline accept\n', encoding="utf-8")
    code, diags = _check(rules_copy, capsys)
    assert code == 1 and [(d["code"], d["line"]) for d in diags] == [("E301", 2), ("E301", 6)]
    assert "`no_b` and `no_a` are both registered as ED" in diags[0]["message"]
    assert "invariant `one_registered_party`" in diags[0]["message"]
    assert "invariant `other_users_unregistered`" in diags[1]["message"]


@pytest.mark.parametrize(("text", "message"), [
    ("holds one_registered(Supplier, Nobody)", "unknown UserRole value or group `Nobody`"),
    ("holds one_registered(Supplier, Root)", "unknown UserRole value or group `Root`"),
    ("holds at_most_two(Supplier)", "unknown invariant form `at_most_two`"),
])
def test_a_bad_invariant_declaration(rules_copy: Path, capsys: pytest.CaptureFixture[str], text: str, message: str) -> None:
    (rules_copy / "x.redline").write_text(f'invariant bad "test"\n  {text}\n', encoding="utf-8")
    code, diags = _check(rules_copy, capsys)
    assert code == 1 and len(diags) == 1 and diags[0]["code"] == "E101" and message in diags[0]["message"]
    assert diags[0]["path"].endswith("x.redline") and diags[0]["line"] == 2


# ---- the SMT encodings assume them ------------------------------------------------------------

def _two_at_once(sorts: Sorts, st: SymState, role: str) -> list[z3.BoolRef]:
    c = sorts.ctx
    r, m, t = sorts.members_of("role")[role], z3.Int("m", ctx=c), z3.Int("t", ctx=c)
    return [st.registered(z3.IntVal(1, ctx=c), r, m, t), st.registered(z3.IntVal(2, ctx=c), r, m, t)]


@pytest.mark.parametrize("bounded", [False, True])
def test_no_encoded_state_has_two_parties_in_one_role(program: Any, bounded: bool) -> None:
    sorts = Sorts(program, ["6.15.1"])
    st = bounded_state(sorts, "b", 3) if bounded else SymState.fresh(sorts, "u")
    for role, possible in (("ED", False), ("OU", False)):
        s = z3.Solver(ctx=sorts.ctx)
        s.add(st.constraints)
        s.add(_two_at_once(sorts, st, role))
        assert (s.check() == z3.sat) == possible, role
    # one party in a role is possible, and an OU never registered
    s = z3.Solver(ctx=sorts.ctx)
    s.add(st.constraints)
    s.add(_two_at_once(sorts, st, "ED")[0])
    assert s.check() == z3.sat
    s = z3.Solver(ctx=sorts.ctx)
    s.add(st.constraints)
    s.add(_two_at_once(sorts, st, "OU")[0])
    assert s.check() == z3.unsat


def test_decoded_models_are_states_the_loader_accepts(program: Any) -> None:
    """Many models of a bounded state crowded into one MPxN and role decode to loadable states."""
    sorts = Sorts(program, ["6.15.1"])
    st = bounded_state(sorts, "d", 3)
    rows = st.assignments or []
    s = z3.Solver(ctx=sorts.ctx)
    s.add(st.constraints)
    s.add([z3.And(a.used, a.mpxn == rows[0].mpxn, a.start >= 0, a.end < 10, a.start < 10) for a in rows])
    s.add(z3.Or([a.party != rows[0].party for a in rows]))  # more than one party among the rows
    seen = 0
    while seen < 25 and s.check() == z3.sat:
        m = s.model()
        d = Decoder(m, sorts)
        for a in rows:
            d.party(a.party)
        state = d.state(st)
        load_state(state, program)  # raises if the decoder produced an impossible state
        seen += 1
        s.add(z3.Or([z3.Or(a.role != m.eval(a.role, model_completion=True), a.party != m.eval(a.party, model_completion=True),
                           a.start != m.eval(a.start, model_completion=True)) for a in rows]))
    assert seen == 25
