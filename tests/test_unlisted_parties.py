"""A party id the state's `parties` does not list is a party that is not a DCC User and holds no User Role
(its declared fields null): redline.check.checked, "Null semantics"; docs/formats.md.

CONTRACTS.md's own example pair names such a party (the new owner of the NO certificate,
90-B3-D5-1F-30-03-00-00), and acceptance checks drive `validate` with it: it must be judged, not refused
as bad input. Each place a party id may stand (the sender, the new certificate owner, a trust anchor's
owner, a registered party, a declared relation's party, a declared Party field) is judged here with an
unlisted id by the interpreter, the generated validator, `redline impact` (DuckDB) and the Z3 encoding,
which must all agree; an unlisted sender is rejected by the DSP's first check (E1), never accepted. A
malformed id is still bad input (exit 2) naming its JSON path.

The contract's pair is read from ../shared beside the repository (as tests/test_oracle.py reads the DUIS
matrix); without it that test is skipped.
"""

from __future__ import annotations

import copy
import json
import random
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from contract_example import FORMER, METER, MPXN, NEW_OWNER, NO, REQUEST, STATE, STRANGER, SUPPLIER
from impact_support import disagreements, engine_verdicts, interpreter_stuck
from redline.build import build
from redline.check import checked as ir
from redline.cli import main
from redline.codegen import RuleFile, generate
from redline.impact.fleet import analyse, correcting_srvs
from redline.impact.fromjson import write_requests, write_state
from redline.impact.tables import ImpactInputError, Loader
from redline.interp import InputError, Validator, load_request, load_state
from redline.loading import repo_rules, rule_files
from redline.props.concrete import anchors_after, concrete
from redline.smt import Encoder, Sorts
from redline.smt.concrete import agrees
from redline.source import Source
from redline.times import parse_iso
from test_declared import import_source

CONTRACTS = Path(__file__).resolve().parents[2] / "shared" / "design" / "CONTRACTS.md"
SHIPPED = {f.relative_to(repo_rules()).as_posix(): f.read_text(encoding="utf-8") for f in rule_files([repo_rules()])}

# Data a modification may declare, naming parties: a relation of a party and a device, a Party field of a device.
DECLARED = """
relation delegate "test: a party the SMI records as a delegate for a device" (Party, Device)
extend Device "test: who installed the device" { installer: optional Party }
modification delegation "test: a new NO certificate names a recorded delegate; the installer is no DCC User" amends baseline
  add check new_owner_delegated "test: the new certificate's owner is a delegate for the device" at DSP reject E4
    applies when srv.replaces_trust_anchor
    requires delegate(request.new_certificate_owner, device)
    rests on A1
  add check installer_no_user "test: a device's installer is no DCC User" at DSP reject E4
    applies when device.installer != null
    requires device.installer.dcc_user == false
    rests on A1
"""


def program_of(extra: str) -> ir.Program:
    program, diags = build([Source(n, t) for n, t in sorted(SHIPPED.items())] + [Source("extra.redline", extra)])
    assert program is not None, [str(d) for d in diags]
    return program


SHIPPED_PROGRAM = program_of("")
DECLARED_PROGRAM = program_of(DECLARED)
SHIPPED_SETS = ("baseline", "mp107")
DECLARED_SETS = ("baseline", "delegation")


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], ModuleType]:
    """The generated validator of each rule set asked about here, keyed by (program, rule set)."""
    out = {}
    for key, program, extra, names in (("shipped", SHIPPED_PROGRAM, "", SHIPPED_SETS),
                                       ("declared", DECLARED_PROGRAM, DECLARED, DECLARED_SETS)):
        files = [RuleFile(n, t.encode()) for n, t in sorted({**SHIPPED, "extra.redline": extra}.items())]
        for name in names:
            path = tmp_path_factory.mktemp("unlisted") / f"{key}_{name}.py"
            out[(key, name)] = import_source(generate(program, program.rulesets[name], files), path, f"generated_unlisted_{key}_{name}")
    return out


def interpreted(program: ir.Program, name: str, state: Any, request: Any) -> dict[str, Any]:
    loaded = load_state(copy.deepcopy(state), program)
    rs = program.rulesets[name]
    return json.loads(json.dumps(Validator(rs).validate(loaded, load_request(copy.deepcopy(request), loaded, program, rs)).to_json()))


def summary(v: dict[str, Any]) -> tuple[Any, ...]:
    return (v["verdict"], v["layer"], v["code"], v["check"], [(e["device"], e["trust_anchor"], e["owner"]) for e in v["effects"]])


def judged_alike(modules: dict[tuple[str, str], ModuleType], key: str, state: dict[str, Any],
                 request: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Each rule set's verdict summary, after holding the interpreter, the generated validator, the Z3 encoding
    and the SQL engine to each other on this state and request."""
    program, names = (SHIPPED_PROGRAM, SHIPPED_SETS) if key == "shipped" else (DECLARED_PROGRAM, DECLARED_SETS)
    out = {}
    for name in names:
        want = interpreted(program, name, state, request)
        got = json.loads(json.dumps(modules[(key, name)].validate(copy.deepcopy(state), copy.deepcopy(request))))
        assert got == want, (name, got, want)
        rs = program.rulesets[name]
        loaded = load_state(copy.deepcopy(state), program)
        req = load_request(copy.deepcopy(request), loaded, program, rs)
        v = Validator(rs).validate(loaded, req)
        x = concrete(loaded, req)
        assert agrees(Encoder(Sorts(program, sorted(rs.catalogue)), rs), x, v.accepted,
                      v.failed.name if v.failed else None, anchors_after(x, v)) is True, name
        out[name] = summary(want)
    rulesets = [program.rulesets[n] for n in names]
    requests = [(1, state["now"], {k: v for k, v in request.items() if v is not None})]
    assert disagreements(program, rulesets, state, requests) == []
    sql = engine_verdicts(program, rulesets, state, requests)
    for name in names:  # not vacuous: the engine judged the request, as the interpreter did
        accepted, layer, code, check, _ = sql[name][1]
        assert (accepted, layer, code, check) == (out[name][0] == "accept", *out[name][1:4])
    return out


def with_state(edit: Any) -> dict[str, Any]:
    state = copy.deepcopy(STATE)
    edit(state)
    return state


EFFECT = [(METER, "NetworkOperator", NEW_OWNER)]
ACCEPT = ("accept", None, None, None, EFFECT)
E1 = ("reject", "DSP", "E1", "dcc_user_in_role", [])


# ---- the contract's own example -----------------------------------------------------------------------


def contract_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    if not CONTRACTS.exists():
        pytest.skip(f"{CONTRACTS} is absent: the contract's example needs ../shared beside the repository")
    text = CONTRACTS.read_text(encoding="utf-8")
    found = {}
    for heading in ("STATE.json", "REQUEST.json"):
        m = re.search(rf"^## {re.escape(heading)}.*?```json\n(.*?)```", text, re.S | re.M)
        assert m is not None, f"CONTRACTS.md has no {heading} example"
        found[heading] = json.loads(m.group(1))
    return found["STATE.json"], found["REQUEST.json"]


def test_the_contract_example_is_the_one_tested_here() -> None:
    state, request = contract_pair()
    assert (state, request) == (STATE, REQUEST)
    assert NEW_OWNER not in state["parties"]


@pytest.mark.parametrize("ruleset", SHIPPED_SETS)
def test_the_contract_example_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str], ruleset: str) -> None:
    """Exit 0; accepted under both rule sets: the ED sender is a DCC User in its role, ED is eligible for 6.15.1,
    it is the registered ED for the MPxN (so baseline's 6.1(f) check passes; mp107 waives it) and owns the NO
    cell (the S1SP's check). The new owner, whom `parties` does not list, goes into the cell."""
    state, request = contract_pair()
    (tmp_path / "state.json").write_text(json.dumps(state))
    (tmp_path / "request.json").write_text(json.dumps(request))
    code = main(["validate", "--ruleset", ruleset, "--state", str(tmp_path / "state.json"), str(tmp_path / "request.json"),
                 "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    v = json.loads(out)
    assert summary(v) == ACCEPT and v["dcc_accepted"] is True
    assert [t["outcome"] for t in v["trace"] if t["check"] in ("eligible_user", "s1sp_registration")] == \
        (["pass", "pass"] if ruleset == "baseline" else ["skipped", "skipped"])


def test_the_contract_example_alike_everywhere(modules: dict[tuple[str, str], ModuleType]) -> None:
    state, request = contract_pair()
    assert judged_alike(modules, "shipped", state, request) == {"baseline": ACCEPT, "mp107": ACCEPT}


# ---- each place a party id stands, unlisted ---------------------------------------------------------------


def test_an_unlisted_new_certificate_owner_goes_into_the_cell(modules: dict[tuple[str, str], ModuleType]) -> None:
    assert judged_alike(modules, "shipped", STATE, REQUEST) == {"baseline": ACCEPT, "mp107": ACCEPT}
    # spelt in lower case, it is the same party, and the cell holds it as ids are written
    lower = {**REQUEST, "new_certificate_owner": NEW_OWNER.lower()}
    assert judged_alike(modules, "shipped", STATE, lower) == {"baseline": ACCEPT, "mp107": ACCEPT}


def test_an_unlisted_trust_anchor_owner(modules: dict[tuple[str, str], ModuleType]) -> None:
    """A former Network Operator, no longer listed, owns the NO cell: the registered ED cannot correct it
    through the S1SP under either rule set (the S1SP checks the sender owns the cell)."""
    state = with_state(lambda s: s["devices"][METER]["trust_anchors"].update(NetworkOperator=FORMER))
    s1sp = ("reject", "S1SP", None, "s1sp_certificate_owner", [])
    assert judged_alike(modules, "shipped", state, {**REQUEST, "new_certificate_owner": NO}) == {"baseline": s1sp, "mp107": s1sp}
    # and the former owner itself, unlisted, is rejected at the first check
    assert judged_alike(modules, "shipped", state, {**REQUEST, "sender": FORMER}) == {"baseline": E1, "mp107": E1}
    # a Supplier cell owned by an unlisted party: a Critical command of the registered Supplier fails at the S1SP
    state = with_state(lambda s: s["devices"][METER]["trust_anchors"].update(Supplier=FORMER))
    supplier = {"sender": SUPPLIER, "role": "IS", "srv": "6.15.1", "device": METER, "remote_party_role": "Supplier",
                "new_certificate_owner": SUPPLIER}
    assert judged_alike(modules, "shipped", state, supplier) == {"baseline": s1sp, "mp107": s1sp}


def test_an_unlisted_registered_party(modules: dict[tuple[str, str], ModuleType]) -> None:
    """Registration Data names an ED that `parties` does not list: the NO who owns the cell is not registered,
    which is MP107's case: baseline rejects at 6.1(f) (E4), mp107 accepts."""
    state = with_state(lambda s: s["registration"][MPXN][1].update(party=FORMER))
    assert judged_alike(modules, "shipped", state, REQUEST) == {
        "baseline": ("reject", "DSP", "E4", "eligible_user", []), "mp107": ACCEPT}
    # the invariants still hold of it: two parties, listed or not, are not both registered ED at once
    both = with_state(lambda s: s["registration"][MPXN].append({"role": "ED", "party": STRANGER, "from": "2016-01-01T00:00:00Z"}))
    with pytest.raises(InputError, match="invariant `one_registered_party`"):
        load_state(both, SHIPPED_PROGRAM)


def test_an_unlisted_sender_is_rejected_at_the_first_check(modules: dict[tuple[str, str], ModuleType]) -> None:
    """Fail closed: judged as a listed party with "dcc_user": false and no role, E1 under both rule sets."""
    assert judged_alike(modules, "shipped", STATE, {**REQUEST, "sender": STRANGER}) == {"baseline": E1, "mp107": E1}
    # whatever it sends, and even if Registration Data names it and it owns every cell
    state = with_state(lambda s: (s["registration"][MPXN][1].update(party=STRANGER),
                                  s["devices"][METER]["trust_anchors"].update(NetworkOperator=STRANGER, Supplier=STRANGER)))
    for request in ({**REQUEST, "sender": STRANGER},
                    {"sender": STRANGER, "role": "IS", "srv": "4.1.1", "device": METER},
                    {"sender": STRANGER, "role": "OU", "srv": "11.2", "device": None}):
        assert judged_alike(modules, "shipped", state, request) == {"baseline": E1, "mp107": E1}, request
    listed = with_state(lambda s: s["parties"].update({STRANGER: {"roles": [], "dcc_user": False}}))
    assert interpreted(SHIPPED_PROGRAM, "mp107", listed, {**REQUEST, "sender": STRANGER}) == \
        interpreted(SHIPPED_PROGRAM, "mp107", STATE, {**REQUEST, "sender": STRANGER})


def test_the_cli_judges_an_unlisted_sender(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "state.json").write_text(json.dumps(STATE))
    (tmp_path / "request.json").write_text(json.dumps({**REQUEST, "sender": STRANGER}))
    argv = ["validate", "--ruleset", "mp107", "--state", str(tmp_path / "state.json"), str(tmp_path / "request.json")]
    assert main([*argv, "--format", "json"]) == 0
    assert summary(json.loads(capsys.readouterr().out)) == E1
    assert main([*argv, "--fail-on-reject"]) == 1
    capsys.readouterr()


def test_an_unlisted_party_in_a_declared_relation(modules: dict[tuple[str, str], ModuleType]) -> None:
    state = with_state(lambda s: s.update(relations={"delegate": [[NEW_OWNER, METER]]}))
    assert judged_alike(modules, "declared", state, REQUEST) == {"baseline": ACCEPT, "delegation": ACCEPT}
    state["relations"]["delegate"] = [[STRANGER, METER]]
    assert judged_alike(modules, "declared", state, REQUEST) == {
        "baseline": ACCEPT, "delegation": ("reject", "DSP", "E4", "new_owner_delegated", [])}


def test_an_unlisted_party_in_a_declared_field(modules: dict[tuple[str, str], ModuleType]) -> None:
    """An unlisted installer is no DCC User: its `dcc_user` is false (not null) in every back end."""
    state = with_state(lambda s: (s.update(relations={"delegate": [[NEW_OWNER, METER]]}),
                                  s["devices"][METER].update(installer=STRANGER)))
    assert judged_alike(modules, "declared", state, REQUEST) == {"baseline": ACCEPT, "delegation": ACCEPT}
    state["devices"][METER]["installer"] = SUPPLIER  # a listed DCC User
    assert judged_alike(modules, "declared", state, REQUEST) == {
        "baseline": ACCEPT, "delegation": ("reject", "DSP", "E4", "installer_no_user", [])}


def test_many_unlisted_parties_in_the_engine() -> None:
    """Random requests over a world in which some parties of every kind of place are unlisted."""
    rng = random.Random(11)
    parties = [SUPPLIER, NO, NEW_OWNER, FORMER, STRANGER]
    state = with_state(lambda s: (s["parties"].update({NEW_OWNER: {"roles": ["ED", "GT"], "dcc_user": False}}),
                                  s["registration"][MPXN].append({"role": "GT", "party": FORMER, "from": "2021-01-01T00:00:00Z"})))
    state["devices"]["00-DB-12-34-56-78-90-A1"] = {**STATE["devices"][METER], "generation": "SMETS2", "mpxn": "1900000000002",
                                                   "trust_anchors": {"Supplier": STRANGER, "NetworkOperator": FORMER}}
    state["registration"]["1900000000002"] = [{"role": "ED", "party": STRANGER, "from": "2015-01-01T00:00:00Z"}]
    requests = []
    for i in range(200):
        srv = rng.choice(["6.15.1", "6.15.1", "6.23", "4.1.1"])
        r: dict[str, Any] = {"sender": rng.choice(parties), "role": rng.choice(["IS", "ED", "GT"]), "srv": srv,
                             "device": rng.choice([METER, "00-DB-12-34-56-78-90-A1"])}
        if srv != "4.1.1":
            r |= {"remote_party_role": rng.choice(["NetworkOperator", "Supplier"]), "new_certificate_owner": rng.choice(parties)}
        requests.append((i, state["now"], r))
    rulesets = [SHIPPED_PROGRAM.rulesets[n] for n in SHIPPED_SETS]
    assert disagreements(SHIPPED_PROGRAM, rulesets, state, requests) == []


def test_the_fleet_question_with_an_unlisted_registered_party(tmp_path: Path) -> None:
    """A device whose registered ED is unlisted is mis-set; no candidate correction can come from that party
    (it holds no role), but under mp107 the NO who owns the cell can hand it over: the engine's stuck devices
    are the interpreter's under both rule sets."""
    state = with_state(lambda s: s["registration"][MPXN][1].update(party=FORMER))
    write_state(state, SHIPPED_PROGRAM, tmp_path)
    con = duckdb.connect()
    rulesets = [SHIPPED_PROGRAM.rulesets[n] for n in SHIPPED_SETS]
    Loader(con, SHIPPED_PROGRAM, rulesets[0].catalogue).load_dir(tmp_path, with_requests=False)
    result = analyse(con, SHIPPED_PROGRAM, rulesets, parse_iso(state["now"]))
    for rs in rulesets:
        mis, stuck = interpreter_stuck(SHIPPED_PROGRAM, rs, state, correcting_srvs(rs, "NetworkOperator"))
        assert mis == {METER} and stuck == ({METER} if rs.name == "baseline" else set())
        assert result["mis_set"] == len(mis) and result["stuck"][rs.name]["devices"] == len(stuck), result


# ---- a malformed party id is still bad input -----------------------------------------------------------------

BAD = "90-B3-D5-1F-30-0"
MALFORMED: list[tuple[str, Any, Any, str]] = [
    ("sender", None, {**REQUEST, "sender": BAD}, "$.sender"),
    ("new_certificate_owner", None, {**REQUEST, "new_certificate_owner": BAD}, "$.new_certificate_owner"),
    ("trust_anchor", lambda s: s["devices"][METER]["trust_anchors"].update(NetworkOperator=BAD), REQUEST,
     f'$.devices["{METER}"].trust_anchors.NetworkOperator'),
    ("registration", lambda s: s["registration"][MPXN][1].update(party=BAD), REQUEST, f'$.registration["{MPXN}"][1].party'),
    ("relation", lambda s: s.update(relations={"delegate": [[BAD, METER]]}), REQUEST, "$.relations.delegate[0][0]"),
    ("declared_field", lambda s: s["devices"][METER].update(installer=BAD), REQUEST, f'$.devices["{METER}"].installer'),
]


@pytest.mark.parametrize("edit,request_json,where", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_party_id_is_bad_input(modules: dict[tuple[str, str], ModuleType], edit: Any, request_json: Any,
                                           where: str) -> None:
    state = with_state(edit) if edit else copy.deepcopy(STATE)
    state.setdefault("relations", {"delegate": []})
    for name in DECLARED_SETS:
        with pytest.raises(InputError) as e:
            interpreted(DECLARED_PROGRAM, name, state, request_json)
        assert e.value.where == where and "must be an Entity Identifier of eight hex pairs" in e.value.message
        assert f"found `{BAD}`" in e.value.message
        module = modules[("declared", name)]
        with pytest.raises(module.InputError) as g:
            module.validate(copy.deepcopy(state), copy.deepcopy(request_json))
        assert str(g.value) == str(e.value)


def test_a_malformed_party_id_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "state.json").write_text(json.dumps(STATE))
    (tmp_path / "request.json").write_text(json.dumps({**REQUEST, "new_certificate_owner": BAD}))
    code = main(["validate", "--ruleset", "mp107", "--state", str(tmp_path / "state.json"), str(tmp_path / "request.json")])
    err = capsys.readouterr().err
    assert code == 2 and "$.new_certificate_owner: the new certificate owner must be an Entity Identifier" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("table,column", [("requests", "sender"), ("requests", "new_certificate_owner"),
                                          ("devices", "trust_anchor_NetworkOperator"), ("registration", "party")])
def test_a_malformed_party_id_is_refused_by_the_engine(tmp_path: Path, table: str, column: str) -> None:
    write_state(STATE, SHIPPED_PROGRAM, tmp_path)
    write_requests([(1, STATE["now"], REQUEST)], SHIPPED_PROGRAM, tmp_path)
    path = tmp_path / f"{table}.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    for i in range(1, len(lines)):
        cells = lines[i].split(",")
        if cells[header.index(column)]:
            cells[header.index(column)] = BAD
            lines[i] = ",".join(cells)
            break
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImpactInputError, match=rf"{table}\.{column}: expected an Entity Identifier"):
        Loader(duckdb.connect(), SHIPPED_PROGRAM, SHIPPED_PROGRAM.rulesets["baseline"].catalogue).load_dir(tmp_path, with_requests=True)
