"""Properties speak of every declared field and relation (issue 13, item 7).

A property reads a declared Request field as `r.NAME`, a catalogue column as
`r.srv.NAME`, a declared Device field of the state's device as `NAME(s)`, a
declared Party field as `NAME(s, p)` and a declared relation as
`NAME(s, x, ...)`; `device(s)` is the request's device and `d: Device` binds
one. Held here: the checked IR of each form, its proofs and replayed
counterexamples through `redline prove` (on a modification that reads a
Device and a Party field, which the shipped rules do not declare), and the
diagnostics of bad bodies at their place.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.build import build
from redline.check import propir as p
from redline.cli import main
from redline.source import Source

ROOT = Path(__file__).resolve().parents[1]
DEVICE = "00-DB-12-34-56-78-90-A0"  # the request's device in every decoded model (smt/decode.py)
RULES = [Source(str(f), f.read_text(encoding="utf-8")) for f in sorted((ROOT / "rules").rglob("*.redline"))]

# A modification that reads a declared Device field, Party fields (a truth value and a set) and an enum-valued
# Device field: what the shipped rules do not declare.
ACCREDITED = '''\
extend Device "test: whether the device is paired, and the generation its firmware reports" {
  paired: Bool
  reported: optional Generation
}

extend Party "test: whether the party is accredited, and for which User Roles" {
  accredited: Bool
  licences: set of UserRole
}

modification accredited "test: only accredited senders, licensed for the role, to paired devices" amends baseline

  add after smi_status_suits_srv check sender_accredited "test" at DSP reject
    requires sender.accredited and role in sender.licences
    rests on A1

  add after sender_accredited check device_paired "test" at DSP reject
    requires device.paired and device.reported == device.generation
    rests on A1
'''

PROOFS = '''\
property only_accredited "test"
  expect baseline refuted
  expect accredited proved
  holds forall s: State, r: Request . accepted(s, r) implies (accredited(s, r.sender) and r.role in licences(s, r.sender))

property only_paired "test"
  expect baseline refuted
  expect accredited proved
  holds forall s: State, r: Request . accepted(s, r) implies (paired(s) and reported(s) == generation(s))

property still_accepts "test"
  expect accredited proved
  holds exists s: State, r: Request, w: Party . accepted(s, r) and r.sender == w and accredited(s, w) and reported(s) == SMETS2
'''


def one(text: str, extra: list[Source] | None = None) -> p.OneStep:
    program, diags = build([*RULES, *(extra or []), Source("p.redline", text)])
    assert program is not None, [d.message for d in diags if d.is_error]
    [prop] = program.properties
    assert isinstance(prop.body, p.OneStep)
    return prop.body


def test_request_fields_columns_relations_and_the_device_are_typed() -> None:
    body = one('property q "x"\n  expect smi_joins proved\n  holds forall s: State, r: Request .\n'
               '    r.srv.joins implies (r.other_device != null and not joined(s, device(s), r.other_device))\n')
    assert isinstance(body.body, p.Implies)
    column = body.body.premise
    assert isinstance(column, p.Declared) and (column.kind, column.name, column.sort) == (p.DeclKind.SERVICE, "joins", p.Prim.BOOL)
    given, related = body.body.conclusion.items  # type: ignore[union-attr]
    assert isinstance(given, p.Eq) and given.negated and isinstance(given.right, p.NullConst)
    assert given.left == p.Declared(kind=p.DeclKind.REQUEST, name="other_device", args=(p.Ref(name="r", sort=p.Prim.REQUEST),),
                                    sort=p.Prim.DEVICE)
    assert isinstance(related, p.Not) and isinstance(related.operand, p.Declared)
    assert related.operand.kind is p.DeclKind.RELATION and related.operand.args[1].sort is p.Prim.DEVICE
    assert p.show(body.body) == "r.srv.joins implies r.other_device != null and not joined(s, device(s), r.other_device)"


def test_device_and_party_fields_are_typed_by_their_declarations() -> None:
    body = one('property q "x"\n  expect accredited proved\n  holds forall s: State, w: Party .\n'
               '    (paired(s) and accredited(s, w)) implies (reported(s) == SMETS1 or OU in licences(s, w))\n',
               [Source("accredited.redline", ACCREDITED)])
    decls = [x for x in p.walk(body.body) if isinstance(x, p.Declared)]
    assert [(d.kind, d.name, d.sort) for d in decls] == [
        (p.DeclKind.DEVICE, "paired", p.Prim.BOOL), (p.DeclKind.PARTY, "accredited", p.Prim.BOOL),
        (p.DeclKind.DEVICE, "reported", p.EnumSort("Generation")), (p.DeclKind.PARTY, "licences", p.SetSort("UserRole"))]


def _prove(tmp_path: Path, rules: str, proofs: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, object]]]:
    import shutil
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    (tmp_path / "rules" / "extra.redline").write_text(rules, encoding="utf-8")
    (tmp_path / "proofs").mkdir()
    (tmp_path / "proofs" / "extra.redline").write_text(proofs, encoding="utf-8")
    code = main(["prove", "--rules", str(tmp_path / "rules"), str(tmp_path / "proofs" / "extra.redline"), "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)["results"]


def test_device_and_party_fields_prove_and_their_counterexamples_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, results = _prove(tmp_path, ACCREDITED, PROOFS, capsys)
    got = {(r["property"], r["ruleset"]): r for r in results}
    assert code == 0, [(k, r["status"]) for k, r in got.items()]
    assert {k: r["status"] for k, r in got.items()} == {
        ("only_accredited", "baseline"): "refuted", ("only_accredited", "accredited"): "proved",
        ("only_paired", "baseline"): "refuted", ("only_paired", "accredited"): "proved",
        ("still_accepts", "accredited"): "proved"}
    # The prover replayed each model through the interpreter; what it decoded carries the declared data.
    cex = got[("only_accredited", "baseline")]["counterexample"]
    assert isinstance(cex, dict)
    sender = cex["request"]["sender"]
    party = cex["state"]["parties"][sender]
    assert cex["verdicts"]["r@baseline"]["verdict"] == "accept"
    assert not (party["accredited"] and cex["request"]["role"] in party["licences"])
    witness = got[("still_accepts", "accredited")]["witness"]
    assert isinstance(witness, dict)
    [device] = witness["state"]["devices"].values()
    assert device["paired"] is True and device["reported"] == device["generation"] == "SMETS2"
    assert witness["verdicts"]["r@accredited"]["verdict"] == "accept"


def test_a_bound_device_decodes_into_the_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["prove", str(ROOT / "proofs" / "smi-joins.redline"), "--property", "unjoin_still_possible", "--format", "json"])
    [r] = json.loads(capsys.readouterr().out)["results"]
    assert code == 0 and r["status"] == "proved"
    w = r["witness"]
    d = w["values"]["d"]
    assert w["request"]["other_device"] == d and d in w["state"]["devices"]
    assert [w["request"]["device"], d] in w["state"]["relations"]["joined"]


BAD = [
    ("r.other_devise == device(s)", 3, 39,
     "a Request here has no field `other_devise`; it has sender, role, srv, remote_party_role, new_certificate_owner, "
     "other_device; did you mean `other_device`?"),
    ("r.srv.join", 3, 39, "an SRV (a catalogue column) has no field `join`; did you mean `joins` or `unjoins`?"),
    ("joind(s, device(s), r.other_device)", 3, 39, "unknown function `joind`;"),
    ("joined(s, r.sender, r.other_device)", 3, 49, "argument of `joined`: expected a Device, found a Party"),
    ("joined(s, device(s))", 3, 39, "`joined` takes 3 argument(s): State, Device, Device"),
    ("r.srv.name == r.srv.name", 3, 39, "`Service.name` is of type Text, which a property cannot read"),
    ("device(s).joins", 3, 39, "`.joins` applies to a Request or an SRV here, not a Device"),
    ("r.other_device == r.sender", 3, 39, "`==` compares a Device with a Party"),
    ("r.other_device in r.srv.eligible_roles", 3, 57, "`in` needs a set of Device"),
]


@pytest.mark.parametrize("expr,line,col,message", BAD)
def test_a_bad_reading_of_declared_data_is_a_diagnostic_at_its_place(expr: str, line: int, col: int, message: str) -> None:
    src = Source("p.redline", f'property q "x"\n  expect smi_joins proved\n  holds forall s: State, r: Request . {expr}\n')
    program, diags = build([*RULES, src])
    assert program is None
    [d] = [d for d in diags if d.is_error]
    assert d.code == "E401" and d.message.startswith(message), d.message
    assert d.span.source is src and src.line_col(d.span.start) == (line, col)
    if "joind" in expr:
        assert "the rule files declare joined" in d.message and "did you mean `joined`?" in d.message


def test_a_bad_body_prints_with_file_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.redline"
    bad.write_text('property q "x"\n  expect smi_joins proved\n  holds forall s: State, r: Request . r.srv.join\n', encoding="utf-8")
    code = main(["prove", str(bad)])
    err = capsys.readouterr()
    assert code == 2 and f"{bad}:3:39: error[E401]" in err.err and "did you mean `joins` or `unjoins`?" in err.err


def test_a_run_property_reads_a_relation_and_binds_a_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Declared data is not changed by a request (no effect writes it): a recorded join stays recorded, by induction."""
    proofs = tmp_path / "runs.redline"
    proofs.write_text('property joined_stays_joined "test"\n  expect smi_joins proved\n  allowing {}\n'
                      '  holds forall s: State, d: Device . joined(s, device(s), d) implies always t from s . joined(t, device(t), d)\n'
                      '\nproperty a_join_is_there "test"\n  expect smi_joins proved\n  allowing {}\n'
                      '  holds exists s: State, d: Device . joined(s, device(s), d) and (reachable t from s . in_smi(t))\n',
                      encoding="utf-8")
    code = main(["prove", str(proofs), "--format", "json"])
    results = json.loads(capsys.readouterr().out)["results"]
    assert code == 0 and [r["status"] for r in results] == ["proved", "proved"]
    assert results[0]["invariant"] == ["joined(t, device(t), d)"]
    witness = results[1]["witness"]
    d = witness["values"]["d"]
    [start] = [step["state"] for step in witness["trace"][:1]]
    assert d in start["devices"] and [DEVICE, d] in start["relations"]["joined"]


def test_a_story_tells_the_declared_data_it_rests_on() -> None:
    """A counterexample told in words shows the declared fields and relations its state and request give:
    without them a reader sees no reason for the verdict (the device's region, the party's licence)."""
    from redline.report.findings import request_text, setting

    who = str
    state = {"now": "2026-03-01T12:00:00Z",
             "parties": {"P": {"roles": ["ED"], "dcc_user": True, "region": "North", "licences": ["ED", "GT"]}},
             "devices": {"D": {"type": "ESME", "generation": "SMETS1", "smi_status": "Commissioned", "mpxn": "1",
                               "trust_anchors": {}, "dno_region": "South", "paired": False, "unset": None}},
             "registration": {}, "relations": {"joined": [["D", "E"]], "empty": []}}
    text = "\n".join(setting(state, who))
    assert "party P: roles ED; a DCC User; with licences {ED, GT}, region North" in text
    assert "trust anchors: none; with dno_region South, paired false" in text and "unset" not in text
    assert "holds joined(D, E)" in text and "empty" not in text
    request = {"sender": "P", "role": "ED", "srv": "8.7.2", "device": "D", "other_device": "E"}
    assert request_text(request, who) == "sends 8.7.2 to D; with other_device E"
