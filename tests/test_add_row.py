"""A modification adds an SRV (`add row`): the modification's catalogue gains the row as written, and every
other rule set of the program lacking it (its base, siblings, ...) has the same row with `eligible_roles = {}`,
so rejects it (E2). That is exactly the documented workaround (tests/test_next_modifications_3.py
`test_a_new_srv_is_a_row_no_role_may_send_that_the_modification_opens`), so each engine answers unchanged:
checked here by `redline check`, `diff`, `validate`, `liveness`, `prove`, `codegen` and `impact replay`.

- new-srv.redline: SRV 6.99 (6.32's fields) for Import Suppliers; new-srv-properties.redline acknowledges the
  generic property a new SRV refutes by design.
- new-krp-srv.redline: SRV 6.98 (6.15.1's fields), which carries a certificate and replaces a trust anchor,
  so REQUEST.json's shape is checked for it under every rule set.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from impact_support import disagreements
from modifications_support import MODS, import_file, run
from redline.build import build
from redline.check import checked as ir
from redline.impact.fromjson import write_requests, write_state
from redline.loading import repo_rules, rule_files
from redline.lsp.project import Parsed
from redline.lsp.symbols import document_symbols
from redline.report.redline_view import rule_changes
from redline.source import Source
from redline.syntax import parse
from redline.syntax.parser import format_source
from redline.syntax.printer import print_module
from test_diagnostics_golden import parse_rendered
from test_next_modifications_2 import NOW, P1, P2, Case, interpreted, one_world, request, said, world

FILES = ("new-srv.redline", "new-krp-srv.redline")
E2 = "reject DSP E2 by role_eligible_for_srv"
CERT = {"remote_party_role": "Supplier", "new_certificate_owner": P1}


def new_row(srv: str = "6.99", roles: str = "{IS}", critical: str = "false", drop: str = "") -> str:
    """6.32's fields, as a `row` of the catalogue gives them, with `drop` left out."""
    fields = {"name": '"Illustrative new SRV"', "service_reference": f'"{srv}"', "critical": critical,
              "on_demand": "true", "future_dated": "No", "dcc_scheduled": "false", "non_device": "false",
              "eligible_roles": roles, "device_types": "{CHF}", "smi_statuses": "{InstalledNotCommissioned, Commissioned}",
              "replaces_trust_anchor": "false", "carries_certificate": "false"}
    body = ",\n".join(f"    {k} = {v}" for k, v in fields.items() if k != drop)
    return f'  add row "{srv}" "test: a new SRV" {{\n{body}\n  }}\n'


def project(tmp: Path, *files: str, extra: str | None = None, proofs: bool = True) -> Path:
    rules = [str(MODS / f) for f in files]
    if extra is not None:
        (tmp / "extra.redline").write_text(extra, encoding="utf-8")
        rules.append("extra.redline")
    (tmp / "redline.toml").write_text(
        f"rules = {json.dumps(rules)}\n"
        + (f'proofs = ["{MODS / "new-srv-properties.redline"}"]\n' if proofs else "") + "shipped = true\n",
        encoding="utf-8")
    return tmp


def program_of(*files: str) -> ir.Program:
    sources = [Source(f.relative_to(repo_rules()).as_posix(), f.read_text(encoding="utf-8")) for f in rule_files([repo_rules()])]
    program, diags = build(sources + [Source(f, (MODS / f).read_text(encoding="utf-8")) for f in files])
    assert program is not None, [str(d) for d in diags]
    return program


@pytest.fixture
def both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project(tmp_path, *FILES))
    return tmp_path


def test_the_modification_checks_clean_and_every_rule_set_has_the_new_srvs(
        both: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "--all-warnings")
    assert code == 0 and "error" not in err, err
    assert "6.99" not in err and "6.98" not in err, err  # the rows given to the other rule sets raise no W001
    program = program_of(*FILES)
    for name, rs in program.rulesets.items():
        assert {"6.98", "6.99"} <= set(rs.catalogue), name
        assert list(rs.catalogue)[-2:] == ["6.99", "6.98"], name  # after the catalogue's own rows, in one order
        roles = {s: rs.catalogue[s]["eligible_roles"] for s in ("6.99", "6.98")}
        assert roles == {"6.99": frozenset({"IS"}) if name == "new_srv" else frozenset(),
                         "6.98": frozenset({"IS", "GS"}) if name == "new_krp" else frozenset()}, name
    base = program.rulesets["baseline"].catalogue
    assert {**base["6.99"], "eligible_roles": frozenset({"IS"})} == program.rulesets["new_srv"].catalogue["6.99"]
    assert {**base["6.32"], "name": "Illustrative new SRV", "service_reference": "6.99",
            "eligible_roles": frozenset({"IS"})} == program.rulesets["new_srv"].catalogue["6.99"]
    assert "Illustrative: a new SRV, sendable by an Import Supplier" in program.rulesets["new_srv"].redline_clauses
    assert program.rulesets["new_srv"].added == ("6.99",) and program.rulesets["baseline"].added == ()
    [row] = [c for c in rule_changes(program, "new_srv") if c.kind == "row"]  # the bundle's redline: the whole row
    assert (row.name, row.how) == ("6.99", "added")


def test_the_diff_is_the_new_srv_for_its_new_role(both: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, srv, role in (("new_srv", "6.99", "role == IS"), ("new_krp", "6.98", "role in {GS, IS}")):
        code, out, err = run(capsys, "diff", "baseline", name, "--format", "json")
        d = json.loads(out)
        assert code == 0 and d["complete"] and d["intent"]["status"] == "satisfied", (name, d["intent"], err)
        assert d["changes"] and all(c["conditions"][:2] == [f"srv == {srv}", role] for c in d["changes"]), d["changes"]
        assert {c["before"]["code"] for c in d["changes"]} == {"E2"}
        assert "accept" in {c["after"]["verdict"] for c in d["changes"]}
    code, out, _ = run(capsys, "diff", "new_srv", "new_krp", "--format", "json")  # siblings: each other's SRV is refused
    srvs = {c["conditions"][0] for c in json.loads(out)["changes"]}
    assert srvs == {"srv == 6.99", "srv == 6.98"}, srvs


CASES_99: list[Case] = [
    (world(type_="CHF"), request(P1, "IS", "6.99"), E2, "accept"),
    (world(), request(P1, "IS", "6.99"), E2, "reject DSP E11 by srv_suits_device_type"),
    (world(type_="CHF", status="Suspended"), request(P1, "IS", "6.99"), E2, "reject DSP E5 by smi_status_suits_srv"),
    (world(type_="CHF"), request(P2, "ED", "6.99"), E2, E2),
    (world(type_="CHF"), request(P1, "IS", "6.32"), "accept", "accept"),
]
CASES_98: list[Case] = [
    (world(), request(P1, "IS", "6.98", **CERT), E2, "accept"),
    (world(), request(P2, "ED", "6.98", **CERT), E2, E2),
    (world(), request(P1, "IS", "6.15.1", **CERT), "accept", "accept"),
]


@pytest.mark.parametrize(("name", "cases"), [("new_srv", CASES_99), ("new_krp", CASES_98)])
def test_every_engine_judges_the_new_srv_alike(both: Path, capsys: pytest.CaptureFixture[str], name: str,
                                               cases: list[Case]) -> None:
    """Under the base and the modification: `redline validate`, the interpreter, the module `redline codegen`
    writes for each rule set, and the fleet engine (by `impact replay` too) all agree."""
    program = program_of(*FILES)
    rulesets = [program.rulesets["baseline"], program.rulesets[name]]
    modules = []
    for rs in rulesets:
        code, _, err = run(capsys, "codegen", "--ruleset", rs.name, "-o", str(both / f"gen_{rs.name}.py"))
        assert code == 0, err
        modules.append(import_file(both / f"gen_{rs.name}.py", f"addrow_{name}_{rs.name}_{both.name}"))
    fields = ("verdict", "layer", "code", "check", "effects")
    for i, (state, req, *wanted) in enumerate(cases):
        (both / "s.json").write_text(json.dumps(state), encoding="utf-8")
        (both / "r.json").write_text(json.dumps(req), encoding="utf-8")
        for rs, want, module in zip(rulesets, wanted, modules, strict=True):
            code, out, err = run(capsys, "validate", "--ruleset", rs.name, "--format", "json", "--state", "s.json", "r.json")
            assert code == 0 and said(json.loads(out)) == want, (i, rs.name, out, err)
            got = interpreted(program, rs, state, req)
            assert said(got) == want, (i, rs.name, got)
            generated = copy.deepcopy(module.validate(state, req))
            assert {k: generated[k] for k in fields} == {k: got[k] for k in fields}, (i, rs.name)
    if name == "new_krp":  # the accepted 6.98 replaces the cell, as 6.15.1 does
        assert interpreted(program, rulesets[1], *cases[0][:2])["effects"] == \
            interpreted(program, rulesets[1], *cases[2][:2])["effects"] != []
    merged, requests = one_world(cases)
    assert disagreements(program, rulesets, merged, requests) == []
    (both / "fleet").mkdir()
    write_state(merged, program, both / "fleet")
    write_requests(requests, program, both / "fleet")
    code, out, err = run(capsys, "impact", "replay", "fleet", "--ruleset", "baseline", "--ruleset", name,
                         "--format", "json", "--threads", "1")
    changed = sum(1 for _, _, *wanted in cases if wanted[0] != wanted[1])
    assert code == 0 and json.loads(out)["changes"]["changed"] == changed, out + err


@pytest.mark.parametrize("req", [request(P1, "IS", "6.98"), request(P1, "IS", "6.99", **CERT)])
def test_the_request_shape_is_the_new_rows_under_every_rule_set(
        both: Path, capsys: pytest.CaptureFixture[str], req: dict[str, Any]) -> None:
    """6.98 carries a certificate under every rule set (its row is DUIS's), 6.99 none."""
    (both / "s.json").write_text(json.dumps(world()), encoding="utf-8")
    (both / "r.json").write_text(json.dumps(req), encoding="utf-8")
    why = "replaces a trust anchor: give `remote_party_role`" if req["srv"] == "6.98" else "carries no certificate"
    for rs in ("baseline", "new_srv", "new_krp", "mp107"):
        code, _, err = run(capsys, "validate", "--ruleset", rs, "--state", "s.json", "r.json")
        assert code == 2 and f"SRV {req['srv']} {why}" in err, (rs, err)
        code, _, err = run(capsys, "codegen", "--ruleset", rs, "-o", f"gen_{rs}.py")
        module = import_file(both / f"gen_{rs}.py", f"addrow_shape_{rs}_{req['srv']}_{both.name}")
        with pytest.raises(ValueError, match=why.split(":")[0]):
            module.validate(world(), req)


def test_liveness_and_the_generic_properties(both: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "liveness", "--ruleset", "new_srv", "--format", "json")
    assert code == 0, err
    code, out, err = run(capsys, "prove", str(repo_rules().parent / "proofs" / "generic.redline"),
                         str(MODS / "new-srv-properties.redline"), "--modification", "new_srv", "--format", "json")
    results = {r["property"]: r for r in json.loads(out)["results"]}
    assert code == 0, out + err
    assert results["changes_only_intended"]["status"] == "proved"
    assert results["no_new_takeover"]["status"] == "proved"
    assert results["smets2_verdicts_unchanged"]["status"] == "refuted"  # by design: an IS may now send 6.99 to SMETS2
    assert results["smets2_verdicts_unchanged"]["acknowledged"], results["smets2_verdicts_unchanged"]


def test_a_modification_of_the_modification_inherits_the_row(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    extra = ('modification wider "test: GS may send 6.99 too" amends new_srv\n'
             '  amend row "6.99" "test" { eligible_roles = {IS, GS} }\n\n'
             'modification over_mp107 "test: 6.99 over MP107" amends mp107 with redlines of new_srv\n')
    monkeypatch.chdir(project(tmp_path, "new-srv.redline", extra=extra, proofs=False))
    code, _, err = run(capsys, "check")
    assert code == 0, err
    code, out, _ = run(capsys, "diff", "new_srv", "wider", "--format", "json")
    assert code == 0 and all(c["conditions"][:2] == ["srv == 6.99", "role == GS"] for c in json.loads(out)["changes"])
    code, out, _ = run(capsys, "diff", "mp107", "over_mp107", "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["intent"]["status"] == "satisfied" and d["changes"], d["intent"]


def errors(tmp: Path, capsys: pytest.CaptureFixture[str], extra: str, files: tuple[str, ...] = ()) -> list[Any]:
    project(tmp, *files, extra=extra, proofs=False)
    code, _, err = run(capsys, "check")
    assert code == 1, err
    return [d for d in parse_rendered(err) if d.path == "extra.redline"]


MOD = 'modification extra "test" amends baseline\n'


def test_the_errors_of_add_row(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    [d] = errors(tmp_path, capsys, MOD + new_row("6.32"))
    assert (d.code, d.line, d.col, d.underlined) == ("E108", 2, 11, '"6.32"')
    assert "rule set `baseline` already has it" in d.message and '`amend row "6.32"`' in d.message
    [d] = errors(tmp_path, capsys, MOD.replace("baseline", "new_srv") + new_row(), ("new-srv.redline",))
    assert (d.code, d.underlined) == ("E108", '"6.99"') and "rule set `new_srv` already has it" in d.message
    [d] = errors(tmp_path, capsys, MOD + new_row(drop="device_types"))
    assert (d.code, d.line, d.underlined) == ("E205", 2, '"6.99"') and "missing field `device_types`" in d.message
    [d] = errors(tmp_path, capsys, MOD + new_row(critical='"yes"'))
    assert (d.code, d.line, d.underlined) == ("E201", 5, '"yes"') and "row field `critical`" in d.message
    [d] = errors(tmp_path, capsys, MOD + new_row() + new_row())
    assert (d.code, d.line) == ("E102", 16) and "catalogue row `6.99` is defined more than once" in d.message
    # a sibling amends a row its base lacks: still E105, which names `add row`
    [d] = errors(tmp_path, capsys, MOD + '  amend row "6.99" "x" { eligible_roles = {GS} }\n', ("new-srv.redline",))
    assert d.code == "E105" and 'a new SRV is added with `add row "6.99"' in d.message


def test_two_modifications_adding_one_srv(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    [d] = errors(tmp_path, capsys, MOD + new_row(roles="{GS}", critical="true"), ("new-srv.redline",))
    assert (d.code, d.line, d.col, d.underlined) == ("E109", 2, 11, '"6.99"')
    assert "modifications `new_srv` and `extra` both add SRV `6.99`" in d.message and "`critical`" in d.message
    # only `eligible_roles` differs: fine, each rule set gives its own roles, every other none
    project(tmp_path, "new-srv.redline", extra=MOD + new_row(roles="{GS}").replace("test: a new SRV", "x"), proofs=False)
    code, _, err = run(capsys, "check")
    assert code == 0, err
    code, out, _ = run(capsys, "diff", "new_srv", "extra", "--format", "json")
    roles = {c["conditions"][1] for c in json.loads(out)["changes"]}
    assert code == 0 and roles == {"role == IS", "role == GS"}, roles


def test_a_written_empty_eligible_roles_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project(tmp_path, extra=MOD + new_row(roles="{}"), proofs=False))
    code, _, err = run(capsys, "check", "--all-warnings")
    [d] = [x for x in parse_rendered(err) if x.path == "extra.redline"]
    assert code == 0 and (d.code, d.underlined) == ("W001", '"6.99"'), err


def test_add_row_needs_an_eligible_roles_column(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewer's own vocabulary without `Service.eligible_roles`: the other rule sets could not refuse it."""
    rules = tmp_path / "rules"
    rules.mkdir()
    for f in rule_files([repo_rules()]):
        text = f.read_text(encoding="utf-8")
        lines = [x for x in text.splitlines(keepends=True)
                 if not x.lstrip().startswith(("eligible_roles =", "eligible_roles:", "requires role in srv.eligible_roles"))]
        (rules / f.relative_to(repo_rules())).parent.mkdir(parents=True, exist_ok=True)
        (rules / f.relative_to(repo_rules())).write_text("".join(lines), encoding="utf-8")
    (tmp_path / "extra.redline").write_text(MOD + new_row(drop="eligible_roles"), encoding="utf-8")
    (tmp_path / "redline.toml").write_text('rules = ["rules", "extra.redline"]\nshipped = false\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "check")
    [d] = [x for x in parse_rendered(err) if x.path == "extra.redline"]
    assert code == 1 and (d.code, d.line, d.col, d.underlined) == ("E209", 2, 11, '"6.99"'), err
    assert "the rules declare no field `eligible_roles` of `Service`" in d.message
    assert "could not be told to refuse it" in err


def test_fmt_prints_add_row_canonically(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messy = ('modification   new_srv "x"   amends baseline\n'
             '     add   row "6.99"   "y" {name = "n", service_reference = "6.99",\n critical = false }\n')
    laid, diags = format_source(Source("m.redline", messy))
    assert not diags and laid is not None
    assert '  add row "6.99" "y" {' in laid, laid
    assert format_source(Source("m.redline", laid))[0] == laid
    module, _ = parse(Source("m.redline", messy))
    printed = print_module(module)
    assert '  add row "6.99" "y" {\n    name = "n",' in printed, printed
    assert parse(Source("p", printed))[0] == module and print_module(parse(Source("p", printed))[0]) == printed
    code, _, err = run(capsys, "fmt", "--check", str(MODS))
    assert code == 0, err


def test_document_symbols_name_the_added_row() -> None:
    text = (MODS / "new-srv.redline").read_text(encoding="utf-8")
    source = Source("new-srv.redline", text)
    module, _ = parse(source)
    [mod] = document_symbols(Parsed(source=source, module=module, errors=()))
    assert [c.name for c in mod.children or []] == ["add row 6.99"]


def test_siblings_refuse_each_others_new_srv(both: Path) -> None:
    """Both new SRVs in one log, judged under the two siblings by the interpreter and the fleet engine: each
    modification's SRV is refused (E2) by the other, which has its row with no eligible User Role."""
    program = program_of(*FILES)
    pair = [program.rulesets["new_srv"], program.rulesets["new_krp"]]
    cases: list[Case] = [(state, req, mod if req["srv"] != "6.98" else E2, mod if req["srv"] != "6.99" else E2)
                         for state, req, _, mod in CASES_99 + CASES_98]
    for state, req, *wanted in cases:
        assert [said(interpreted(program, rs, state, req)) for rs in pair] == wanted, req
    merged, requests = one_world(cases)
    assert merged["now"] == NOW and disagreements(program, pair, merged, requests) == []
