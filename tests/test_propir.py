"""The checked IR of property bodies (check/propir.py, check/properties.py).

Bodies are checked by `check()` itself, so every error here is an ordinary
diagnostic of `build`, with its span; the prover is never needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from redline.build import build
from redline.check import propir as p
from redline.check.checked import Program
from redline.check.properties import request_fields, signatures
from redline.diagnostics import Diagnostic
from redline.source import Source
from redline.syntax import parse
from redline.syntax.printer import expr

ROOT = Path(__file__).resolve().parents[1]
RULES = [Source(str(f), f.read_text(encoding="utf-8")) for f in sorted((ROOT / "rules").rglob("*.redline"))]
PROOFS = [Source(str(f), f.read_text(encoding="utf-8")) for f in sorted((ROOT / "proofs").rglob("*.redline"))]


def checked(text: str) -> tuple[Program | None, list[Diagnostic], Source]:
    src = Source("p.redline", text)
    program, diags = build([*RULES, src])
    return program, diags, src


def one(text: str) -> p.Body:
    program, diags, _ = checked(text)
    assert program is not None, diags
    [prop] = program.properties
    return prop.body


def test_shipped_bodies_print_as_written() -> None:
    """The IR keeps everything a reader needs: printed, it is the surface printer's text of the same body
    (the model checker reports invariants this way)."""
    program, diags = build([*RULES, *PROOFS])
    assert program is not None, diags
    surface = {d.name.name: d.body for s in PROOFS for d in parse(s)[0].decls if hasattr(d, "body")}
    assert len(program.properties) + len(program.generic) == len(surface) > 10  # the generic ones kept apart
    runs = 0
    for prop in (*program.properties, *program.generic):
        body = surface[prop.name]
        match prop.body:
            case p.OneStep(body=b):
                assert p.show(b) == expr(body.body), prop.name
            case p.RunProp(body=b, op=op):
                runs += 1
                assert f"{op.value} {prop.body.var} from {prop.body.origin} . {p.show(b)}" in expr(body), prop.name
    assert runs >= 4


def test_builtins_fields_and_names_are_resolved() -> None:
    body = one('property q "x"\n  expect baseline proved\n'
               '  holds forall s: State, r: Request, no: UserRole .\n'
               '    r.remote_party_role == NetworkOperator and no in NetworkOperator implies owner(s, Supplier) == r.sender\n')
    assert isinstance(body, p.OneStep) and body.kind is p.Quantifier.FORALL
    assert [(b.name, b.sort) for b in body.binders] == [("s", p.Prim.STATE), ("r", p.Prim.REQUEST), ("no", p.EnumSort("UserRole"))]
    assert isinstance(body.body, p.Implies) and isinstance(body.body.premise, p.And)
    field_eq, member = body.body.premise.items
    assert field_eq == p.Eq(left=p.Field(obj=p.Ref(name="r", sort=p.Prim.REQUEST), name=p.ReqField.REMOTE_PARTY_ROLE,
                                         sort=p.EnumSort("RemotePartyRole")),
                            right=p.EnumConst(enum="RemotePartyRole", member="NetworkOperator"), negated=False)
    assert isinstance(member, p.In) and member.collection.group == "NetworkOperator" and member.collection.enum == "UserRole"
    owner = body.body.conclusion
    assert isinstance(owner, p.Eq) and owner.left == p.Apply(
        fn=p.Builtin.OWNER, args=(p.Ref(name="s", sort=p.Prim.STATE), p.EnumConst(enum="RemotePartyRole", member="Supplier")),
        sort=p.Prim.PARTY)


def test_a_run_property_keeps_its_shape_and_events() -> None:
    body = one('property q "x"\n  expect baseline proved\n  allowing {time_passes}\n'
               '  holds forall s: State, w: Party . active(s, w) implies always t from s . in_smi(t)\n')
    assert isinstance(body, p.RunProp)
    assert (body.kind, body.op, body.var, body.origin) == (p.Quantifier.FORALL, p.RunOp.ALWAYS, "t", "s")
    assert [e.name for e in body.events] == ["time_passes"]
    assert body.invariant == body.body and body.goal == p.Not(operand=body.body)


def test_every_builtin_and_field_has_a_signature() -> None:
    program, diags = build(RULES)
    assert program is not None, diags
    assert set(signatures(program.vocab)) == set(p.Builtin)
    assert set(request_fields(program.vocab)) == set(p.ReqField)


BAD = [
    ("forall s: State . acceptd(s)", "unknown function `acceptd`; the property language has accepted, changes, after"),
    ("forall s: State . accepted(s)", "`accepted` takes 2 argument(s): State, Request"),
    ("forall r: Request . exists s: State . accepted(s, r)", "a `State` may be bound only in the property's outermost quantifier"),
    ("forall s: State, r: Request . r.colour == r.srv", "a Request here has no field `colour`; it has sender, role, srv"),
    ("forall s: State . owner(s, Suplier) == owner(s, Supplier)", "unknown name `Suplier` (expected a RemotePartyRole); did you mean `Supplier`?"),
    ("forall r: Request . r.role in {ESME}", "a set of UserRole may hold only UserRole values"),
    ("forall s: State . suits(s, \"6.15.9\")", "SRV `6.15.9` is not in the DUIS catalogue"),
    ("forall s: State, x: Colour . in_smi(s)", "unknown binder type `Colour`; expected State, Request, Party, Device or an enum"),
    ("forall s: State . generation(s)", "expected a truth value, found a Generation"),
    ("in_smi(s)", "a property body starts with `forall` or `exists`"),
    ("forall s: State, r: Request . changes(s, r)", "`changes` compares two rule sets: expect it under `old..new`"),
]


@pytest.mark.parametrize("body,message", BAD)
def test_a_bad_body_is_a_diagnostic_at_its_place(body: str, message: str) -> None:
    program, diags, src = checked(f'property q "x"\n  expect baseline proved\n  holds {body}\n')
    assert program is None
    [d] = [d for d in diags if d.is_error]
    assert d.code == "E401" and d.message.startswith(message), d.message
    assert d.span.source is src and src.line_col(d.span.start)[0] == 3


@pytest.mark.parametrize("head,body,message", [
    ("expect baseline..mp107 proved", "forall s: State, r: Request . accepted(s, r)", "`accepted` needs one rule set"),
    ("expect baseline..mp107 proved\n  allowing {}", "forall s: State . always t from s . in_smi(t)", "a temporal property is about one rule set"),
    ("expect baseline proved", "forall s: State . always t from s . in_smi(t)", "temporal property `q` must say which events"),
    ("expect baseline proved\n  allowing {time_passes}", "forall s: State . in_smi(s)", "`allowing` names the events of a run"),
    ("expect baseline proved\n  allowing {}", "exists s: State . always t from s . in_smi(t)", "`always` is an invariant"),
    ("expect baseline proved", "forall s: State . in_smi(s) and (always t from s . in_smi(t))", "a temporal property is `forall"),
    ("expect baseline proved", "forall s: State . (always t from s . in_smi(t)) or in_smi(s)", "`always` is a temporal operator"),
])
def test_rule_sets_and_shapes_are_checked(head: str, body: str, message: str) -> None:
    program, diags, _ = checked(f'property q "x"\n  {head}\n  holds {body}\n')
    assert program is None
    [d] = [d for d in diags if d.is_error]
    assert d.code == "E401" and message in d.message, d.message


def test_expectations_are_typed_and_keyed_as_results_name_them() -> None:
    program, diags, _ = checked('property q "x"\n  expect baseline..MP107 proved\n  expect baseline refuted\n'
                                '  holds forall s: State, r: Request . changes(s, r) implies in_smi(s)\n')
    assert program is None  # `changes` needs two rule sets: the second expectation names one
    assert [d.message for d in diags if d.is_error] == ["`changes` compares two rule sets: expect it under `old..new`"]
    program, diags, _ = checked('property q "x"\n  expect baseline..MP107 proved\n'
                                '  holds forall s: State, r: Request . changes(s, r) implies in_smi(s)\n')
    assert program is not None, diags
    [prop] = program.properties
    assert prop.expectations == (p.Expectation(rulesets=("baseline", "mp107"), outcome=p.Outcome.PROVED),)
    assert prop.expected == {"baseline..mp107": "proved"}
