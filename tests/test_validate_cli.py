"""`redline validate` end to end, through `redline.cli.main`.

Inputs are built from examples/stuck-smets1/*.json in tmp_path: the stuck
SMETS1 device whose NO cell is owned by B (…-03) while A (…-02) is the
registered Electricity Distributor, and B asking to hand the cell to A.
Baseline rejects it at the DSP (E4, 6.1(f)); MP107 accepts it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from redline.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "stuck-smets1"
STATE: dict[str, Any] = json.loads((EXAMPLE / "state.json").read_text())
REQUEST: dict[str, Any] = json.loads((EXAMPLE / "request.json").read_text())

DEV = "00-DB-12-34-56-78-90-A0"
SUPPLIER, NO_A, NO_B = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00", "90-B3-D5-1F-30-03-00-00"
STRANGER = "90-B3-D5-1F-30-09-00-00"
# Not an Entity Identifier (seven hex pairs). A well-formed party id that `parties` does not list is not bad
# input: it is a party that is no DCC User and holds no role (the contract's own example names one as the
# new certificate owner; tests/test_unlisted_parties.py).
MALFORMED = "90-B3-D5-1F-30-09-00"
MPXN = "1900000000001"

VERDICT_FIELDS = {"ruleset", "verdict", "layer", "code", "check", "clause", "effects", "trace"}
TRACE_FIELDS = {"check", "layer", "outcome", "clause"}


class Run:
    def __init__(self, code: int, out: str, err: str, state: Path, request: Path) -> None:
        self.code, self.out, self.err, self.state, self.request = code, out, err, state, request

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)  # type: ignore[no-any-return]


pytestmark = pytest.mark.usefixtures("cached_rules")


@pytest.fixture
def validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(
        state: Any = STATE,
        request: Any = REQUEST,
        *,
        ruleset: str = "baseline",
        extra: tuple[str, ...] = (),
        raw_state: str | None = None,
        raw_request: str | None = None,
    ) -> Run:
        sp, rp = tmp_path / "state.json", tmp_path / "request.json"
        sp.write_text(raw_state if raw_state is not None else json.dumps(state, indent=2), encoding="utf-8")
        rp.write_text(raw_request if raw_request is not None else json.dumps(request, indent=2), encoding="utf-8")
        code = main(["validate", "--ruleset", ruleset, "--state", str(sp), *extra, str(rp)])
        cap = capsys.readouterr()
        return Run(code, cap.out, cap.err, sp, rp)

    return run


def with_state(f: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    s = copy.deepcopy(STATE)
    f(s)
    return s


def with_request(f: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    r = copy.deepcopy(REQUEST)
    f(r)
    return r


# ---- verdicts -------------------------------------------------------------


def test_text_output_reject(validate: Callable[..., Run]) -> None:
    r = validate()
    assert r.code == 0
    assert r.err == ""
    lines = r.out.splitlines()
    assert lines[0] == "baseline: REJECT at DSP E4 by eligible_user [SRPD 6.1(f)]"
    trace = [ln.split() for ln in lines[1:]]
    assert [t[2] for t in trace][-1] == "eligible_user"
    assert [t[0] for t in trace] == ["pass"] * (len(trace) - 1) + ["fail"]
    assert trace[0][:3] == ["pass", "DSP", "dcc_user_in_role"]


def test_json_output_reject(validate: Callable[..., Run]) -> None:
    r = validate(extra=("--format", "json"))
    assert r.code == 0
    v = r.json()
    assert VERDICT_FIELDS <= set(v)
    assert (v["ruleset"], v["verdict"], v["layer"], v["code"], v["check"], v["clause"]) == (
        "baseline",
        "reject",
        "DSP",
        "E4",
        "eligible_user",
        "SRPD 6.1(f)",
    )
    assert v["effects"] == []
    assert v["dcc_accepted"] is False
    for t in v["trace"]:
        assert TRACE_FIELDS <= set(t)
        assert t["outcome"] in ("pass", "fail", "skipped")
    assert v["trace"][-1] == {"check": "eligible_user", "layer": "DSP", "outcome": "fail", "clause": "SRPD 6.1(f)"}
    assert [t["outcome"] for t in v["trace"][:-1]] == ["pass"] * (len(v["trace"]) - 1)


def test_json_output_accept_under_mp107(validate: Callable[..., Run]) -> None:
    r = validate(ruleset="mp107", extra=("--format", "json"))
    assert r.code == 0
    v = r.json()
    assert (v["ruleset"], v["verdict"], v["layer"], v["code"], v["check"], v["clause"]) == (
        "mp107",
        "accept",
        None,
        None,
        None,
        None,
    )
    assert v["effects"] == [{"device": DEV, "trust_anchor": "NetworkOperator", "owner": NO_A}]
    outcomes = {t["check"]: t for t in v["trace"]}
    assert "fail" not in {t["outcome"] for t in v["trace"]}
    # The two MP107 waivers show as skipped with the exception's own clause.
    for name in ("eligible_user", "s1sp_registration"):
        assert outcomes[name]["outcome"] == "skipped"
        assert outcomes[name]["clause"].startswith("MP107")


def test_text_output_accept_names_the_effect(validate: Callable[..., Run]) -> None:
    r = validate(ruleset="mp107")
    assert r.code == 0
    assert r.out.splitlines()[0] == f"mp107: ACCEPT; {DEV} NetworkOperator cell := {NO_A}"


def test_fail_on_reject(validate: Callable[..., Run]) -> None:
    assert validate(extra=("--fail-on-reject",)).code == 1
    assert validate(ruleset="mp107", extra=("--fail-on-reject",)).code == 0


@pytest.mark.parametrize("name", ["MP107", "Mp107", "mP107"])
def test_ruleset_names_are_case_insensitive(validate: Callable[..., Run], name: str) -> None:
    r = validate(ruleset=name, extra=("--format", "json"))
    assert r.code == 0
    assert r.json()["ruleset"] == "mp107"
    assert r.json()["verdict"] == "accept"


def test_baseline_upper_case(validate: Callable[..., Run]) -> None:
    r = validate(ruleset="BASELINE", extra=("--format", "json"))
    assert r.code == 0 and r.json()["ruleset"] == "baseline" and r.json()["verdict"] == "reject"


def test_unknown_ruleset(validate: Callable[..., Run]) -> None:
    r = validate(ruleset="mp108")
    assert r.code == 2
    assert r.out == ""
    assert "unknown rule set `mp108`" in r.err
    assert "baseline" in r.err and "mp107" in r.err
    assert "Traceback" not in r.err


def test_device_not_in_smi_is_a_reject_not_bad_input(validate: Callable[..., Run]) -> None:
    req = with_request(lambda q: q.update(device="00-DB-12-34-56-78-90-FF"))
    r = validate(request=req, extra=("--format", "json"))
    assert r.code == 0, r.err
    v = r.json()
    assert (v["verdict"], v["layer"], v["code"], v["check"]) == ("reject", "DSP", "E19", "device_in_smi")
    r = validate(request=req, extra=("--fail-on-reject",))
    assert r.code == 1
    assert "E19" in r.out.splitlines()[0]


def test_lower_case_ids_are_the_same_party_and_device(validate: Callable[..., Run]) -> None:
    req = with_request(lambda q: q.update(device=DEV.lower(), sender=NO_B.lower(), new_certificate_owner=NO_A.lower()))
    v = validate(request=req, ruleset="mp107", extra=("--format", "json")).json()
    assert v["verdict"] == "accept"
    assert v["effects"] == [{"device": DEV, "trust_anchor": "NetworkOperator", "owner": NO_A}]


@pytest.mark.parametrize("which,mutate,verdict", [
    ("request", lambda q: q.update(sender=STRANGER), ("reject", "DSP", "E1", "dcc_user_in_role")),
    ("request", lambda q: q.update(new_certificate_owner=STRANGER), ("accept", None, None, None)),
    ("state", lambda s: s["devices"][DEV]["trust_anchors"].update(NetworkOperator=STRANGER),
     ("reject", "S1SP", None, "s1sp_certificate_owner")),
    ("state", lambda s: s["registration"][MPXN][0].update(party=STRANGER), ("accept", None, None, None)),
], ids=["sender", "new_certificate_owner", "trust_anchor_owner", "registration_party"])
def test_a_party_parties_does_not_list_is_judged_not_bad_input(
    validate: Callable[..., Run], which: str, mutate: Callable[[dict[str, Any]], None], verdict: tuple[Any, ...]
) -> None:
    """Not a DCC User, no User Role (docs/formats.md); an unlisted sender is rejected at the first check (E1)."""
    r = validate(ruleset="mp107", extra=("--format", "json"),
                 **({"state": with_state(mutate)} if which == "state" else {"request": with_request(mutate)}))
    assert r.code == 0, r.err
    v = r.json()
    assert (v["verdict"], v["layer"], v["code"], v["check"]) == verdict


# ---- bad input: exit 2, a precise message naming the field, no traceback ----


def _del(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.pop(key)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.update({key: value})


# (id, "state" or "request", mutation, fragments that must all be in stderr)
BAD_INPUT: list[tuple[str, str, Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
    ("missing_field", "request", _del("role"), ("$", "missing field `role`")),
    ("missing_state_field", "state", _del("registration"), ("$", "missing field `registration`")),
    ("unknown_field", "request", _set("colour", "red"), ("$.colour", "unknown field `colour`")),
    (
        "unknown_state_field",
        "state",
        lambda s: s["parties"][SUPPLIER].update(role=["IS"]),
        (f'$.parties["{SUPPLIER}"].role', "unknown field `role`", "did you mean `roles`"),
    ),
    (
        "malformed_sender",
        "request",
        _set("sender", MALFORMED),
        ("$.sender", "the sender must be an Entity Identifier", f"found `{MALFORMED}`"),
    ),
    (
        "malformed_trust_anchor_owner",
        "state",
        lambda s: s["devices"][DEV]["trust_anchors"].update(Supplier=MALFORMED),
        (f'$.devices["{DEV}"].trust_anchors.Supplier', "a trust anchor owner must be an Entity Identifier", f"found `{MALFORMED}`"),
    ),
    (
        "malformed_registration_party",
        "state",
        lambda s: s["registration"][MPXN][0].update(party=MALFORMED),
        (f'$.registration["{MPXN}"][0].party', "a party id must be an Entity Identifier", f"found `{MALFORMED}`"),
    ),
    (
        "malformed_new_certificate_owner",
        "request",
        _set("new_certificate_owner", MALFORMED),
        ("$.new_certificate_owner", "the new certificate owner must be an Entity Identifier", f"found `{MALFORMED}`"),
    ),
    (
        "unknown_srv",
        "request",
        _set("srv", "6.16.1"),
        ("$.srv", "`6.16.1`", "not in the DUIS catalogue", "closest SRVs", "`6.15.1`"),
    ),
    ("unknown_role", "request", _set("role", "EDX"), ("$.role", "unknown User Role `EDX`", "did you mean `ED`")),
    (
        "unknown_device_type",
        "state",
        lambda s: s["devices"][DEV].update(type="ESMEX"),
        (f'$.devices["{DEV}"].type', "unknown device type `ESMEX`", "did you mean `ESME`"),
    ),
    (
        "unknown_remote_party_role",
        "request",
        _set("remote_party_role", "NetworkOperatr"),
        ("$.remote_party_role", "`NetworkOperatr`", "did you mean `NetworkOperator`"),
    ),
    ("invalid_time", "state", _set("now", "2026-02-30T00:00:00Z"), ("$.now", "invalid time `2026-02-30T00:00:00Z`")),
    ("not_a_time", "request", _set("execution_time", "tomorrow"), ("$.execution_time", "ISO 8601", "`tomorrow`")),
    (
        "time_with_offset",
        "request",
        _set("execution_time", "2026-03-01T12:00:00+01:00"),
        ("$.execution_time", "ISO 8601", "`2026-03-01T12:00:00+01:00`"),
    ),
    (
        "inverted_date_range",
        "request",
        _set("date_range", {"from": "2026-03-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}),
        ("$.date_range", "inverted date range", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
    ),
    (
        "registration_to_before_from",
        "state",
        lambda s: s["registration"][MPXN][0].update(to="2019-01-01T00:00:00Z"),
        (f'$.registration["{MPXN}"][0]', "`to` (2019-01-01T00:00:00Z) must be after `from` (2020-01-01T00:00:00Z)"),
    ),
    ("6.15.1_without_remote_party_role", "request", _del("remote_party_role"), ("$", "6.15.1", "`remote_party_role`")),
    (
        "remote_party_role_on_other_srv",
        "request",
        _set("srv", "6.2.1"),
        ("$", "SRV 6.2.1 carries no certificate", "`remote_party_role`", "must be absent"),
    ),
    # 6.23 (CoS) carries a Supplier certificate without replacing a cell with it (the effect rests on A8):
    # REQUEST.json may leave it out (docs/formats.md), but if it names one it names both role and owner.
    (
        "6.23_without_owner",
        "request",
        lambda q: (q.update(srv="6.23"), q.pop("new_certificate_owner")),
        ("$", "SRV 6.23 carries a certificate", "`new_certificate_owner`"),
    ),
    (
        "6.23_malformed_certificate_owner",
        "request",
        lambda q: q.update(srv="6.23", new_certificate_owner=MALFORMED),
        ("$.new_certificate_owner", "Entity Identifier", f"`{MALFORMED}`"),
    ),
    ("number_for_string_role", "request", _set("role", 5), ("$.role", "5")),
    ("number_for_string_sender", "request", _set("sender", 5), ("$.sender", "Entity Identifier", "found 5")),
    ("number_for_time", "state", _set("now", 1767225600), ("$.now", "ISO 8601", "found 1767225600")),
    (
        "string_for_bool",
        "state",
        lambda s: s["parties"][SUPPLIER].update(dcc_user="yes"),
        (f'$.parties["{SUPPLIER}"].dcc_user', "true or false", "`yes`"),
    ),
    (
        "string_for_list",
        "state",
        lambda s: s["parties"][SUPPLIER].update(roles="IS"),
        (f'$.parties["{SUPPLIER}"].roles', "list of User Roles", "`IS`"),
    ),
    ("list_for_object_parties", "state", _set("parties", []), ("$.parties", "expected an object", "found list")),
    (
        "list_for_object_device",
        "state",
        lambda s: s["devices"].update({DEV: []}),
        (f'$.devices["{DEV}"]', "expected an object", "found list"),
    ),
    (
        "list_for_object_date_range",
        "request",
        _set("date_range", ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"]),
        ("$.date_range", "expected an object", "found list"),
    ),
    ("list_for_object_registration", "state", _set("registration", []), ("$.registration", "found list")),
    (
        "bad_party_id",
        "state",
        lambda s: s["parties"].update({"not-an-eui": {"roles": [], "dcc_user": True}}),
        ('$.parties["not-an-eui"]', "Entity Identifier", "`not-an-eui`"),
    ),
    (
        "device_with_mpxn_and_association",
        "state",
        lambda s: s["devices"][DEV].update(associated_device=DEV),
        (f'$.devices["{DEV}"]', "exactly one of `mpxn`", "`associated_device`"),
    ),
    (
        "association_cycle",
        "state",
        lambda s: s["devices"][DEV].update(mpxn=None, associated_device=DEV),
        (f'$.devices["{DEV}"].associated_device', "cycle"),
    ),
    (
        "registration_role_ou",
        "state",
        lambda s: s["registration"][MPXN][0].update(role="OU"),
        (f'$.registration["{MPXN}"][0].role', "`OU`"),
    ),
]


@pytest.mark.parametrize("which,mutate,fragments", [pytest.param(w, m, f, id=i) for i, w, m, f in BAD_INPUT])
def test_bad_input(
    validate: Callable[..., Run], which: str, mutate: Callable[[dict[str, Any]], None], fragments: tuple[str, ...]
) -> None:
    if which == "state":
        r = validate(state=with_state(mutate))
    else:
        r = validate(request=with_request(mutate))
    assert r.code == 2, r.out
    assert r.out == ""
    assert "Traceback" not in r.err and "internal error" not in r.err
    assert r.err.startswith("redline: error: ")
    path = r.state if which == "state" else r.request
    assert f"{path}: " in r.err, "the message must name the file"
    for fragment in fragments:
        assert fragment in r.err, f"{fragment!r} not in {r.err!r}"
    assert len(r.err.strip().splitlines()) == 1


def test_bad_input_is_also_exit_2_with_fail_on_reject(validate: Callable[..., Run]) -> None:
    r = validate(request=with_request(_set("role", "EDX")), extra=("--fail-on-reject", "--format", "json"))
    assert r.code == 2 and r.out == ""


def test_not_json_gives_line_and_column(validate: Callable[..., Run]) -> None:
    r = validate(raw_request='{\n  "sender": "90-B3-D5-1F-30-03-00-00",\n  "role": ED\n}\n')
    assert r.code == 2
    assert f"{r.request}:3:11: error[json]: invalid JSON" in r.err
    lines = r.err.splitlines()
    # The offending line is quoted and the caret sits under the `E` of `ED`.
    src = next(ln for ln in lines if ln.lstrip().startswith("3 |"))
    caret = lines[lines.index(src) + 1]
    assert src[caret.index("^")] == "E"
    assert "Traceback" not in r.err


@pytest.mark.parametrize("raw", ["", "{", "NaN", '{"sender": Infinity}', "[" * 100_000 + "]" * 100_000, "\ufeff{}"])
def test_not_json_variants(validate: Callable[..., Run], raw: str) -> None:
    r = validate(raw_state=raw)
    assert r.code == 2
    assert str(r.state) in r.err
    assert "invalid JSON" in r.err or "nested too deeply" in r.err
    assert "Traceback" not in r.err and "internal error" not in r.err


def test_not_utf8_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "state.json"
    bad.write_bytes(b'{"now": "\xff"}')
    code = main(["validate", "--ruleset", "baseline", "--state", str(bad), str(EXAMPLE / "request.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{bad}: not UTF-8 text" in err and "byte 9" in err
    assert "Traceback" not in err


def test_wrong_top_level_types(validate: Callable[..., Run]) -> None:
    r = validate(state=[])
    assert r.code == 2 and "$: expected an object, found list" in r.err
    r = validate(request="6.15.1")
    assert r.code == 2 and "$: expected an object, found `6.15.1`" in r.err


@pytest.mark.parametrize("which", ["state", "request"])
def test_non_existent_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str) -> None:
    good_state, good_req = tmp_path / "s.json", tmp_path / "r.json"
    good_state.write_text(json.dumps(STATE))
    good_req.write_text(json.dumps(REQUEST))
    missing = tmp_path / "missing.json"
    state, req = (missing, good_req) if which == "state" else (good_state, missing)
    code = main(["validate", "--ruleset", "baseline", "--state", str(state), str(req)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{missing}: cannot read" in err
    assert "No such file" in err
    assert "Traceback" not in err


def test_missing_rules_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "validate",
            "--rules",
            str(tmp_path / "nope"),
            "--ruleset",
            "baseline",
            "--state",
            str(EXAMPLE / "state.json"),
            str(EXAMPLE / "request.json"),
        ]
    )
    assert code == 2
    assert "rules directory not found" in capsys.readouterr().err


def test_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["validate", "--state", str(EXAMPLE / "state.json"), str(EXAMPLE / "request.json")])
    assert e.value.code == 2
    assert "--ruleset" in capsys.readouterr().err


# ---- regressions: fail-closed loading --------------------------------------


def test_party_listed_twice_in_different_case_is_bad_input(validate: Callable[..., Run]) -> None:
    state = with_state(lambda s: s["parties"].update({NO_B.lower(): {"roles": [], "dcc_user": False}}))
    r = validate(state=state)
    assert r.code == 2
    assert NO_B.lower() in r.err or NO_B in r.err


def test_device_listed_twice_in_different_case_is_bad_input(validate: Callable[..., Run]) -> None:
    def add_twin(s: dict[str, Any]) -> None:
        twin = copy.deepcopy(s["devices"][DEV])
        twin["generation"] = "SMETS2"
        s["devices"][DEV.lower()] = twin

    r = validate(state=with_state(add_twin))
    assert r.code == 2


def test_duplicate_json_key_is_bad_input(validate: Callable[..., Run]) -> None:
    body = json.dumps(REQUEST)[:-1] + f', "sender": "{SUPPLIER}"}}'
    r = validate(raw_request=body)
    assert r.code == 2
    assert "sender" in r.err


def test_srv_as_list_says_expected_string(validate: Callable[..., Run]) -> None:
    r = validate(request=with_request(_set("srv", ["6.15.1"])))
    assert r.code == 2
    assert "$.srv" in r.err
    assert "string" in r.err
    assert "closest SRVs" not in r.err
