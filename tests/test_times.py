"""Times keep their fraction of a second, and are matched whole (issue 15).

A time is microseconds since the epoch everywhere (redline.times): the
interpreter, both Z3 encodings and the generated validator. A fraction with
more than six digits is refused, never rounded; so is a time or an id with a
final newline, which `$` in a pattern would have let through.
"""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import pytest

from redline.interp import InputError, load_request, load_state
from redline.times import format_iso, parse_iso
from test_codegen import VALIDATORS, compiled, interpreted
from test_differential import agrees_with
from test_properties import PROGRAM, RULESETS
from test_validate_cli import NO_A, NO_B, REQUEST, STATE, SUPPLIER

MPXN = "1900000000001"
NOW = "2026-03-01T12:00:00.2Z"


def supplier_6_23(registered_from: str, registered_to: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Import Supplier sends 6.23 (Update Security Credentials, CoS) at `NOW`, registered from `registered_from`."""
    state = copy.deepcopy(STATE)
    state["now"] = NOW
    state["registration"][MPXN][0] = {"role": "IS", "party": SUPPLIER, "from": registered_from, "to": registered_to}
    request = {"sender": SUPPLIER, "role": "IS", "srv": "6.23", "device": REQUEST["device"],
               "execution_time": None, "date_range": None}
    return state, request


def test_parse_and_format_keep_the_fraction() -> None:
    assert parse_iso("2026-03-01T12:00:00.5Z") - parse_iso("2026-03-01T12:00:00Z") == 500_000
    assert parse_iso("2026-03-01T12:00:00.000001Z") - parse_iso("2026-03-01T12:00:00Z") == 1
    for text in ("2026-03-01T12:00:00Z", "2026-03-01T12:00:00.5Z", "1970-01-01T00:00:00.000001Z", "9999-12-31T23:59:59.999999Z"):
        assert format_iso(parse_iso(text)) == text
    assert format_iso(parse_iso("2026-03-01T12:00:00.250Z")) == "2026-03-01T12:00:00.25Z"


@pytest.mark.parametrize(("text", "message"), [
    ("2026-03-01T12:00:00.1234567Z", "more than 6 digits after the decimal point"),
    ("2026-03-01T12:00:00Z\n", "expected an ISO 8601 UTC time"),
    ("2026-03-01T12:00:00.5Z\n", "expected an ISO 8601 UTC time"),
    ("2026-03-01T12:00:00.Z", "expected an ISO 8601 UTC time"),
    ("٢٠٢٦-03-01T12:00:00Z", "expected an ISO 8601 UTC time"),
    ("2026-03-01T12:00:00.٥Z", "expected an ISO 8601 UTC time"),
])
def test_times_refused_alike(generated_validators: dict[str, ModuleType], text: str, message: str) -> None:
    for state, request in ((dict(STATE, now=text), REQUEST), (STATE, dict(REQUEST, execution_time=text))):
        for name, module in generated_validators.items():
            want = interpreted(name, state, request)
            assert want[0] == "error" and message in want[1], want
            assert compiled(module, state, request) == want
            prepared = module.prepare(STATE)
            if state is STATE:  # and through the prepared state's fast path, twice (memos warm)
                for _ in range(2):
                    with pytest.raises(module.InputError) as e:
                        module.validate_prepared(prepared, request)
                    assert str(e.value) == want[1]


@pytest.mark.parametrize("where", ["sender", "device", "new_certificate_owner"])
def test_an_id_with_a_final_newline_is_refused_alike(generated_validators: dict[str, ModuleType], where: str) -> None:
    request = dict(REQUEST, **{where: REQUEST[where] + "\n"})
    for name, module in generated_validators.items():
        want = interpreted(name, STATE, request)
        assert want[0] == "error" and "Entity Identifier" in want[1], want
        assert compiled(module, STATE, request) == want


def test_two_parties_that_print_alike_cannot_coexist(generated_validators: dict[str, ModuleType]) -> None:
    state = copy.deepcopy(STATE)
    state["parties"][NO_B + "\n"] = state["parties"][NO_B]
    for name, module in generated_validators.items():
        want = interpreted(name, state, REQUEST)
        assert want[0] == "error" and "Entity Identifier" in want[1], want
        assert compiled(module, state, REQUEST) == want


@pytest.mark.parametrize(("registered_from", "verdict"), [
    ("2026-03-01T12:00:00.5Z", "reject"),    # registered 0.3 s after now: not yet (was a wrong accept)
    ("2026-03-01T12:00:00.1Z", "accept"),    # registered 0.1 s before now
    ("2026-03-01T12:00:00.2Z", "accept"),    # from is inclusive
    ("2026-03-01T12:00:00.200001Z", "reject"),
])
def test_a_fraction_decides_the_verdict(generated_validators: dict[str, ModuleType], registered_from: str, verdict: str) -> None:
    state_json, request_json = supplier_6_23(registered_from)
    for name, module in generated_validators.items():
        want = interpreted(name, state_json, request_json)
        assert want[0] == "ok" and want[1]["verdict"] == verdict, (name, want)
        if verdict == "reject":
            assert want[1]["check"] == "eligible_user" and want[1]["effects"] == []
        assert compiled(module, state_json, request_json) == want
        state = load_state(state_json, PROGRAM)
        request = load_request(request_json, state, PROGRAM, RULESETS[name])
        assert agrees_with(name, state, request, VALIDATORS[name].validate(state, request))


def test_a_registration_shorter_than_a_second(generated_validators: dict[str, ModuleType]) -> None:
    """Within one second: `to` after `from` (was refused as not), and one that ended before now."""
    for until, verdict in (("2026-03-01T12:00:00.7Z", "accept"), ("2026-03-01T12:00:00.15Z", "reject")):
        state_json, request_json = supplier_6_23("2026-03-01T12:00:00.1Z", until)
        for name, module in generated_validators.items():
            want = interpreted(name, state_json, request_json)
            assert want[0] == "ok" and want[1]["verdict"] == verdict, (name, want)
            assert compiled(module, state_json, request_json) == want


def test_a_date_range_within_one_second() -> None:
    state = load_state(STATE, PROGRAM)
    request = dict(REQUEST, date_range={"from": "2026-01-01T00:00:00.75Z", "to": "2026-01-01T00:00:00.25Z"})
    with pytest.raises(InputError, match="inverted date range"):
        load_request(request, state, PROGRAM, RULESETS["mp107"])
    ok = load_request(dict(request, date_range={"from": "2026-01-01T00:00:00.25Z", "to": "2026-01-01T00:00:00.75Z"}),
                      state, PROGRAM, RULESETS["mp107"])
    assert ok.date_range is not None and ok.date_range[1] - ok.date_range[0] == 500_000


def test_sub_second_registration_gap_is_seen_by_every_back_end(generated_validators: dict[str, ModuleType]) -> None:
    """NO A registered until .4 and again from .6: not registered throughout a range across the gap."""
    state_json = copy.deepcopy(STATE)
    state_json["registration"][MPXN][1:] = [
        {"role": "ED", "party": NO_A, "from": "2015-01-01T00:00:00Z", "to": "2026-01-01T00:00:00.4Z"},
        {"role": "ED", "party": NO_A, "from": "2026-01-01T00:00:00.6Z", "to": None},
    ]
    for lo, hi, verdict in (("2026-01-01T00:00:00.1Z", "2026-01-01T00:00:00.3Z", "accept"),
                            ("2026-01-01T00:00:00.3Z", "2026-01-01T00:00:00.7Z", "reject")):
        request_json = {"sender": NO_A, "role": "ED", "srv": "4.1.1", "device": REQUEST["device"],
                        "execution_time": None, "date_range": {"from": lo, "to": hi}}
        for name, module in generated_validators.items():
            want = interpreted(name, state_json, request_json)
            assert want[0] == "ok" and want[1]["verdict"] == verdict, (name, lo, hi, want)
            assert compiled(module, state_json, request_json) == want
            state = load_state(state_json, PROGRAM)
            request = load_request(request_json, state, PROGRAM, RULESETS[name])
            assert agrees_with(name, state, request, VALIDATORS[name].validate(state, request))

