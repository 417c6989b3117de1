"""The independent oracle (tests/oracle_support.py, written from DOMAIN.md, the DUIS matrix and the
MP107 report) against the interpreter running rules/, on both rule sets.

Compared per request: accept or reject, layer, DUIS response code, failing check, that the clause
cites what the source does, dcc_accepted and the effects. Requests:

- systematic: every SRV x User Role x device type x generation (baseline and mp107), each with the
  sender registered or not and owning the cells or not (a sample in the default run, all under
  `-m slow`); every SMI status and holding-the-role / DCC-User case; 6.15.1 in depth (role x
  Remote Party role x generation x ownership x registration x time mode);
- random: Hypothesis worlds drawn here (not the project's strategies), bounded.

The matrix is read from ../shared beside the repository, as test_rules_shipped does; without it the
module is skipped.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle_support import Srv, oracle, read_matrix
from redline.check.checked import Program
from redline.interp import InputError, Validator, load_request, load_state
from redline.loading import load_program, repo_rules

MATRIX = Path(__file__).resolve().parents[2] / "shared" / "domain" / "duis-srv-matrix.csv"
if not MATRIX.exists():
    pytest.skip(f"{MATRIX} is absent: the oracle needs ../shared beside the repository", allow_module_level=True)

_LOADED, _ = load_program(repo_rules(), [])
assert _LOADED is not None
PROGRAM: Program = _LOADED
VALIDATORS = {name: Validator(PROGRAM.rulesets[name]) for name in ("baseline", "mp107")}
MATRIX_ROWS: dict[str, Srv] = read_matrix(MATRIX)
CAT = PROGRAM.rulesets["baseline"].catalogue
# A6 and A9 are in no source: the oracle is given the project's table for E11 and E5 (and only for those).
SUITS = {srv: (frozenset(r["device_types"]), frozenset(r["smi_statuses"])) for srv, r in CAT.items()}

ROLES = ["IS", "ES", "GS", "RSA", "ED", "GT", "OU"]
TYPES = ["ESME", "GSME", "GPF", "CHF", "HCALCS", "PPMID", "IHD", "CAD"]
STATUSES = ["Pending", "InstalledNotCommissioned", "Commissioned", "Decommissioned", "Withdrawn", "Suspended"]
CELLS = ["Root", "Recovery", "Supplier", "NetworkOperator", "ACB", "TransCoS", "LoadController"]
GENS = ["SMETS1", "SMETS2"]
SENDER, OTHER, NEWOWNER = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00", "90-B3-D5-1F-30-03-00-00"
DEVICE, METER, HUB = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-B0", "00-DB-12-34-56-78-90-C0"
MPXN = "1900000000001"
NOW = "2026-03-01T12:00:00Z"
CARRYING = {srv for srv, r in CAT.items() if r["carries_certificate"] or r["replaces_trust_anchor"]}


def world(*, srv: str, role: str, dtype: str = "ESME", gen: str = "SMETS1", status: str = "Commissioned",
          registered: str = "yes", owns: tuple[str, ...] = ("Supplier", "NetworkOperator"), dcc_user: bool = True,
          holds_role: bool = True, rpr: str = "NetworkOperator", times: str = "now",
          device_present: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """One (state, request). registered: yes / no / other-role / ends (ends before the later times) /
    starts (starts in the future)."""
    sender_roles = [role] if holds_role else [r for r in ROLES if r != role][:1]
    parties = {SENDER: {"roles": sender_roles, "dcc_user": dcc_user},
               OTHER: {"roles": ["IS", "GS", "ED", "GT"], "dcc_user": True},
               NEWOWNER: {"roles": ["ED"], "dcc_user": True}}
    anchors = {c: (SENDER if c in owns else OTHER) for c in ("Supplier", "NetworkOperator", "ACB")}
    devices: dict[str, Any] = {}
    if dtype in ("ESME", "GSME"):
        devices[DEVICE] = {"type": dtype, "generation": gen, "smi_status": status, "mpxn": MPXN, "trust_anchors": anchors}
    else:
        devices[METER] = {"type": "ESME", "generation": gen, "smi_status": "Commissioned", "mpxn": MPXN}
        devices[DEVICE] = {"type": dtype, "generation": gen, "smi_status": status, "associated_device": METER,
                           "trust_anchors": anchors}
    if not device_present:
        del devices[DEVICE]
    reg: list[dict[str, Any]] = []
    if role != "OU":
        if registered == "yes":
            reg.append({"role": role, "party": SENDER, "from": "2020-01-01T00:00:00Z", "to": None})
        elif registered == "other-role":
            other = "GT" if role != "GT" else "ED"
            reg.append({"role": other, "party": SENDER, "from": "2020-01-01T00:00:00Z", "to": None})
        elif registered == "ends":
            reg.append({"role": role, "party": SENDER, "from": "2020-01-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"})
        elif registered == "starts":
            reg.append({"role": role, "party": SENDER, "from": "2026-04-01T00:00:00Z", "to": None})
        elif registered == "chained":
            reg.append({"role": role, "party": SENDER, "from": "2020-01-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"})
            reg.append({"role": role, "party": SENDER, "from": "2026-04-01T00:00:00Z", "to": None})
        if role != "ED" and registered != "other-role":
            reg.append({"role": "ED", "party": OTHER, "from": "2015-01-01T00:00:00Z", "to": None})
    state = {"now": NOW, "parties": parties, "devices": devices, "registration": {MPXN: reg}}
    request: dict[str, Any] = {"sender": SENDER, "role": role, "srv": srv,
                               "device": None if MATRIX_ROWS[srv].non_device else DEVICE}
    if srv in CARRYING:
        request["remote_party_role"] = rpr if srv == "6.15.1" else ("Supplier" if srv == "6.23" else rpr)
        request["new_certificate_owner"] = NEWOWNER if srv != "6.23" else SENDER
    if times == "exec-later":
        request["execution_time"] = "2026-05-01T00:00:00Z"
    elif times == "exec-soon":
        request["execution_time"] = "2026-03-15T00:00:00Z"
    elif times == "range-across":
        request["date_range"] = {"from": "2026-03-15T00:00:00Z", "to": "2026-05-01T00:00:00Z"}
    elif times == "range-to-end":
        request["date_range"] = {"from": "2026-03-15T00:00:00Z", "to": "2026-04-01T00:00:00Z"}
    elif times == "range-and-exec":
        request["date_range"] = {"from": "2026-03-15T00:00:00Z", "to": "2026-03-20T00:00:00Z"}
        request["execution_time"] = "2026-05-01T00:00:00Z"
    return state, request


def actual(name: str, state: dict[str, Any], request: dict[str, Any]) -> dict[str, Any] | None:
    try:
        s = load_state(state, PROGRAM)
        r = load_request(request, s, PROGRAM, PROGRAM.rulesets[name])
    except InputError:
        return None
    out: dict[str, Any] = VALIDATORS[name].validate(s, r).to_json()
    return out


def disagreement(name: str, state: dict[str, Any], request: dict[str, Any]) -> str | None:
    """None when the oracle and the interpreter agree on (state, request) under rule set `name`."""
    got = actual(name, state, request)
    if got is None:
        return None  # refused as bad input: nothing to compare (the oracle judges well-formed requests)
    want = oracle(state, request, MATRIX_ROWS, SUITS, mp107=name == "mp107")
    keys = ("verdict", "layer", "code", "check", "dcc_accepted")
    diffs = [f"{k}: oracle {want[k]!r}, rules {got[k]!r}" for k in keys if want[k] != got[k]]
    if want["verdict"] == got["verdict"] == "reject" and want["check"] == got["check"] and want["clause_word"] not in (got["clause"] or ""):
        diffs.append(f"clause: oracle wants {want['clause_word']!r} in {got['clause']!r}")
    norm = sorted((e["device"].upper(), e["trust_anchor"], e["owner"].upper()) for e in want["effects"])
    if norm != sorted((e["device"].upper(), e["trust_anchor"], e["owner"].upper()) for e in got["effects"]):
        diffs.append(f"effects: oracle {want['effects']}, rules {got['effects']}")
    by_mp107 = {t["check"]: t["clause"] for t in got["trace"] if t.get("waived_by") == "mp107"}
    if set(by_mp107) != set(want["waived"]) or any(want["waived"][c] not in by_mp107[c] for c in by_mp107):
        diffs.append(f"waived by MP107: oracle {want['waived']}, rules {by_mp107}")
    if not diffs:
        return None
    return f"{name} {request} on {state['devices'].get(DEVICE, 'no device')}: " + "; ".join(diffs)


def run(cases: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    found = []
    for state, request in cases:
        for name in VALIDATORS:
            d = disagreement(name, state, request)
            if d is not None:
                found.append(d)
    return found


# ---------------------------------------------------------------- systematic


def grid(full: bool) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every SRV x role x device type x generation; the sender registered or not, owning the Supplier
    and NO cells or not (4 x 57,792 comparisons with `full`). The default run: every SRV x role x
    generation on an ESME, registered and owning; unregistered and owning nothing for eligible roles."""
    cases = []
    for srv in sorted(MATRIX_ROWS):
        for role in ROLES:
            for dtype in TYPES if full else ["ESME"]:
                for gen in GENS:
                    for registered, owns in (("yes", ("Supplier", "NetworkOperator")), ("no", ()), ("yes", ()),
                                             ("no", ("Supplier", "NetworkOperator"))):
                        if not full and (registered, owns) != ("yes", ("Supplier", "NetworkOperator")) and (
                                owns or role not in MATRIX_ROWS[srv].eligible_roles):
                            continue
                        cases.append(world(srv=srv, role=role, dtype=dtype, gen=gen, registered=registered, owns=owns))
    return cases


def statuses_and_senders(full: bool) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every SRV x SMI status x generation with an eligible role; the E1 cases; a device not in the
    SMI, none at all for a Device SRV, and one given to a Non-Device SRV. The default run takes one
    generation per SRV, alternately."""
    cases = []
    for i, (srv, row) in enumerate(sorted(MATRIX_ROWS.items())):
        role = next((r for r in ROLES if r in row.eligible_roles), "IS")
        dtype = next((t for t in TYPES if t in SUITS[srv][0]), "ESME")
        for gen in GENS if full else [GENS[i % 2]]:
            for status in STATUSES:
                cases.append(world(srv=srv, role=role, dtype=dtype, gen=gen, status=status))
            cases.append(world(srv=srv, role=role, dtype=dtype, gen=gen, dcc_user=False))
            cases.append(world(srv=srv, role=role, dtype=dtype, gen=gen, holds_role=False))
            cases.append(world(srv=srv, role=role, dtype=dtype, gen=gen, device_present=False))
            state, request = world(srv=srv, role=role, dtype=dtype, gen=gen)
            request["device"] = DEVICE if row.non_device else None
            cases.append((state, request))
    return cases


TIMES = ["now", "exec-later", "exec-soon", "range-across", "range-to-end", "range-and-exec"]
REGS = ["yes", "no", "other-role", "ends", "starts", "chained"]


def krp_cases(step: int = 1) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """6.15.1 (and 6.23, the other SRV with an effect) in depth: role x Remote Party role x generation
    x cells owned x registration x time (18,648 cases; every `step`-th of them)."""
    cases = []
    n = 0
    owns_options = [(), ("Supplier",), ("NetworkOperator",), ("Supplier", "NetworkOperator"), ("ACB",)]
    for srv in ("6.15.1", "6.23"):
        for role, rpr, gen, owns, registered, times in itertools.product(
                ROLES, CELLS if srv == "6.15.1" else ["Supplier"], GENS, owns_options, REGS, TIMES):
            if srv == "6.23" and owns not in ((), ("Supplier",)):
                continue
            n += 1
            if n % step:
                continue
            cases.append(world(srv=srv, role=role, gen=gen, owns=owns, registered=registered, times=times, rpr=rpr,
                               dtype="ESME" if role not in ("GS", "GT") else "GSME"))
    return cases


def time_cases() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Non-Critical and Critical Device SRVs and a Non-Device one, over every registration and time shape."""
    cases = []
    for srv, role in (("4.1.1", "IS"), ("4.1.1", "ED"), ("1.1.1", "IS"), ("5.1", "IS"), ("6.23", "IS"), ("4.1.1", "RSA")):
        for gen, registered, times in itertools.product(GENS, REGS, TIMES):
            if role in MATRIX_ROWS[srv].eligible_roles:
                cases.append(world(srv=srv, role=role, gen=gen, registered=registered, times=times))
    return cases


def test_grid_sample_agrees() -> None:
    cases = grid(full=False)
    assert len(cases) > 1800
    assert run(cases) == []


@pytest.mark.slow
def test_grid_full_agrees() -> None:
    cases = grid(full=True)
    assert len(cases) == 129 * 7 * 8 * 2 * 4
    assert run(cases) == []


def test_statuses_and_senders_agree() -> None:
    assert run(statuses_and_senders(full=False)) == []


@pytest.mark.slow
def test_all_statuses_and_senders_agree() -> None:
    assert run(statuses_and_senders(full=True)) == []


def test_krp_and_cos_sample_agrees() -> None:
    assert run(krp_cases(step=23)) == []


@pytest.mark.slow
def test_krp_and_cos_all_agree() -> None:
    assert run(krp_cases()) == []


def test_time_cases_agree() -> None:
    assert run(time_cases()) == []


# ---------------------------------------------------------------- random


INSTANTS = ["2025-12-01T00:00:00Z", "2026-03-01T12:00:00Z", "2026-03-15T00:00:00Z", "2026-04-01T00:00:00Z",
            "2026-05-01T00:00:00Z"]
T = st.sampled_from(INSTANTS)


def end_after(start: str) -> st.SearchStrategy[str | None]:
    """An assignment's end: open, or one of the instants after `start`."""
    return st.sampled_from([None, *(t for t in INSTANTS if t > start)])
PARTIES = [SENDER, OTHER, NEWOWNER]


@st.composite
def random_world(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A request and a small world, biased towards requests that reach the later checks: the sender
    mostly an active DCC User holding an eligible role, mostly registered, often owning cells."""
    srv = draw(st.sampled_from(sorted(MATRIX_ROWS)))
    eligible = sorted(MATRIX_ROWS[srv].eligible_roles)
    often: bool = draw(st.integers(0, 9)) > 0
    role = draw(st.sampled_from(eligible if eligible and often else ROLES))
    sender = draw(st.sampled_from(PARTIES))
    parties = {}
    for p in PARTIES:
        roles = draw(st.lists(st.sampled_from(ROLES), unique=True, max_size=3))
        if p == sender and role not in roles and draw(st.integers(0, 9)) > 0:
            roles.append(role)
        parties[p] = {"roles": roles, "dcc_user": draw(st.integers(0, 9)) > 0}
    gen = draw(st.sampled_from(GENS))
    suits = sorted(SUITS[srv][0])
    suitable: bool = draw(st.integers(0, 3)) > 0
    dtype = draw(st.sampled_from(suits if suits and suitable else TYPES))
    usual: bool = draw(st.integers(0, 3)) > 0
    status = draw(st.sampled_from(["Commissioned", "InstalledNotCommissioned"] if usual else STATUSES))
    anchors = {c: draw(st.sampled_from([sender, sender, *PARTIES, None])) for c in draw(st.lists(st.sampled_from(CELLS), unique=True))}
    devices: dict[str, Any] = {}
    if dtype in ("ESME", "GSME", "GPF") and draw(st.booleans()):
        devices[DEVICE] = {"type": dtype, "generation": gen, "smi_status": status, "mpxn": MPXN, "trust_anchors": anchors}
    else:
        devices[METER] = {"type": draw(st.sampled_from(["ESME", "GSME"])), "generation": gen,
                          "smi_status": "Commissioned", "mpxn": MPXN}
        via = METER
        if draw(st.booleans()):  # a chain of two links to the meter (A5)
            via = HUB
            devices[HUB] = {"type": "CHF", "generation": gen, "smi_status": "Commissioned", "associated_device": METER}
        devices[DEVICE] = {"type": dtype, "generation": gen, "smi_status": status, "associated_device": via,
                           "trust_anchors": anchors}
    reg = []
    reg_roles = draw(st.lists(st.sampled_from(ROLES[:-1]), unique=True, max_size=4))
    if role != "OU" and role not in reg_roles and draw(st.booleans()):
        reg_roles.append(role)
    for r in reg_roles:
        start = draw(T)
        party = sender if r == role and draw(st.integers(0, 3)) else draw(st.sampled_from(PARTIES))
        end = draw(end_after(start))
        reg.append({"role": r, "party": party, "from": start, "to": end})
        if end is not None and draw(st.booleans()):
            reg.append({"role": r, "party": party, "from": end, "to": draw(end_after(end))})
    state = {"now": NOW, "parties": parties, "devices": devices, "registration": {MPXN: reg}}
    device = draw(st.sampled_from([DEVICE, DEVICE, DEVICE, METER, "00-DB-00-00-00-00-00-01"]))
    request: dict[str, Any] = {"sender": sender, "role": role, "srv": srv,
                               "device": None if MATRIX_ROWS[srv].non_device else device}
    if srv in CARRYING and (srv == "6.15.1" or draw(st.booleans())):
        request["remote_party_role"] = draw(st.sampled_from(CELLS))
        request["new_certificate_owner"] = draw(st.sampled_from(PARTIES))
    if draw(st.integers(0, 7)) == 0:  # ids are compared without regard to case (docs/formats.md)
        request = {k: v.lower() if k in ("sender", "device", "new_certificate_owner") and isinstance(v, str) else v
                   for k, v in request.items()}
    if draw(st.booleans()):
        request["execution_time"] = draw(T)
    if draw(st.booleans()):
        a, b = sorted((draw(T), draw(T)))
        request["date_range"] = {"from": a, "to": b}
    return state, request


EXAMPLES = int(os.environ.get("REDLINE_ORACLE_EXAMPLES", "60"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(random_world())
def test_random_requests_agree(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    assert run([case]) == []


@pytest.mark.slow
@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(random_world())
def test_many_random_requests_agree(case: tuple[dict[str, Any], dict[str, Any]]) -> None:
    assert run([case]) == []


# ---------------------------------------------------------------- the project's own expectations


def test_scenarios_expect_what_the_oracle_does() -> None:
    """Every scenario of rules/scenarios expects, under baseline and mp107, the oracle's verdict
    (the fields it gives: verdict, layer, code, check, effect)."""
    compared, found = 0, []
    for sc in PROGRAM.scenarios:
        for name, exp in sc.expected.items():
            if name not in VALIDATORS:
                continue  # the illustrative modifications are no source's: the oracle has no view of them
            want = oracle(dict(sc.state), dict(sc.request), MATRIX_ROWS, SUITS, mp107=name == "mp107")
            compared += 1
            for field in ("verdict", "layer", "code", "check"):
                if getattr(exp, field) is not None and getattr(exp, field) != want[field]:
                    found.append(f"{sc.name} {name} {field}: scenario {getattr(exp, field)!r}, oracle {want[field]!r}")
            if exp.effect is not None:
                e = exp.effect
                owner = e.owner.upper() if e.owner is not None else None
                if ((e.device or "").upper(), e.trust_anchor, owner) not in {
                        (x["device"].upper(), x["trust_anchor"], x["owner"].upper()) for x in want["effects"]}:
                    found.append(f"{sc.name} {name} effect: scenario {e}, oracle {want['effects']}")
    assert compared >= 100
    assert found == []


def test_examples_agree() -> None:
    """The worked examples (examples/*/state.json and request.json)."""
    import json
    root = Path(__file__).resolve().parents[1] / "examples"
    pairs = [(json.loads((d / "state.json").read_text()), json.loads((d / "request.json").read_text()))
             for d in sorted(root.iterdir()) if (d / "request.json").exists()]
    assert pairs
    assert run(pairs) == []
