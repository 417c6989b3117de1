"""`redline liveness`: can every check reject and every exception decide a request?

The shipped rules give a finding worth having: in `baseline` the S1SP's
Registration Data check can never be the check that rejects (the DSP's
eligible_user check, or role eligibility, always rejects first), while
under MP107 every rule is live. Rule sets written here with a dead and a
redundant exception show the other statuses; every witness is replayed
through `redline validate` as a user would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from redline.cli import main

pytestmark = pytest.mark.usefixtures("cached_rules")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def liveness(capsys: pytest.CaptureFixture[str], ruleset: str, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, "liveness", "--ruleset", ruleset, "--format", "json", *extra)
    return code, json.loads(out)


def statuses(result: dict[str, Any]) -> dict[tuple[str, int | None], str]:
    return {(e["check"], e["exception"]): e["status"] for e in result["rules"]}


def test_baseline_s1sp_registration_is_dead_and_shadowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, result = liveness(capsys, "baseline")
    assert code == 0 and result["complete"]
    dead = [e for e in result["rules"] if e["status"] != "live"]
    assert [(e["check"], e["status"]) for e in dead] == [("s1sp_registration", "dead")]
    assert dead[0]["shadowed_by"] == ["role_eligible_for_srv", "eligible_user"] and "witness" not in dead[0]
    assert result["counts"] == {"live": 10, "redundant": 0, "dead": 1, "unknown": 0, "dead_disjuncts": 0}
    assert result["disjuncts"] == []  # both halves of eligible_user's `applies when` can hold


def test_mp107_every_rule_is_live(capsys: pytest.CaptureFixture[str]) -> None:
    code, result = liveness(capsys, "mp107", "--fail-on-dead")
    assert code == 0 and result["complete"]
    assert set(statuses(result).values()) == {"live"} and len(result["rules"]) == 13
    # MP107's two exceptions each decide a request that baseline's checks would reject.
    mp = {e["exception"]: e for e in result["rules"] if e["origin"] == "mp107"}
    assert {e["check"] for e in mp.values()} == {"eligible_user", "s1sp_registration"}
    for e in mp.values():
        assert e["without_it"]["check"] == e["check"] and e["without_it"]["verdict"] == "reject"
    # Witnesses are sought where no other check fails: an exception's is accepted with it.
    assert all(e["verdict"]["verdict"] == "accept" for e in result["rules"] if e["exception"] is not None)


def test_fail_on_dead_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "liveness", "--ruleset", "baseline", "--fail-on-dead")
    assert code == 1
    assert "DEAD      check s1sp_registration" in out and "shadowed by role_eligible_for_srv, eligible_user" in out


@pytest.mark.parametrize("ruleset", ["baseline", "mp107"])
def test_every_witness_replays_through_validate(capsys: pytest.CaptureFixture[str], tmp_path: Path, ruleset: str) -> None:
    _, result = liveness(capsys, ruleset)
    for n, e in enumerate(r for r in result["rules"] if "witness" in r):
        state, request = tmp_path / f"s{n}.json", tmp_path / f"q{n}.json"
        state.write_text(json.dumps(e["witness"]["state"]))
        request.write_text(json.dumps(e["witness"]["request"]))
        code, out, _ = run(capsys, "validate", "--ruleset", ruleset, "--state", str(state), str(request), "--format", "json")
        verdict = json.loads(out)
        assert code == 0
        if e["exception"] is None:
            assert verdict["check"] == e["check"]
        else:
            entry = next(t for t in verdict["trace"] if t["check"] == e["check"])
            assert entry["outcome"] == "skipped" and entry["clause"] == e["clause"]
            assert verdict["check"] == e["verdict"]["check"]


AMEND = """
modification odd "a test amendment" amends baseline

  amend check s1sp_certificate_owner
    except "dead: a Non-Device SRV never reaches an S1SP check" when srv.non_device

  amend check dcc_user_in_role
    except "redundant: waives DCC Users in their role" when sender.dcc_user and role in sender.roles
"""


def test_a_dead_and_a_redundant_exception(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    (rules_copy / "odd.redline").write_text(AMEND, encoding="utf-8")
    code, out, _ = run(capsys, "liveness", "--rules", str(rules_copy), "--ruleset", "odd", "--format", "json")
    result = json.loads(out)
    assert code == 0 and result["complete"]
    got = statuses(result)
    assert got[("s1sp_certificate_owner", 1)] == "dead"
    assert got[("dcc_user_in_role", 1)] == "redundant"
    redundant = next(e for e in result["rules"] if e["status"] == "redundant")
    assert redundant["verdict"] == redundant["without_it"]  # it waives, but decides nothing
    code, text, _ = run(capsys, "liveness", "--rules", str(rules_copy), "--ruleset", "odd", "--fail-on-dead")
    assert code == 1
    assert "REDUNDANT exception 1 of dcc_user_in_role [odd]" in text
    assert "DEAD      exception 1 of s1sp_certificate_owner [odd]" in text
    dead = next(e for e in result["rules"] if e["status"] == "dead")
    assert "shadowed_by" not in dead and dead["reason"] == "its condition never holds where its check applies"
    assert "its condition never holds where its check applies" in text


HALVES = """
modification halves "a test amendment" amends baseline

  amend check eligible_user
    except "shadowed: RSA may not send 4.1.1, so the DSP's E2 rejects first" when srv == "4.1.1" and role == RSA

  add check reads_only_when_known "test" at DSP reject E2
    applies when srv == "4.8.1" or (srv == "4.1.1" and role == RSA)
    requires request.date_range == null

  intends change "test: 4.8.1, and a request that cannot be" where srv == "4.8.1" or (srv == "4.1.1" and srv == "4.8.1")
"""


def test_a_dead_exception_names_what_shadows_it_and_dead_disjuncts_are_reported(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    (rules_copy / "halves.redline").write_text(HALVES, encoding="utf-8")
    code, out, _ = run(capsys, "liveness", "--rules", str(rules_copy), "--ruleset", "halves", "--format", "json")
    result = json.loads(out)
    assert code == 0 and result["complete"]
    [dead] = [e for e in result["rules"] if e["status"] == "dead" and e["origin"] == "halves"]
    assert dead["check"] == "eligible_user" and dead["shadowed_by"] == ["role_eligible_for_srv"]
    # The check itself is live (its first half applies); its second half never reaches it, as E2 rejects
    # RSA's 4.1.1 first. The intent's second half is a contradiction.
    assert statuses(result)[("reads_only_when_known", None)] == "live"
    got = {(d["where"], d["check"], d["intent"], d["disjunct"]) for d in result["disjuncts"]}
    assert got == {("applies", "reads_only_when_known", None, 'srv == "4.1.1" and role == RSA'),
                   ("intends", None, 1, 'srv == "4.1.1" and srv == "4.8.1"')}
    assert all(d["status"] == "dead" and d["origin"] == "halves" for d in result["disjuncts"])
    assert result["counts"]["dead_disjuncts"] == 2
    code, text, _ = run(capsys, "liveness", "--rules", str(rules_copy), "--ruleset", "halves", "--fail-on-dead")
    assert code == 1
    assert "shadowed by role_eligible_for_srv" in text
    assert ('DEAD DISJUNCT `srv == "4.1.1" and role == RSA` in the applies when of check reads_only_when_known [halves]: '
            "never holds on a request that every earlier check lets through") in text


def test_a_solver_give_up_is_unknown_never_dead(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import z3

    monkeypatch.setattr(z3.Solver, "check", lambda self, *a: z3.unknown)
    monkeypatch.setattr(z3.Solver, "reason_unknown", lambda self: "timeout")
    code, result = liveness(capsys, "baseline")
    assert code == 3 and not result["complete"]
    assert set(statuses(result).values()) == {"unknown"} and all(e["reason"] == "timeout" for e in result["rules"])


def test_bad_input_is_exit_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "liveness", "--ruleset", "nope")
    assert code == 2 and "unknown rule set `nope`" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        main(["liveness", "--ruleset", "baseline", "--timeout", "0"])
    assert e.value.code == 2


def test_liveness_runs_under_the_rlimit_and_a_give_up_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "liveness", "--ruleset", "mp107", "--format", "json", "--rlimit", "1000", "--fail-on-dead")
    result = json.loads(out)
    assert code == 3 and result["complete"] is False
    assert "UNKNOWN: the liveness of 13 rule(s) of mp107 could not be settled" in err
    assert set(statuses(result).values()) == {"unknown"}  # never `dead` for want of budget
