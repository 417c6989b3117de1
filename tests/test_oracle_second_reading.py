"""A second, independent reading of the rules against ../shared (DOMAIN.md, the DUIS SRV matrix, the
MP107 Modification Report, CONTRACTS.md): concrete requests whose expected verdict is written here from
the documents, not from rules/ nor from tests/oracle_support.py.

Each case cites where its expectation comes from:

  [D§n]   ../shared/domain/DOMAIN.md, section n (its tag: [S] seed, [C] confirmed, [A] assumption)
  [MP107] the MP107 Modification Report (§1 Summary, §2 Issue, §3 Solution)
  [CSV]   ../shared/domain/duis-srv-matrix.csv
  [K]     ../shared/design/CONTRACTS.md

The reading found no verdict that contradicts a [S] or [C] fact; these cases pin what it checked, so
that a later change of the rules that breaks one of them is seen at once.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from cli_support import Run
from redline.check.checked import Program
from redline.interp import InputError, Validator, load_request, load_state
from redline.loading import load_program, repo_rules

SHARED = Path(__file__).resolve().parents[2] / "shared"
MATRIX = SHARED / "domain" / "duis-srv-matrix.csv"
if not MATRIX.exists():
    pytest.skip(f"{MATRIX} is absent: this reading needs ../shared beside the repository", allow_module_level=True)

_LOADED, _ = load_program(repo_rules(), [])
assert _LOADED is not None
PROGRAM: Program = _LOADED
VALIDATORS = {name: Validator(PROGRAM.rulesets[name]) for name in ("baseline", "mp107")}

SUP, NO_A, NO_B, OU = ("90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00",
                       "90-B3-D5-1F-30-03-00-00", "90-B3-D5-1F-30-04-00-00")
METER, IHD, HUB = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-C0", "00-DB-12-34-56-78-90-D0"
UNKNOWN_DEVICE = "00-DB-00-00-00-00-00-01"
MPAN = "1900000000001"


def state(*, gen: str = "SMETS1", dtype: str = "ESME", status: str = "Commissioned",
          no_cell: str = NO_A, supplier_cell: str = SUP, supplier_reg: tuple[str, str | None] | None = (
              "2020-01-01T00:00:00Z", None)) -> dict[str, Any]:
    """One meter on one MPAN; the registered IS is SUP (over `supplier_reg`), the registered ED is NO_A."""
    reg = [{"role": "ED", "party": NO_A, "from": "2015-01-01T00:00:00Z", "to": None}]
    if supplier_reg is not None:
        reg.append({"role": "IS", "party": SUP, "from": supplier_reg[0], "to": supplier_reg[1]})
    return {
        "now": "2026-03-01T12:00:00Z",
        "parties": {SUP: {"roles": ["IS", "GS"], "dcc_user": True}, NO_A: {"roles": ["ED"], "dcc_user": True},
                    NO_B: {"roles": ["ED", "GT"], "dcc_user": True}, OU: {"roles": ["OU"], "dcc_user": True}},
        "devices": {METER: {"type": dtype, "generation": gen, "smi_status": status, "mpxn": MPAN,
                            "trust_anchors": {"Supplier": supplier_cell, "NetworkOperator": no_cell}}},
        "registration": {MPAN: reg},
    }


def request(sender: str, role: str, srv: str, *, device: str | None = METER, rpr: str | None = None,
            owner: str | None = None, execution_time: str | None = None,
            date_range: dict[str, str] | None = None) -> dict[str, Any]:
    return {"sender": sender, "role": role, "srv": srv, "device": device, "remote_party_role": rpr,
            "new_certificate_owner": owner, "execution_time": execution_time, "date_range": date_range}


def verdict(ruleset: str, st: dict[str, Any], rq: dict[str, Any]) -> dict[str, Any]:
    s = load_state(st, PROGRAM)
    r = load_request(rq, s, PROGRAM, PROGRAM.rulesets[ruleset])
    out: dict[str, Any] = VALIDATORS[ruleset].validate(s, r).to_json()
    return out


def short(v: dict[str, Any]) -> tuple[Any, ...]:
    return (v["verdict"], v["layer"], v["code"], v["check"], v["dcc_accepted"])


REJ_E1 = ("reject", "DSP", "E1", "dcc_user_in_role", False)
REJ_E2 = ("reject", "DSP", "E2", "role_eligible_for_srv", False)
REJ_E19 = ("reject", "DSP", "E19", "device_in_smi", False)
REJ_E11 = ("reject", "DSP", "E11", "srv_suits_device_type", False)
REJ_E5 = ("reject", "DSP", "E5", "smi_status_suits_srv", False)
REJ_E4 = ("reject", "DSP", "E4", "eligible_user", False)
REJ_S1SP_OWNER = ("reject", "S1SP", None, "s1sp_certificate_owner", False)
REJ_S1SP_REG = ("reject", "S1SP", None, "s1sp_registration", False)
REJ_DEVICE = ("reject", "Device", None, "device_signature", True)  # [D§5] accepted by the DCC, no effect
ACCEPT = ("accept", None, None, None, True)


# ---- [CSV] every column of the matrix against the catalogue ----

def test_catalogue_matches_every_column_of_the_matrix() -> None:
    cat = PROGRAM.rulesets["baseline"].catalogue
    with MATRIX.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 129 and set(cat) == {r["srv"] for r in rows}
    fd = {"Device": "Device", "DSP": "DSP", "DSP & Device": "DSPAndDevice", "No": "No"}
    diffs = []
    for r in rows:
        c = cat[r["srv"]]
        want = {"name": r["name"], "critical": r["critical"] == "True", "on_demand": r["on_demand"] == "True",
                "dcc_scheduled": r["dcc_scheduled"] == "True", "non_device": r["non_device"] == "True",
                "eligible_roles": set(r["eligible_roles"].split()), "future_dated": fd[r["future_dated_pattern"]],
                # the matrix's `6.2` for 6.20.x is a number that lost its trailing zero (the DCC's RTDS
                # requests 6.20.1 carry <sr:ServiceReference>6.20); every other row is taken as it is
                "service_reference": "6.20" if r["srv"].startswith("6.20.") else r["service_reference"]}
        got = {k: (set(c[k]) if k == "eligible_roles" else c[k]) for k in want}
        got["future_dated"] = str(got["future_dated"])
        diffs += [(r["srv"], k, got[k], v) for k, v in want.items() if got[k] != v]
    assert diffs == []
    # [D§2] 37 Critical; 6.15.1 the only Critical SRV a Network Operator may send; 7.16, 8.5, 8.6 list no role
    assert sum(bool(c["critical"]) for c in cat.values()) == 37
    assert {s for s, c in cat.items() if c["critical"] and set(c["eligible_roles"]) & {"ED", "GT"}} == {"6.15.1"}
    assert {s for s, c in cat.items() if not c["eligible_roles"]} == {"7.16", "8.5", "8.6"}
    assert "6.16.1" not in cat and not any(s.startswith("6.16") for s in cat)


# ---- [D§5] the DSP checks in order (A1), each with its code ----

@pytest.mark.parametrize("ruleset", ["baseline", "mp107"])
def test_dsp_checks_in_order(ruleset: str) -> None:
    not_user = state()
    not_user["parties"][SUP]["dcc_user"] = False
    cases = [
        # E1 before E2: not a DCC User, and the role is not eligible either
        (not_user, request(SUP, "IS", "14.1"), REJ_E1),
        # E1: a role the party does not hold
        (state(), request(SUP, "ES", "4.1.3"), REJ_E1),
        # E2 before E19: an ineligible role (14.1 is GT's only) on a device not in the SMI
        (state(), request(SUP, "IS", "14.1", device=UNKNOWN_DEVICE), REJ_E2),
        # [D§2] 7.16, 8.5, 8.6 list no eligible role
        (state(), request(SUP, "IS", "7.16"), REJ_E2),
        (state(), request(SUP, "IS", "8.6", device=None), REJ_E2),
        # E19: a Device SRV whose device is not in the SMI, or not given
        (state(), request(SUP, "IS", "4.1.3", device=UNKNOWN_DEVICE), REJ_E19),
        (state(), request(SUP, "IS", "4.1.3", device=None), REJ_E19),
        # E11 before E5: an ESME-only SRV on a decommissioned gas meter
        (state(dtype="GSME", status="Decommissioned"), request(SUP, "IS", "4.1.3"), REJ_E11),
        # E5 before E4: a decommissioned meter whose Supplier is not registered
        (state(status="Decommissioned", supplier_reg=None), request(SUP, "IS", "4.1.3"), REJ_E5),
        # E4 before the S1SP: a SMETS1 Critical request from an unregistered non-owner
        (state(supplier_cell=NO_B, supplier_reg=None), request(SUP, "IS", "1.1.1"), REJ_E4),
    ]
    assert [short(verdict(ruleset, s, r)) for s, r, _ in cases] == [want for _, _, want in cases]


def test_non_device_requests_skip_e19_e11_e5_and_6_1f() -> None:
    """[D§5] E19 is for Device requests only; 6.2 exempts Non-Device requests from 6.1(f) [A2]."""
    for device in (None, UNKNOWN_DEVICE):
        v = verdict("mp107", state(), request(NO_B, "ED", "12.2", device=device))
        assert short(v) == ACCEPT
        waived = {t["check"]: t["clause"] for t in v["trace"] if t.get("waived_by")}
        assert waived == {"eligible_user": "SRPD 6.2"}


def test_other_user_is_eligible_for_any_device() -> None:
    """[D§4][A3] OU eligibility does not come from Registration Data."""
    v = verdict("baseline", state(), request(OU, "OU", "11.2"))
    assert short(v) == ACCEPT
    assert [t["outcome"] for t in v["trace"] if t["check"] == "eligible_user"] == ["skipped"]


# ---- [D§5] SRPD 6.1(f): which requests, which times ----

EXEC = "2026-05-01T00:00:00Z"
RANGE = {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}


@pytest.mark.parametrize(("reg", "when", "want"), [
    # (iii) no date range, no execution time: now (2026-03-01T12:00Z)
    (("2026-04-01T00:00:00Z", None), {}, REJ_E4),
    (("2026-03-01T12:00:00Z", None), {}, ACCEPT),
    (("2020-01-01T00:00:00Z", "2026-03-01T12:00:00Z"), {}, REJ_E4),  # `to` is excluded [K]
    # (ii) "is or will be" eligible at the execution time
    (("2026-04-01T00:00:00Z", None), {"execution_time": EXEC}, ACCEPT),
    (("2020-01-01T00:00:00Z", "2026-04-01T00:00:00Z"), {"execution_time": EXEC}, REJ_E4),
    (("2020-01-01T00:00:00Z", EXEC), {"execution_time": EXEC}, REJ_E4),
    (("2020-01-01T00:00:00Z", "2026-01-01T00:00:00Z"), {"execution_time": "2025-05-01T00:00:00Z"}, ACCEPT),
    # (i) every time within the date range, both ends included [A10]
    (("2025-01-01T00:00:00Z", None), {"date_range": RANGE}, ACCEPT),
    (("2026-01-01T00:00:00Z", None), {"date_range": RANGE}, ACCEPT),
    (("2026-01-15T00:00:00Z", None), {"date_range": RANGE}, REJ_E4),
    (("2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z"), {"date_range": RANGE}, REJ_E4),
    # a date range wins over an execution time
    (("2026-01-15T00:00:00Z", None), {"date_range": RANGE, "execution_time": EXEC}, REJ_E4),
])
def test_relevant_times(reg: tuple[str, str | None], when: dict[str, Any], want: tuple[Any, ...]) -> None:
    for ruleset in ("baseline", "mp107"):
        assert short(verdict(ruleset, state(supplier_reg=reg), request(SUP, "IS", "4.1.3", **when))) == want


def test_chained_assignments_cover_a_range_and_a_gap_does_not() -> None:
    chained = state(supplier_reg=("2025-01-01T00:00:00Z", "2026-01-20T00:00:00Z"))
    gap = copy.deepcopy(chained)
    chained["registration"][MPAN].append({"role": "IS", "party": SUP, "from": "2026-01-20T00:00:00Z", "to": None})
    gap["registration"][MPAN].append({"role": "IS", "party": SUP, "from": "2026-01-20T00:00:01Z", "to": None})
    assert short(verdict("baseline", chained, request(SUP, "IS", "4.1.3", date_range=RANGE))) == ACCEPT
    assert short(verdict("baseline", gap, request(SUP, "IS", "4.1.3", date_range=RANGE))) == REJ_E4


def test_registration_is_per_role() -> None:
    """[D§4] eligible in role R: registered as GS does not make the party eligible as IS."""
    st = state(supplier_reg=None)
    st["registration"][MPAN].append({"role": "GS", "party": SUP, "from": "2020-01-01T00:00:00Z", "to": None})
    assert short(verdict("baseline", st, request(SUP, "IS", "4.1.3"))) == REJ_E4


def test_a_non_meter_reaches_its_mpxn_through_its_association() -> None:
    """[D§3][A5] IHD -> meter, and hub -> IHD -> meter."""
    st = state()
    st["devices"][IHD] = {"type": "IHD", "generation": "SMETS2", "smi_status": "Commissioned",
                          "associated_device": METER, "trust_anchors": {}}
    st["devices"][HUB] = {"type": "CHF", "generation": "SMETS2", "smi_status": "Commissioned",
                          "associated_device": IHD, "trust_anchors": {}}
    for dev in (IHD, HUB):
        assert short(verdict("baseline", st, request(SUP, "IS", "11.2", device=dev))) == ACCEPT
        assert short(verdict("baseline", st, request(NO_B, "ED", "11.2", device=dev))) == REJ_E4


# ---- [D§5] after the DSP: SMETS2 Critical at the device, SMETS1 Critical at the S1SP ----

def test_smets2_critical_is_never_checked_against_registration() -> None:
    unregistered = state(gen="SMETS2", supplier_reg=None)
    assert short(verdict("baseline", unregistered, request(SUP, "IS", "1.1.1"))) == ACCEPT
    # ... but a SMETS2 Non-Critical request is (6.1(f) applies to every Non-Critical request)
    assert short(verdict("baseline", unregistered, request(SUP, "IS", "4.1.3"))) == REJ_E4


@pytest.mark.parametrize("ruleset", ["baseline", "mp107"])
def test_smets2_device_rejection_is_accepted_by_the_dcc_without_effect(ruleset: str) -> None:
    not_owner = state(gen="SMETS2", supplier_cell=NO_B, no_cell=NO_B)
    v = verdict(ruleset, not_owner, request(SUP, "IS", "1.1.1"))
    assert short(v) == REJ_DEVICE and v["effects"] == []
    v = verdict(ruleset, not_owner, request(NO_A, "ED", "6.15.1", rpr="NetworkOperator", owner=NO_A))
    assert short(v) == REJ_DEVICE and v["effects"] == []
    # the owner of the NO cell replaces it, registered or not (GBCS networkOperatorByNetworkOperator [A4])
    v = verdict(ruleset, not_owner, request(NO_B, "ED", "6.15.1", rpr="NetworkOperator", owner=NO_A))
    assert short(v) == ACCEPT
    assert v["effects"] == [{"device": METER, "trust_anchor": "NetworkOperator", "owner": NO_A}]


def test_smets1_critical_needs_the_authorising_cell_then_registration() -> None:
    """[D§5][MP107 §1] the S1SP checks (a) ownership of the certificate it holds by proxy, (b) the RDP."""
    v = verdict("baseline", state(supplier_cell=NO_B), request(SUP, "IS", "1.1.1"))
    assert short(v) == REJ_S1SP_OWNER and "MP107" in v["clause"]
    assert short(verdict("baseline", state(), request(SUP, "IS", "1.1.1"))) == ACCEPT


# ---- [D§7][MP107] the two conditions, worded differently ----

STUCK = state(no_cell=NO_B)  # [D§7] the NO cell holds B's certificate, A is the registered NO


@pytest.mark.parametrize(("name", "st", "rq", "before", "after"), [
    # the deadlock: A is not the owner; B is the owner but not registered
    ("registered NO, not the owner", STUCK, request(NO_A, "ED", "6.15.1", rpr="NetworkOperator", owner=NO_A),
     REJ_S1SP_OWNER, REJ_S1SP_OWNER),
    ("owner, not registered", STUCK, request(NO_B, "ED", "6.15.1", rpr="NetworkOperator", owner=NO_A),
     REJ_E4, ACCEPT),
    ("owner as GT, not registered", STUCK, request(NO_B, "GT", "6.15.1", rpr="NetworkOperator", owner=NO_A),
     REJ_E4, ACCEPT),
    # how the stuck state arises: A may put B's certificate there (passes both checks)
    ("registered owner installs another NO's", state(), request(NO_A, "ED", "6.15.1", rpr="NetworkOperator",
                                                                owner=NO_B), ACCEPT, ACCEPT),
    # a NO targeting the Supplier cell: the DSP skips 6.1(f), the S1SP still checks the RDP
    ("NO owns the Supplier cell, targets it", state(supplier_cell=NO_B),
     request(NO_B, "ED", "6.15.1", rpr="Supplier", owner=NO_B), REJ_E4, REJ_S1SP_REG),
    # a Supplier targeting the NO cell: the DSP still checks 6.1(f)
    ("unregistered Supplier owns the NO cell", state(no_cell=SUP, supplier_reg=None),
     request(SUP, "IS", "6.15.1", rpr="NetworkOperator", owner=NO_A), REJ_E4, REJ_E4),
    ("unregistered Supplier owns its cell", state(supplier_reg=None),
     request(SUP, "IS", "6.15.1", rpr="Supplier", owner=SUP), REJ_E4, REJ_E4),
])
def test_mp107_conditions(name: str, st: dict[str, Any], rq: dict[str, Any],
                          before: tuple[Any, ...], after: tuple[Any, ...]) -> None:
    assert (short(verdict("baseline", st, rq)), short(verdict("mp107", st, rq))) == (before, after), name


def test_mp107_waivers_show_as_skipped_with_their_clause() -> None:
    """[K] a check a redline exception waived is `skipped`, with the exception's clause."""
    v = verdict("mp107", STUCK, request(NO_B, "ED", "6.15.1", rpr="NetworkOperator", owner=NO_A))
    waived = {t["check"]: (t["outcome"], t["waived_by"]) for t in v["trace"] if t.get("waived_by")}
    assert waived == {"eligible_user": ("skipped", "mp107"), "s1sp_registration": ("skipped", "mp107")}
    assert v["effects"] == [{"device": METER, "trust_anchor": "NetworkOperator", "owner": NO_A}]


# ---- [D§6] 6.23: the incoming Supplier, "is or will be" eligible at the execution time ----

def test_change_of_supplier_credentials() -> None:
    st = state(supplier_reg=("2020-01-01T00:00:00Z", "2026-04-01T00:00:00Z"))
    st["parties"][NO_B]["roles"] = ["IS"]
    st["registration"][MPAN].append({"role": "IS", "party": NO_B, "from": "2026-04-01T00:00:00Z", "to": None})
    v = verdict("mp107", st, request(NO_B, "IS", "6.23", execution_time="2026-04-02T00:00:00Z"))
    assert short(v) == ACCEPT
    assert v["effects"] == [{"device": METER, "trust_anchor": "Supplier", "owner": NO_B}]  # [A8]
    assert short(verdict("mp107", st, request(NO_B, "IS", "6.23"))) == REJ_E4  # not yet registered now
    assert short(verdict("mp107", st, request(SUP, "IS", "6.23", execution_time="2026-04-02T00:00:00Z"))) == REJ_E4


# ---- [K] the input contract and the verdict's shape ----

def test_optional_request_fields_may_be_absent_or_null() -> None:
    rq = request(SUP, "IS", "4.1.3")
    for k in ("remote_party_role", "new_certificate_owner", "execution_time", "date_range"):
        del rq[k]
    assert short(verdict("baseline", state(), rq)) == ACCEPT
    del rq["device"]
    assert short(verdict("baseline", state(), rq)) == REJ_E19


@pytest.mark.parametrize("rq", [
    request(NO_A, "ED", "6.15.1", rpr=None, owner=NO_B),  # 6.15.1 needs both
    request(NO_A, "ED", "6.15.1", rpr="NetworkOperator", owner=None),
    request(SUP, "IS", "4.1.3", rpr="Supplier", owner=SUP),  # and no other non-carrying SRV has them
    request(SUP, "IS", "6.16.1"),  # [D§2] no SRV 6.16.x in DUIS 5.4
    request(SUP, "is", "4.1.3"),
    request(SUP, "IS", "4.1.3", date_range={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
    request(SUP, "IS", "4.1.3", execution_time="2026-05-01T00:00:00+01:00"),  # [K] times are in UTC
])
def test_bad_requests_are_input_errors(rq: dict[str, Any]) -> None:
    s = load_state(state(), PROGRAM)
    with pytest.raises(InputError):
        load_request(rq, s, PROGRAM, PROGRAM.rulesets["baseline"])


def test_cli_verdict_fields_types_and_exit_codes(run: Run, tmp_path: Path) -> None:
    sp, rp = tmp_path / "state.json", tmp_path / "request.json"
    sp.write_text(json.dumps(STUCK))
    rp.write_text(json.dumps(request(NO_B, "ED", "6.15.1", rpr="NetworkOperator", owner=NO_A)))
    for ruleset, code in (("BASELINE", 1), ("mp107", 0)):  # rule set names are case-insensitive [K]
        r = run("validate", "--ruleset", ruleset, "--format", "json", "--state", str(sp), str(rp), "--fail-on-reject")
        assert r.code == code, r.err
        v = json.loads(r.out)
        assert set(v) >= {"ruleset", "verdict", "layer", "code", "check", "clause", "effects", "trace", "dcc_accepted"}
        assert isinstance(v["dcc_accepted"], bool) and isinstance(v["effects"], list)
        assert all(set(t) >= {"check", "layer", "outcome", "clause"} and t["outcome"] in {"pass", "fail", "skipped"}
                   for t in v["trace"])
    r = run("validate", "--ruleset", "baseline", "--format", "json", "--state", str(sp), str(rp))
    assert r.code == 0 and json.loads(r.out)["code"] == "E4" and json.loads(r.out)["clause"] == "SRPD 6.1(f)"
    rp.write_text("{not json")
    assert run("validate", "--ruleset", "mp107", "--state", str(sp), str(rp)).code == 2
