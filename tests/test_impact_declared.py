"""Declared fields in the fleet tables (impact/declared.py): a modification that needs data the world does not
hold yet is judged by the engine as by the interpreter, its data loaded and checked like the built-in columns,
and what the tables cannot hold refused by name."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from impact_support import disagreements, state_from_raw
from impact_support import interpreter_stuck as stuck_by_interpreter
from redline.build import build
from redline.check import checked as ir
from redline.cli import main
from redline.impact.fleet import analyse, correcting_srvs
from redline.impact.fromjson import write_requests, write_state
from redline.impact.params import FleetParams
from redline.impact.run import run_fleet, run_replay
from redline.impact.sql import Unsupported
from redline.impact.synth import generate
from redline.impact.tables import ImpactInputError, Loader
from redline.interp import Validator, load_request, load_state
from redline.loading import repo_rules, rule_files
from redline.source import Source
from redline.times import parse_iso

SHIPPED = {f.relative_to(repo_rules()).as_posix(): f.read_text(encoding="utf-8") for f in rule_files([repo_rules()])}
P1, P2, P3, P4 = (f"90-B3-D5-1F-30-0{i}-00-00" for i in (1, 2, 3, 4))
M1, M2, M3 = (f"00-DB-12-34-56-78-91-A{i}" for i in (1, 2, 3))
NOW = "2026-03-01T12:00:00Z"

# A modification reading a declared field of each record: a Network Operator of the device's area may correct
# its certificate when the request is marked urgent, whatever Registration Data says.
REGIONAL = """
enum Region "test: DNO licence areas" { North, South }
extend Device "test: the device's licence area" { region: Region }
extend Party "test: the party's licence area" { area: optional Region }
extend Request "test: the request is marked urgent" { urgent: Bool }
modification regional "test" amends baseline
  amend check eligible_user
    except "test: a Network Operator of the device's area, urgently"
      when srv == "6.15.1" and role in NetworkOperator and sender.area == device.region and request.urgent
  amend check s1sp_registration
    except "test: urgently"
      when srv == "6.15.1" and request.remote_party_role == NetworkOperator and request.urgent
"""


def program_of(extra: str) -> ir.Program:
    program, diags = build([Source(n, t) for n, t in sorted(SHIPPED.items())] + [Source("extra.redline", extra)])
    assert program is not None, [str(d) for d in diags]
    return program


PROGRAM = program_of(REGIONAL)
BASELINE, REGIONAL_RS = PROGRAM.rulesets["baseline"], PROGRAM.rulesets["regional"]


def world(rng: random.Random) -> dict[str, Any]:
    """A small world with the declared fields: three meters on two MPxNs, four parties."""
    parties = {P1: {"roles": ["IS", "GS"], "dcc_user": True}, P2: {"roles": ["ED"], "dcc_user": True},
               P3: {"roles": ["ED"], "dcc_user": True}, P4: {"roles": ["ED", "OU"], "dcc_user": rng.random() < 0.8}}
    for p in parties.values():
        if rng.random() < 0.8:
            p["area"] = rng.choice(["North", "South", None])
    devices = {}
    for d, mpxn in ((M1, "1900000000011"), (M2, "1900000000022"), (M3, "1900000000033")):
        devices[d] = {"type": "ESME", "generation": rng.choice(["SMETS1", "SMETS2"]),
                      "smi_status": rng.choice(["Commissioned", "Commissioned", "Suspended"]), "mpxn": mpxn,
                      "trust_anchors": {"Supplier": P1, "NetworkOperator": rng.choice([P2, P3, P4])},
                      "region": rng.choice(["North", "South"])}
    registration = {m: [{"role": "IS", "party": P1, "from": "2020-01-01T00:00:00Z"},
                        {"role": "ED", "party": rng.choice([P2, P3]), "from": "2015-01-01T00:00:00Z"}]
                    for m in ("1900000000011", "1900000000022", "1900000000033")}
    return {"now": NOW, "parties": parties, "devices": devices, "registration": registration}


def requests(rng: random.Random, n: int) -> list[tuple[int, str, dict[str, Any]]]:
    out = []
    for i in range(n):
        srv = rng.choice(["6.15.1", "6.15.1", "4.1.1", "6.23"])
        r: dict[str, Any] = {"sender": rng.choice([P1, P2, P3, P4]), "role": rng.choice(["IS", "ED", "OU"]), "srv": srv,
                             "device": rng.choice([M1, M2, M3]), "urgent": rng.random() < 0.5}
        if srv in ("6.15.1", "6.23"):
            r |= {"remote_party_role": rng.choice(["NetworkOperator", "Supplier"]), "new_certificate_owner": rng.choice([P1, P2, P3])}
        out.append((i, NOW, r))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_the_engine_judges_declared_fields_as_the_interpreter(seed: int) -> None:
    rng = random.Random(seed)
    assert disagreements(PROGRAM, [BASELINE, REGIONAL_RS], world(rng), requests(rng, 150)) == []


def test_the_declared_fields_change_verdicts_in_the_engine(tmp_path: Path) -> None:
    """Not vacuous: some request is accepted under `regional` and rejected under baseline, and `urgent` decides it."""
    rng = random.Random(7)
    state = world(rng)
    state["devices"][M1] |= {"generation": "SMETS1", "smi_status": "Commissioned", "region": "North"}
    state["devices"][M1]["trust_anchors"]["NetworkOperator"] = P3  # owned by P3, who is not the registered ED
    state["parties"][P3] |= {"area": "North", "dcc_user": True}
    registered = state["registration"]["1900000000011"][1]["party"]
    assert registered != P3
    base = {"sender": P3, "role": "ED", "srv": "6.15.1", "device": M1, "remote_party_role": "NetworkOperator",
            "new_certificate_owner": registered}
    write_state(state, PROGRAM, tmp_path)
    write_requests([(1, NOW, base | {"urgent": True}), (2, NOW, base | {"urgent": False})], PROGRAM, tmp_path)
    result = run_replay(PROGRAM, [BASELINE, REGIONAL_RS], tmp_path)
    assert result["summary"]["regional"]["accepted"] == result["summary"]["baseline"]["accepted"] + 1
    assert [e["request_id"] for e in result["changes"]["examples"]] == [1]


def test_a_declared_column_is_checked_like_a_built_in_one(tmp_path: Path) -> None:
    state = world(random.Random(1))
    state["devices"][M2]["region"] = "East"
    write_state(state, PROGRAM, tmp_path)
    with pytest.raises(ImpactInputError, match=r"devices\.region: expected one of North, South .*region='East'"):
        Loader(duckdb.connect(), PROGRAM, BASELINE.catalogue).load_dir(tmp_path, with_requests=False)


def test_a_declared_party_id_need_not_name_a_loaded_party_but_must_be_one(tmp_path: Path) -> None:
    """As in STATE.json: a party `parties` does not list is no DCC User and holds no role; a malformed id is refused."""
    program = program_of('extend Device "test" { installer: optional Party }\n')
    state = world(random.Random(1))
    state["devices"][M1]["installer"] = "90-B3-D5-1F-30-09-00-00"
    write_state(state, program, tmp_path)
    con = duckdb.connect()
    Loader(con, program, BASELINE.catalogue).load_dir(tmp_path, with_requests=False)
    assert con.execute(f"SELECT installer FROM devices WHERE device = '{M1}'").fetchone() == ("90-B3-D5-1F-30-09-00-00",)
    state["devices"][M1]["installer"] = "90-B3-D5-1F-30-09"
    write_state(state, program, tmp_path)
    with pytest.raises(ImpactInputError, match=r"devices\.installer: expected an Entity Identifier"):
        Loader(duckdb.connect(), program, BASELINE.catalogue).load_dir(tmp_path, with_requests=False)


def test_a_declared_field_a_rule_set_reads_must_be_given(tmp_path: Path) -> None:
    """As in STATE.json: required by the rule sets that read it, and by no other."""
    state = world(random.Random(2))
    del state["devices"][M2]["region"]
    write_state(state, PROGRAM, tmp_path)
    write_requests(requests(random.Random(2), 5), PROGRAM, tmp_path)
    assert run_replay(PROGRAM, [BASELINE], tmp_path)["summary"]["baseline"]["requests"] == 5
    with pytest.raises(ImpactInputError, match=r"devices\.region: missing value: rule set `regional` reads this declared field.*device='" + M2):
        run_replay(PROGRAM, [BASELINE, REGIONAL_RS], tmp_path)
    with pytest.raises(ImpactInputError, match=r"devices\.region: missing value"):
        run_fleet(PROGRAM, [BASELINE, REGIONAL_RS], tmp_path, parse_iso(NOW))


def test_a_declared_column_left_out_is_null(tmp_path: Path) -> None:
    """A fleet written before the declaration still loads: an optional field is null, a required one only
    refused by the rule sets that read it."""
    rng = random.Random(3)
    write_state(world(rng), program_of(""), tmp_path)  # no declared columns at all
    write_requests([(i, ts, {k: v for k, v in r.items() if k != "urgent"}) for i, ts, r in requests(rng, 20)],
                   program_of(""), tmp_path)
    assert run_replay(PROGRAM, [BASELINE], tmp_path)["summary"]["baseline"]["requests"] == 20
    with pytest.raises(ImpactInputError, match=r"missing value: rule set `regional`"):
        run_replay(PROGRAM, [BASELINE, REGIONAL_RS], tmp_path)


def test_a_declared_field_named_as_a_table_column_is_refused(tmp_path: Path) -> None:
    program = program_of('extend Device "test" { associated_device: optional Text }\n')
    write_state(world(random.Random(1)), program_of(""), tmp_path)
    with pytest.raises(ImpactInputError, match=r"devices: the declared field `Device.associated_device` has the name of a column"):
        Loader(duckdb.connect(), program, BASELINE.catalogue).load_dir(tmp_path, with_requests=False)


def test_a_declared_set_is_refused_by_name(tmp_path: Path) -> None:
    program = program_of('extend Party "test" { areas: set of Generation }\nmodification m "test" amends baseline\n'
                         '  add before dcc_user_in_role check c "test" at DSP reject\n    requires SMETS1 in sender.areas\n')
    write_state(world(random.Random(1)), program, tmp_path)
    write_requests(requests(random.Random(1), 3), program, tmp_path)
    with pytest.raises(Unsupported, match=r"the declared field `Party.areas` of type set of Generation"):
        run_replay(program, [program.rulesets["m"]], tmp_path)


def interpreter_stuck(program: ir.Program, rs: ir.RuleSet, state: dict[str, Any]) -> set[str]:
    """The stuck devices by the interpreter, each candidate tried with `urgent` both ways."""
    loaded = load_state(state, program)
    validator, stuck = Validator(rs), set()
    for did, dev in loaded.devices.items():
        registered = sorted({a.party for a in loaded.registration.get((dev.mpxn or "", "ED"), ())
                             if a.start <= loaded.now and (a.end is None or a.end > loaded.now)})
        if not registered or dev.trust_anchors.get("NetworkOperator") == registered[0]:
            continue
        freed = False
        for pid, party in loaded.parties.items():
            for role in sorted(party.roles):
                for urgent in (True, False):
                    raw = {"sender": pid, "role": role, "srv": "6.15.1", "device": did, "urgent": urgent,
                           "remote_party_role": "NetworkOperator", "new_certificate_owner": registered[0]}
                    v = validator.validate(loaded, load_request(raw, loaded, program, rs))
                    freed = freed or (v.accepted and (did, "NetworkOperator", registered[0]) in v.effects)
        if not freed:
            stuck.add(did)
    return stuck


@pytest.mark.parametrize("seed", range(8))
def test_the_fleet_question_tries_every_value_of_a_declared_request_field(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    state = world(rng)
    write_state(state, PROGRAM, tmp_path)
    con = duckdb.connect()
    Loader(con, PROGRAM, BASELINE.catalogue).load_dir(tmp_path, with_requests=False)
    result = analyse(con, PROGRAM, [BASELINE, REGIONAL_RS], parse_iso(NOW))
    got = {rs.name: {d for (d,) in con.execute(f"SELECT device FROM stuck_{rs.name}").fetchall()} for rs in (BASELINE, REGIONAL_RS)}
    want = {rs.name: interpreter_stuck(PROGRAM, rs, state) for rs in (BASELINE, REGIONAL_RS)}
    assert got == want
    if seed in (4, 6):  # worlds where an urgent request of the device's own area frees a device baseline leaves stuck
        assert want["regional"] < want["baseline"]
    assert result["stuck"]["regional"]["devices"] == len(want["regional"])


def test_a_declared_request_field_of_too_many_values_is_refused_for_the_fleet(tmp_path: Path) -> None:
    program = program_of('extend Request "test" { note: Text }\nmodification m "test" amends baseline\n'
                         '  amend check eligible_user\n    except "test" when srv == "6.15.1" and request.note == "ok"\n')
    write_state(world(random.Random(1)), program, tmp_path)
    with pytest.raises(Unsupported, match=r"rule set `m` reads the declared request field `note` \(Text\)"):
        run_fleet(program, [program.rulesets["m"]], tmp_path, parse_iso(NOW))


# ---- declared relations: the shipped smi_joins modification ---------------------------------------------

JOINS_PROGRAM = program_of("")
JOINS = JOINS_PROGRAM.rulesets["smi_joins"]


def joins_world(rng: random.Random) -> dict[str, Any]:
    state = world(rng)
    for p in state["parties"].values():
        p.pop("area", None)
    for d in state["devices"].values():
        d.pop("region")
    pairs = [[a, b] for a in (M1, M2, M3) for b in (M1, M2, M3) if a != b]
    state["relations"] = {"joined": rng.sample(pairs, rng.randint(0, 3))}
    return state


def joins_requests(rng: random.Random, n: int) -> list[tuple[int, str, dict[str, Any]]]:
    out = []
    for i in range(n):
        r: dict[str, Any] = {"sender": rng.choice([P1, P1, P2]), "role": rng.choice(["IS", "IS", "ED"]),
                             "srv": rng.choice(["8.7.1", "8.7.2", "8.8.1", "8.8.2", "4.1.1"]), "device": rng.choice([M1, M2, M3])}
        if rng.random() < 0.9:
            r["other_device"] = rng.choice([M1, M2, M3])
        out.append((i, NOW, r))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_the_engine_judges_a_declared_relation_as_the_interpreter(seed: int) -> None:
    rng = random.Random(seed)
    assert disagreements(JOINS_PROGRAM, [BASELINE, JOINS], joins_world(rng), joins_requests(rng, 150)) == []


def test_a_declared_relation_decides_verdicts_in_the_engine(tmp_path: Path) -> None:
    rng = random.Random(1)
    state = joins_world(rng)
    write_state(state, JOINS_PROGRAM, tmp_path)
    write_requests(joins_requests(rng, 300), JOINS_PROGRAM, tmp_path)
    checks = {r["check"] for r in run_replay(JOINS_PROGRAM, [JOINS], tmp_path)["summary"]["smi_joins"]["rejected_by"]}
    assert {"not_already_joined", "unjoin_only_joined"} & checks, checks


def test_a_declared_relation_a_rule_set_reads_must_be_given(tmp_path: Path) -> None:
    state = joins_world(random.Random(2))
    del state["relations"]
    write_state(state, JOINS_PROGRAM, tmp_path)
    write_requests(joins_requests(random.Random(2), 10), JOINS_PROGRAM, tmp_path)
    assert run_replay(JOINS_PROGRAM, [BASELINE], tmp_path)["summary"]["baseline"]["requests"] == 10
    with pytest.raises(ImpactInputError, match=r"joined: no joined.parquet or joined.csv: rule set `smi_joins` reads"):
        run_replay(JOINS_PROGRAM, [BASELINE, JOINS], tmp_path)


def test_a_declared_relation_names_loaded_devices(tmp_path: Path) -> None:
    state = joins_world(random.Random(3))
    state["relations"] = {"joined": [[M1, "00-DB-12-34-56-78-91-FF"]]}
    write_state(state, JOINS_PROGRAM, tmp_path)
    with pytest.raises(ImpactInputError, match=r"joined\.device_2: not in devices"):
        Loader(duckdb.connect(), JOINS_PROGRAM, BASELINE.catalogue).load_dir(tmp_path, with_requests=False)


@pytest.mark.parametrize("text", ['extend Device "test" { Mpxn: optional Text }\n',
                                  'extend Request "test" { Urgent: optional Bool\n  urgent: optional Bool }\n',
                                  'relation Devices "test" (Device, Device)\n'])
def test_a_declared_name_clashing_in_any_case_is_refused(tmp_path: Path, text: str) -> None:
    """SQL compares names without regard to case: `Mpxn` would be read as the devices table's `mpxn`."""
    program = program_of(text)
    write_state(world(random.Random(1)), program_of(""), tmp_path)
    with pytest.raises(ImpactInputError, match=r"has the name of a"):
        Loader(duckdb.connect(), program, BASELINE.catalogue).load_dir(tmp_path, with_requests=False)


# ---- an effect that gives the cell to its sender, on an SRV that carries no certificate -------------------

SELF_CLAIM = """
modification self_claim "test: a Network Operator reading its meter's register takes the NO cell" amends baseline
  add effect claims_no "test: the NO cell becomes the sender's"
    when srv == "4.1.1" and role in NetworkOperator
    set device.trust_anchors[NetworkOperator] to sender
"""


def test_a_device_is_freed_when_its_cell_ends_with_the_registered_party(tmp_path: Path) -> None:
    """A candidate of an SRV that carries no certificate names no new owner; what frees the device is the cell
    holding the registered party after the effects, whoever's effect wrote it (the interpreter's criterion)."""
    program = program_of(SELF_CLAIM)
    base, claim = program.rulesets["baseline"], program.rulesets["self_claim"]
    con = duckdb.connect()
    generate(con, FleetParams(devices=150, wrong_no_share=0.4, seed=4), program.cells(), ir.carrying_srvs(base.catalogue))
    Loader(con, program, base.catalogue).stage(with_requests=False)
    result = analyse(con, program, [base, claim], parse_iso(NOW))
    state = state_from_raw(con, program, NOW)
    for rs in (base, claim):
        got = {d for (d,) in con.execute(f"SELECT device FROM stuck_{rs.name}").fetchall()}
        assert got == stuck_by_interpreter(program, rs, state, correcting_srvs(rs, "NetworkOperator"))[1], rs.name
    assert "4.1.1" in result["candidate_srvs"]["self_claim"] and result["freed"] > 0


def test_a_table_given_both_as_parquet_and_as_csv_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Which was meant cannot be told (an edited CSV beside a stale Parquet file): neither is read silently."""
    write_state(world(random.Random(1)), PROGRAM, tmp_path)
    (tmp_path / "devices.parquet").write_bytes(b"PAR1")
    code = main(["impact", "fleet", str(tmp_path), "--at", NOW, "--threads", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "devices: both" in err and "keep one of them" in err, err
