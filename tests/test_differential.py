"""Differential test: the interpreter and the Z3 encoding agree.

Hypothesis draws concrete states and requests (all SRVs, roles, device
types, generations, times); the interpreter's verdict (accept or the
rejecting check, hence layer and code, and the effects) must equal what Z3
computes from the encoding with those inputs pinned. Two independent
implementations of one semantics: this is what makes a proof worth trusting.

The default run draws 150 examples (about 30 s); `pytest -m slow
tests/test_differential.py` draws 1,000 (the default run's count until it cost
about 250 s of CPU, a quarter of the suite). `REDLINE_DIFFERENTIAL_EXAMPLES` sets the count of both.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invariant_support import one_at_a_time
from redline.check.checked import carries_certificate
from redline.interp import InputError, load_request, load_state
from redline.props.concrete import anchors_after, concrete
from redline.smt import Encoder, Sorts
from redline.smt.concrete import agrees
from test_properties import CATALOGUE, PROGRAM, REG_ROLES, RULESETS, SRVS, TIMES, VALIDATORS, worlds

EXAMPLES = int(os.environ.get("REDLINE_DIFFERENTIAL_EXAMPLES", "150"))
FULL_EXAMPLES = int(os.environ.get("REDLINE_DIFFERENTIAL_EXAMPLES", "1000"))
SORTS = Sorts(PROGRAM, sorted(RULESETS["baseline"].catalogue))
ENCODERS = {name: Encoder(SORTS, rs) for name, rs in RULESETS.items()}


def agrees_with(name: str, state: Any, req: Any, v: Any) -> bool:
    x = concrete(state, req)
    return agrees(ENCODERS[name], x, v.accepted, v.failed.name if v.failed else None, anchors_after(x, v))


PARTIES = [f"90-B3-D5-1F-30-0{i}-00-00" for i in range(1, 4)]
METER, OTHER, UNKNOWN = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1", "00-DB-12-34-56-78-90-FF"
ROLES, CELLS = PROGRAM.enums["UserRole"], PROGRAM.enums["RemotePartyRole"]


@st.composite
def deep_worlds(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A state and a request that usually pass the early checks, so that every
    check, 6.1(f)'s three time cases and the S1SP and Device layers are
    exercised; each precondition still fails on its own now and then."""
    usually = st.sampled_from([True] * 9 + [False])
    srv = draw(st.one_of(st.just("6.15.1"), st.just("6.23"), st.sampled_from(SRVS)))
    row = CATALOGUE[srv]
    role = draw(st.sampled_from(sorted(row["eligible_roles"]))) if row["eligible_roles"] and draw(usually) else draw(st.sampled_from(ROLES))
    sender = PARTIES[0]
    parties = {p: {"roles": draw(st.lists(st.sampled_from(ROLES), max_size=2, unique=True)), "dcc_user": draw(st.booleans())} for p in PARTIES}
    parties[sender]["dcc_user"] = draw(usually)
    if draw(usually) and role not in parties[sender]["roles"]:
        parties[sender]["roles"].append(role)
    if not draw(usually):  # a party `parties` does not list (no DCC User, no role): the sender now and then
        del parties[draw(st.sampled_from(PARTIES))]
    types = sorted(row["device_types"]) or list(PROGRAM.enums["DeviceType"])
    statuses = sorted(row["smi_statuses"]) or list(PROGRAM.enums["SmiStatus"])
    anchors = {c: draw(st.sampled_from(PARTIES)) for c in draw(st.lists(st.sampled_from(CELLS), max_size=4, unique=True))}
    meter = {
        "type": draw(st.sampled_from(types)) if draw(usually) else draw(st.sampled_from(PROGRAM.enums["DeviceType"])),
        "generation": draw(st.sampled_from(PROGRAM.enums["Generation"])),
        "smi_status": draw(st.sampled_from(statuses)) if draw(usually) else draw(st.sampled_from(PROGRAM.enums["SmiStatus"])),
        "mpxn": "1900000000001",
        "trust_anchors": anchors,
    }
    devices = {METER: meter, OTHER: {**meter, "mpxn": None, "associated_device": METER}}
    del devices[OTHER]["mpxn"]
    registration = []
    for _ in range(draw(st.integers(0, 3))):
        lo = draw(st.integers(0, len(TIMES) - 2))
        hi = draw(st.one_of(st.none(), st.integers(lo + 1, len(TIMES) - 1)))
        registration.append({
            "role": role if role != "OU" and draw(usually) else draw(st.sampled_from(REG_ROLES)),
            "party": sender if draw(usually) else draw(st.sampled_from(PARTIES)),
            "from": TIMES[lo], "to": TIMES[hi] if hi is not None else None,
        })
    state = {"now": draw(st.sampled_from(TIMES)), "parties": parties, "devices": devices,
             "registration": {"1900000000001": one_at_a_time(registration)},
             "relations": {name: [] for name in PROGRAM.relations}}  # declared relations hold no tuple here
    request: dict[str, Any] = {"sender": sender, "role": role, "srv": srv,
                               "device": draw(st.sampled_from([METER] * 6 + [OTHER] * 2 + [UNKNOWN, None]))}
    if carries_certificate(row):
        request["remote_party_role"] = draw(st.sampled_from(["NetworkOperator", "Supplier", *CELLS]))
        request["new_certificate_owner"] = draw(st.sampled_from(PARTIES))
    if draw(st.booleans()):
        request["execution_time"] = draw(st.sampled_from(TIMES))
    if draw(st.booleans()):
        # Often anchored on one of the registrations, so a range starts inside it and ends on either side of its end.
        if registration and draw(st.booleans()):
            start = draw(st.sampled_from(registration))["from"]
            a, b = start, draw(st.sampled_from(TIMES[TIMES.index(start):]))
        else:  # in time order, which is not string order once a time has a fraction
            a, b = sorted(draw(st.lists(st.sampled_from(TIMES), min_size=2, max_size=2)), key=TIMES.index)
        request["date_range"] = {"from": a, "to": b}
    return state, request


def interpreter_and_encoding_agree(world: tuple[dict[str, Any], dict[str, Any]]) -> None:
    state_json, request_json = world
    for name, rs in RULESETS.items():
        try:
            state = load_state(state_json, PROGRAM)
            req = load_request(request_json, state, PROGRAM, rs)
        except InputError:
            return
        v = VALIDATORS[name].validate(state, req)
        assert agrees_with(name, state, req, v), (name, v.to_json())


WORLDS = st.one_of(deep_worlds(), deep_worlds(), worlds())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(WORLDS)
def test_interpreter_and_encoding_agree(world: tuple[dict[str, Any], dict[str, Any]]) -> None:
    interpreter_and_encoding_agree(world)


@pytest.mark.slow
@settings(max_examples=FULL_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(WORLDS)
def test_interpreter_and_encoding_agree_in_full(world: tuple[dict[str, Any], dict[str, Any]]) -> None:
    interpreter_and_encoding_agree(world)
