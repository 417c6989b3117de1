"""Model checking: the shipped temporal properties, their traces replayed
through `redline validate`, the replay's own ability to fail, the side
conditions the checker finds, each event kind, and bad temporal input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from redline.cli import main
from redline.codec import step_from_json, step_json
from redline.props.modelcheck import replay
from redline.props.results import ReplayError, Step

ROOT = Path(__file__).resolve().parents[1]
TEMPORAL = ROOT / "proofs" / "temporal.redline"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def prove_json(capsys: pytest.CaptureFixture[str], *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, list[dict[str, Any]]]:
    code, out, err = run(capsys, "prove", "--format", "json", "--rules", str(ROOT / "rules"), *map(str, paths), *extra)
    assert out, err
    return code, json.loads(out)["results"]


@pytest.fixture(scope="module")
def shipped() -> dict[tuple[str, str], dict[str, Any]]:
    import io
    from contextlib import redirect_stdout
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["prove", "--format", "json", "--rules", str(ROOT / "rules"), str(TEMPORAL)])
    assert code == 0
    return {(r["property"], r["ruleset"]): r for r in json.loads(buf.getvalue())["results"]}


def test_shipped_temporal_properties(shipped: dict[tuple[str, str], dict[str, Any]]) -> None:
    got = {k: (r["status"], r["proof"], r.get("depth")) for k, r in shipped.items()}
    assert got == {
        ("stuck_forever", "baseline"): ("proved", "unbounded", None),
        ("stuck_forever", "mp107"): ("refuted", "bounded", 1),
        ("stuck_until_registration_changes", "baseline"): ("refuted", "bounded", 2),
        ("stuck_while_time_passes", "baseline"): ("proved", "unbounded", None),
        ("stuck_while_time_passes", "mp107"): ("refuted", "bounded", 1),
        ("stuck_until_supplier_registration", "baseline"): ("refuted", "bounded", 2),
        ("stuck_reachable", "baseline"): ("proved", "bounded", 1),
        ("stuck_reachable", "mp107"): ("proved", "bounded", 1),
        ("smets2_always_recoverable", "baseline"): ("proved", "one-step", None),
        ("smets2_always_recoverable", "mp107"): ("proved", "one-step", None),
    }
    # The unbounded proof names its invariant in the property language, and what runs it allowed.
    sf = shipped[("stuck_forever", "baseline")]
    assert sf["method"] in ("1-induction", "inductive invariant")
    assert sf["invariant"] == ["owner(t, NetworkOperator) == w"]
    assert sf["events"] == []
    assert shipped[("stuck_until_registration_changes", "baseline")]["events"] == ["change_of_network_operator"]
    assert shipped[("stuck_while_time_passes", "baseline")]["events"] == ["ceases_to_be_dcc_user", "time_passes"]
    assert shipped[("stuck_while_time_passes", "baseline")]["invariant"] == ["owner(t, NetworkOperator) == w"]
    # The change of Supplier frees the cell through w's own Supplier role.
    sup = shipped[("stuck_until_supplier_registration", "baseline")]["counterexample"]
    assert sup["trace"][0]["event"]["name"] == "change_of_supplier"
    assert sup["trace"][1]["request"]["sender"] == sup["parties"]["w"] and sup["trace"][1]["request"]["role"] in ("IS", "ES", "GS")


def _runs(shipped: dict[tuple[str, str], dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    out = []
    for (_, ruleset), r in shipped.items():
        found = r.get("counterexample") or r.get("witness")
        if found and found["trace"]:
            out.append((ruleset, found["trace"]))
    return out


def test_every_trace_step_replays_through_validate(shipped: dict[tuple[str, str], dict[str, Any]],
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _runs(shipped)
    assert len(runs) == 6
    for ruleset, trace in runs:
        assert "request" not in trace[-1] and "event" not in trace[-1]  # a trace ends with the state it reaches
        for i, (step, nxt) in enumerate(zip(trace, trace[1:], strict=False)):
            if "event" in step:
                continue
            state, request = tmp_path / f"s{i}.json", tmp_path / f"r{i}.json"
            state.write_text(json.dumps(step["state"]))
            request.write_text(json.dumps(step["request"]))
            code, out, err = run(capsys, "validate", "--format", "json", "--ruleset", ruleset, "--state", str(state), str(request))
            assert code == 0, err
            verdict = json.loads(out)
            assert verdict == step["verdict"] and verdict["verdict"] == "accept"
            for eff in verdict["effects"]:
                assert nxt["state"]["devices"][eff["device"]]["trust_anchors"][eff["trust_anchor"]] == eff["owner"]


def test_the_stuck_story(shipped: dict[tuple[str, str], dict[str, Any]]) -> None:
    # Under MP107 one accepted 6.15.1 hands the NO cell to the registered NO c.
    cex = shipped[("stuck_forever", "mp107")]["counterexample"]
    c = cex["parties"]["c"]
    step = cex["trace"][0]
    assert step["request"]["srv"] == "6.15.1" and step["request"]["new_certificate_owner"] == c
    assert any("waived_by" in t for t in step["verdict"]["trace"])
    assert next(iter(cex["trace"][1]["state"]["devices"].values()))["trust_anchors"]["NetworkOperator"] == c
    # With registration changes, the way out starts with the event.
    trace = shipped[("stuck_until_registration_changes", "baseline")]["counterexample"]["trace"]
    assert trace[0]["event"]["name"] == "change_of_network_operator" and "request" in trace[1]


def test_replay_notices_a_tampered_trace(shipped: dict[tuple[str, str], dict[str, Any]]) -> None:
    from redline.build import build
    from redline.loading import rule_files
    from redline.source import Source
    program, _ = build([Source(str(f), f.read_text()) for f in rule_files([ROOT / "rules"])])
    assert program is not None
    events = list(program.events.values())
    trace = shipped[("stuck_forever", "mp107")]["counterexample"]["trace"]

    def steps(t: list[dict[str, Any]]) -> tuple[Step, ...]:  # the JSON trace as the typed steps replay takes
        return tuple(step_from_json(s) for s in t)
    assert [step_json(s) for s in replay(program, program.rulesets["mp107"], events, steps(trace))] == trace  # the genuine trace replays
    wrong_owner = copy.deepcopy(trace)
    device = next(iter(wrong_owner[1]["state"]["devices"].values()))
    device["trust_anchors"]["NetworkOperator"] = trace[0]["request"]["sender"]
    with pytest.raises(ReplayError, match="effects"):
        replay(program, program.rulesets["mp107"], events, steps(wrong_owner))
    with pytest.raises(ReplayError, match="rejects"):  # baseline rejects the request MP107 accepts
        replay(program, program.rulesets["baseline"], events, steps(trace))
    sneaky = copy.deepcopy(shipped[("stuck_until_registration_changes", "baseline")]["counterexample"]["trace"])
    sneaky[1]["state"]["now"] = "2030-01-01T00:00:00Z"  # a registration event may not move time
    with pytest.raises(ReplayError, match="changed more than it may"):
        replay(program, program.rulesets["baseline"], events, steps(sneaky))


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = TEMPORAL.read_text()
    assert old in text
    path = tmp_path / "variant.redline"
    path.write_text(text.replace(old, new))
    return path


def test_the_checker_finds_the_side_conditions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Without `not ever_registered(s, w)`, the wrong owner, registered for the meter, corrects it itself.
    path = _variant(tmp_path, " and not ever_registered(s, w))\n    implies always", ")\n    implies always")
    code, results = prove_json(capsys, path, extra=("--property", "stuck_forever"))
    assert code == 1
    r = next(x for x in results if x["ruleset"] == "baseline")
    assert r["status"] == "refuted" and r["depth"] == 1
    trace = r["counterexample"]["trace"]
    w = r["counterexample"]["parties"]["w"]
    assert trace[0]["request"]["sender"] == w
    assert any(a["party"] == w for rows in trace[0]["state"]["registration"].values() for a in rows)


EVENTS = """
property leaves "test" expect baseline proved allowing {ceases_to_be_dcc_user}
  holds exists s: State, p: Party . active(s, p) and (reachable t from s . not active(t, p))

property stays "test" expect baseline refuted allowing {}
  holds exists s: State, p: Party . active(s, p) and (reachable t from s . not active(t, p))

property future_starts "test" expect baseline proved allowing {time_passes}
  holds exists s: State, p: Party . in_smi(s) and not registered(s, p, ED) and (reachable t from s . registered(t, p, ED))
"""


def test_each_event_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "events.redline"
    path.write_text(EVENTS)
    code, results = prove_json(capsys, path)
    by = {r["property"]: r for r in results}
    assert code == 0, results
    leave = by["leaves"]["witness"]["trace"]
    assert leave[0]["event"]["name"] == "ceases_to_be_dcc_user" and leave[0]["event"]["party"] == by["leaves"]["witness"]["parties"]["p"]
    assert by["stays"]["proof"] == "unbounded"  # no event: nobody ever leaves, by 1-induction
    later = by["future_starts"]["witness"]["trace"]
    assert later[0]["event"]["name"] == "time_passes" and later[1]["state"]["now"] > later[0]["state"]["now"]


@pytest.mark.parametrize("old,new,message", [
    ("allowing {}\n  holds forall s: State, w: Party, c: Party, no: UserRole .\n    (in_smi(s) and generation(s) == SMETS1",
     "allowing {change_of_netwrk_operator}\n  holds forall s: State, w: Party, c: Party, no: UserRole .\n    (in_smi(s) and generation(s) == SMETS1",
     "unknown event `change_of_netwrk_operator`; did you mean `change_of_network_operator`"),
    ("always t from s . owner(t, NetworkOperator) != c", "always t from s . ownr(t, NetworkOperator) != c", "unknown function `ownr`"),
    ("within 1 t from s", "within 0 t from s", "must be a positive integer"),
    ("within 1 t from s", "within one t from s", "expected a positive whole number"),
    ("  rests on A4\n  allowing {}\n  holds exists", "  rests on A4\n  holds exists", "must say which events it allows"),
    ("holds exists s: State, w: Party, c: Party, no: UserRole .\n    in_smi(s)",
     "holds forall s: State, w: Party, c: Party, no: UserRole .\n    in_smi(s)", "`reachable` asks for a witness"),
])
def test_bad_temporal_properties_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str) -> None:
    path = _variant(tmp_path, old, new)
    code, out, err = run(capsys, "prove", "--rules", str(ROOT / "rules"), str(path))
    assert code == 2, out
    assert message in err and "Traceback" not in err
    assert "variant.redline:" in err and "^" in err


def test_depth_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["prove", "--depth", "0", str(TEMPORAL)])
    assert exit_.value.code == 2 and "at least 1" in capsys.readouterr().err


def test_a_solver_give_up_is_unknown_with_the_depth_reached(capsys: pytest.CaptureFixture[str]) -> None:
    code, results = prove_json(capsys, TEMPORAL, extra=("--property", "stuck_forever", "--rlimit", "1000"))
    assert code == 3
    for r in results:
        assert r["status"] == "unknown" and r["proof"] == "bounded" and isinstance(r["depth"], int)
        assert "gave up" in r["reason"]


def test_text_output_reads_as_a_story(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prove", "--rules", str(ROOT / "rules"), str(TEMPORAL), "--property", "stuck_until_registration_changes")
    assert code == 0
    # Told as the evidence bundle tells it (report/findings.py `story`), once.
    assert "step 1: event: change_of_network_operator [SEC Section E" in out
    assert "step 2: " in out and "sends 6.15.1 to " in out and "replacing the NetworkOperator certificate" in out
    assert "under baseline: accept" in out
    assert "NetworkOperator cell: " in out and "changed: registration for " in out
    assert "event: None" not in out and "step 3" not in out  # the run's last state is where it ends, not a step


def test_temporal_files_round_trip_through_fmt() -> None:
    from redline.syntax import parse
    from redline.syntax.printer import print_module
    for path in (TEMPORAL, ROOT / "rules" / "events.redline"):
        from redline.source import Source
        module, diags = parse(Source(str(path), path.read_text()))
        assert module is not None and not diags
        again, diags2 = parse(Source(str(path), print_module(module)))
        assert again == module and not diags2


def _explore(program: Any, ruleset: Any, state_json: dict[str, Any], depth: int) -> list[dict[str, Any]]:
    """Every state the interpreter reaches from `state_json` in at most `depth` accepted requests
    that could change a trust anchor (6.15.1 on any cell to any party, 6.23), sent by any party
    of the state in any role it holds: an exhaustive, solver-free search."""
    from redline.interp import Validator, load_request, load_state
    validator = Validator(ruleset)
    seen = {json.dumps(state_json, sort_keys=True)}
    frontier, found = [state_json], [state_json]
    for _ in range(depth):
        nxt = []
        for st in frontier:
            state = load_state(st, program)
            device = next(iter(st["devices"]))
            for sender, party in st["parties"].items():
                for role in party["roles"]:
                    requests = [{"sender": sender, "role": role, "srv": "6.23", "device": device}]
                    requests += [{"sender": sender, "role": role, "srv": "6.15.1", "device": device,
                                  "remote_party_role": cell, "new_certificate_owner": owner}
                                 for cell in ("Supplier", "NetworkOperator") for owner in st["parties"]]
                    for raw in requests:
                        verdict = validator.validate(state, load_request(raw, state, program, ruleset)).to_json()
                        if verdict["verdict"] != "accept":
                            continue
                        after = copy.deepcopy(st)
                        for eff in verdict["effects"]:
                            after["devices"][eff["device"]]["trust_anchors"][eff["trust_anchor"]] = eff["owner"]
                        key = json.dumps(after, sort_keys=True)
                        if key not in seen:
                            seen.add(key)
                            nxt.append(after)
            found += nxt
        frontier = nxt
    return found


def test_the_unbounded_proof_agrees_with_an_exhaustive_interpreter_search(shipped: dict[tuple[str, str], dict[str, Any]]) -> None:
    """stuck_forever's start state (from its mp107 counterexample, which satisfies the property's
    premise): under baseline no run of the interpreter's own verdicts reaches c owning the NO cell,
    as the proof says; under mp107 one request does."""
    from redline.build import build
    from redline.loading import rule_files
    from redline.source import Source
    program, _ = build([Source(str(f), f.read_text()) for f in rule_files([ROOT / "rules"])])
    assert program is not None
    cex = shipped[("stuck_forever", "mp107")]["counterexample"]
    start, c, w = copy.deepcopy(cex["trace"][0]["state"]), cex["parties"]["c"], cex["parties"]["w"]
    # A busier world that still satisfies the premise: c holds its NO role, w a Supplier role too,
    # and a registered Supplier owns the Supplier cell, so that plenty of requests are accepted.
    supplier, mpxn = "90-B3-D5-1F-30-0A-00-00", next(iter(start["registration"]))
    no_role = start["registration"][mpxn][0]["role"]
    start["parties"][c]["roles"] = [no_role]
    start["parties"][w]["roles"] = sorted({*start["parties"][w]["roles"], "GS"})
    start["parties"][supplier] = {"roles": ["IS", "GS"], "dcc_user": True}
    start["registration"][mpxn] += [{"role": r, "party": supplier, "from": "2020-01-01T00:00:00Z", "to": None} for r in ("IS", "GS")]
    device = next(iter(start["devices"].values()))
    device["trust_anchors"]["Supplier"] = supplier

    def freed(states: list[dict[str, Any]]) -> bool:
        return any(next(iter(s["devices"].values()))["trust_anchors"].get("NetworkOperator") == c for s in states)
    explored = _explore(program, program.rulesets["baseline"], start, 3)
    assert len(explored) >= 3, len(explored)  # the Supplier cell moves between parties: the search is not empty
    assert not freed(explored)
    assert freed(_explore(program, program.rulesets["mp107"], start, 1))
