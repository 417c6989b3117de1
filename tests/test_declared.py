"""Declared fields and relations (docs/formats.md "Declared fields"): rule files extend the world.

Held here: the declarations' diagnostics; what the loader requires of a
state or request, and of whom; the smi_joins modification end to end
(scenarios, the generated validator, the Z3 encoding, diff); and random
world extensions (Hypothesis), on which the interpreter, the generated
validator and the Z3 encoding must agree, and from which the encoding's
models must load.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redline.build import build
from redline.cli import main
from redline.codegen import RuleFile, generate
from redline.diagnostics import where
from redline.interp import InputError, Validator, load_request, load_state
from redline.loading import repo_rules, rule_files
from redline.props.concrete import anchors_after, concrete
from redline.smt import Encoder, Sorts
from redline.smt.concrete import agrees
from redline.smt.decode import Decoder
from redline.smt.encode import Unsupported
from redline.smt.solver import new_solver
from redline.smt.symbolic import SymRequest, bounded_state, well_formed
from redline.source import Source

EXAMPLES = int(os.environ.get("REDLINE_DECLARED_EXAMPLES", "12"))
SHIPPED = {f.relative_to(repo_rules()).as_posix(): f.read_text(encoding="utf-8") for f in rule_files([repo_rules()])}
SHIPPED_WITHOUT_JOINS = {k: v for k, v in SHIPPED.items() if "smi-joins" not in k}

P1, P2, P3 = (f"90-B3-D5-1F-30-0{i}-00-00" for i in (1, 2, 3))
METER, IHD, PPMID = "00-DB-12-34-56-78-91-A0", "00-DB-12-34-56-78-91-B0", "00-DB-12-34-56-78-91-C0"


def program_of(extra: str, base: dict[str, str] = SHIPPED_WITHOUT_JOINS) -> tuple[Any, list[Any]]:
    sources = [Source(name, text) for name, text in sorted(base.items())] + [Source("extra.redline", extra)]
    return build(sources)


def errors(extra: str) -> list[str]:
    program, diags = program_of(extra)
    assert program is None
    return [f"{d.code} {where(d.span).split(':', 1)[1]} {d.message}" for d in diags if d.is_error]


def import_source(source: str, path: Path, name: str) -> ModuleType:
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ---- declarations ------------------------------------------------------------------


def test_a_declared_field_that_clashes_with_a_field_is_refused_where_it_is_written() -> None:
    got = errors('extend Device "x" {\n  ok: Bool\n  type: Bool\n}\n')
    assert got == ["E210 3:3 `Device` already has a field `type`; a declaration may only add new fields"]
    # and the second of two declarations of one field, pointing at the first
    program, diags = program_of('extend Party "x" { joined_ok: Bool }\nextend Party "y" { joined_ok: Bool }\n')
    assert program is None and [d.code for d in diags if d.is_error] == ["E210"]
    assert where(diags[0].span).startswith("extra.redline:2:") and any("extra.redline:1:" in n for n in diags[0].notes)


def test_bad_declarations_are_named() -> None:
    assert errors('extend Meter "x" { a: Bool }\n')[0].startswith("E101 1:8 unknown record to extend `Meter`")
    assert errors('relation r "x" (Device, Service)\n') == ["E211 1:25 a relation holds between Device and Party records, not `Service`"]
    assert errors('relation registered "x" (Device)\n')[0].startswith("E211 1:10 `registered` is built in")
    # a field used but declared nowhere is the unknown-field diagnostic
    got = errors('modification m "x" amends baseline\n  add before dcc_user_in_role check c "x" at DSP reject\n    requires device.joined_ok\n')
    assert got[0].startswith("E202 3:21 `Device` has no field `joined_ok`")
    got = errors('modification m "x" amends baseline\n  add before dcc_user_in_role check c "x" at DSP reject\n    requires joined(device, device)\n')
    assert got[0].startswith("E101 3:14 ") and "joined" in got[0]


def test_a_relation_is_called_with_its_records() -> None:
    got = errors('relation joined "x" (Device, Device)\nmodification m "x" amends baseline\n'
                 '  add before dcc_user_in_role check c "x" at DSP reject\n    requires joined(device, sender)\n')
    assert got == ["E201 4:29 argument of `joined`: expected Device, found Party"]


def test_a_declared_catalogue_column_defaults_where_it_can_and_is_required_where_it_cannot() -> None:
    program, _ = program_of('extend Service "x" { joins: Bool\n  kinds: set of UserRole\n  note: optional Text }\n')
    assert program is not None
    row = program.rulesets["baseline"].catalogue["8.7.1"]
    assert (row["joins"], row["kinds"], row["note"]) == (False, frozenset(), None)
    got = errors('extend Service "x" { level: Generation }\n')
    assert got and all(g.startswith("E205") and "`level`" in g for g in got)


# ---- the loader: what a declared field's absence means, and to whom ---------------------------


def joins_state(**over: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "now": "2026-03-01T12:00:00Z",
        "parties": {P1: {"roles": ["IS", "GS"], "dcc_user": True}},
        "devices": {
            METER: {"type": "ESME", "generation": "SMETS2", "smi_status": "Commissioned", "mpxn": "1900000000011",
                    "trust_anchors": {"Supplier": P1}},
            IHD: {"type": "IHD", "generation": "SMETS2", "smi_status": "Commissioned", "associated_device": METER},
        },
        "registration": {"1900000000011": [{"role": "IS", "party": P1, "from": "2020-01-01T00:00:00Z"}]},
        "relations": {"joined": [[METER, IHD]]},
    }
    state.update(over)
    return state


JOIN = {"sender": P1, "role": "IS", "srv": "8.7.2", "device": METER, "other_device": IHD}
PROGRAM, _ = build([Source(n, t) for n, t in sorted(SHIPPED.items())])
assert PROGRAM is not None
BASELINE, JOINS = PROGRAM.rulesets["baseline"], PROGRAM.rulesets["smi_joins"]


def judged(state_json: Any, request_json: Any, name: str) -> Any:
    rs = PROGRAM.rulesets[name]
    state = load_state(state_json, PROGRAM)
    return Validator(rs).validate(state, load_request(request_json, state, PROGRAM, rs)).to_json()


def test_a_rule_set_that_reads_a_relation_needs_it_and_one_that_does_not_does_not() -> None:
    no_relations = joins_state()
    del no_relations["relations"]
    with pytest.raises(InputError) as e:
        judged(no_relations, JOIN, "smi_joins")
    assert e.value.where == "$.relations" and "missing relation `joined`: rule set `smi_joins` reads it" in e.value.message
    assert judged(no_relations, JOIN, "baseline")["verdict"] == "accept"  # the baseline does not read it
    assert judged(joins_state(), JOIN, "smi_joins")["check"] == "not_already_joined"


def test_declared_data_is_always_type_checked_and_undeclared_data_refused() -> None:
    cases = [
        (joins_state(relations={"joined": [[METER, "00-DB-12-34-56-78-91-FF"]]}), JOIN, "$.relations.joined[0][1]", "is not in `devices`"),
        (joins_state(relations={"joined": [[METER]]}), JOIN, "$.relations.joined[0]", "expected [Device, Device]"),
        (joins_state(relations={"joind": []}), JOIN, "$.relations.joind", "unknown relation `joind`; did you mean `joined`?"),
        (joins_state(), {**JOIN, "other_device": 7}, "$.other_device", "a device id must be an Entity Identifier"),
        (joins_state(), {**JOIN, "other_devices": IHD}, "$.other_devices", "unknown field `other_devices`"),
    ]
    for state, request, path, message in cases:
        for name in ("baseline", "smi_joins"):  # present data is checked whichever rule set judges it
            with pytest.raises(InputError) as e:
                judged(state, request, name)
            assert e.value.where == path and message in e.value.message, (name, str(e.value))


def test_a_declared_field_no_rule_file_declares_is_an_unknown_field() -> None:
    program, _ = build([Source(n, t) for n, t in sorted(SHIPPED_WITHOUT_JOINS.items())])
    assert program is not None
    with pytest.raises(InputError) as e:
        load_state(joins_state(), program)
    assert e.value.where == "$" or e.value.where.endswith(".relations")
    state = load_state({k: v for k, v in joins_state().items() if k != "relations"}, program)
    with pytest.raises(InputError) as e2:
        load_request(JOIN, state, program, program.rulesets["baseline"])
    assert e2.value.where == "$.other_device" and "unknown field" in e2.value.message


def test_a_required_declared_field_is_required_of_every_device_by_the_rule_set_that_reads_it() -> None:
    program, diags = program_of('extend Device "x" { joined_ok: Bool }\nmodification m "x" amends baseline\n'
                                '  add before dcc_user_in_role check c "x" at DSP reject\n    requires device.joined_ok\n')
    assert program is not None, diags
    state_json = joins_state()
    del state_json["relations"]
    state = load_state(state_json, program)
    request = {k: v for k, v in JOIN.items() if k != "other_device"}
    with pytest.raises(InputError) as e:
        load_request(request, state, program, program.rulesets["m"])
    assert e.value.where == f'$.devices["{METER}"]' and "missing declared field `joined_ok`" in e.value.message
    load_request(request, state, program, program.rulesets["baseline"])  # does not read it
    for d in state_json["devices"].values():
        d["joined_ok"] = False
    state = load_state(state_json, program)
    verdict = Validator(program.rulesets["m"]).validate(state, load_request(request, state, program, program.rulesets["m"]))
    assert verdict.failed is not None and verdict.failed.name == "c"


def test_a_duis_request_is_refused_by_a_rule_set_reading_a_declared_request_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The DUIS XML mapping fills the built-in fields only: a Join's OtherDeviceID would be read as null, and
    smi_joins would reject a Join that names its device. Refused by name (exit 2), never judged as another request."""
    xml = (Path(__file__).parent / "duis" / "decommission-8.3.xml").read_text(encoding="utf-8")
    xml = (xml.replace("<sr:ServiceReference>8.3<", "<sr:ServiceReference>8.7<")
           .replace("<sr:ServiceReferenceVariant>8.3<", "<sr:ServiceReferenceVariant>8.7.2<")
           .replace("<sr:CommandVariant>8<", "<sr:CommandVariant>1<").replace("DecommissionDevice", "JoinService")
           .replace(":90-B3-D5-1F-30-00-00-02:", f":{METER}:")
           .replace("<sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID>", f"<sr:OtherDeviceID>{IHD}</sr:OtherDeviceID>"))
    (tmp_path / "join.xml").write_text(xml, encoding="utf-8")
    (tmp_path / "state.json").write_text(json.dumps(joins_state(relations={"joined": []})), encoding="utf-8")
    argv = ["validate", "--role", "IS", "--state", str(tmp_path / "state.json"), str(tmp_path / "join.xml")]
    assert main([*argv, "--ruleset", "smi_joins"]) == 2
    err = capsys.readouterr().err
    assert "rule set `smi_joins` reads the declared Request field `other_device`" in err and "REQUEST.json" in err
    assert main([*argv, "--ruleset", "baseline"]) == 0  # reads no declared Request field: the XML is the whole request
    # smi_joins reads `other_device` for Join and Unjoin only: the XML of any other SRV is the whole request under it
    (tmp_path / "decommission.xml").write_text((Path(__file__).parent / "duis" / "decommission-8.3.xml").read_text(encoding="utf-8"),
                                               encoding="utf-8")
    capsys.readouterr()
    assert main([*argv[:-1], str(tmp_path / "decommission.xml"), "--ruleset", "smi_joins"]) == 0, capsys.readouterr().err


# ---- smi_joins end to end ------------------------------------------------------------


@pytest.fixture(scope="module")
def joins_module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    path = tmp_path_factory.mktemp("validators") / "smi_joins.py"
    assert main(["codegen", "--ruleset", "smi_joins", "-o", str(path)]) == 0
    return import_source(path.read_text(encoding="utf-8"), path, "generated_smi_joins")


def compiled(module: ModuleType, state: Any, request: Any) -> tuple[str, Any]:
    try:
        return "ok", module.validate(state, request)
    except module.InputError as e:
        return "error", str(e)


def interpreted(program: Any, rs: Any, state_json: Any, request_json: Any) -> tuple[str, Any]:
    try:
        state = load_state(state_json, program)
        return "ok", Validator(rs).validate(state, load_request(request_json, state, program, rs)).to_json()
    except InputError as e:
        return "error", str(e)


SORTS = Sorts(PROGRAM, sorted(JOINS.catalogue))
JOINS_ENCODER = Encoder(SORTS, JOINS)


def test_smi_joins_scenarios_agree_with_the_generated_validator_and_the_encoding(joins_module: ModuleType) -> None:
    seen = 0
    for sc in PROGRAM.scenarios:
        if "smi_joins" not in sc.expected:
            continue
        seen += 1
        want = interpreted(PROGRAM, JOINS, sc.state, sc.request)
        assert want[0] == "ok" and compiled(joins_module, sc.state, sc.request) == want, sc.name
        state = load_state(sc.state, PROGRAM)
        req = load_request(sc.request, state, PROGRAM, JOINS)
        v = Validator(JOINS).validate(state, req)
        x = concrete(state, req)
        assert agrees(JOINS_ENCODER, x, v.accepted, v.failed.name if v.failed else None, anchors_after(x, v)) is True, sc.name
    assert seen >= 6


@st.composite
def join_worlds(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    devices = [METER, IHD, PPMID]
    pairs = [[a, b] for a in devices for b in devices]
    state = joins_state(relations={"joined": draw(st.lists(st.sampled_from(pairs), max_size=4))})
    state["devices"][PPMID] = {"type": "PPMID", "generation": "SMETS2", "smi_status": draw(st.sampled_from(["Commissioned", "Pending"])),
                               "associated_device": METER}
    request = {"sender": P1, "role": draw(st.sampled_from(["IS", "GS", "OU"])),
               "srv": draw(st.sampled_from(["8.7.1", "8.7.2", "8.8.1", "8.8.2", "4.1.1"])),
               "device": draw(st.sampled_from([METER, IHD, None]))}
    other = draw(st.sampled_from([*devices, None, "absent"]))
    if other != "absent":
        request["other_device"] = other
    if draw(st.booleans()):
        del state["relations"]
    return state, request


@settings(max_examples=EXAMPLES * 10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(join_worlds())
def test_smi_joins_random_worlds_agree(joins_module: ModuleType, world: tuple[dict[str, Any], dict[str, Any]]) -> None:
    state_json, request_json = world
    for rs in (BASELINE, JOINS):
        want = interpreted(PROGRAM, rs, state_json, request_json)
        if rs is JOINS:
            assert compiled(joins_module, copy.deepcopy(state_json), copy.deepcopy(request_json)) == want
        if want[0] == "ok":
            state = load_state(state_json, PROGRAM)
            req = load_request(request_json, state, PROGRAM, rs)
            v = Validator(rs).validate(state, req)
            x = concrete(state, req)
            enc = JOINS_ENCODER if rs is JOINS else Encoder(SORTS, rs)
            assert agrees(enc, x, v.accepted, v.failed.name if v.failed else None, anchors_after(x, v)) is True


# The diff of smi_joins, both ways, is complete and names the relation: tests/test_example_modifications.py
# (NAMED_BOTH_WAYS), which runs the same two diffs.


def test_the_encoding_refuses_fields_of_another_device_by_name() -> None:
    program, diags = program_of('extend Request "x" { other: optional Device }\nmodification m "x" amends baseline\n'
                                '  add before dcc_user_in_role check c "x" at DSP reject\n    requires request.other.type == ESME\n')
    assert program is not None, diags
    enc = Encoder(Sorts(program, sorted(program.rulesets["m"].catalogue)), program.rulesets["m"])
    sorts = enc.sorts
    with pytest.raises(Unsupported) as e:
        enc.outcome(bounded_state(sorts, "s", 1), SymRequest.fresh(sorts))
    assert "the field `type` of a device other than the request's device" in e.value.what


# ---- random world extensions -------------------------------------------------------------

# (type text, literal values, how a rule reads a field `X` of that type to a truth)
TYPES = {
    "Bool": ([True, False], ["X", "not X", "X == true", "X != false"]),
    "optional Bool": ([True, False, None], ["X", "not X", "X == false", "X != true", "X == null"]),
    "Generation": (["SMETS1", "SMETS2"], ["X == SMETS1", "X != SMETS2"]),
    "optional SmiStatus": (["Pending", "Commissioned", None], ["X == Commissioned", "X == null", "X in {Pending, Suspended}"]),
    "set of UserRole": ([[], ["IS"], ["IS", "ED"]], ["IS in X", "role in X", "ED not in X"]),
    "Time": (["2026-03-01T12:00:00Z", "2025-01-01T00:00:00Z"], ["X == now", "X == 2025-01-01T00:00:00Z"]),
    "optional Time": (["2026-03-01T12:00:00Z", None], ["X == now", "X != null"]),
    "Party": ([P1, P2], ["X == sender", "X != sender"]),
    "optional Device": ([METER, IHD, None], ["X == device", "X == null"]),
}
OWNERS = {"Device": "device", "Party": "sender", "Request": "request"}


@st.composite
def extensions(draw: st.DrawFn) -> tuple[str, dict[str, dict[str, str]], list[tuple[str, str]]]:
    """Rule-file text declaring random fields and a relation, and a modification reading them."""
    fields: dict[str, dict[str, str]] = {}
    n = 0
    for record in ("Device", "Party", "Request"):
        for _ in range(draw(st.integers(0, 2))):
            fields.setdefault(record, {})[f"x{n}"] = draw(st.sampled_from(sorted(TYPES)))
            n += 1
    relations = [(f"r{i}", draw(st.sampled_from(["Device, Device", "Device, Party", "Party"]))) for i in range(draw(st.integers(0, 2)))]
    text = []
    for record, fs in fields.items():
        text.append(f'extend {record} "random" {{\n' + "".join(f"  {f}: {t}\n" for f, t in fs.items()) + "}\n")
    for name, args in relations:
        text.append(f'relation {name} "random" ({args})\n')
    reads = [f"{OWNERS[r]}.{f}" for r, fs in fields.items() for f in fs]
    conds: list[str] = []
    for r, fs in fields.items():
        for f, t in fs.items():
            conds.append(draw(st.sampled_from(TYPES[t][1])).replace("X", f"{OWNERS[r]}.{f}"))
    for name, args in relations:
        conds.append(f"{name}({'device, ' if args.startswith('Device') else ''}{'device' if args == 'Device, Device' else 'sender'})"
                     if args != "Party" else f"{name}(sender)")
    if not conds:
        conds = ["true"]
    text.append('modification rnd "random" amends baseline\n')
    for i in range(draw(st.integers(1, 3))):
        picked = draw(st.lists(st.sampled_from(conds), min_size=1, max_size=3))
        joiner = draw(st.sampled_from([" and ", " or "]))
        text.append(f'  add before dcc_user_in_role check rnd_{i} "random" at DSP reject\n    requires {joiner.join(picked)}\n')
    assert reads is not None
    return "".join(text), fields, relations


def random_state(draw: st.DrawFn, fields: dict[str, dict[str, str]], relations: list[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    state = joins_state()
    del state["relations"]
    state["parties"][P2] = {"roles": ["ED"], "dcc_user": draw(st.booleans())}
    for record, table in (("Device", state["devices"]), ("Party", state["parties"])):
        for body in table.values():
            for f, t in fields.get(record, {}).items():
                if draw(st.integers(0, 9)) > 0 or t.startswith("optional"):
                    body[f] = draw(st.sampled_from(TYPES[t][0]))
    if relations:
        ids = {"Device": [METER, IHD], "Party": [P1, P2]}
        state["relations"] = {}
        for name, args in relations:
            kinds = [a.strip() for a in args.split(",")]
            pool = [[a] if len(kinds) == 1 else [a, b] for a in ids[kinds[0]] for b in (ids[kinds[-1]] if len(kinds) > 1 else [None])]
            state["relations"][name] = draw(st.lists(st.sampled_from(pool), max_size=3))
    request: dict[str, Any] = {"sender": P1, "role": draw(st.sampled_from(["IS", "ED", "OU"])),
                               "srv": draw(st.sampled_from(["4.1.1", "8.7.2", "11.2"])), "device": draw(st.sampled_from([METER, IHD, None]))}
    for f, t in fields.get("Request", {}).items():
        if draw(st.integers(0, 9)) > 0:
            request[f] = draw(st.sampled_from(TYPES[t][0]))
    return state, request


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_world_extensions_agree_across_back_ends(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    text, fields, relations = data.draw(extensions())
    program, diags = program_of(text)
    assert program is not None, (text, [str(d) for d in diags])
    rs = program.rulesets["rnd"]
    files = [RuleFile(n, t.encode()) for n, t in sorted({**SHIPPED_WITHOUT_JOINS, "extra.redline": text}.items())]
    path = tmp_path_factory.mktemp("rnd") / "rnd.py"
    module = import_source(generate(program, rs, files), path, f"generated_rnd_{abs(hash(text))}")
    sorts = Sorts(program, sorted(rs.catalogue))
    encoder = Encoder(sorts, rs)
    for _ in range(6):
        state_json, request_json = random_state(data.draw, fields, relations)
        want = interpreted(program, rs, state_json, request_json)
        assert compiled(module, copy.deepcopy(state_json), copy.deepcopy(request_json)) == want, (text, state_json, request_json)
        if want[0] != "ok":
            continue
        state = load_state(state_json, program)
        req = load_request(request_json, state, program, rs)
        v = Validator(rs).validate(state, req)
        x = concrete(state, req)
        assert agrees(encoder, x, v.accepted, v.failed.name if v.failed else None, anchors_after(x, v)) is True, (text, state_json, request_json)
    # Every model of the bounded encoding loads, and the interpreter gives the encoding's verdict.
    for want_accept in (True, False):
        st_, rq = bounded_state(sorts, "s", 1), SymRequest.fresh(sorts, "r")
        out = encoder.outcome(st_, rq)
        solver = new_solver(sorts.ctx, 10_000, 5_000_000, 0)
        solver.add(*st_.constraints, well_formed(sorts, rs.catalogue, rq), rq.sender != 0,
                   out.accepted if want_accept else z3.Not(out.accepted))
        if solver.check() != z3.sat:
            continue
        d = Decoder(solver.model(), sorts)
        request_json = d.request(st_, rq)
        state_json = d.state(st_)
        state = load_state(state_json, program)
        verdict = Validator(rs).validate(state, load_request(request_json, state, program, rs))
        assert verdict.accepted is want_accept, (text, state_json, request_json)
