"""The command line: arguments -> one library call -> print -> exit code.

Reading files, validating requests and telling findings live in library modules (`inputs`,
`loading`, `validation`, `report.text`); this module only parses arguments, prints what they
return and chooses the exit code (docs/exit-codes.md, `redline.exits`). Every failure a user
can cause is turned into a message on stderr; `main` also guards against internal errors so
that no input ever shows a Python traceback.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import NoReturn, TypeVar

from redline import output, usage
from redline.check.checked import Program
from redline.check.generic import with_generic
from redline.codec import diff_json, liveness_json, result_json, scenario_json
from redline.completion import SHELLS
from redline.completion import script as completion_script
from redline.diagnostics import Diagnostic, bad_scenario, unsupported
from redline.duis import DEFAULT_MAX_BYTES
from redline.exits import Exit
from redline.impact.options import add_engine_options, engine_of, rulesets_of, without_fleet
from redline.impact.options import add_parser as add_impact_parser
from redline.inputs import MAX_JSON_BYTES, BadInput, json_line, request_inputs
from redline.loading import load_program, named_rule_files, rule_files, rule_source
from redline.progress import Ticker
from redline.project import ConfigError, Project, resolve
from redline.props import ReplayError, prove
from redline.props.diff import diff as semantic_diff
from redline.props.generic import NO_CHECK_MADE_DEAD, no_check_made_dead, selection_problem
from redline.render import render_all_text, render_json
from redline.report.cases import diff_files, result_files
from redline.report.collect import scoped
from redline.report.text import (
    diff_unsettled,
    format_bundle_written,
    format_checked,
    format_diff,
    format_mapped,
    format_results,
    format_scenarios,
    format_verdict,
)
from redline.scenarios import run_scenarios
from redline.smt.encode import Unsupported
from redline.smt.solver import DEFAULT_RLIMIT
from redline.syntax import format_source
from redline.validation import Run, modification_named, prepare, ruleset_named, validate_each, validate_file


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"redline: error: {message}", file=sys.stderr)
        raise SystemExit(Exit.USAGE)


def project_of(args: argparse.Namespace) -> Project:
    """The rules and proofs this command reads: --rules, else a configuration, else the shipped ones."""
    try:
        return resolve(args.rules)
    except ConfigError as e:
        raise BadInput(str(e)) from None


def print_diagnostics(diags: Sequence[Diagnostic], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps({"diagnostics": [render_json(d) for d in diags]}, indent=2), file=sys.stderr)
    else:
        for line in render_all_text(diags):
            print(line, file=sys.stderr)


def _require_program(args: argparse.Namespace, extra: Sequence[Path] = ()) -> Program:
    program, diags = load_program(project_of(args).rules, extra)
    if program is None:
        print_diagnostics(diags, args.format)
        raise SystemExit(Exit.USAGE)
    return program


# ---- check ----------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    project = project_of(args)
    extra = [Path(p) for p in args.paths] or list(project.proofs)
    if args.verbose:
        print(f"rules from {project.origin}:", file=sys.stderr)
        for f in rule_files([*project.rules, *extra]):
            print(f"  {f}", file=sys.stderr)
    program, diags = load_program(project.rules, extra)
    errors = sum(d.is_error for d in diags)
    if args.format == "json":
        print(json.dumps({"ok": errors == 0, "diagnostics": [render_json(d) for d in diags]}, indent=2))
    else:
        for line in render_all_text(diags, args.all_warnings):
            print(line, file=sys.stderr)
        if program is not None:
            print(format_checked(program))
        else:
            print(f"{errors} error(s)", file=sys.stderr)
    return Exit.OK if errors == 0 else Exit.FAIL


# ---- validate -------------------------------------------------------------

def cmd_validate(args: argparse.Namespace) -> int:
    run = prepare(_require_program(args), args.ruleset, args.state, args.role, args.max_xml_bytes, args.max_json_bytes)
    paths = [Path(p) for p in args.request]
    if len(paths) == 1 and not paths[0].is_dir():
        return _validate_single(run, paths[0], args)
    return _validate_batch(run, request_inputs(paths), args)


def _validate_single(run: Run, path: Path, args: argparse.Namespace) -> int:
    out, accepted = validate_file(run, path)
    if args.format == "json":
        print(json.dumps(out, indent=2))
    else:
        if "duis" in out:
            print(format_mapped(out["request"], out["duis"]))
        print(format_verdict(out))
    return Exit.FAIL if (args.fail_on_reject and not accepted) else Exit.OK


PROGRESS_MIN_INPUTS = 500


def _validate_batch(run: Run, inputs: list[Path], args: argparse.Namespace) -> int:
    """JSON Lines on stdout, one record per input in input order; a bad input is an error record
    and the batch goes on. Exit 2 if any input was bad, else 1 with --fail-on-reject and a reject, else 0."""
    counts = {"accept": 0, "reject": 0, "bad": 0, "internal": 0}
    total = len(inputs)
    show = total >= PROGRESS_MIN_INPUTS or (sys.stderr.isatty() and total > 1)
    step = max(1, total // 10)
    for i, (path, record, outcome) in enumerate(validate_each(run, inputs), 1):
        counts[outcome] += 1
        if outcome == "internal":  # the other inputs still get their records; exit 70 at the end
            print(f"redline: {path}: {record['error']}", file=sys.stderr)
        sys.stdout.write(json_line(record))
        if show and (i % step == 0 or i == total):
            end = "\r" if sys.stderr.isatty() and i < total else "\n"
            bad = counts["bad"]
            print(f"redline: validated {i}/{total} ({bad} bad input{'s' if bad != 1 else ''})", end=end, file=sys.stderr, flush=True)
    sys.stdout.flush()
    if counts["internal"]:
        return Exit.INTERNAL
    if counts["bad"]:
        return Exit.USAGE
    return Exit.FAIL if (args.fail_on_reject and counts["reject"]) else Exit.OK


# ---- test -----------------------------------------------------------------

def cmd_test(args: argparse.Namespace) -> int:
    program = _require_program(args, [Path(p) for p in args.paths])
    results = run_scenarios(program)
    invalid = [r for r in results if r.actual is None]
    if invalid:  # the checker missed something the loader rejects: still bad input, with a location
        print_diagnostics([bad_scenario(r.scenario.span, r.problem or "invalid scenario") for r in invalid], args.format)
        return Exit.USAGE
    failed = [r for r in results if not r.ok]
    if args.format == "json":
        print(json.dumps({"results": [scenario_json(r) for r in results]}, indent=2))
    else:
        print(format_scenarios(results, len(program.scenarios)))
    return Exit.FAIL if failed else Exit.OK


# ---- prove ----------------------------------------------------------------

T = TypeVar("T")


def _solving(args: argparse.Namespace, work: Callable[[], T]) -> T:
    """Run a solver-backed command, turning what it refuses into diagnostics (exit 2) and a
    model that does not replay into an internal error (exit 70): never a finding."""
    try:
        with Ticker(args.command):
            return work()
    except Unsupported as e:
        print_diagnostics([unsupported(e.span, e.what)], args.format)
        raise SystemExit(Exit.USAGE) from None
    except ReplayError as e:
        print(f"redline: internal error: a solver model did not replay through the interpreter: {e}", file=sys.stderr)
        raise SystemExit(Exit.INTERNAL) from None


def cmd_prove(args: argparse.Namespace) -> int:
    extra = [Path(p) for p in args.paths] or list(project_of(args).proofs)
    program = _require_program(args, extra)
    mod = modification_named(program, args.modification) if args.modification else None
    if mod is not None:  # what a bundle for it holds: the properties naming it, and the generic library bound to it
        program = with_generic(scoped(program, mod.name), mod.name)
    if (problem := selection_problem(program, mod is not None, args.property)) is not None:
        raise BadInput(problem)
    outputs = {k: Path(v) for k, v in (("--smt2", args.smt2), ("--cex-dir", args.cex_dir)) if v}
    if len(outputs) == 2 and _nested(outputs["--smt2"], outputs["--cex-dir"]):
        raise BadInput("--smt2 and --cex-dir must be separate directories, neither inside the other "
                         "(each is replaced whole)")
    for flag, path in outputs.items():  # refused before any solving
        _check_output(partial(output.check_dir, path, OUTPUT_WHAT[flag]))
    obligations: dict[str, bytes] = {}

    def writer(name: str, text: str) -> None:
        obligations[f"{name}.smt2"] = text.encode("utf-8")
    results = _solving(args, lambda: prove(program, args.property, args.timeout * 1000, args.rlimit, args.seed,
                                           writer if args.smt2 else None, args.depth))
    if mod is not None and args.property in (None, NO_CHECK_MADE_DEAD):
        results += [_solving(args, lambda: no_check_made_dead(program, mod, args.timeout * 1000, args.rlimit, args.seed))]
    if args.smt2:
        _check_output(lambda: output.replace_dir(Path(args.smt2), obligations, OUTPUT_WHAT["--smt2"]))
    if args.cex_dir:
        _check_output(lambda: output.replace_dir(Path(args.cex_dir), result_files(results), OUTPUT_WHAT["--cex-dir"]))
    if args.format == "json":
        print(json.dumps({"results": [result_json(r) for r in results]}, indent=2))
    else:
        print(format_results(results, args.cex_dir))
    # As in `report` and `liveness`, a result settled against its expectation (1) outranks one left
    # unknown (3): a reviewer must not read "could not finish" when something is known to be wrong.
    if any(r.status != "unknown" and not r.matches() for r in results):
        return Exit.FAIL
    return Exit.UNKNOWN if any(r.status == "unknown" for r in results) else Exit.OK


OUTPUT_WHAT = {"--smt2": "an SMT-LIB2 directory", "--cex-dir": "a counterexample directory"}


def _check_output(work: Callable[[], None]) -> None:
    """Run a write under `redline.output`'s policy; what it refuses is bad input (exit 2)."""
    try:
        work()
    except output.OutputError as e:
        raise BadInput(str(e)) from None


def _nested(a: Path, b: Path) -> bool:
    a, b = a.absolute(), b.absolute()
    return a == b or a in b.parents or b in a.parents


# ---- diff -----------------------------------------------------------------

def cmd_diff(args: argparse.Namespace) -> int:
    program = _require_program(args)
    old, new = ruleset_named(program, args.old), ruleset_named(program, args.new)
    if args.cex_dir:  # refused before any solving
        _check_output(partial(output.check_dir, Path(args.cex_dir), "a diff witness directory"))
    result = _solving(args, lambda: semantic_diff(program, old, new, args.timeout * 1000, args.seed, args.limit, args.rlimit))
    if args.cex_dir:
        _check_output(lambda: output.replace_dir(Path(args.cex_dir), diff_files(result), "a diff witness directory"))
    if args.format == "json":
        print(json.dumps(diff_json(result), indent=2))
    else:
        print(format_diff(result, args.cex_dir, program))
    if result.intent.status == "violated":
        return Exit.FAIL
    unsettled = diff_unsettled(result)
    for line in unsettled:
        print(f"redline: UNKNOWN: {line}", file=sys.stderr)
    return Exit.UNKNOWN if unsettled else Exit.OK


# ---- liveness -------------------------------------------------------------

def cmd_liveness(args: argparse.Namespace) -> int:
    """Can each check reject and each exception decide something? Exit 1 with --fail-on-dead if not; 3 if unsettled."""
    from redline.props.liveness import format_liveness, liveness

    program = _require_program(args)
    rs = ruleset_named(program, args.ruleset)
    result = _solving(args, lambda: liveness(program, rs, args.timeout * 1000, args.seed, args.rlimit))
    print(json.dumps(liveness_json(result), indent=2) if args.format == "json" else format_liveness(result))
    if args.fail_on_dead and (result.counts.dead or result.counts.redundant or result.counts.dead_disjuncts):
        return Exit.FAIL
    if not result.complete:
        print(f"redline: UNKNOWN: the liveness of {result.counts.unknown} rule(s) of {rs.name} could not be settled",
              file=sys.stderr)
        return Exit.UNKNOWN
    return Exit.OK


# ---- report ---------------------------------------------------------------

def cmd_report(args: argparse.Namespace) -> int:
    """An evidence bundle for a modification; exit codes in README.md (`redline report`)."""

    from redline import report
    project = project_of(args)
    extra = [Path(p) for p in args.paths] or list(project.proofs)
    program = _require_program(args, extra)
    mod = report.modification_of(program, args.modification)
    out = Path(args.out)
    try:
        cvc5 = report.load_cvc5()
        report.bundle.check_target(out)
    except (report.SolverMissing, report.BundleError) as e:
        raise BadInput(str(e)) from None
    report.require_property_about(program, mod)
    files = [report.RuleFile(name, data) for name, data in named_rule_files([*project.rules, *extra])]
    start = time.perf_counter()
    without_fleet(args)
    # The fleet first: a bad one, or an engine that cannot run, is refused (exit 2) before minutes of solving.
    impact = None if args.fleet is None else report.fleet_impact(
        program, mod, report.FleetInput(Path(args.fleet), usage.instant(args.at), args.visit_cost, engine_of(args)))
    settings = report.Settings(mod.name, args.timeout * 1000, args.rlimit, args.seed)
    built = _solving(args, lambda: report.build_bundle(program, files, settings, cvc5=cvc5, impact=impact))
    try:
        report.write_bundle(built.files, out)
    except report.BundleError as e:
        raise BadInput(str(e)) from None
    seconds = time.perf_counter() - start
    ev = built.evidence
    n = ev.counts()
    for p in ev.failures():
        print(f"redline: ERROR: {p}", file=sys.stderr)
    for p in ev.unsettled:
        print(f"redline: {p}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps({"out": str(out), "seconds": round(seconds, 3), **n, "problems": ev.problems,
                          "unsettled": ev.unsettled}, indent=2))
    else:
        print(format_bundle_written(n, out, seconds))
    from redline.impact.render import replay_bugs

    bugs = replay_bugs((impact or {}).get("replay"))
    for line in bugs:  # as `impact replay` says them: a bug in redline, not a finding
        print(f"redline: {line}", file=sys.stderr)
    return Exit.INTERNAL if bugs else report.exit_status(ev)


# ---- fmt ------------------------------------------------------------------

def cmd_fmt(args: argparse.Namespace) -> int:
    """Lay out rule files, comments kept: print them, or `--check` / `--diff` (exit 1 where one would change), or `--write`."""
    if args.write and (args.check or args.diff):
        raise BadInput("--write rewrites the files; it does not go with --check or --diff")
    status, changed = Exit.OK, 0
    files = rule_files([Path(p) for p in args.paths])
    for f in files:
        src = rule_source(f)
        text, diags = format_source(src)
        if text is None:
            print_diagnostics(diags, args.format)
            status = Exit.USAGE
            continue
        if text != src.text:
            changed += 1
            if args.write:
                _check_output(partial(output.rewrite_text, f, text))
            if args.check:
                print(f"{src.path}: not in canonical layout", file=sys.stderr)
            if args.diff:
                sys.stdout.writelines(difflib.unified_diff(
                    src.text.splitlines(keepends=True), text.splitlines(keepends=True), f"{src.path}", f"{src.path} (formatted)"))
        if not (args.check or args.diff or args.write):
            print(text, end="")
    if args.write:
        print(f"{changed} file(s) reformatted, {len(files) - changed} unchanged", file=sys.stderr)
    if status == Exit.OK and changed and (args.check or args.diff):
        status = Exit.FAIL
    return status


# ---- impact ---------------------------------------------------------------

def cmd_impact(args: argparse.Namespace) -> int:
    import redline.impact.run as impact
    from redline.impact.render import format_fleet, format_replay, replay_bugs

    program = _require_program(args)
    bad_rows = Path(args.bad_rows) if getattr(args, "bad_rows", None) else None
    try:
        if args.question == "generate":
            params = impact.FleetParams(
                devices=args.devices, requests=args.requests, smets1_share=args.smets1_share,
                wrong_no_share=args.wrong_no_share, suppliers=args.suppliers, dnos=args.dnos, gts=args.gts,
                churn=args.churn, correction_share=args.correction_share, seed=args.seed)
            counts = impact.run_generate(program, params, Path(args.out), args.threads)
            print(json.dumps(counts) if args.format == "json" else
                  f"wrote {args.out}: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
            return Exit.OK
        rulesets = rulesets_of(program, args.ruleset)
        root = Path(args.fleet)
        if not root.is_dir():
            raise BadInput(f"{root}: not a directory of fleet tables")
        if args.question == "fleet":
            result = impact.run_fleet(program, rulesets, root, usage.instant(args.at), args.visit_cost, bad_rows, args.threads,
                                      engine_of(args))
            print(json.dumps(result, indent=2) if args.format == "json" else format_fleet(result))
        else:
            verdicts = Path(args.verdicts) if args.verdicts else None
            result = impact.run_replay(program, rulesets, root, bad_rows, verdicts, args.examples, args.threads, engine_of(args))
            print(json.dumps(result, indent=2) if args.format == "json" else format_replay(result))
            bugs = replay_bugs(result)
            for line in bugs:
                print(f"redline: {line}", file=sys.stderr)
            return Exit.INTERNAL if bugs else Exit.OK
    except (impact.ImpactInputError, impact.Unsupported, impact.OutputError, impact.EngineUnavailable) as e:
        raise BadInput(str(e)) from None
    return Exit.OK


# ---- codegen --------------------------------------------------------------

GENERATED_HEADER = b"# Generated by `redline codegen --ruleset "  # the first line of every module it writes: how it knows its own

def cmd_codegen(args: argparse.Namespace) -> int:
    """Write a rule set as a standalone Python validator (standard library only)."""
    import hashlib

    from redline.codegen import CodegenError, RuleFile, dependencies, generate

    project = project_of(args)
    program = _require_program(args)
    rs = ruleset_named(program, args.ruleset)
    if args.output not in (None, "-"):
        _check_output(lambda: output.check_file(Path(args.output), GENERATED_HEADER, "a validator"))
    files = [RuleFile(name, data) for name, data in named_rule_files(project.rules)]
    files = dependencies(program, rs, files)  # the header names only these, and so does --format json
    try:
        text = generate(program, rs, files)
    except CodegenError as e:
        raise BadInput(f"cannot generate a validator for `{rs.name}`: {e}") from None
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return Exit.OK
    out = Path(args.output)
    _check_output(lambda: output.write_file(out, text.encode("utf-8"), GENERATED_HEADER, "a validator"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if args.format == "json":
        print(json.dumps({"ruleset": rs.name, "output": str(out), "sha256": digest,
                          "rule_files": [{"path": f.name, "sha256": f.sha256} for f in files]}, indent=2))
    else:
        print(f"wrote {out}: validator for `{rs.name}` ({len(text.splitlines())} lines, sha256 {digest[:16]}...)")
    return Exit.OK


# ---- lsp ------------------------------------------------------------------

def cmd_lsp(args: argparse.Namespace) -> int:
    """Serve the language server protocol over standard input and output until the editor says exit."""
    try:
        from redline.lsp.server import serve
    except ImportError as e:
        raise BadInput(f"`redline lsp` needs pygls ({e}); install it with `pip install pygls`") from None
    rules = Path(args.rules).resolve() if args.rules else None
    if rules is not None and not rules.is_dir():
        raise BadInput(f"{args.rules}: rules directory not found")
    serve(rules)
    return Exit.OK


# ---- entry point ----------------------------------------------------------

def make_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people (the default) or JSON for programs (docs/formats.md)")
    common.add_argument("--rules", metavar="DIR", help="the rules directory, instead of the configuration's or the "
                        "shipped SEC rules (default: redline.toml / [tool.redline] found upwards, else the shipped rules)")
    common.add_argument("--all-warnings", action="store_true",
                        help="show every warning in full (default: several alike in one file are told in one line)")
    parser = _Parser(prog="redline", description="SEC service-request rules: check, validate, test.")
    parser.add_argument("--version", action="version", version=usage.version_text(),
                        help="print the versions of redline, Python, Z3 and lark, and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("check", parents=[common], help="parse and check rule files")
    p.add_argument("-v", "--verbose", action="store_true", help="say where the rules came from and list every file loaded")
    p.add_argument("paths", nargs="*", help="extra rule files or directories (default: rules/ and proofs/)")
    p.set_defaults(run=cmd_check)
    p = sub.add_parser("validate", parents=[common], help="run service requests (REQUEST.json or DUIS XML) through a rule set")
    p.add_argument("--ruleset", required=True, metavar="NAME", help="the rule set to judge by, e.g. baseline or mp107")
    p.add_argument("--state", required=True, metavar="STATE.json", help="the world the requests are judged in")
    p.add_argument("--fail-on-reject", action="store_true", help="exit 1 if any request is rejected")
    p.add_argument("--role", metavar="ROLE", help="the sender's User Role for DUIS XML requests (default: from the "
                   "signing certificate, through the state's signing_certificates)")
    p.add_argument("--max-xml-bytes", type=usage.byte_bound, default=DEFAULT_MAX_BYTES, metavar="N",
                   help=f"refuse a DUIS XML request larger than this (default {DEFAULT_MAX_BYTES})")
    p.add_argument("--max-json-bytes", type=usage.byte_bound, default=MAX_JSON_BYTES, metavar="N",
                   help=f"refuse a STATE.json or REQUEST.json larger than this (default {MAX_JSON_BYTES})")
    p.add_argument("request", nargs="+", metavar="REQUEST",
                   help="REQUEST.json or DUIS XML (recognised by content); several files or a directory: JSON Lines")
    p.set_defaults(run=cmd_validate)
    p = sub.add_parser("test", parents=[common], help="run the scenarios written in the rule language")
    p.add_argument("paths", nargs="*", help="extra scenario files or directories")
    p.set_defaults(run=cmd_test)
    p = sub.add_parser("prove", parents=[common], help="prove the properties in proofs/")
    p.add_argument("paths", nargs="*", help="property files or directories (default: proofs/)")
    p.add_argument("--property", metavar="NAME", help="prove only this property")
    p.add_argument("--modification", metavar="NAME",
                   help="the properties naming this modification, and the generic ones (proofs/generic.redline) applied to it and its base")
    p.add_argument("--timeout", type=usage.timeout, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--rlimit", type=usage.rlimit, default=DEFAULT_RLIMIT, help="Z3 resource limit per call, for reproducible give-ups")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.add_argument("--smt2", metavar="DIR", help="write every proof obligation as SMT-LIB2")
    p.add_argument("--depth", type=usage.depth, default=None, metavar="K",
                   help=f"how many steps the model checker searches for a run (default 4, at most {usage.MAX_DEPTH})")
    p.add_argument("--cex-dir", metavar="DIR", help="write each counterexample and witness as state.json / request.json")
    p.set_defaults(run=cmd_prove)
    p = sub.add_parser("diff", parents=[common], help="the semantic difference between two rule sets")
    p.add_argument("old", help="the rule set before, e.g. baseline")
    p.add_argument("new", help="the rule set after, e.g. mp107")
    p.add_argument("--timeout", type=usage.timeout, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.add_argument("--limit", type=usage.positive, default=2000, help="stop after this many regions of requests (default 2000)")
    p.add_argument("--rlimit", type=usage.rlimit, default=DEFAULT_RLIMIT, help="Z3 resource limit per call, for reproducible give-ups")
    p.add_argument("--cex-dir", metavar="DIR", help="write each witness as DIR/region-N (and DIR/intent-N) state.json / request.json")
    p.set_defaults(run=cmd_diff)
    p = sub.add_parser("liveness", parents=[common], help="can every check reject and every exception decide a request?")
    p.add_argument("--ruleset", required=True, metavar="NAME", help="the rule set whose rules are examined")
    p.add_argument("--fail-on-dead", action="store_true", help="exit 1 if a check or exception is dead or redundant, or a disjunct of a condition never holds")
    p.add_argument("--timeout", type=usage.timeout, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--rlimit", type=usage.rlimit, default=DEFAULT_RLIMIT, help="Z3 resource limit per call, for reproducible give-ups")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.set_defaults(run=cmd_liveness)
    p = sub.add_parser("report", parents=[common], help="write an evidence bundle for a modification (HTML, Markdown, JSON, SMT-LIB2)")
    p.add_argument("paths", nargs="*", help="property files or directories (default: proofs/)")
    p.add_argument("--modification", default="mp107", metavar="NAME", help="the modification (default mp107)")
    p.add_argument("--out", default=".redline-out/evidence", metavar="DIR", help="the bundle directory (default .redline-out/evidence)")
    p.add_argument("--timeout", type=usage.timeout, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--rlimit", type=usage.rlimit, default=DEFAULT_RLIMIT, help="Z3 resource limit per call")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.add_argument("--fleet", metavar="DIR", help="add the fleet impact (redline impact fleet and replay) of these fleet tables")
    p.add_argument("--at", metavar="TIME", help="with --fleet: the instant to judge the fleet at (default: now; give it for a reproducible bundle)")
    p.add_argument("--visit-cost", type=usage.cost, metavar="AMOUNT", help="with --fleet: the cost of one site visit")
    add_engine_options(p, default=None, given="with --fleet: ")
    p.set_defaults(run=cmd_report)
    p = sub.add_parser("fmt", parents=[common], help="lay out rule files (comments kept); print them unless told otherwise")
    p.add_argument("paths", nargs="+", help="rule files or directories (their *.redline files)")
    p.add_argument("--check", action="store_true", help="print nothing; exit 1 and name each file that would change")
    p.add_argument("--diff", action="store_true", help="print a unified diff of each file that would change; exit 1 if any")
    p.add_argument("--write", action="store_true", help="rewrite the files that would change, in place (atomically)")
    p.set_defaults(run=cmd_fmt)
    p = sub.add_parser("codegen", parents=[common], help="write a rule set as a standalone Python validator")
    p.add_argument("--ruleset", required=True, metavar="NAME", help="the rule set to write as a validator")
    p.add_argument("-o", "--output", metavar="FILE.py", help="where to write the module (default: standard output)")
    p.set_defaults(run=cmd_codegen)
    add_impact_parser(sub, common, _Parser, cmd_impact)
    p = sub.add_parser("completion", help="print a shell completion script",
                       description="Print a completion script for bash, zsh or fish, written from this command line "
                                   "itself. Use: eval \"$(redline completion bash)\" in ~/.bashrc; "
                                   "eval \"$(redline completion zsh)\" in ~/.zshrc; "
                                   "redline completion fish > ~/.config/fish/completions/redline.fish")
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    p.set_defaults(run=cmd_completion)
    p = sub.add_parser("lsp", parents=[common], help="run the language server (for editors) on standard input and output",
                       description="Serve the Language Server Protocol on stdin/stdout. Each document is checked with "
                                   "--rules DIR, else as redline check would from its directory (a project configuration "
                                   "above it), else with its rules/ (enclosing, or beside). --format has no effect.")
    p.add_argument("--stdio", action="store_true", help="accepted for editors that pass it; stdio is the only transport")
    p.set_defaults(run=cmd_lsp)
    for name, sp in sub.choices.items():
        examples, exits = usage.USAGE_NOTES[name]
        sp.formatter_class = argparse.RawDescriptionHelpFormatter
        codes = "".join(line + "\n" for line in exits.splitlines() if not line.endswith(" -"))  # "-": never given
        sp.epilog = "examples:\n" + "".join(f"  {x}\n" for x in examples) + "\nexit codes (docs/exit-codes.md):\n" + codes
    return parser


def cmd_completion(args: argparse.Namespace) -> int:
    print(completion_script(args.shell, make_parser()), end="")
    return Exit.OK


def main(argv: Sequence[str] | None = None) -> int:
    args = usage.parse(make_parser(), argv)
    try:
        code: int = args.run(args)
        return code
    except BadInput as e:
        print(f"redline: error: {e}", file=sys.stderr)
        return Exit.USAGE
    except SystemExit as e:  # a command that stopped early (rules that do not check) keeps its code
        return e.code if isinstance(e.code, int) else Exit.USAGE
    except RecursionError:
        print("redline: error: input nested too deeply", file=sys.stderr)
        return Exit.USAGE
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except BrokenPipeError:
        return Exit.OK
    except OSError as e:  # a path the file system refuses (name too long, a loop) that no reader caught
        return usage.path_refused(e)
    except Exception as e:  # a bug in redline, not bad input: say so, without a traceback
        print(f"redline: internal error: {type(e).__name__}: {e} (this is a bug in redline; please report it)", file=sys.stderr)
        return Exit.INTERNAL


def entry() -> NoReturn:
    sys.exit(main())
