"""Generic properties (proofs/generic.redline): written once over `base` and `modification`, applied by
`prove --modification NAME` to any modification; each result is right for its domain reason, a careless
modification is caught by the property it breaks, and misuse is a precise error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from redline.cli import main
from redline.loading import load_program

ROOT = Path(__file__).resolve().parents[1]

# Load each set of rules once per worker, not once per command (conftest.py; keyed by the files' contents).
pytestmark = pytest.mark.usefixtures("cached_rules")
GENERIC = str(ROOT / "proofs" / "generic.redline")
LIBRARY = ("changes_only_intended", "no_new_takeover", "smets2_verdicts_unchanged", "recovery_kept", "no_check_made_dead")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def statuses(out: str) -> dict[tuple[str, str], str]:
    return {(r["property"], r["ruleset"]): r["status"] for r in json.loads(out)["results"]}


# Every shipped modification against the library alone (no acknowledgements loaded), with the domain reason for each refutation: the
# three illustrative modifications are not SMETS1-only (owner_registered checks every NO certificate
# replacement, cos_certificate_owner every 6.23, smi_joins every Join and Unjoin), so SMETS2 verdicts
# change, and the scope property says so with a replayed counterexample; MP107 holds all five.
SHIPPED = {
    "mp107": set(),
    "owner_registered": {"smets2_verdicts_unchanged"},
    "cos_certificate_owner": {"smets2_verdicts_unchanged"},
    "smi_joins": {"smets2_verdicts_unchanged"},
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_library_applies_to_each_shipped_modification(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = run(capsys, "prove", GENERIC, "--modification", name, "--format", "json")
    results = json.loads(out)["results"]
    key = f"baseline..{name}"
    assert {(r["property"], r["ruleset"]) for r in results} == {(p, key) for p in LIBRARY}
    for r in results:
        assert r["expected"] == "proved" and r["claim"], r["property"]
        want = "refuted" if r["property"] in SHIPPED[name] else "proved"
        assert r["status"] == want, (r["property"], r.get("reason"))
        if want == "refuted":  # a finding, with a counterexample the interpreter judged under both rule sets
            found = r["counterexample"]
            assert set(found["verdicts"]) == {"r@baseline", f"r@{name}"}
            assert found["verdicts"]["r@baseline"] != found["verdicts"][f"r@{name}"]
            assert found["state"]["devices"][found["request"]["device"]]["generation"] == "SMETS2"
    assert code == (1 if SHIPPED[name] else 0), err


def test_alongside_the_properties_that_name_the_modification(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "prove", GENERIC, str(ROOT / "proofs" / "owner-registered.redline"),
                         str(ROOT / "proofs" / "mp107.redline"), "--modification", "owner_registered",
                         "--property", "owner_registered_no_takeover", "--format", "json")
    assert code == 0, err
    assert statuses(out) == {("owner_registered_no_takeover", "owner_registered"): "proved"}


CARELESS = '''
modification careless "test: a careless redline" amends baseline

  amend check device_signature
    except "test: a 6.15.1 on SMETS2 no longer needs the owner's signature" when srv == "6.15.1"

  amend check srv_suits_device_type
    except "test: any device type will do" when not srv.non_device

  intends change "test: only 6.15.1 on SMETS2" where srv == "6.15.1" and device.generation == SMETS2
'''


def test_a_careless_modification_is_caught(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mod = tmp_path / "careless.redline"
    mod.write_text(CARELESS, encoding="utf-8")
    code, out, err = run(capsys, "prove", GENERIC, str(mod), "--modification", "careless", "--format", "json")
    assert code == 1, err
    results = {r["property"]: r for r in json.loads(out)["results"]}
    assert {p: r["status"] for p, r in results.items()} == {
        "changes_only_intended": "refuted",  # the device type check waived everywhere: outside the declared intent
        "no_new_takeover": "refuted",  # anyone eligible may now replace a SMETS2 trust anchor
        "smets2_verdicts_unchanged": "refuted",
        "recovery_kept": "proved",  # it only accepts more
        "no_check_made_dead": "refuted",  # srv_suits_device_type can no longer reject anything
    }
    takeover = results["no_new_takeover"]["counterexample"]
    req = takeover["request"]
    anchors = takeover["state"]["devices"][req["device"]]["trust_anchors"]
    assert takeover["verdicts"]["r@baseline"]["verdict"] == "reject" and takeover["verdicts"]["r@careless"]["verdict"] == "accept"
    assert anchors.get(req["remote_party_role"]) != req["sender"]
    outside = results["changes_only_intended"]["counterexample"]
    assert not (outside["request"]["srv"] == "6.15.1"
                and outside["state"]["devices"][outside["request"]["device"]]["generation"] == "SMETS2")
    dead = results["no_check_made_dead"]
    assert "srv_suits_device_type" in dead["reason"]
    assert dead["counterexample"]["verdicts"]["r@baseline"]["check"] == "srv_suits_device_type"
    assert dead["counterexample"]["verdicts"]["r@careless"]["check"] != "srv_suits_device_type"


def test_an_unknown_modification_is_refused_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "prove", GENERIC, "--modification", "mp170")
    assert code == 2 and "`mp170` is not a modification; did you mean `mp107`?" in err
    code, _, err = run(capsys, "prove", GENERIC, "--modification", "baseline")
    assert code == 2 and "`baseline` is a rule set, not a modification" in err


def test_a_generic_property_needs_a_modification(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "prove", GENERIC, "--property", "no_new_takeover")
    assert code == 2 and "generic property" in err and "--modification NAME" in err
    code, _, err = run(capsys, "prove", GENERIC, "--property", "no_check_made_dead")
    assert code == 2 and "generic property" in err
    code, _, err = run(capsys, "prove", GENERIC)
    assert code == 2 and "only generic properties to prove" in err


def test_without_modification_prove_is_unchanged() -> None:
    """The library is loaded with the shipped proofs but proves nothing unasked."""
    program, diags = load_program(ROOT / "rules", [ROOT / "proofs"])
    assert program is not None, diags
    assert {p.name for p in program.generic} == set(LIBRARY) - {"no_check_made_dead"}
    assert not {p.name for p in program.properties} & set(LIBRARY)


@pytest.mark.parametrize(("text", "message"), [
    ('property p "c"\n  expect base..mp107 proved\n  holds forall s: State, r: Request . not changes(s, r)\n',
     "property `p` is generic: expect it under `base`, `modification` or `base..modification`, not `base..mp107`"),
    ('property p "c"\n  expect modification proved\n  holds forall s: State, r: Request . accepted_by_base(s, r)\n',
     "`accepted_by_base` compares two rule sets"),
    ('property p "c"\n  expect modifcation proved\n  holds forall s: State, r: Request . accepted(s, r)\n',
     "unknown rule set `modifcation`; did you mean `modification`?"),
    ('ruleset base "c"\nproperty p "c"\n  expect base proved\n  holds forall s: State, r: Request . accepted(s, r)\n',
     "`base` names a rule set and is also the placeholder"),
])
def test_misused_placeholders_are_diagnosed(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.redline"
    f.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "check", str(f))
    assert code == 1 and message in out + err, out + err


# Acknowledgements: a `property` with no `holds`, next to a modification's own properties, expecting a
# generic property otherwise for that modification and its base, the cite saying why.
OWNER_PROOFS = str(ROOT / "proofs" / "owner-registered.redline")


def test_an_acknowledged_refutation_is_as_expected_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("prove", GENERIC, OWNER_PROOFS, "--modification", "owner_registered", "--property", "smets2_verdicts_unchanged")
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    [r] = json.loads(out)["results"]
    assert (r["status"], r["expected"]) == ("refuted", "refuted")
    assert r["claim"] == "declared scope unchanged: no SMETS2 device's verdict changes, nor the owner an accepted request leaves in its trust anchor cells"  # still the generic claim
    assert r["acknowledged"].startswith("by design: the new DSP check applies to every Network Operator")
    code, out, err = run(capsys, *argv)
    assert code == 0 and "ok   smets2_verdicts_unchanged [baseline..owner_registered]: REFUTED (expected refuted)" in out
    assert "    acknowledged refuted: by design: the new DSP check" in out
    # the acknowledgement is of that pair alone: under MP107 the library's expectation stands
    code, out, err = run(capsys, "prove", GENERIC, OWNER_PROOFS, "--modification", "mp107",
                         "--property", "smets2_verdicts_unchanged", "--format", "json")
    [r] = json.loads(out)["results"]
    assert code == 0 and (r["status"], r["expected"]) == ("proved", "proved") and "acknowledged" not in r, err


def test_an_acknowledged_refutation_that_is_proved_after_all_is_a_finding(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ack = tmp_path / "ack.redline"
    ack.write_text('property smets2_verdicts_unchanged "test: MP107 said to change SMETS2"\n'
                   '  expect baseline..mp107 refuted\n', encoding="utf-8")
    code, out, err = run(capsys, "prove", GENERIC, str(ack), "--modification", "mp107",
                         "--property", "smets2_verdicts_unchanged", "--format", "json")
    [r] = json.loads(out)["results"]
    assert code == 1 and (r["status"], r["expected"]) == ("proved", "refuted"), err
    assert r["acknowledged"] == "test: MP107 said to change SMETS2"


@pytest.mark.parametrize(("text", "message"), [
    ('property smets2_verdict_unchanged "c"\n  expect baseline..mp107 refuted\n',
     "1:10: error[E101]: `smets2_verdict_unchanged` is not a generic property, so a `property` with no `holds` cannot "
     "acknowledge it; did you mean `smets2_verdicts_unchanged`?"),
    ('property no_takeover "c"\n  expect baseline..mp107 refuted\n',  # MP107's own property, not a generic one
     "`no_takeover` is not a generic property"),
    ('property changes_only_intended "c"\n  expect base..modification refuted\n',
     "2:10: error[E401]: an acknowledgement names concrete rule sets, not the placeholder `base`"),
    ('property recovery_kept "c"\n  expect mp107 refuted\n',
     "`recovery_kept` is bound to a pair: acknowledge it under BASE..NAME"),
    ('property recovery_kept "c"\n  expect baseline..mp170 refuted\n',
     "unknown rule set `mp170`; did you mean `mp107`?"),
    ('property smets2_verdicts_unchanged "c"\n  expect baseline..mp107 refuted\n  expect baseline..mp107 proved\n',
     "acknowledgement of `smets2_verdicts_unchanged` under `baseline..mp107` is defined more than once"),
])
def test_bad_acknowledgements_are_diagnosed(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.redline"
    f.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "check", GENERIC, str(f))
    assert code == 1 and message in out + err, out + err


@pytest.mark.parametrize(("pair", "why"), [
    ("mp107..owner_registered", "`owner_registered` amends `baseline`, so its generic properties are decided under "
                                "`baseline..owner_registered`"),
    ("owner_registered..baseline", "`baseline` amends nothing, so its generic properties are decided under no pair"),
])
def test_an_acknowledgement_of_a_pair_never_bound_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                              pair: str, why: str) -> None:
    f = tmp_path / "bad.redline"
    f.write_text(f'property no_new_takeover "c"\n  expect {pair} refuted\n', encoding="utf-8")
    code, out, err = run(capsys, "check", GENERIC, str(f))
    assert code == 1 and f"bad.redline:2:10: error[E401]: `no_new_takeover` is never bound to `{pair}`: {why}" in out + err, out + err


def test_acknowledgements_keep_their_layout(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "ack.redline"
    f.write_text('property  smets2_verdicts_unchanged   "c"\nexpect baseline..mp107   refuted\n', encoding="utf-8")
    code, _, err = run(capsys, "fmt", "--write", str(f))
    assert code == 0, err
    assert f.read_text(encoding="utf-8") == 'property smets2_verdicts_unchanged "c"\n  expect baseline..mp107 refuted\n'


def test_proofs_read_without_the_library_keep_their_acknowledgements_idle(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "prove", OWNER_PROOFS, "--format", "json")
    assert code == 0, err
    assert all(r["property"] != "smets2_verdicts_unchanged" and "acknowledged" not in r for r in json.loads(out)["results"])


def test_a_report_needs_a_property_about_the_modification_or_the_generic_library(tmp_path: Path) -> None:
    """A modification no property names still gets a bundle when the generic library is loaded (it speaks
    of any modification of a rule set); without the library the bundle would be an empty all clear: refused."""
    from redline.inputs import BadInput
    from redline.report import require_property_about

    (tmp_path / "ou.redline").write_text('modification ou_exempt "a test modification" amends baseline\n'
                                         '  amend check eligible_user\n    except "test" when role == OU\n', encoding="utf-8")
    with_library, _ = load_program([ROOT / "rules", tmp_path], [ROOT / "proofs"])
    without, _ = load_program([ROOT / "rules", tmp_path], [ROOT / "proofs" / "mp107.redline"])
    assert with_library is not None and without is not None
    require_property_about(with_library, with_library.rulesets["ou_exempt"])
    with pytest.raises(BadInput, match="no property states what is expected of `ou_exempt`.*no generic property"):
        require_property_about(without, without.rulesets["ou_exempt"])
