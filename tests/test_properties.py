"""Property-based tests (Hypothesis) tying the layers together.

(a) the parser and the checker never crash: strings from the grammar
    (`hypothesis.extra.lark.from_lark`) and arbitrary text give diagnostics,
    never exceptions, and every diagnostic renders;
(b) random well-formed (and randomly corrupted) STATE/REQUEST documents never
    crash the loader or the validator, and every verdict has the shape
    CONTRACTS.md promises;
(c) DOMAIN.md P4 on random inputs: mp107 and baseline differ only on SRV
    6.15.1 on SMETS1 devices sent by a Network Operator or targeting the NO cell.
"""

from __future__ import annotations

import copy
import re
from importlib import resources
from typing import Any

import lark
import pytest
from hypothesis import HealthCheck, event, find, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

from invariant_support import one_at_a_time
from redline.build import build
from redline.check import check
from redline.check.checked import carries_certificate
from redline.interp import InputError, Validator, load_request, load_state
from redline.loading import load_program, repo_rules, rule_files
from redline.render import render_json, render_text
from redline.source import Source
from redline.syntax import parse

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GRAMMAR_FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

PROGRAM, _DIAGS = load_program(repo_rules(), [])
assert PROGRAM is not None, "the shipped rules must check clean for these tests to mean anything"
# Every shipped rule set, the example modifications included, so each differential and codegen test covers them all.
RULESETS = dict(PROGRAM.rulesets)
VALIDATORS = {name: Validator(rs) for name, rs in RULESETS.items()}
CATALOGUE = RULESETS["baseline"].catalogue
ENUMS = PROGRAM.enums
SHIPPED_MODULES = [parse(Source(str(f), f.read_text(encoding="utf-8")))[0] for f in rule_files([repo_rules()])]

DIAG_CODE = re.compile(r"^[EW]\d{3}$")


# ---- (a) the parser and checker never crash --------------------------------


def grammar() -> lark.Lark:
    text = resources.files("redline.syntax").joinpath("grammar.lark").read_text()
    return lark.Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=True)


LARK = grammar()


def _spaced(term: Any) -> st.SearchStrategy[str]:
    """A terminal followed by a space, so adjacent tokens cannot run together."""
    if term.pattern.type == "str":
        return st.just(term.pattern.value + " ")
    return st.from_regex(term.pattern.to_regexp(), fullmatch=True).map(lambda s: s + " ")


SPACED = {t.name: _spaced(t) for t in LARK.terminals if t.name not in ("WS", "COMMENT")}


def assert_well_formed(source: Source, diags: list[Any]) -> None:
    for d in diags:
        assert DIAG_CODE.match(d.code), d
        assert d.message and d.message == d.message.strip()
        if d.span.source is source:
            assert 0 <= d.span.start <= d.span.end <= len(source.text), d
        text = render_text(d)
        assert f"[{d.code}]: " in text
        assert render_json(d)["code"] == d.code


def parse_never_raises(text: str) -> tuple[Any, list[Any]]:
    src = Source("gen.redline", text)
    module, diags = parse(src)  # must not raise
    assert isinstance(diags, list)
    assert module is not None
    assert_well_formed(src, diags)
    return module, diags


@GRAMMAR_FAST
@given(from_lark(LARK))
def test_grammar_strings_never_crash_the_parser(text: str) -> None:
    parse_never_raises(text)


@GRAMMAR_FAST
@given(from_lark(LARK, explicit=SPACED))
def test_spaced_grammar_strings_parse_and_check_without_crashing(text: str) -> None:
    src = Source("gen.redline", text)
    module, diags = parse_never_raises(text)
    if diags:
        event("syntax error")
        return
    event("parsed")
    # Checked alone (stage 1 finds the missing declarations)...
    program, cdiags = build([src])
    assert_well_formed(src, cdiags)
    assert program is not None or any(d.is_error for d in cdiags)
    # ...and together with the shipped rules, so modifications can find `baseline`.
    program, cdiags = check([*SHIPPED_MODULES, module])
    assert_well_formed(src, cdiags)
    assert program is not None or any(d.is_error for d in cdiags)


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_parse_or_build(text: str) -> None:
    parse_never_raises(text)
    src = Source("any.redline", text)
    program, diags = build([src])
    assert_well_formed(src, diags)


KEYWORDS = sorted({t.pattern.value for t in LARK.terminals if t.pattern.type == "str"})
WORDS = st.one_of(
    st.sampled_from(KEYWORDS),
    st.sampled_from(
        [
            "baseline",
            "mp107",
            "eligible_user",
            "srv",
            "role",
            "device",
            "SMETS1",
            "ED",
            '"6.15.1"',
            '"SRPD 6.1"',
            "E4",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00Z",
            "A1",
            "\n",
        ]
    ),
)


@FAST
@given(st.lists(WORDS, max_size=40).map(" ".join))
def test_keyword_soup_never_crashes_parse_or_check(text: str) -> None:
    src = Source("soup.redline", text)
    module, diags = parse_never_raises(text)
    if not diags:
        program, cdiags = check([*SHIPPED_MODULES, module])
        assert_well_formed(src, cdiags)


def test_parse_examples_are_not_vacuous() -> None:
    """The properties above would pass for a parser that always fails: pin both outcomes."""
    ok, diags = parse(Source("ok.redline", 'assumption A1 "text" [A]\n'))
    assert diags == [] and len(ok.decls) == 1
    _, diags = parse(Source("bad.redline", "assumption A1 [A]\n"))
    assert [d.code for d in diags] == ["E001"]


# ---- (b) well-formed inputs never crash the validator ----------------------

PARTY_IDS = [f"90-B3-D5-1F-30-0{i}-00-00" for i in range(1, 5)]
DEVICE_IDS = [f"00-DB-12-34-56-78-90-A{i}" for i in range(3)]
MPXNS = ["1900000000001", "1900000000002"]
TIMES = [
    "2015-01-01T00:00:00Z",
    "2020-01-01T00:00:00Z",
    "2026-02-01T00:00:00Z",
    # Fractions of a second, around `now` (issue 15: they were dropped); the list stays in time order.
    "2026-03-01T11:59:59.75Z",
    "2026-03-01T12:00:00Z",
    "2026-03-01T12:00:00.000001Z",
    "2026-06-01T00:00:00Z",
    "2030-01-01T00:00:00Z",
]
USER_ROLES = ENUMS["UserRole"]
REG_ROLES = [r for r in USER_ROLES if r != "OU"]
RPR = ENUMS["RemotePartyRole"]
SRVS = sorted(CATALOGUE)
NO_ROLES = frozenset(PROGRAM.groups["NetworkOperator"][1])


@st.composite
def states(draw: st.DrawFn) -> dict[str, Any]:
    pids = draw(st.lists(st.sampled_from(PARTY_IDS), min_size=1, max_size=4, unique=True))
    parties = {
        p: {
            "roles": draw(st.lists(st.sampled_from(USER_ROLES), max_size=3, unique=True)),
            "dcc_user": draw(st.booleans()),
        }
        for p in pids
    }
    dids = draw(st.lists(st.sampled_from(DEVICE_IDS), max_size=3, unique=True))
    devices: dict[str, Any] = {}
    for i, d in enumerate(dids):
        body: dict[str, Any] = {
            "type": draw(st.sampled_from(ENUMS["DeviceType"])),
            "generation": draw(st.sampled_from(ENUMS["Generation"])),
            "smi_status": draw(st.sampled_from(ENUMS["SmiStatus"])),
        }
        if i > 0 and draw(st.booleans()):
            body["associated_device"] = dids[draw(st.integers(0, i - 1))]
        else:
            body["mpxn"] = draw(st.sampled_from(MPXNS))
        cells = draw(st.lists(st.sampled_from(RPR), max_size=3, unique=True))
        body["trust_anchors"] = {c: draw(st.one_of(st.sampled_from(pids), st.none())) for c in cells}
        devices[d] = body
    registration: dict[str, Any] = {}
    for m in draw(st.lists(st.sampled_from(MPXNS), max_size=2, unique=True)):
        items = []
        for _ in range(draw(st.integers(0, 4))):
            lo = draw(st.integers(0, len(TIMES) - 1))
            hi = draw(st.one_of(st.none(), st.integers(lo + 1, len(TIMES)))) if lo < len(TIMES) - 1 else None
            items.append(
                {
                    "role": draw(st.sampled_from(REG_ROLES)),
                    "party": draw(st.sampled_from(pids)),
                    "from": TIMES[lo],
                    "to": TIMES[hi] if hi is not None and hi < len(TIMES) else None,
                }
            )
        registration[m] = one_at_a_time(items)
    state = {"now": draw(st.sampled_from(TIMES)), "parties": parties, "devices": devices, "registration": registration}
    if PROGRAM.relations:  # declared relations (smi_joins reads `joined`): none holds in these worlds
        state["relations"] = {name: [] for name in PROGRAM.relations}
    return state


@st.composite
def requests(draw: st.DrawFn, state: dict[str, Any]) -> dict[str, Any]:
    srv = draw(st.one_of(st.just("6.15.1"), st.sampled_from(SRVS)))
    device_ids = sorted(state["devices"])
    req: dict[str, Any] = {
        "sender": draw(st.sampled_from(sorted(state["parties"]))),
        # Mostly a role eligible for the SRV, so that later checks are reached too.
        "role": draw(
            st.one_of(
                st.sampled_from(sorted(CATALOGUE[srv]["eligible_roles"]) or USER_ROLES), st.sampled_from(USER_ROLES)
            )
        ),
        "srv": srv,
        # Mostly a device of the state; sometimes one the SMI does not know, or none.
        "device": draw(
            st.one_of(st.sampled_from(device_ids), st.sampled_from(device_ids), st.sampled_from(DEVICE_IDS), st.none())
            if device_ids
            else st.one_of(st.sampled_from(DEVICE_IDS), st.none())
        ),
    }
    row = CATALOGUE[srv]
    if row["replaces_trust_anchor"] or (carries_certificate(row) and draw(st.booleans())):  # 6.23 may leave it out
        req["remote_party_role"] = draw(st.one_of(st.just("NetworkOperator"), st.sampled_from(RPR)))
        req["new_certificate_owner"] = draw(st.sampled_from(sorted(state["parties"])))
    if draw(st.booleans()):
        req["execution_time"] = draw(st.one_of(st.none(), st.sampled_from(TIMES)))
    if draw(st.booleans()):
        a, b = sorted(draw(st.lists(st.sampled_from(TIMES), min_size=2, max_size=2)), key=TIMES.index)
        req["date_range"] = {"from": a, "to": b}
    return req


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A state and a request, each DSP precondition made true with high probability.

    Purely random worlds almost all fail the first check (E1); each repair
    below is drawn separately, so every check is still failed sometimes.
    """
    s = draw(states())
    r = draw(requests(s))
    row = CATALOGUE[r["srv"]]
    likely = st.sampled_from([True, True, True, False])
    sender = s["parties"][r["sender"]]
    if draw(likely):
        sender["dcc_user"] = True
        if r["role"] not in sender["roles"]:
            sender["roles"].append(r["role"])
    device = s["devices"].get(r["device"]) if r["device"] else None
    if device is not None:
        if draw(likely) and row["device_types"]:
            device["type"] = draw(st.sampled_from(sorted(row["device_types"])))
        if draw(likely) and row["smi_statuses"]:
            device["smi_status"] = draw(st.sampled_from(sorted(row["smi_statuses"])))
        if draw(likely):
            cell = draw(st.sampled_from(["Supplier", "NetworkOperator", r.get("remote_party_role") or "Supplier"]))
            device["trust_anchors"][cell] = r["sender"]
        mpxn = _mpxn_of(s, r["device"])
        if draw(likely) and r["role"] != "OU":
            start = draw(st.sampled_from(TIMES[:3]))
            s["registration"][mpxn] = one_at_a_time(
                [{"role": r["role"], "party": r["sender"], "from": start, "to": None}, *s["registration"].get(mpxn, [])]
            )
    return s, r


def _mpxn_of(state: dict[str, Any], device_id: str) -> str:
    d = state["devices"][device_id]
    while "mpxn" not in d:
        d = state["devices"][d["associated_device"]]
    return str(d["mpxn"])


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.text(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["", "2026-02-30T00:00:00Z", "6.16.1", "SMETS3", PARTY_IDS[0].lower(), "OU"]),
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def corrupted(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with one leaf or subtree replaced, deleted, or an unknown key added."""
    out = copy.deepcopy(doc)
    paths = _paths(out)
    if not paths:
        return out
    path = draw(st.sampled_from(paths))
    parent = out
    for k in path[:-1]:
        parent = parent[k]
    how = draw(st.sampled_from(["replace", "delete", "add"]))
    if how == "replace":
        parent[path[-1]] = draw(JUNK)
    elif how == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(["extra", "Roles", "srvv", "to"]))] = draw(JUNK)
    return out


def check_verdict_shape(v: dict[str, Any], ruleset: str, request: Any) -> None:
    rs = RULESETS[ruleset]
    checks = {c.name: c for c in rs.checks}
    assert {"ruleset", "verdict", "layer", "code", "check", "clause", "effects", "trace"} <= set(v)
    assert v["ruleset"] == ruleset
    assert v["verdict"] in ("accept", "reject")
    trace = v["trace"]
    names = [t["check"] for t in trace]
    assert names == [c.name for c in rs.checks][: len(names)], "the trace runs the checks in order"
    for t in trace:
        assert {"check", "layer", "outcome", "clause"} <= set(t)
        assert t["outcome"] in ("pass", "fail", "skipped")
        assert t["layer"] == checks[t["check"]].layer.value
        if "waived_by" in t:
            assert t["outcome"] == "skipped"
            assert t["clause"] != checks[t["check"]].cite or t["waived_by"] == ruleset
    if v["verdict"] == "reject":
        failed = checks[v["check"]]
        assert v["layer"] in ("DSP", "S1SP", "Device")
        assert v["layer"] == failed.layer.value
        assert v["code"] == failed.code
        assert v["clause"] == failed.cite
        assert v["effects"] == []
        assert trace[-1]["check"] == v["check"] and trace[-1]["outcome"] == "fail"
        assert all(t["outcome"] != "fail" for t in trace[:-1])
        assert v["dcc_accepted"] is (v["layer"] == "Device")
    else:
        assert v["layer"] is None and v["code"] is None and v["check"] is None and v["clause"] is None
        assert names == [c.name for c in rs.checks], "an accept ran every check"
        assert all(t["outcome"] != "fail" for t in trace)
        assert v["dcc_accepted"] is True
        for e in v["effects"]:
            assert e["device"] == request.device
            assert e["trust_anchor"] in RPR


def run_world(state_doc: Any, request_doc: Any) -> dict[str, dict[str, Any]] | None:
    """Verdict JSON under each rule set, or None when the input is rejected as bad input."""
    try:
        state = load_state(state_doc, PROGRAM)
    except InputError as e:
        assert e.where.startswith("$") and e.message
        return None
    out = {}
    for name, rs in RULESETS.items():
        try:
            request = load_request(request_doc, state, PROGRAM, rs)
        except InputError as e:
            assert e.where.startswith("$") and e.message
            return None
        v = VALIDATORS[name].validate(state, request).to_json()
        check_verdict_shape(v, name, request)
        out[name] = v
    return out


@FAST
@given(worlds())
def test_well_formed_inputs_load_and_validate(world: tuple[dict[str, Any], dict[str, Any]]) -> None:
    state, request = world
    verdicts = run_world(state, request)
    assert verdicts is not None, "a well-formed input must not be bad input"
    v = verdicts["baseline"]
    event(f"{v['verdict']} {v['layer']} {v['code']}")
    if (
        request["device"] is not None
        and request["device"] not in state["devices"]
        and not CATALOGUE[request["srv"]]["non_device"]
    ):
        # An unknown device is the DSP's E19 (if the earlier checks pass), never bad input.
        assert v["verdict"] == "reject"
        assert v["code"] in ("E1", "E2", "E19")


@FAST
@given(
    worlds().flatmap(
        lambda w: st.tuples(st.one_of(st.just(w[0]), corrupted(w[0])), st.one_of(st.just(w[1]), corrupted(w[1])))
    )
)
def test_corrupted_inputs_fail_closed(world: tuple[Any, Any]) -> None:
    state, request = world
    verdicts = run_world(state, request)
    event("bad input" if verdicts is None else "validated")


# ---- (c) DOMAIN.md P4: the minimal change ------------------------------------


def _comparable(v: dict[str, Any]) -> dict[str, Any]:
    return {k: x for k, x in v.items() if k != "ruleset"}


def differs(world: tuple[dict[str, Any], dict[str, Any]]) -> bool:
    verdicts = run_world(*world)
    assert verdicts is not None
    return _comparable(verdicts["baseline"]) != _comparable(verdicts["mp107"])


@FAST
@given(worlds())
def test_mp107_differs_from_baseline_only_on_6_15_1_smets1(world: tuple[dict[str, Any], dict[str, Any]]) -> None:
    state, request = world
    verdicts = run_world(state, request)
    assert verdicts is not None
    base, mp = verdicts["baseline"], verdicts["mp107"]
    if _comparable(base) == _comparable(mp):
        return
    event("differs")
    device = state["devices"].get(request["device"]) if request["device"] else None
    assert request["srv"] == "6.15.1"
    assert device is not None and device["generation"] == "SMETS1"
    assert request["role"] in NO_ROLES or request.get("remote_party_role") == "NetworkOperator"
    # MP107 only removes obstacles: it never turns an accept into a reject.
    assert not (base["verdict"] == "accept" and mp["verdict"] == "reject")


def test_p4_generator_reaches_a_difference() -> None:
    """The property above is not vacuous: the generator finds worlds where the rule sets differ."""
    world = find(worlds(), differs, settings=settings(max_examples=500, deadline=None, database=None))
    assert world[1]["srv"] == "6.15.1"


@pytest.mark.parametrize("generation,differ", [("SMETS1", True), ("SMETS2", False)])
def test_p4_on_the_stuck_example(generation: str, differ: bool) -> None:
    import json
    from pathlib import Path

    ex = Path(__file__).resolve().parents[1] / "examples" / "stuck-smets1"
    state = json.loads((ex / "state.json").read_text())
    request = json.loads((ex / "request.json").read_text())
    for d in state["devices"].values():
        d["generation"] = generation
    state["relations"] = {name: [] for name in PROGRAM.relations}  # as every rule set judging it needs
    assert differs((state, request)) is differ
