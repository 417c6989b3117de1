"""`redline impact`: the rules compiled to SQL agree with the interpreter, and bad tables are refused.

The agreement runs every scenario, random requests over random worlds (bench/validate.py's
generators: associations, registration histories, the three time cases, unknown devices), and a
synthetic fleet generated in DuckDB, both for verdicts and for the stuck-device analysis. The
100,000-request run is `pytest -m slow tests/test_impact.py` (and bench/impact.py).
"""

from __future__ import annotations

import csv
import json
import random
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from impact_support import disagreements, interpreter_stuck, interpreter_verdicts, state_from_raw
from redline.build import build
from redline.check import checked as ir
from redline.check.reads import reads
from redline.check.types import BOOL, RecordT
from redline.cli import main
from redline.ids import is_eui64
from redline.impact.fleet import analyse, correcting_srvs
from redline.impact.fromjson import write_requests, write_state
from redline.impact.params import FleetParams
from redline.impact.sql import Compiler, Unsupported, registered_at_device_only, verdict_sql
from redline.impact.synth import generate
from redline.impact.tables import Loader
from redline.loading import load_program, repo_rules, rule_files
from redline.source import Source
from redline.times import format_iso, parse_iso

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import validate as bench_validate  # noqa: E402  (bench/validate.py: random worlds and requests)

AT = "2026-03-01T12:00:00Z"


@pytest.fixture(scope="module")
def program() -> ir.Program:
    prog, _ = load_program(repo_rules(), [])
    assert prog is not None
    return prog


def rulesets(program: ir.Program) -> list[ir.RuleSet]:
    return [program.rulesets["baseline"], program.rulesets["mp107"]]


def test_every_scenario_agrees(program: ir.Program) -> None:
    # One load for all scenarios: each scenario's ids and MPxNs are renamed into its own namespace,
    # so their worlds sit side by side in one set of tables (a load costs far more than a query).
    for names in ({"baseline", "mp107"},):
        scenarios = [sc for sc in program.scenarios if set(sc.expected) == names]
        state, requests = merged_scenarios(scenarios)
        assert disagreements(program, [program.rulesets[n] for n in sorted(names)], state, requests) == []
    others = [sc for sc in program.scenarios if set(sc.expected) != {"baseline", "mp107"}]
    for name in sorted({n for sc in others for n in sc.expected}):
        state, requests = merged_scenarios([sc for sc in others if name in sc.expected])
        assert disagreements(program, [program.rulesets[name]], state, requests) == []  # declared data too
    assert len(program.scenarios) >= 50


def merged_scenarios(scenarios: list[ir.Scenario]) -> tuple[dict[str, Any], list[Any]]:
    state: dict[str, Any] = {"now": AT, "parties": {}, "devices": {}, "registration": {}}
    requests = []
    for k, sc in enumerate(scenarios):
        ids: dict[str, str] = {}

        def rename(v: Any, k: int = k, ids: dict[str, str] = ids) -> Any:
            if isinstance(v, dict):
                return {rename(a): rename(b) for a, b in v.items()}
            if isinstance(v, list):
                return [rename(x) for x in v]
            if isinstance(v, str) and is_eui64(v):
                n = ids.setdefault(v.upper(), len(ids))
                return f"{k >> 8:02X}-{k & 255:02X}-00-00-00-00-{n >> 8:02X}-{n & 255:02X}"
            return v
        world = rename(dict(sc.state))
        for did, body in world["devices"].items():
            if body.get("mpxn") is not None:
                body["mpxn"] = f"s{k}-{body['mpxn']}"
            state["devices"][did] = body
        state["parties"].update(world["parties"])
        for rel, tuples in world.get("relations", {}).items():
            state.setdefault("relations", {}).setdefault(rel, []).extend(tuples)
        state["registration"].update({f"s{k}-{m}": items for m, items in world["registration"].items()})
        requests.append((k, sc.state["now"], rename(dict(sc.request))))
    return state, requests


def random_requests(seed: int, devices: int, count: int, program: ir.Program) -> tuple[dict[str, Any], list[Any]]:
    rng = random.Random(seed)
    state, parties, sites = bench_validate.make_state(rng, bench_validate.Sizes(devices=devices, requests=count))
    raw = bench_validate.make_requests(rng, count, state, parties, sites, dict(program.rulesets["baseline"].catalogue))
    now = parse_iso(state["now"])
    # Each request is judged at its own timestamp, up to a year either side of the world's `now`, to the
    # microsecond (times are microseconds since the epoch in both the interpreter and the tables).
    stamped = [(i, format_iso(now + rng.randint(-365 * 86400, 365 * 86400) * 1_000_000 + rng.randint(0, 999_999)), r)
               for i, r in enumerate(raw)]
    return state, stamped


@pytest.mark.parametrize("seed", [1, 2])
def test_random_requests_agree(program: ir.Program, seed: int) -> None:
    state, requests = random_requests(seed, 300, 2500, program)
    assert disagreements(program, rulesets(program), state, requests) == []


SET_OF_VALUES = """
modification not_root "test: a set literal of values read from the request" amends baseline
  add check not_root "test: no Root certificate replacement" at DSP reject E4
    applies when srv.replaces_trust_anchor
    requires Root not in {request.remote_party_role, Recovery}
"""


def test_a_set_literal_of_request_values_compiles_and_agrees(program: ir.Program) -> None:
    """A set literal whose items are read from the request (a list with its nulls dropped in SQL) is judged as
    the interpreter judges it, on DuckDB 2.0 too (which refuses the old lambda arrow `x -> ...`)."""
    sources = [Source(f.name, f.read_text(encoding="utf-8")) for f in rule_files([repo_rules()])]
    with_set, diags = build([*sources, Source("not-root.redline", SET_OF_VALUES)])
    assert with_set is not None, diags
    state, requests = random_requests(3, 200, 1500, with_set)
    assert disagreements(with_set, [with_set.rulesets["not_root"]], state, requests) == []


@pytest.mark.slow
def test_hundred_thousand_random_requests_agree(program: ir.Program) -> None:
    total = 0
    for seed in range(10, 20):
        state, requests = random_requests(seed, 2000, 10_000, program)
        assert disagreements(program, rulesets(program), state, requests) == []
        total += len(requests)
    assert total >= 100_000


@pytest.fixture(scope="module")
def synthetic(program: ir.Program) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    generate(con, FleetParams(devices=400, requests=1500, wrong_no_share=0.2, seed=7),
             program.cells(), ir.carrying_srvs(program.rulesets["baseline"].catalogue))
    Loader(con, program, program.rulesets["baseline"].catalogue).stage(with_requests=True)
    return con


def test_synthetic_fleet_is_deterministic_by_seed(program: ir.Program, synthetic: duckdb.DuckDBPyConnection) -> None:
    again = duckdb.connect()
    generate(again, FleetParams(devices=400, requests=1500, wrong_no_share=0.2, seed=7),
             program.cells(), ir.carrying_srvs(program.rulesets["baseline"].catalogue))
    other = duckdb.connect()
    generate(other, FleetParams(devices=400, requests=1500, wrong_no_share=0.2, seed=8),
             program.cells(), ir.carrying_srvs(program.rulesets["baseline"].catalogue))
    for t in ("raw_devices", "raw_registration", "raw_requests"):
        rows = synthetic.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        assert rows == again.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        assert rows != other.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()


def test_synthetic_requests_agree(program: ir.Program, synthetic: duckdb.DuckDBPyConnection) -> None:
    state = state_from_raw(synthetic, program, AT)
    rows = synthetic.execute("""SELECT request_id, strftime("timestamp", '%Y-%m-%dT%H:%M:%SZ'), sender, role, srv, device,
        remote_party_role, new_certificate_owner FROM raw_requests ORDER BY request_id""").fetchall()
    requests = []
    for rid, ts, sender, role, srv, device, rpr, owner in rows:
        raw = {"sender": sender, "role": role, "srv": srv, "device": device}
        if rpr is not None:
            raw |= {"remote_party_role": rpr, "new_certificate_owner": owner}
        requests.append((int(rid), ts, raw))
    assert disagreements(program, rulesets(program), state, requests) == []


def test_stuck_devices_agree_with_the_interpreter(program: ir.Program, synthetic: duckdb.DuckDBPyConnection) -> None:
    state = state_from_raw(synthetic, program, AT)
    result = analyse(synthetic, program, rulesets(program), parse_iso(AT), visit_cost=100.0)
    stuck_sql = {rs.name: {r[0] for r in synthetic.execute(f"SELECT device FROM stuck_{rs.name}").fetchall()}
                 for rs in rulesets(program)}
    for rs in rulesets(program):
        mis, stuck = interpreter_stuck(program, rs, state, correcting_srvs(rs, "NetworkOperator"))
        assert result["mis_set"] == len(mis)
        assert stuck_sql[rs.name] == stuck
    # MP107 frees SMETS1 devices only, and some of them: the question the issue asks.
    assert result["freed"] == len(stuck_sql["baseline"] - stuck_sql["mp107"]) > 0
    assert result["site_visits_saved_cost"] == 100.0 * result["freed"]
    assert stuck_sql["mp107"] <= stuck_sql["baseline"]
    by_gen = {row["key"]: row for row in result["by"]["generation"]}
    assert by_gen["SMETS2"]["freed"] == 0 and by_gen["SMETS1"]["freed"] == result["freed"]


def test_a_second_analysis_on_one_connection_asks_afresh(program: ir.Program, synthetic: duckdb.DuckDBPyConnection) -> None:
    # Before anyone was registered nothing is mis-set, so that analysis has no candidate corrections; the
    # next one, at AT, must make its own rather than reuse that empty table (rule sets share candidates
    # within one analysis only).
    before = analyse(synthetic, program, rulesets(program), parse_iso("2014-01-01T00:00:00Z"))
    assert before["mis_set"] == 0
    again = analyse(synthetic, program, rulesets(program), parse_iso(AT), visit_cost=100.0)
    assert again["mis_set"] > 0 and again["freed"] > 0


KEEP_SENDER = """
modification keep_sender "test: a second effect on the NO cell, which wins" amends mp107
  add effect keep_senders_no "test: the NO cell stays the sender's"
    when srv == "6.15.1" and request.remote_party_role == NetworkOperator
    set device.trust_anchors[NetworkOperator] to sender
"""


def test_a_device_is_freed_by_what_its_cell_holds_after_every_effect() -> None:
    """A correction whose effects set the cell to the registered party and then back to the sender frees
    nothing: the later effect wins (as applying a verdict's effects in order does), so every mis-set device
    stays stuck under keep_sender, however many an earlier effect names the registered party for."""
    sources = [Source(f.name, f.read_text(encoding="utf-8")) for f in rule_files([repo_rules()])]
    program, diags = build([*sources, Source("keep-sender.redline", KEEP_SENDER)])
    assert program is not None, diags
    con = duckdb.connect()
    generate(con, FleetParams(devices=200, wrong_no_share=0.2, seed=3), program.cells(),
             ir.carrying_srvs(program.rulesets["baseline"].catalogue))
    Loader(con, program, program.rulesets["baseline"].catalogue).stage(with_requests=False)
    state = state_from_raw(con, program, AT)
    pair = [program.rulesets["mp107"], program.rulesets["keep_sender"]]
    result = analyse(con, program, pair, parse_iso(AT))
    for rs in pair:
        mis, stuck = interpreter_stuck(program, rs, state, correcting_srvs(rs, "NetworkOperator"))
        assert {r[0] for r in con.execute(f"SELECT device FROM stuck_{rs.name}").fetchall()} == stuck, rs.name
    assert result["mis_set"] == len(mis) > 0 and len(stuck) == len(mis) and result["freed"] == 0


def test_a_construct_the_compiler_cannot_express_is_refused_by_name() -> None:
    party_of_device = ir.GetField(obj=ir.Var(name="sender", type=RecordT("Party")), record="Device", name="type", type=BOOL)
    with pytest.raises(Unsupported, match="a Device field of anything but the request's `device`"):
        Compiler(("Supplier",)).truth(party_of_device)


def test_refusal_names_the_check(program: ir.Program) -> None:
    rs = program.rulesets["baseline"]
    bad = ir.GetField(obj=ir.Var(name="sender", type=RecordT("Party")), record="Device", name="type", type=BOOL)
    first = rs.checks[0]
    broken = ir.RuleSet(name="broken", cite="", base=None, checks=(ir.Check(
        name=first.name, cite=first.cite, layer=first.layer, code=first.code, applies=None, exceptions=(),
        requires=bad, rests=(), origin="broken"),), effects=(), catalogue=rs.catalogue)
    with pytest.raises(Unsupported, match=f"rule set `broken`, check `{first.name}`"):
        verdict_sql(broken, program, "requests")
    # every path that compiles a rule names it: `impact fleet` first asks which MPxNs the rules read
    with pytest.raises(Unsupported, match=f"rule set `broken`, check `{first.name}`"):
        registered_at_device_only(broken, program)
    with pytest.raises(Unsupported, match="rule set `broken`, effect `bad_effect`"):
        registered_at_device_only(ir.RuleSet(name="broken", cite="", base=None, checks=(), effects=(ir.Effect(
            name="bad_effect", cite="", when=bad, cell=ir.Const(value="Supplier", type=BOOL),
            owner=ir.Const(value=None, type=BOOL), rests=(), origin="broken"),), catalogue=rs.catalogue), program)


# ---- bad input ------------------------------------------------------------------

def world(program: ir.Program, tmp: Path) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    sc = next(s for s in program.scenarios if s.name == "stuck_owner_no_fixes_under_mp107")
    write_state(sc.state, program, tmp)
    write_requests([(1, sc.state["now"], sc.request)], program, tmp)
    return tmp


def edit(path: Path, change: Any) -> None:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    change(rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)


@pytest.fixture(autouse=True)
def rules_once(program: ir.Program, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI checks the rules on every run; here once per module, which is what the tests are not about."""
    monkeypatch.setattr("redline.cli.load_program", lambda rules, extra: (program, []))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["impact", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_fleet_command_table_and_json(program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = world(program, tmp_path)
    code, out, _ = run(capsys, "fleet", str(root), "--at", AT, "--visit-cost", "120")
    assert code == 0
    assert "stuck under baseline: 1" in out and "stuck under mp107: 0" in out and "freed by mp107: 1" in out
    code, out, _ = run(capsys, "fleet", str(root), "--at", AT, "--format", "json", "--ruleset", "baseline")
    assert code == 0
    result = json.loads(out)
    assert result["rulesets"] == ["baseline"] and result["stuck"]["baseline"]["devices"] == 1 and "freed" not in result


def test_replay_command_counts_and_changes(program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = world(program, tmp_path)
    code, out, _ = run(capsys, "replay", str(root), "--format", "json", "--verdicts", str(tmp_path / "v.csv"))
    assert code == 0
    result = json.loads(out)
    assert result["summary"]["baseline"]["rejected_by"] == [{"layer": "DSP", "code": "E4", "check": "eligible_user", "requests": 1}]
    assert result["changes"]["classes"] == [{"old": "reject at DSP E4 by eligible_user", "new": "accept", "requests": 1}]
    lines = (tmp_path / "v.csv").read_text().splitlines()
    assert lines[0].startswith("request_id,ruleset,accepted") and len(lines) == 3


def test_replay_breakdowns_are_the_verdicts_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The summaries and changes, counted in the engine, against the written verdicts counted here in Python."""
    from collections import Counter
    code, _, _ = run(capsys, "generate", str(tmp_path / "g"), "--devices", "400", "--requests", "3000",
                     "--correction-share", "0.3", "--wrong-no-share", "0.3", "--format", "json")
    assert code == 0
    code, out, _ = run(capsys, "replay", str(tmp_path / "g"), "--format", "json", "--verdicts", str(tmp_path / "v.csv"))
    assert code == 0
    result = json.loads(out)
    requests = {int(r[0]): r[1:] for r in duckdb.sql(
        f"SELECT request_id, srv, role, sender FROM '{tmp_path / 'g' / 'requests.parquet'}'").fetchall()}
    with (tmp_path / "v.csv").open(encoding="utf-8") as f:
        verdicts = {(int(v["request_id"]), v["ruleset"]): v for v in csv.DictReader(f)}
    for name in ("baseline", "mp107"):
        for i, key in enumerate(("by_srv", "by_role", "by_sender")):
            total = Counter(q[i] for q in requests.values())
            accepted = Counter(q[i] for rid, q in requests.items() if verdicts[rid, name]["accepted"] == "true")
            want = sorted(({"key": k, "requests": n, "accepted": accepted[k]} for k, n in total.items()),
                          key=lambda x: (-x["requests"], x["key"]))
            assert result["summary"][name][key] == want
    fields = ("accepted", "layer", "code", "check", "effects")
    changed = [rid for rid in requests if any(verdicts[rid, "baseline"][f] != verdicts[rid, "mp107"][f] for f in fields)]
    assert changed and result["changes"]["changed"] == len(changed)
    assert result["changes"]["examples"][0]["request_id"] == min(changed)
    by_srv = Counter(requests[rid][0] for rid in changed)
    assert result["changes"]["by_srv"] == [{"key": k, "requests": n} for k, n in sorted(by_srv.items(), key=lambda x: (-x[1], x[0]))]


def test_generate_then_fleet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "generate", str(tmp_path / "g"), "--devices", "300", "--requests", "200", "--format", "json")
    assert code == 0 and json.loads(out)["devices"] == 300
    assert (tmp_path / "g" / "devices.parquet").is_file()
    code, out, _ = run(capsys, "fleet", str(tmp_path / "g"), "--at", AT, "--format", "json")
    assert code == 0 and json.loads(out)["devices"] == 300


BAD = [
    ("devices.csv", lambda rows: [r.pop() for r in rows], "devices.trust_anchor_LoadController: missing column"),
    ("devices.csv", lambda rows: [r.append("x") for r in rows], "devices.x: unknown column"),
    ("devices.csv", lambda rows: rows[1].__setitem__(0, "not-an-id"), "devices.device: expected an Entity Identifier"),
    ("devices.csv", lambda rows: rows.append(list(rows[1])), "devices.device: listed twice"),
    ("devices.csv", lambda rows: rows.append([rows[1][0].lower(), *rows[1][1:]]), "devices.device: listed twice"),
    ("parties.csv", lambda rows: rows.append(list(rows[1])), "parties.party: listed twice"),
    ("requests.csv", lambda rows: rows.append(list(rows[1])), "requests.request_id: listed twice"),
    ("devices.csv", lambda rows: rows[1].__setitem__(1, "ESMEE"), "devices.type: expected one of ESME"),
    ("parties.csv", lambda rows: rows[1].__setitem__(1, "maybe"), "parties.dcc_user: expected true or false"),
    ("registration.csv", lambda rows: rows[1].__setitem__(4, "2001-01-01T00:00:00Z"), "registration.to_time: must be after from_time"),
    ("registration.csv", lambda rows: rows[1].__setitem__(3, "2020-01-01 00:00"), "registration.from_time: expected an ISO 8601"),
    ("requests.csv", lambda rows: rows[1].__setitem__(4, "6.15.9"), "requests.srv: not in the DUIS catalogue"),
    # A party's id need not be a row of `parties` (one that is not is no DCC User and holds no role, as in
    # STATE.json: the contract's own example names one); a malformed one is still told as malformed.
    ("requests.csv", lambda rows: rows[1].__setitem__(7, "90-b3-d5-1f-30-77-00"), "requests.new_certificate_owner: expected an Entity"),
    ("registration.csv", lambda rows: rows[1].__setitem__(2, "not-an-id"), "registration.party: expected an Entity Identifier"),
    ("devices.csv", lambda rows: rows[1].__setitem__(len(rows[1]) - 1, "zz"), "devices.trust_anchor_LoadController: expected an Entity"),
    ("requests.csv", lambda rows: rows[1].__setitem__(2, "90-B3-D5-1F-30-01-00"), "requests.sender: expected an Entity Identifier"),
    # Associations are checked after the rows' own problems (loaded the fast way first): each is still told by row.
    ("devices.csv", lambda rows: rows.append(["00-DB-00-00-00-00-0A-01", *rows[1][1:4], "", "00-DB-00-00-00-00-0A-01",
                                              *[""] * (len(rows[1]) - 6)]), "devices.associated_device: associations form a cycle"),
    ("devices.csv", lambda rows: rows.append(["00-DB-00-00-00-00-0A-02", *rows[1][1:4], "", "00-DB-00-00-00-00-0A-03",
                                              *[""] * (len(rows[1]) - 6)]), "devices.associated_device: not in devices"),
]


@pytest.mark.parametrize(("table", "change", "message"), BAD)
def test_bad_tables_exit_2_naming_table_column_and_row(program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     table: str, change: Any, message: str) -> None:
    root = world(program, tmp_path)
    edit(root / table, change)
    code, out, err = run(capsys, "replay", str(root))
    assert code == 2 and out == ""
    assert message in err
    if "column" not in message:
        assert "for example the row" in err


@pytest.mark.parametrize("when", ["0000-01-01T00:00:00Z", "parquet:290000-01-01 00:00:00"])
def test_times_outside_the_years_the_interpreter_reads_are_refused(program: ir.Program, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str], when: str) -> None:
    """DuckDB reads year 0 (as 1 BC) and Parquet TIMESTAMPs far past 9999; the interpreter reads neither: refused."""
    root = world(program, tmp_path)
    if when.startswith("parquet:"):
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * REPLACE (TIMESTAMP '{when[8:]}' AS timestamp) FROM read_csv('{root / 'requests.csv'}', "
                    f"all_varchar = true)) TO '{root / 'requests.parquet'}'")
        (root / "requests.csv").unlink()
    else:
        edit(root / "requests.csv", lambda rows: rows[1].__setitem__(1, when))
    code, out, err = run(capsys, "replay", str(root))
    assert code == 2 and out == "" and "requests.timestamp: expected an ISO 8601 UTC time" in err and "years 1 to 9999" in err


@pytest.mark.parametrize("flag", ["--bad-rows", "--verdicts"])
def test_an_output_that_is_an_input_table_is_refused_before_any_work(program: ir.Program, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str], flag: str) -> None:
    """`--bad-rows DIR` with DIR the fleet directory overwrote the fleet's own tables with the bad rows."""
    root = world(program, tmp_path)
    edit(root / "registration.csv", lambda rows: rows[1].__setitem__(1, "OU"))
    before = {p.name: p.read_bytes() for p in root.iterdir()}
    target = str(root) if flag == "--bad-rows" else str(root / "." / "requests.csv")
    code, out, err = run(capsys, "replay", str(root), flag, target)
    assert code == 2 and out == "" and "cannot write: it is the fleet table" in err
    assert {p.name: p.read_bytes() for p in root.iterdir()} == before


def test_a_thread_count_is_bounded(program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--threads 99999999999 aborted the process (std::bad_alloc in DuckDB); 100000 took minutes and gigabytes."""
    with pytest.raises(SystemExit) as e:
        run(capsys, "fleet", str(tmp_path), "--threads", "99999999999")
    assert e.value.code == 2 and "--threads: expected a number of at most 1024" in capsys.readouterr().err


def test_bad_rows_set_aside_and_counted(program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = world(program, tmp_path)
    edit(root / "registration.csv", lambda rows: rows.append(["1900000000001", "ED", "90-B3-D5-1F-30-03-00-00",
                                                             "2024-01-01T00:00:00Z", "2023-01-01T00:00:00Z"]))
    code, out, _ = run(capsys, "replay", str(root), "--bad-rows", str(tmp_path / "bad"), "--format", "json")
    assert code == 0 and json.loads(out)["rejected_rows"] == {"registration": 1}
    aside = (tmp_path / "bad" / "registration.csv").read_text()
    assert "to_time: must be after from_time" in aside and "2023-01-01T00:00:00Z" in aside


def test_missing_table_and_unknown_ruleset(program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = world(program, tmp_path)
    (root / "party_roles.csv").unlink()
    code, _, err = run(capsys, "fleet", str(root))
    assert code == 2 and "party_roles: no party_roles.parquet or party_roles.csv" in err
    code, _, err = run(capsys, "fleet", str(root), "--ruleset", "nope")
    assert code == 2 and "unknown rule set `nope`" in err


def test_an_output_that_cannot_be_written_is_exit_2(program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = world(program, tmp_path / "w")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = run(capsys, "generate", str(blocker), "--devices", "10")
    assert code == 2 and f"{blocker}: cannot write" in err
    code, out, err = run(capsys, "replay", str(root), "--verdicts", str(blocker / "v.csv"))
    assert code == 2 and out == "" and "cannot write" in err


@pytest.mark.parametrize(("to_time", "mis_set", "unregistered"), [("2026-03-01T12:00:00.000001Z", 1, 0),
                                                                    ("2026-03-01T12:00:00Z", 0, 1)])
def test_the_registered_operator_is_the_one_registered_at_the_instant_asked(
        program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str], to_time: str, mis_set: int, unregistered: int) -> None:
    # `to` is exclusive and times are kept to the microsecond: a registration ending one microsecond
    # after --at still holds at --at; one ending at --at does not.
    root = world(program, tmp_path)
    edit(root / "registration.csv", lambda rows: [r.__setitem__(4, to_time) for r in rows[1:] if r[1] == "ED"])
    code, out, _ = run(capsys, "fleet", str(root), "--at", AT, "--format", "json")
    result = json.loads(out)
    assert code == 0 and (result["mis_set"], result["unregistered"]) == (mis_set, unregistered)
    assert result["at"] == AT


def test_long_runs_say_what_they_are_doing_on_stderr(program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root = world(program, tmp_path)
    monkeypatch.setenv("REDLINE_PROGRESS", "1")
    monkeypatch.setenv("REDLINE_PROGRESS_AFTER", "0")
    monkeypatch.setattr("redline.progress.EVERY", 0.001)
    code, out, err = run(capsys, "fleet", str(root), "--at", AT, "--format", "json")
    assert code == 0 and json.loads(out)["devices"] > 0  # the answer on stdout, untouched
    assert "impact fleet: " in err
    assert any(phase in err for phase in ("checking every row of", "merging registrations", "judging the corrections"))


# ---- the declared invariants (rules/invariants.redline) on registration rows ------------------------------

def _second_registered(rows: list[list[str]]) -> None:
    first = next(r for r in rows[1:] if r[1] in ("ED", "GT"))
    rows.append([first[0], first[1], "90-B3-D5-1F-30-77-00-00", first[3], ""])


@pytest.mark.parametrize(("change", "message"), [
    (lambda rows: rows.append(["1900000000001", "OU", "90-B3-D5-1F-30-03-00-00", "2020-01-01T00:00:00Z", ""]),
     "registration.role: breaks the invariant `other_users_unregistered`"),
    (_second_registered, "registration.party: breaks the invariant `one_registered_party`"),
])
def test_rows_breaking_a_declared_invariant_are_refused_by_name(program: ir.Program, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str], change: Any, message: str) -> None:
    root = world(program, tmp_path)
    parties = root / "parties.csv"
    edit(parties, lambda rows: rows.append(["90-B3-D5-1F-30-77-00-00", "true"]))
    edit(root / "registration.csv", change)
    code, out, err = run(capsys, "fleet", str(root), "--at", AT)
    assert code == 2 and out == "" and message in err and "for example the row" in err, err
    # Set aside with --bad-rows: counted, written with the problem, and the rest analysed as before.
    code, out, _ = run(capsys, "fleet", str(root), "--at", AT, "--bad-rows", str(tmp_path / "bad"), "--format", "json")
    assert code == 0 and json.loads(out)["rejected_rows"] == {"registration": 1}
    assert message.split(": ", 1)[1] in (tmp_path / "bad" / "registration.csv").read_text()


def test_touching_assignments_of_two_parties_and_one_party_twice_keep_the_invariant(
        program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = world(program, tmp_path)
    rows_before = (root / "registration.csv").read_text()

    def hand_over(rows: list[list[str]]) -> None:
        # The registered ED hands over to another party exactly when its assignment ends (`to` is exclusive),
        # and is listed again, overlapping itself: neither breaks "one registered party at a time".
        first = next(r for r in rows[1:] if r[1] in ("ED", "GT"))
        first[4] = "2030-01-01T00:00:00Z"
        rows.append([first[0], first[1], "90-B3-D5-1F-30-77-00-00", "2030-01-01T00:00:00Z", ""])
        rows.append([first[0], first[1], first[2], first[3], "2029-01-01T00:00:00Z"])
    edit(root / "parties.csv", lambda rows: rows.append(["90-B3-D5-1F-30-77-00-00", "true"]))
    edit(root / "registration.csv", hand_over)
    assert (root / "registration.csv").read_text() != rows_before
    code, out, err = run(capsys, "fleet", str(root), "--at", AT, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["rejected_rows"] == {}


# Parquet columns of a type that cannot hold what the column means: each would otherwise be read as some
# other string or number (a struct MPxN as "{'a': ...}", an id given as an integer, a fractional request_id
# rounded), so each is refused by table and column before any row is read.
WRONG_TYPES = [
    ("devices", "SELECT * REPLACE ({'a': mpxn} AS mpxn) FROM t", "devices.mpxn: a column of type STRUCT(a VARCHAR)"),
    ("registration", "SELECT * REPLACE (CAST(length(mpxn) AS BIGINT) AS mpxn) FROM t", "registration.mpxn: a column of type BIGINT"),
    ("parties", "SELECT CAST(party AS BLOB) AS party, dcc_user FROM t", "parties.party: a column of type BLOB"),
    ("parties", "SELECT party, CASE WHEN dcc_user = 'true' THEN 1 ELSE 0 END AS dcc_user FROM t", "parties.dcc_user: a column of type INTEGER"),
    ("requests", "SELECT * REPLACE (CAST(request_id AS DOUBLE) + 0.5 AS request_id) FROM t", "requests.request_id: a column of type DOUBLE"),
    ("registration", "SELECT * REPLACE (CAST(CAST(from_time AS TIMESTAMP) AS DATE) AS from_time) FROM t", "registration.from_time: a column of type DATE"),
]


@pytest.mark.parametrize(("table", "sql", "message"), WRONG_TYPES)
def test_a_column_of_the_wrong_type_is_refused(program: ir.Program, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               table: str, sql: str, message: str) -> None:
    root = world(program, tmp_path)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{root / table}.csv', header = true, all_varchar = true)")
    con.execute(f"COPY ({sql}) TO '{root / table}.parquet' (FORMAT parquet)")
    (root / f"{table}.csv").unlink()
    code, out, err = run(capsys, "replay", str(root))
    assert code == 2 and out == "" and message in err


def test_typed_parquet_columns_that_hold_their_values_are_read(program: ir.Program, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = world(program, tmp_path)
    code, want, _ = run(capsys, "replay", str(root), "--format", "json")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # the CSV's times are UTC; a TIMESTAMPTZ made here must be the same instants
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{root}/requests.csv', header = true, all_varchar = true)")
    con.execute(f"""COPY (SELECT * REPLACE (CAST(request_id AS DECIMAL(18, 0)) AS request_id,
                     CAST(CAST("timestamp" AS TIMESTAMP) AS TIMESTAMPTZ) AS "timestamp") FROM t)
                    TO '{root}/requests.parquet' (FORMAT parquet)""")
    (root / "requests.csv").unlink()
    code2, got, _ = run(capsys, "replay", str(root), "--format", "json")
    assert code == code2 == 0 and got == want


def test_hopeless_pairs_are_never_accepted(program: ir.Program) -> None:
    """The fleet question skips candidate corrections whose (SRV, role) `hopeless` says every request is
    rejected: that is exact only if the interpreter accepts no such request, whoever sends it, about any device."""
    from redline.impact.fleet import hopeless
    state, requests = random_requests(3, 300, 2500, program)
    by_id = {rid: raw for rid, _, raw in requests}
    every = [rs for rs in program.rulesets.values() if not reads(program, rs).relations]  # (these requests give none)
    assert len(every) >= 4
    skipped = 0
    for rs, verdicts in zip(every, interpreter_verdicts(program, every, state, requests).values(), strict=True):
        for rid, (accepted, *_) in verdicts.items():
            if hopeless(rs, by_id[rid]["srv"], by_id[rid]["role"]):
                skipped += 1
                assert not accepted, f"{rs.name}: request {rid} {by_id[rid]} is accepted"
    assert skipped > 1000  # the random requests do reach such pairs
    assert not hopeless(program.rulesets["mp107"], "6.15.1", "ED") and hopeless(program.rulesets["mp107"], "6.15.1", "OU")


@pytest.mark.parametrize("table", ["parties", "devices", "registration", "requests"])
def test_ids_in_lower_case_give_the_same_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str) -> None:
    """Ids compare without regard to case. The fast way of loading takes them in upper case only; a table
    with ids in lower case is loaded the careful way, and every answer is the same."""
    root = tmp_path / "g"
    assert run(capsys, "generate", str(root), "--devices", "300", "--requests", "400", "--wrong-no-share", "0.2")[0] == 0
    questions = [("fleet", "--at", AT), ("replay",)]
    answers = [run(capsys, *q[:1], str(root), *q[1:], "--format", "json") for q in questions]
    con = duckdb.connect()
    path = root / f"{table}.parquet"
    columns = [str(c[0]) for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]
    ids = {"party", "device", "associated_device", "sender", "new_certificate_owner"} | {c for c in columns if c.startswith("trust_anchor_")}
    lowered = ", ".join(f'lower("{c}") AS "{c}"' if c in ids else f'"{c}"' for c in columns)
    con.execute(f"CREATE TABLE t AS SELECT {lowered} FROM read_parquet('{path}')")
    assert con.execute("SELECT count(*) FROM t").fetchone() == con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
    again = [run(capsys, *q[:1], str(root), *q[1:], "--format", "json") for q in questions]
    assert [a[0] for a in answers] == [0, 0] and again == answers
