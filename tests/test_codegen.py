"""Generated validators (`redline codegen`): standalone, deterministic, and equivalent.

The generated module must mean exactly what the rules mean, so it is held
to the interpreter (and, through it, to the Z3 encoding) on every scenario,
on random inputs (Hypothesis: interpreter vs generated vs Z3), on a sampled
slice of the exhaustive finite space (tests/codegen_space.py; the whole of
it under `-m slow` and in bench/codegen_equivalence.py), and on malformed
inputs, where both must fail closed with the same message.

`REDLINE_CODEGEN_EXAMPLES` raises the Hypothesis example count.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import codegen_space
from modifications_support import import_file
from redline.check.reads import reads
from redline.cli import main
from redline.codegen import RuleFile, generate
from redline.codegen.module import runtime_source
from redline.interp import InputError, Validator, load_request, load_state
from redline.loading import repo_rules, rule_files
from test_architecture import violations
from test_differential import agrees_with, deep_worlds
from test_properties import PROGRAM, RULESETS, corrupted, worlds
from test_validate_cli import BAD_INPUT, REQUEST, STATE, with_request, with_state

EXAMPLES = int(os.environ.get("REDLINE_CODEGEN_EXAMPLES", "150"))
REPO = Path(__file__).resolve().parents[1]
VALIDATORS = {name: Validator(rs) for name, rs in RULESETS.items()}


def rule_set_files() -> list[RuleFile]:
    rules = repo_rules()
    return [RuleFile(f.relative_to(rules).as_posix(), f.read_bytes()) for f in rule_files([rules])]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ModuleType]:
    """Both rule sets written by the CLI into a temporary directory and imported."""
    out = tmp_path_factory.mktemp("validators")
    modules = {}
    for name in RULESETS:
        path = out / f"{name}.py"
        assert main(["codegen", "--ruleset", name, "-o", str(path)]) == 0
        modules[name] = import_file(path, f"generated_{name}")
    return modules


# ---- what the module is ---------------------------------------------------------


def test_generation_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = rule_set_files()
    for rs in RULESETS.values():
        assert generate(PROGRAM, rs, files) == generate(PROGRAM, rs, list(files))
    a, b = tmp_path / "a.py", tmp_path / "b" / "c.py"
    assert main(["codegen", "--ruleset", "mp107", "-o", str(a)]) == 0
    assert main(["codegen", "--ruleset", "MP107", "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    # A different rule set gives a different module.
    assert generate(PROGRAM, RULESETS["baseline"], files) != generate(PROGRAM, RULESETS["mp107"], files)


def header_files(text: str) -> dict[str, str]:
    doc = ast.get_docstring(ast.parse(text))
    assert doc is not None
    listed = {}
    for line in doc.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].endswith(".redline"):
            listed[parts[0]] = parts[1]
    return listed


def test_header_names_the_rule_files_the_rule_set_depends_on_with_their_sha256() -> None:
    rules = repo_rules()
    every = {f.relative_to(rules).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest() for f in rules.rglob("*.redline")}
    shared = {"vocabulary.redline", "world.redline", "duis-catalogue.redline", "assumptions.redline", "baseline.redline",
              # declares a relation and fields every generated loader accepts (docs/formats.md "Declared fields")
              "smi-joins.redline"}
    for name, own in (("baseline", shared), ("mp107", shared | {"mp107.redline"}), ("smi_joins", shared)):
        listed = header_files(generate(PROGRAM, PROGRAM.rulesets[name], rule_set_files()))
        # Only the files declaring what the rule set uses: not scenarios, events or another modification.
        assert listed == {f: every[f] for f in own}, name


def test_an_unrelated_rule_file_does_not_change_the_module(rules_copy: Path, tmp_path: Path) -> None:
    out1, out2, out3 = tmp_path / "1.py", tmp_path / "2.py", tmp_path / "3.py"
    assert main(["codegen", "--rules", str(rules_copy), "--ruleset", "mp107", "-o", str(out1)]) == 0
    (rules_copy / "other.redline").write_text(
        'assumption A99 "an assumption only the other modification rests on"\n\n'
        'modification other "an unrelated modification" amends baseline\n'
        '  amend check eligible_user\n'
        '    except "other" when srv == "6.15.1" rests on A99\n', encoding="utf-8")
    scenario = rules_copy / "scenarios" / "time-cases.redline"
    scenario.write_text(scenario.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert main(["codegen", "--rules", str(rules_copy), "--ruleset", "mp107", "-o", str(out2)]) == 0
    assert out1.read_bytes() == out2.read_bytes()
    # The new modification's own module does name its file, and the rules it rests on.
    assert main(["codegen", "--rules", str(rules_copy), "--ruleset", "other", "-o", str(out3)]) == 0
    listed = header_files(out3.read_text(encoding="utf-8"))
    assert "other.redline" in listed and "mp107.redline" not in listed and "baseline.redline" in listed


def test_header_hash_changes_with_a_rule_file(rules_copy: Path, tmp_path: Path) -> None:
    out1, out2 = tmp_path / "1.py", tmp_path / "2.py"
    assert main(["codegen", "--rules", str(rules_copy), "--ruleset", "mp107", "-o", str(out1)]) == 0
    mp107 = rules_copy / "mp107.redline"
    mp107.write_text(mp107.read_text(encoding="utf-8") + "\n# a comment changes the hash, not the rules\n", encoding="utf-8")
    assert main(["codegen", "--rules", str(rules_copy), "--ruleset", "mp107", "-o", str(out2)]) == 0
    old, new = out1.read_text(), out2.read_text()
    assert old != new
    assert hashlib.sha256(mp107.read_bytes()).hexdigest() in new and hashlib.sha256(mp107.read_bytes()).hexdigest() not in old


def stdlib_imports(text: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports in a standalone module"
            found.add((node.module or "").split(".")[0])
    return found


def test_generated_module_imports_only_the_standard_library() -> None:
    for rs in RULESETS.values():
        imported = stdlib_imports(generate(PROGRAM, rs, rule_set_files()))
        assert imported, "the reader must see the imports"
        assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
        assert not imported & {"redline", "z3", "lark"}
    # The checker itself catches a third-party import.
    assert "z3" in stdlib_imports("import z3\nfrom redline.interp import x\n")


@pytest.mark.usefixtures("cached_rules")  # the shipped rules loaded once per worker (conftest.py)
def test_generated_module_runs_in_an_isolated_interpreter(tmp_path: Path) -> None:
    """`python -I -S`: no site-packages (so no z3, lark or redline) and no current directory on the path."""
    path = tmp_path / "mp107.py"
    assert main(["codegen", "--ruleset", "mp107", "-o", str(path)]) == 0
    script = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('v', {str(path)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"v = m.validate(json.loads({json.dumps(json.dumps(STATE))}), json.loads({json.dumps(json.dumps(REQUEST))}))\n"
        "assert 'z3' not in sys.modules and 'lark' not in sys.modules and 'redline' not in sys.modules\n"
        "print(json.dumps(v))\n"
    )
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    state = load_state(STATE, PROGRAM)
    expected = VALIDATORS["mp107"].validate(state, load_request(REQUEST, state, PROGRAM, RULESETS["mp107"])).to_json()
    assert json.loads(done.stdout) == expected


def test_one_function_per_check_with_its_clause_and_assumptions(generated: dict[str, ModuleType]) -> None:
    for name, module in generated.items():
        for check in RULESETS[name].checks:
            fn = getattr(module, f"check_{check.name}")
            doc = " ".join((fn.__doc__ or "").split())  # long lines are wrapped
            assert check.cite in doc
            for a in check.rests:
                assert f"Rests on {a}: {PROGRAM.assumptions[a].text}" in doc
            for x in check.exceptions:
                assert x.cite in doc
    assert "MP107 §1" in (generated["mp107"].check_eligible_user.__doc__ or "")
    assert "MP107 §1" not in (generated["baseline"].check_eligible_user.__doc__ or "")


def test_codegen_architecture() -> None:
    """The runtime copied into modules imports nothing of redline but the signing-key reader, whose own
    text the generator splices in its place (and which imports nothing of redline); the generator stays
    off the back ends."""
    assert violations("redline.codegen.runtime", "redline") == [
        "redline.codegen.runtime imports redline.signers, redline.signers.parse_signer_key"]
    assert violations("redline.signers", "redline") == []
    source = runtime_source()
    assert "redline" not in "".join(line for line in source.splitlines() if line.startswith(("import ", "from ")))
    assert "def parse_signer_key(" in source
    for back_end in ("redline.interp", "redline.smt", "z3", "lark"):
        assert violations("redline.codegen", back_end) == []


# ---- the CLI --------------------------------------------------------------------


@pytest.mark.usefixtures("cached_rules")  # the shipped rules loaded once per worker (conftest.py)
def test_cli_errors_are_exit_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["codegen", "--ruleset", "mp108", "-o", str(tmp_path / "x.py")]) == 2
    err = capsys.readouterr().err
    assert "unknown rule set `mp108`" in err and "Traceback" not in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["codegen", "--ruleset", "mp107", "-o", str(blocker / "x.py")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "Traceback" not in err
    assert main(["codegen", "--rules", str(tmp_path / "nope"), "--ruleset", "mp107"]) == 2
    assert "rules directory not found" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["codegen", "-o", str(tmp_path / "x.py")])
    assert e.value.code == 2


@pytest.mark.usefixtures("cached_rules")  # the shipped rules loaded once per worker (conftest.py)
def test_codegen_o_overwrites_only_its_own_module_and_never_follows_a_symlink(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 15: `codegen -o` followed symlinks and overwrote any file silently. The policy of redline/output.py."""
    out = tmp_path / "v.py"
    assert main(["codegen", "--ruleset", "mp107", "-o", str(out)]) == 0
    assert main(["codegen", "--ruleset", "baseline", "-o", str(out)]) == 0  # its own module: regenerated in place
    assert "rule set `baseline`" in out.read_text() and sorted(p.name for p in tmp_path.iterdir()) == ["v.py"]
    capsys.readouterr()
    mine = tmp_path / "mine.py"
    mine.write_text("print('my code')\n")
    assert main(["codegen", "--ruleset", "mp107", "-o", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "does not start with redline's header" in err and "refusing to overwrite it" in err
    assert mine.read_text() == "print('my code')\n"
    link = tmp_path / "link.py"
    link.symlink_to(out)  # even a link to redline's own module: never written through
    before = out.read_bytes()
    assert main(["codegen", "--ruleset", "mp107", "-o", str(link)]) == 2
    assert "symbolic link" in capsys.readouterr().err and out.read_bytes() == before and link.is_symlink()


@pytest.mark.usefixtures("cached_rules")  # the shipped rules loaded once per worker (conftest.py)
def test_cli_stdout_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["codegen", "--ruleset", "baseline"]) == 0
    text = capsys.readouterr().out
    assert text == generate(PROGRAM, RULESETS["baseline"], rule_set_files())
    out = tmp_path / "b.py"
    assert main(["codegen", "--ruleset", "baseline", "--format", "json", "-o", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ruleset"] == "baseline" and report["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    # The files the header names, with theirs hashes: baseline's, not mp107's.
    assert {f["path"]: f["sha256"] for f in report["rule_files"]} == header_files(out.read_text(encoding="utf-8"))
    assert "baseline.redline" in header_files(text) and "mp107.redline" not in header_files(text)


# ---- equivalence ------------------------------------------------------------------


def interpreted(name: str, state_json: Any, request_json: Any) -> tuple[str, Any]:
    try:
        state = load_state(state_json, PROGRAM)
        request = load_request(request_json, state, PROGRAM, RULESETS[name])
    except InputError as e:
        return "error", str(e)
    return "ok", VALIDATORS[name].validate(state, request).to_json()


def compiled(module: ModuleType, state_json: Any, request_json: Any) -> tuple[str, Any]:
    try:
        return "ok", module.validate(state_json, request_json)
    except module.InputError as e:  # any other exception fails the test
        assert isinstance(e, ValueError)
        return "error", str(e)


def test_scenarios_agree(generated: dict[str, ModuleType]) -> None:
    compared = 0
    for sc in PROGRAM.scenarios:
        for name in RULESETS:
            want = interpreted(name, dict(sc.state), dict(sc.request))
            assert want[0] == "ok", (sc.name, want)
            assert compiled(generated[name], dict(sc.state), dict(sc.request)) == want, sc.name
            compared += 1
    assert compared >= 50


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(deep_worlds(), deep_worlds(), worlds()))
def test_generated_interpreter_and_encoding_agree(generated: dict[str, ModuleType], world: tuple[dict[str, Any], dict[str, Any]]) -> None:
    state_json, request_json = world
    for name in RULESETS:
        want = interpreted(name, state_json, request_json)
        got = compiled(generated[name], state_json, request_json)
        assert got == want, (name, want, got)
        if want[0] == "ok":
            state = load_state(state_json, PROGRAM)
            req = load_request(request_json, state, PROGRAM, RULESETS[name])
            assert agrees_with(name, state, req, VALIDATORS[name].validate(state, req)), name


def compare_space(modules: dict[str, ModuleType], state_step: int, request_step: int) -> int:
    """Generated vs interpreter over (a slice of) the exhaustive space; returns the number compared."""
    compared = 0
    enums = PROGRAM.enums
    catalogue = RULESETS["baseline"].catalogue
    for i, (state_json, requests) in enumerate(codegen_space.space(catalogue, enums, sorted(PROGRAM.relations))):
        if i % state_step:
            continue
        state = load_state(state_json, PROGRAM)
        prepared = {name: m.prepare(state_json) for name, m in modules.items()}
        for q in itertools.islice(requests, i % request_step, None, request_step):
            for name, module in modules.items():
                want = VALIDATORS[name].validate(state, load_request(q, state, PROGRAM, RULESETS[name])).to_json()
                got = module.validate_prepared(prepared[name], q)
                assert got == want, (name, state_json, q, want, got)
                compared += 1
    return compared


def test_exhaustive_space_sampled(generated: dict[str, ModuleType]) -> None:
    compared = compare_space(generated, 16, 11)
    assert compared > 40_000


@pytest.mark.slow
def test_exhaustive_space_in_full(generated: dict[str, ModuleType]) -> None:
    compared = compare_space(generated, 1, 1)
    print(f"exhaustive: {compared} verdicts compared")
    assert compared > 5_000_000


def test_exhaustive_space_reaches_every_outcome(generated: dict[str, ModuleType]) -> None:
    """The space is not vacuous: over it, every check rejects somewhere and both rule sets accept."""
    seen: dict[str, set[Any]] = {name: set() for name in RULESETS}
    for i, (state_json, requests) in enumerate(codegen_space.space(RULESETS["baseline"].catalogue, PROGRAM.enums, sorted(PROGRAM.relations))):
        if i % 7:
            continue
        prepared = {name: m.prepare(state_json) for name, m in generated.items()}
        for q in itertools.islice(requests, 0, None, 5):
            for name, module in generated.items():
                v = module.validate_prepared(prepared[name], q)
                seen[name].add(v["check"])
                if any("waived_by" in t for t in v["trace"]):
                    seen[name].add(("waived", next(t["clause"] for t in v["trace"] if "waived_by" in t)[:8]))
    def waivers(name: str) -> int:
        return len(next(c for c in RULESETS[name].checks if c.name == "eligible_user").exceptions)

    for name in RULESETS:
        expected = {c.name for c in RULESETS[name].checks} | {None}
        declared = reads(PROGRAM, RULESETS[name])
        if declared.fields or declared.relations:
            # the space holds no declared data: tests/test_declared.py drives the checks that read it
            expected = {c.name for c in RULESETS["baseline"].checks} | {None}
        if waivers(name) == waivers("baseline"):
            # Not reachable as a rejection in baseline (nor in a modification that adds no waiver to
            # eligible_user): it requires what eligible_user requires, which ran first, unless an
            # exception waived that (OU, Non-Device), and no SRV an OU may send is Critical, and no
            # Non-Device SRV reaches the S1SP.
            expected.discard("s1sp_registration")
            assert "s1sp_registration" not in seen[name]
        assert expected <= seen[name], name
    assert ("waived", "MP107 §1") in seen["mp107"] and ("waived", "MP107 §3") in seen["mp107"]


# ---- bad input: both fail closed, with the same message ----------------------------


def malformed_corpus() -> list[tuple[str, Any, Any]]:
    corpus: list[tuple[str, Any, Any]] = []
    for ident, which, mutate, _ in BAD_INPUT:
        if which == "state":
            corpus.append((ident, with_state(mutate), REQUEST))
        else:
            corpus.append((ident, STATE, with_request(mutate)))
    dev = next(iter(STATE["devices"]))
    corpus += [
        ("state_not_an_object", [], REQUEST),
        ("request_not_an_object", STATE, "6.15.1"),
        ("request_none", STATE, None),
        ("two_errors_sender_first", STATE, with_request(lambda q: q.update(sender="nope", role="EDX"))),
        ("bad_device_then_bad_time", STATE, with_request(lambda q: q.update(device="nope", execution_time="never"))),
        ("device_as_list", STATE, with_request(lambda q: q.update(device=[dev]))),
        ("role_as_list", STATE, with_request(lambda q: q.update(role=["ED"]))),
        ("srv_as_list", STATE, with_request(lambda q: q.update(srv=["6.15.1"]))),
        ("sender_lower_case_ok", STATE, with_request(lambda q: q.update(sender=q["sender"].lower()))),
        ("device_lower_case_ok", STATE, with_request(lambda q: q.update(device=dev.lower()))),
        ("owner_lower_case_ok", STATE, with_request(lambda q: q.update(new_certificate_owner=q["new_certificate_owner"].lower()))),
        ("unknown_device_ok", STATE, with_request(lambda q: q.update(device="00-DB-00-00-00-00-00-99"))),
        ("range_unknown_key_before_bad_time", STATE,
         with_request(lambda q: q.update(date_range={"from": "never", "until": "2026-01-01T00:00:00Z"}))),
        ("range_missing_to", STATE, with_request(lambda q: q.update(date_range={"from": "2026-01-01T00:00:00Z"}))),
        ("range_ok", STATE, with_request(lambda q: q.update(date_range={"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00.5Z"}))),
        ("range_bad_to", STATE, with_request(lambda q: q.update(date_range={"from": "2026-01-01T00:00:00Z", "to": "2026-02-29T00:00:00Z"}))),
        ("time_second_60", STATE, with_request(lambda q: q.update(execution_time="2026-01-01T00:00:60Z"))),
        ("time_year_0", STATE, with_request(lambda q: q.update(execution_time="0000-01-01T00:00:00Z"))),
        ("time_unicode_digits", STATE, with_request(lambda q: q.update(execution_time="٢٠٢٦-01-01T00:00:00Z"))),
        ("time_as_bool", STATE, with_request(lambda q: q.update(execution_time=True))),
        ("rpr_as_list", STATE, with_request(lambda q: q.update(remote_party_role=["NetworkOperator"]))),
        ("rpr_null_on_6_15_1", STATE, with_request(lambda q: q.update(remote_party_role=None))),
        ("extra_key_with_null", STATE, with_request(lambda q: q.update(colour=None))),
        ("missing_srv", STATE, with_request(lambda q: q.pop("srv"))),
        # Nulls left out rather than given (the fast path fills them in and tries again).
        ("omitted_nulls_ok", STATE, with_request(lambda q: [q.pop(k) for k in ("execution_time", "date_range")])),
        ("omitted_device_on_a_non_device_srv_ok", STATE,
         with_request(lambda q: [q.pop(k) for k in ("device", "remote_party_role", "new_certificate_owner")] and q.update(srv="8.2"))),
        ("omitted_nulls_and_missing_sender", STATE, with_request(lambda q: [q.pop(k) for k in ("device", "sender")])),
        ("rpr_given_null_off_6_15_1_ok", STATE, with_request(lambda q: q.update(srv="6.23"))),
    ]
    return corpus


CORPUS = malformed_corpus()


@pytest.mark.parametrize(("state_json", "request_json"), [pytest.param(s, r, id=i) for i, s, r in CORPUS])
def test_malformed_inputs_fail_alike(generated: dict[str, ModuleType], state_json: Any, request_json: Any) -> None:
    for name, module in generated.items():
        want = interpreted(name, state_json, request_json)
        assert compiled(module, state_json, request_json) == want
        if want[0] == "error":
            with pytest.raises(module.InputError) as e:
                module.validate(state_json, request_json)
            assert isinstance(e.value, ValueError) and e.value.where == str(want[1]).split(": ", 1)[0]
        else:  # and again on a prepared state, now that the loader's memos are warm
            prepared = module.prepare(state_json)
            assert module.validate_prepared(prepared, request_json) == want[1]
            assert module.validate_prepared(prepared, request_json) == want[1]


def test_the_malformed_corpus_is_mostly_malformed(generated: dict[str, ModuleType]) -> None:
    errors = sum(interpreted("mp107", s, r)[0] == "error" for _, s, r in CORPUS)
    assert errors >= len(BAD_INPUT) + 15


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_corrupted_inputs_fail_alike(generated: dict[str, ModuleType], data: st.DataObject) -> None:
    state_json, request_json = data.draw(worlds())
    if data.draw(st.booleans()):
        state_json = data.draw(corrupted(state_json))
    else:
        request_json = data.draw(corrupted(request_json))
    for name, module in generated.items():
        assert compiled(module, state_json, request_json) == interpreted(name, state_json, request_json)


# ---- prepared states and shared verdicts ------------------------------------------


def test_a_prepared_state_serves_many_requests(generated: dict[str, ModuleType]) -> None:
    module = generated["mp107"]
    prepared = module.prepare(STATE)
    requests = [REQUEST, with_request(lambda q: q.update(role="GT")), with_request(lambda q: q.update(srv="6.23")),
                with_request(lambda q: q.update(device=None)), REQUEST]
    for q in requests * 3:
        assert module.validate_prepared(prepared, q) == interpreted("mp107", STATE, q)[1]
    # Preparing did not keep a reference it later changes, nor change the input.
    assert prepared.raw is STATE and json.dumps(STATE) == json.dumps(copy.deepcopy(STATE))


def outcome(parse: Any, value: Any) -> tuple[str, Any]:
    try:
        return "ok", parse(value)
    except ValueError as e:
        return "error", str(e)


def test_the_time_memo_agrees_with_parse_time(generated: dict[str, ModuleType]) -> None:
    """A time on a day already seen is read from the memo and the clock tables: it must
    parse, or fail, exactly as `parse_time` does, clock by clock (the fast path only ever
    sees whole-second times of the right length, so the odd ones are what matter here)."""
    module = generated["mp107"]
    prepared = module.prepare(STATE)
    days = ["2026-01-01T", "2024-02-29T", "2026-02-29T", "1970-01-01T", "9999-12-31T"]
    clocks = ["00:00:00", "23:59:59", "12:34:56", "24:00:00", "23:60:00", "23:59:60", "1a:00:00", "12-00:00",
              "12:00-00", "12:00:0\u0663", " 1:00:00", "+1:00:00"]
    for warm in (False, True):
        for day, clock, end in itertools.product(days, clocks, ("Z", "z", ".5Z", "")):
            text = day + clock + end
            assert outcome(lambda v: module._time(prepared, v, "$"), text) == outcome(lambda v: module.parse_time(v, "$"), text), text
        if not warm:  # the first pass taught the memo the valid days, and only those
            assert set(prepared.days) == {"2026-01-01T", "2024-02-29T", "1970-01-01T", "9999-12-31T"}


def test_verdicts_are_read_only_and_copy_to_plain_values(generated: dict[str, ModuleType]) -> None:
    module = generated["baseline"]
    prepared = module.prepare(STATE)
    v = module.validate_prepared(prepared, REQUEST)
    assert v["verdict"] == "reject"
    with pytest.raises(TypeError):
        v["verdict"] = "accept"
    with pytest.raises(TypeError):
        v["trace"].append({})
    with pytest.raises(TypeError):
        v["trace"][0]["outcome"] = "fail"
    with pytest.raises(TypeError):
        v.update(verdict="accept")
    mutable = copy.deepcopy(v)
    assert type(mutable) is dict and type(mutable["trace"]) is list and type(mutable["trace"][0]) is dict
    mutable["verdict"] = "accept"
    assert module.validate_prepared(prepared, REQUEST)["verdict"] == "reject"
    assert json.loads(json.dumps(v)) == v == interpreted("baseline", STATE, REQUEST)[1]


def test_effects_name_each_request_own_device_and_owner(generated: dict[str, ModuleType]) -> None:
    module = generated["mp107"]
    prepared = module.prepare(STATE)
    a = module.validate_prepared(prepared, REQUEST)
    other = with_request(lambda q: q.update(new_certificate_owner=q["sender"]))
    b = module.validate_prepared(prepared, other)
    assert a["verdict"] == b["verdict"] == "accept"
    assert a["effects"][0]["owner"] == REQUEST["new_certificate_owner"]
    assert b["effects"][0]["owner"] == REQUEST["sender"]
    assert a["effects"] == interpreted("mp107", STATE, REQUEST)[1]["effects"]
