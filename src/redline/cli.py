"""The command line: the only module that reads files, prints and exits.

Exit codes follow docs/exit-codes.md. Every failure a user can cause is turned
into a diagnostic on stderr; `main` also guards against internal errors so
that no input ever shows a Python traceback.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from redline import output
from redline.build import build
from redline.check.checked import Program, RuleSet
from redline.completion import SHELLS
from redline.completion import script as completion_script
from redline.diagnostics import Diagnostic, bad_scenario, property_error, unsupported
from redline.duis import DEFAULT_MAX_BYTES, DuisError, map_request, parse_xml
from redline.interp import InputError, Validator, load_request, load_state
from redline.interp.values import State, parse_time
from redline.progress import Ticker
from redline.project import ConfigError, Project, display_names, resolve, shipped
from redline.props import ReplayError, prove
from redline.props.diff import diff as semantic_diff
from redline.props.prover import property_diagnostics
from redline.render import render_all_text, render_json
from redline.scenarios import run_scenario
from redline.smt.encode import Unsupported
from redline.smt.properties import PropertyError
from redline.smt.solver import DEFAULT_RLIMIT
from redline.source import Source
from redline.syntax import format_source

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_RULE_FILE_BYTES = 1024 * 1024  # the largest shipped rule file is under 50 KiB


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"redline: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def repo_rules() -> Path:
    """The SEC rules shipped with redline (in the package, or beside src/ in a checkout)."""
    return shipped()[0]


def project_of(args: argparse.Namespace) -> Project:
    """The rules and proofs this command reads: --rules, else a configuration, else the shipped ones."""
    try:
        return resolve(args.rules)
    except ConfigError as e:
        raise UsageError(str(e)) from None


def read_bounded(path: Path, cap: int, what: str, advice: str) -> bytes:
    """The bytes of `path`, refused beyond `cap`: at most cap + 1 bytes are ever read, so a pipe or a
    device (`/dev/zero`) is bounded like a file, whatever its size claims to be."""
    try:
        with path.open("rb") as f:
            data = f.read(cap + 1)
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > cap:
        raise UsageError(f"{path}: larger than {_size(cap)}, the bound for {what}; {advice}")
    return data


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n:,} bytes"


def _rule_bytes(path: Path) -> bytes:
    """A rule file's bytes. Checking costs about 190 times a rule file's size in memory, so its size is bounded."""
    return read_bounded(path, MAX_RULE_FILE_BYTES, "a rule file", "split it into several files (a rules directory takes any number)")


def _read_text(path: Path) -> str:
    data = _rule_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text: {e.reason} at byte {e.start}") from None


def rule_files(paths: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(p.rglob("*.redline")))
        elif p.exists():
            found.append(p)
        else:
            raise UsageError(f"{p}: no such file or directory")
    unique: dict[Path, Path] = {}
    for f in found:
        unique.setdefault(f.resolve(), f)
    return list(unique.values())


def load_program(rules: Path | Sequence[Path], extra: Sequence[Path]) -> tuple[Program | None, list[Diagnostic]]:
    roots = [rules] if isinstance(rules, Path) else list(rules)
    for r in roots:
        if not r.exists():
            raise UsageError(f"{r}: rules directory not found (give --rules DIR)")
    files = rule_files([*roots, *extra])
    sources = [Source(str(_display(f)), _read_text(f)) for f in files]
    return build(sources)


def _display(p: Path) -> Path:
    try:
        return p.resolve().relative_to(Path.cwd())
    except ValueError:
        return p


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
        raise SystemExit(EXIT_USAGE)
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
    if program is not None:  # property bodies get their types from the prover's vocabulary
        diags += [unsupported(span, msg) if unsup else property_error(span, msg)
                  for span, msg, unsup in property_diagnostics(program)]
        if any(d.is_error for d in diags):
            program = None
    errors = sum(d.is_error for d in diags)
    if args.format == "json":
        print(json.dumps({"ok": errors == 0, "diagnostics": [render_json(d) for d in diags]}, indent=2))
    else:
        for line in render_all_text(diags, args.all_warnings):
            print(line, file=sys.stderr)
        if program is not None:
            rs = ", ".join(f"{r.name} ({len(r.checks)} checks)" for r in program.rulesets.values())
            srvs = len(next(iter(program.rulesets.values())).catalogue) if program.rulesets else 0
            print(f"ok: {srvs} SRVs; rule sets {rs}; {len(program.assumptions)} assumptions; "
                  f"{len(program.properties)} properties; {len(program.scenarios)} scenarios")
        else:
            print(f"{errors} error(s)", file=sys.stderr)
    return EXIT_OK if errors == 0 else EXIT_FAIL


# ---- validate -------------------------------------------------------------

def read_json(path: str, cap: int = MAX_JSON_BYTES) -> Any:
    """A JSON file (STATE.json or REQUEST.json), read to at most `cap` bytes; UsageError for anything else."""
    return parse_json(read_bounded(Path(path), cap, "a JSON file", "give a larger --max-json-bytes"), path)


def parse_json(raw: bytes, path: str) -> Any:
    """Strict JSON: UTF-8, no repeated keys, no NaN or Infinity, bounded integers and nesting."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text: {e.reason} at byte {e.start}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys, parse_int=_bounded_int)
    except json.JSONDecodeError as e:
        lines = text.split("\n")  # JSON counts lines by \n alone; splitlines() would also split at \r, \x0b, U+2028...
        line = lines[e.lineno - 1] if e.lineno <= len(lines) else ""
        raise UsageError(f"{path}:{e.lineno}:{e.colno}: error[json]: invalid JSON: {e.msg}\n"
                         f"{e.lineno:>4} | {line}\n     | {' ' * (e.colno - 1)}^") from None
    except (ValueError, RecursionError) as e:
        raise UsageError(f"{path}: invalid JSON: {e}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Fail closed on a repeated key: json.loads would silently keep the last one."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key `{k}` appears twice in one object")
        out[k] = v
    return out


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 30:
        raise ValueError(f"the number {text[:20]}... is too long")
    return int(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"`{name}` is not valid JSON")


def cmd_validate(args: argparse.Namespace) -> int:
    program = _require_program(args)
    rs = program.ruleset(args.ruleset)
    if rs is None:
        raise UsageError(f"unknown rule set `{args.ruleset}`; the rules define {', '.join(sorted(program.rulesets))}")
    roles = program.roles()
    if args.role is not None and args.role not in roles:
        raise UsageError(f"--role: unknown User Role `{args.role}`; expected one of {', '.join(roles)}")
    try:
        state = load_state(read_json(args.state, args.max_json_bytes), program)
    except InputError as e:
        raise UsageError(f"{args.state}: {e.where}: {e.message}") from None
    run = _Run(program, rs, Validator(rs), state, args.role, args.max_xml_bytes, args.max_json_bytes)
    paths = [Path(p) for p in args.request]
    if len(paths) == 1 and not paths[0].is_dir():
        return _validate_single(run, paths[0], args)
    return _validate_batch(run, request_inputs(paths), args)


@dataclass(frozen=True, slots=True)
class _Run:
    program: Program
    ruleset: RuleSet
    validator: Validator
    state: State
    role: str | None
    max_xml_bytes: int
    max_json_bytes: int = MAX_JSON_BYTES


def request_inputs(paths: Sequence[Path]) -> list[Path]:
    """The files of a batch in input order: a directory gives its *.xml and *.json files (not recursing), sorted by name."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in (".xml", ".json")))
        else:
            out.append(p)
    return out


def _read_request(path: Path, xml_bound: int, json_bound: int) -> tuple[bool, bytes]:
    """(is DUIS XML, the bytes) of a request file, read once (a pipe cannot be read twice) and to at most
    its bound + 1 bytes: enough to refuse it. A DUIS request is recognised by content: it starts with `<`,
    after an optional BOM and white space; anything else is taken for REQUEST.json."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
            is_xml = head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")
            bound = xml_bound if is_xml else json_bound
            more = len(head) == 4096 and len(head) <= bound  # else the head is all there is, or already too much
            data = head + f.read(bound + 1 - len(head)) if more else head
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from None
    if not is_xml and len(data) > json_bound:
        raise UsageError(f"{path}: larger than {_size(json_bound)}, the bound for a JSON file; give a larger --max-json-bytes")
    return is_xml, data


def validate_file(run: _Run, path: Path) -> tuple[dict[str, Any], bool]:
    """One request file (REQUEST.json or DUIS XML) -> (verdict record, accepted); UsageError for bad input.

    A DUIS request's record also carries the mapped REQUEST.json under `request`
    and what the XML says beside it under `duis`."""
    is_xml, data = _read_request(path, run.max_xml_bytes, run.max_json_bytes)
    if not is_xml:
        try:
            request = load_request(parse_json(data, str(path)), run.state, run.program, run.ruleset)
        except InputError as e:
            raise UsageError(f"{path}: {e.where}: {e.message}") from None
        verdict = run.validator.validate(run.state, request)
        return verdict.to_json(), verdict.accepted
    try:
        mapped = map_request(parse_xml(data, run.max_xml_bytes),
                             run.ruleset.catalogue, run.state.signing_certificates, run.role)
    except DuisError as e:
        raise UsageError(f"{path}: {e.where}: {e.message}") from None
    try:
        request = load_request(mapped.request, run.state, run.program, run.ruleset, where="request")
    except InputError as e:
        raise UsageError(f"{path}: the mapped {e.where}: {e.message}") from None
    verdict = run.validator.validate(run.state, request)
    return {**verdict.to_json(), "request": mapped.request, "duis": mapped.duis}, verdict.accepted


def _validate_single(run: _Run, path: Path, args: argparse.Namespace) -> int:
    out, accepted = validate_file(run, path)
    if args.format == "json":
        print(json.dumps(out, indent=2))
    else:
        if "duis" in out:
            print(format_mapped(out["request"], out["duis"]))
        print(format_verdict(out))
    return EXIT_FAIL if (args.fail_on_reject and not accepted) else EXIT_OK


PROGRESS_MIN_INPUTS = 500


def _validate_batch(run: _Run, inputs: list[Path], args: argparse.Namespace) -> int:
    """JSON Lines on stdout, one record per input in input order; a bad input is an error record
    and the batch goes on. Exit 2 if any input was bad, else 1 with --fail-on-reject and a reject, else 0."""
    bad = rejected = 0
    total = len(inputs)
    show = total >= PROGRESS_MIN_INPUTS or (sys.stderr.isatty() and total > 1)
    step = max(1, total // 10)
    out = sys.stdout
    internal = 0
    for i, path in enumerate(inputs, 1):
        try:
            record, accepted = validate_file(run, path)
            rejected += not accepted
        except UsageError as e:
            bad += 1
            record = {"error": str(e)}
        except RecursionError:
            bad += 1
            record = {"error": f"{path}: nested too deeply"}
        except Exception as e:  # a bug in redline: the other inputs still get their records; exit 70 at the end
            internal += 1
            record = {"error": f"internal error: {type(e).__name__}: {e} (this is a bug in redline; please report it)"}
            print(f"redline: {path}: {record['error']}", file=sys.stderr)
        out.write(json_line({"input": str(path), **record}))
        if show and (i % step == 0 or i == total):
            end = "\r" if sys.stderr.isatty() and i < total else "\n"
            print(f"redline: validated {i}/{total} ({bad} bad input{'s' if bad != 1 else ''})", end=end, file=sys.stderr, flush=True)
    out.flush()
    if internal:
        return EXIT_INTERNAL
    if bad:
        return EXIT_USAGE
    return EXIT_FAIL if (args.fail_on_reject and rejected) else EXIT_OK


_SURROGATE = re.compile("[\ud800-\udfff]")


def json_line(record: dict[str, Any]) -> str:
    """One JSON Lines record that strict readers accept: a file name with bytes that are not UTF-8 reaches
    Python as lone surrogates, which JSON cannot carry, so each such byte is shown as `\\xNN` instead."""
    line = json.dumps(record)
    if "\\ud" in line:
        line = json.dumps(_printable(record))
    return line + "\n"


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub(lambda m: f"\\x{ord(m[0]) - 0xDC00:02x}" if "\udc80" <= m[0] <= "\udcff" else f"\\u{ord(m[0]):04x}", value)
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def format_mapped(request: dict[str, Any], duis: dict[str, Any]) -> str:
    target = f"device {request['device']}" if request.get("device") else "no device"
    line = (f"DUIS {request['srv']} ({duis['request_id']}, Command Variant {duis['command_variant']}): "
            f"{request['sender']} as {request['role']} (from {duis['role_from']}), {target}")
    cert = duis.get("certificate")
    if cert:
        line += f"; new {cert['remote_party_role']} certificate owned by {cert['owner']}"
    return line


def format_verdict(v: dict[str, Any]) -> str:
    if v["verdict"] == "accept":
        head = f"{v['ruleset']}: ACCEPT"
        if v["effects"]:
            head += "; " + "; ".join(f"{e['device']} {e['trust_anchor']} cell := {e['owner']}" for e in v["effects"])
    else:
        code = f" {v['code']}" if v["code"] else " (no DUIS code)"
        dcc = " (accepted by the DCC, no effect on the device)" if v["dcc_accepted"] else ""
        head = f"{v['ruleset']}: REJECT at {v['layer']}{code} by {v['check']} [{v['clause']}]{dcc}"
    lines = [head]
    width = max((len(t["check"]) for t in v["trace"]), default=0)
    for t in v["trace"]:
        waived = f" (waived by {t['waived_by']})" if "waived_by" in t else ""
        lines.append(f"  {t['outcome']:<7} {t['layer']:<6} {t['check']:<{width}}  {t['clause']}{waived}")
    return "\n".join(lines)


# ---- test -----------------------------------------------------------------

def cmd_test(args: argparse.Namespace) -> int:
    program = _require_program(args, [Path(p) for p in args.paths])
    results = []
    cache: dict[str, Validator] = {}
    for sc in program.scenarios:
        results.extend(run_scenario(program, sc, cache))
    invalid = [r for r in results if r.actual is None]
    if invalid:  # the checker missed something the loader rejects: still bad input, with a location
        print_diagnostics([bad_scenario(r.scenario.span, r.problem or "invalid scenario") for r in invalid], args.format)
        return EXIT_USAGE
    failed = [r for r in results if not r.ok]
    if args.format == "json":
        print(json.dumps({"results": [
            {"scenario": r.scenario.name, "ruleset": r.ruleset, "ok": r.ok, "expected": r.expected,
             "actual": r.actual, "problem": r.problem} for r in results]}, indent=2))
    else:
        by_scenario: dict[str, list[Any]] = {}
        for r in results:
            by_scenario.setdefault(r.scenario.name, []).append(r)
        width = max((len(n) for n in by_scenario), default=0)
        for name, rs in by_scenario.items():
            mark = "ok  " if all(r.ok for r in rs) else "FAIL"
            outcomes = " | ".join(f"{r.ruleset}: {_short(r.actual)}" for r in rs)
            print(f"{mark} {name:<{width}}  {outcomes}")
            for r in rs:
                if not r.ok:
                    print(f"       {r.ruleset}: {r.problem}")
        print(f"{len(program.scenarios)} scenarios, {len(results)} checks: {len(results) - len(failed)} passed, {len(failed)} failed")
    return EXIT_FAIL if failed else EXIT_OK


# ---- prove ----------------------------------------------------------------

EXIT_UNKNOWN = 3
EXIT_INTERNAL = 70
T = TypeVar("T")


def _solving(args: argparse.Namespace, work: Callable[[], T]) -> T:
    """Run a solver-backed command, turning what it refuses into diagnostics (exit 2) and a
    model that does not replay into an internal error (exit 70): never a finding."""
    try:
        with Ticker(args.command):
            return work()
    except PropertyError as e:
        print_diagnostics([property_error(e.span, e.message)], args.format)
        raise SystemExit(EXIT_USAGE) from None
    except Unsupported as e:
        print_diagnostics([unsupported(e.span, e.what)], args.format)
        raise SystemExit(EXIT_USAGE) from None
    except ReplayError as e:
        print(f"redline: internal error: a solver model did not replay through the interpreter: {e}", file=sys.stderr)
        raise SystemExit(EXIT_INTERNAL) from None


def cmd_prove(args: argparse.Namespace) -> int:
    extra = [Path(p) for p in args.paths] or list(project_of(args).proofs)
    program = _require_program(args, extra)
    if args.property and all(p.name != args.property for p in program.properties):
        names = [p.name for p in program.properties]
        raise UsageError(f"unknown property `{args.property}`; the properties are {', '.join(names)}")
    if not program.properties:
        raise UsageError("no properties to prove (give the files that hold them)")
    outputs = {k: Path(v) for k, v in (("--smt2", args.smt2), ("--cex-dir", args.cex_dir)) if v}
    if len(outputs) == 2 and _nested(outputs["--smt2"], outputs["--cex-dir"]):
        raise UsageError("--smt2 and --cex-dir must be separate directories, neither inside the other "
                         "(each is replaced whole)")
    for flag, path in outputs.items():  # refused before any solving
        _check_output(partial(output.check_dir, path, OUTPUT_WHAT[flag]))
    obligations: dict[str, bytes] = {}

    def writer(name: str, text: str) -> None:
        obligations[f"{name}.smt2"] = text.encode("utf-8")
    results = _solving(args, lambda: prove(program, args.property, args.timeout * 1000, args.rlimit, args.seed,
                                           writer if args.smt2 else None, args.depth))
    if args.smt2:
        _check_output(lambda: output.replace_dir(Path(args.smt2), obligations, OUTPUT_WHAT["--smt2"]))
    if args.cex_dir:
        _check_output(lambda: output.replace_dir(Path(args.cex_dir), _cases(results), OUTPUT_WHAT["--cex-dir"]))
    if args.format == "json":
        print(json.dumps({"results": [r.to_json() for r in results]}, indent=2))
    else:
        for r in results:
            print(format_result(r, args.cex_dir))
        ok = sum(r.matches() for r in results)
        print(f"{len(results)} results: {ok} as expected, {len(results) - ok} not")
    # As in `report` and `liveness`, a result settled against its expectation (1) outranks one left
    # unknown (3): a reviewer must not read "could not finish" when something is known to be wrong.
    if any(r.status != "unknown" and not r.matches() for r in results):
        return EXIT_FAIL
    return EXIT_UNKNOWN if any(r.status == "unknown" for r in results) else EXIT_OK


OUTPUT_WHAT = {"--smt2": "an SMT-LIB2 directory", "--cex-dir": "a counterexample directory"}


def _check_output(work: Callable[[], None]) -> None:
    """Run a write under `redline.output`'s policy; what it refuses is bad input (exit 2)."""
    try:
        work()
    except output.OutputError as e:
        raise UsageError(str(e)) from None


def _nested(a: Path, b: Path) -> bool:
    a, b = a.absolute(), b.absolute()
    return a == b or a in b.parents or b in a.parents


def _cases(results: list[Any]) -> dict[str, bytes]:
    """Each counterexample and witness as files to replay: PROPERTY.RULESET/state.json, request.json, ..."""
    files: dict[str, bytes] = {}

    def put(path: str, value: Any) -> None:
        files[path] = (json.dumps(value, indent=2) + "\n").encode("utf-8")
    for r in results:
        found = r.counterexample or r.witness
        if not found:
            continue
        d = f"{r.property}.{r.ruleset}"
        put(f"{d}/state.json", found["state"])
        if found["request"] is not None:
            put(f"{d}/request.json", found["request"])
        for i, c in enumerate(r.candidates, 1):
            put(f"{d}/candidate-{i:02d}.json", c["request"])
        for i, step in enumerate(found.get("trace") or [], 1):  # a run: each step's state and request, to replay
            put(f"{d}/step-{i}-state.json", step["state"])
            if "request" in step:
                put(f"{d}/step-{i}-request.json", step["request"])
    return files


def format_result(r: Any, cex_dir: str | None) -> str:
    mark = "ok  " if r.matches() else "FAIL"
    head = (f"{mark} {r.property} [{r.ruleset}]: {r.status.upper()} (expected {r.expected}); "
            f"{r.proof}, {r.seconds:.2f} s" + (f"; {r.reason}" if r.reason else ""))
    lines = [head] + ([f"    claims: {r.claim}"] if r.claim else [])
    if r.events is not None:
        lines.append("  runs allow " + (", ".join(r.events) or "no events") + "; "
                     + (f"searched to depth {r.depth}" if r.depth is not None and not (r.counterexample or r.witness) else
                        f"a run of {r.depth} step(s)" if r.depth is not None else f"proved by {r.method}"))
    if r.invariant:
        lines.append("  inductive invariant (re-checked: initiation, consecution, safety): " + " and ".join(r.invariant))
    found = r.counterexample or r.witness
    if found:
        lines.append("  " + ("counterexample" if r.counterexample else "witness") + ":")
        names = {v: k for k, v in found["parties"].items()}
        st = found["state"]

        def who(pid: str) -> str:
            return f"{pid} ({names[pid]})" if pid in names else pid
        lines.append(f"    now {st['now']}")
        for pid, p in st["parties"].items():
            lines.append(f"    party {who(pid)}: roles {', '.join(p['roles']) or 'none'}; "
                         f"{'a DCC User' if p['dcc_user'] else 'NOT a DCC User'}")
        for did, d in st["devices"].items():
            anchors = ", ".join(f"{c} owned by {who(o)}" for c, o in d["trust_anchors"].items()) or "none"
            lines.append(f"    device {did}: {d['type']} {d['generation']} {d['smi_status']}, MPxN {d['mpxn']}; trust anchors: {anchors}")
        for mpxn, items in st["registration"].items():
            for a in items:
                lines.append(f"    registered for {mpxn}: {who(a['party'])} as {a['role']} from {a['from']} to {a['to'] or 'open'}")
        if found["values"]:
            lines.append("    with " + ", ".join(f"{k} = {v}" for k, v in found["values"].items()))
        if found.get("trace"):
            lines += _format_trace(found["trace"], who)
        if found["request"]:
            q = found["request"]
            lines.append(f"    request: {who(q['sender'])} as {q['role']} sends {q['srv']}"
                         + (f" replacing {q['remote_party_role']} with {who(q['new_certificate_owner'])}" if q.get("remote_party_role") else ""))
            for key, v in found["verdicts"].items():
                lines.append(f"      under {key.split('@')[1]}: {_short(v)}" + (f" by {v['check']}" if v["check"] else ""))
        if r.candidates:
            lines.append("    what every candidate request gets (the interpreter's verdicts):")
            for c in r.candidates:
                q, v = c["request"], c["verdict"]
                target = f" replacing {q['remote_party_role']} with {who(q['new_certificate_owner'])}" if q.get("remote_party_role") else ""
                why = f" by {v['check']} [{v['clause']}]" if v["check"] else ""
                lines.append(f"      {who(q['sender'])} as {q['role']} sends {q['srv']}{target}: {_short(v)}{why}")
        where = f"{cex_dir}/{r.property}.{r.ruleset}" if cex_dir else "DIR"
        first = next((i for i, st in enumerate(found.get("trace") or [], 1) if "request" in st), None)
        if first is not None:
            lines.append(f"    replay step {first}: redline validate --ruleset {r.ruleset} --state {where}/step-{first}-state.json "
                         f"{where}/step-{first}-request.json" + ("" if cex_dir else "   (write the files with --cex-dir DIR)"))
        request = "request.json" if found["request"] else ("candidate-01.json" if r.candidates else None)
        for rs in r.ruleset.split(".."):
            if request is not None:
                lines.append(f"    replay: redline validate --ruleset {rs} --state {where}/state.json {where}/{request}"
                             + ("" if cex_dir else "   (write the files with --cex-dir DIR)"))
    return "\n".join(lines)


def _format_trace(trace: list[dict[str, Any]], who: Callable[[str], str]) -> list[str]:
    """A run as a reviewer reads it: each step's sender and role, request, verdict with clause, and what changed."""
    lines = []
    for i, (step, nxt) in enumerate(zip(trace, trace[1:], strict=False), 1):
        if "request" in step:
            q, v = step["request"], step["verdict"]
            target = f" replacing {q['remote_party_role']} with {who(q['new_certificate_owner'])}" if q.get("remote_party_role") else ""
            when = (f" over {q['date_range']['from']}..{q['date_range']['to']}" if q.get("date_range") else
                    f" at {q['execution_time']}" if q.get("execution_time") else "")
            waived = [f"{t['check']} waived by {t['waived_by']} [{t['clause']}]" for t in v["trace"] if "waived_by" in t]
            lines.append(f"    step {i}: {who(q['sender'])} as {q['role']} sends {q['srv']}{target}{when}: {v['verdict'].upper()}"
                         + (f" ({'; '.join(waived)})" if waived else " (every check passed)"))
        else:
            ev = step["event"]
            lines.append(f"    step {i}: event {ev['name']} [{ev['cite']}]" + (f": {who(ev['party'])}" if "party" in ev else ""))
        for change in _changes(step["state"], nxt["state"], who):
            lines.append(f"      changed: {change}")
    return lines


def _changes(a: dict[str, Any], b: dict[str, Any], who: Callable[[str], str]) -> list[str]:
    out = []
    if a["now"] != b["now"]:
        out.append(f"now {a['now']} -> {b['now']}")
    for pid, p in b["parties"].items():
        if a["parties"].get(pid, {}).get("dcc_user") != p["dcc_user"]:
            out.append(f"{who(pid)} {'becomes' if p['dcc_user'] else 'is no longer'} a DCC User")
    for did, d in b["devices"].items():
        old = a["devices"].get(did, {}).get("trust_anchors", {})
        for cell in sorted({*old, *d["trust_anchors"]}):
            if old.get(cell) != d["trust_anchors"].get(cell):
                out.append(f"{cell} cell of {did}: {who(old[cell]) if cell in old else 'unset'} -> "
                           f"{who(d['trust_anchors'][cell]) if cell in d['trust_anchors'] else 'unset'}")

    def rows(s: dict[str, Any]) -> set[tuple[str, str, str, str, str]]:
        return {(m, x["party"], x["role"], x["from"], x["to"] or "open") for m, xs in s["registration"].items() for x in xs}
    for m, party, role, start, end in sorted(rows(a) - rows(b)):
        out.append(f"Registration Data for {m} no longer names {who(party)} as {role} from {start} to {end}")
    for m, party, role, start, end in sorted(rows(b) - rows(a)):
        out.append(f"Registration Data for {m} now names {who(party)} as {role} from {start} to {end}")
    return out


# ---- diff -----------------------------------------------------------------

def cmd_diff(args: argparse.Namespace) -> int:
    program = _require_program(args)
    old, new = program.ruleset(args.old), program.ruleset(args.new)
    for name, rs in ((args.old, old), (args.new, new)):
        if rs is None:
            raise UsageError(f"unknown rule set `{name}`; the rules define {', '.join(sorted(program.rulesets))}")
    assert old is not None and new is not None
    if args.cex_dir:  # refused before any solving
        _check_output(partial(output.check_dir, Path(args.cex_dir), "a diff witness directory"))
    result = _solving(args, lambda: semantic_diff(program, old, new, args.timeout * 1000, args.seed, args.limit, args.rlimit))
    if args.cex_dir:
        _check_output(lambda: output.replace_dir(Path(args.cex_dir), _witness_files(result), "a diff witness directory"))
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print(format_diff(result, args.cex_dir))
    if result["intent"]["status"] == "violated":
        return EXIT_FAIL
    unsettled = diff_unsettled(result)
    for line in unsettled:
        print(f"redline: UNKNOWN: {line}", file=sys.stderr)
    return EXIT_UNKNOWN if unsettled else EXIT_OK


def diff_unsettled(d: dict[str, Any]) -> list[str]:
    """What a diff could not settle: an all clear it cannot give (exit 3, as `prove` does for unknown)."""
    out = []
    if not d["complete"]:
        shown = "an uncounted number of" if d["count"] is None else d["count"]
        out.append(f"the diff {d['old']} -> {d['new']} is NOT complete ({d.get('reason')}): "
                   f"differences beyond the {shown} request shapes shown may exist")
    if d["intent"]["status"] == "unknown":
        out.append(f"the intent check is UNKNOWN: {d['intent'].get('reason')}")
    return out


def _diff_witnesses(d: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each witness of a diff with the directory it is written to under --cex-dir."""
    out = [(f"region-{i}", c["witness"]) for i, c in enumerate(d["changes"], 1)]
    return out + [(f"intent-{i}", v["witness"]) for i, v in enumerate(d["intent"]["violations"], 1) if "witness" in v]


def _witness_files(d: dict[str, Any]) -> dict[str, bytes]:
    """Each witness of a diff as files to replay: region-N/state.json, request.json (and intent-N/)."""
    return {f"{name}/{part}.json": (json.dumps(w[part], indent=2) + "\n").encode("utf-8")
            for name, w in _diff_witnesses(d) for part in ("state", "request")}


def format_diff(d: dict[str, Any], cex_dir: str | None = None) -> str:
    """A Markdown table a reviewer can paste into a modification report, then the intent check."""
    count = "an uncounted number of" if d["count"] is None else d["count"]
    head = (f"{d['old']} -> {d['new']}: {count} request shapes (SRV, role, device, target cell) change, in {len(d['changes'])} regions; "
            + ("complete: no difference lies outside them" if d["complete"] else f"NOT complete: {d.get('reason')}"))
    lines = [head, "", "| # | where (all of) | before | after | shapes |", "|---|---|---|---|---|"]

    def outcome(o: dict[str, Any]) -> str:
        return _short(o) + (f" ({o['clause']})" if o["clause"] else "")
    for i, c in enumerate(d["changes"], 1):
        lines.append(f"| {i} | {'; '.join(c['conditions'])} | {outcome(c['before'])} | {outcome(c['after'])} | {c['count']} |")
    lines.append("")
    for i, c in enumerate(d["changes"], 1):
        lines.append(f"region {i}: {c['summary']}")
        lines.append(f"  witness (replayed): {c['witness']['sentence']}")
        where = f"{cex_dir}/region-{i}" if cex_dir else f"DIR/region-{i}"
        for rs in (d["old"], d["new"]):
            lines.append(f"    redline validate --ruleset {rs} --state {where}/state.json {where}/request.json"
                         + ("" if cex_dir else "   (write the files with --cex-dir DIR)"))
    if d.get("terms"):
        lines.append("\nnames the rules define: " + "; ".join(f"{k}: {v}" for k, v in d["terms"].items()))
    if "rejection_moves" in d:
        lines.append("\n" + d["rejection_moves"]["sentence"])
    intent = d["intent"]
    lines.append(f"\nintent: {intent['status']}" + (f" ({intent['reason']})" if intent.get("reason") else ""))
    for v in intent["violations"]:
        lines.append(f"  VIOLATED [{v['kind']}] {v['intent']}: {v['problem']}")
        if "witness" in v:
            q = v["witness"]["request"]
            lines.append(f"    witness: {q['sender']} as {q['role']} sends {q['srv']}: "
                         f"{_short(v['before'])} under {d['old']}, {_short(v['after'])} under {d['new']}")
    return "\n".join(lines)


# ---- liveness -------------------------------------------------------------

def cmd_liveness(args: argparse.Namespace) -> int:
    """Can each check reject and each exception decide something? Exit 1 with --fail-on-dead if not; 3 if unsettled."""
    from redline.props.liveness import format_liveness, liveness

    program = _require_program(args)
    rs = program.ruleset(args.ruleset)
    if rs is None:
        raise UsageError(f"unknown rule set `{args.ruleset}`; the rules define {', '.join(sorted(program.rulesets))}")
    result = _solving(args, lambda: liveness(program, rs, args.timeout * 1000, args.seed, args.rlimit))
    print(json.dumps(result, indent=2) if args.format == "json" else format_liveness(result))
    if args.fail_on_dead and (result["counts"]["dead"] or result["counts"]["redundant"] or result["counts"]["dead_disjuncts"]):
        return EXIT_FAIL
    if not result["complete"]:
        print(f"redline: UNKNOWN: the liveness of {result['counts']['unknown']} rule(s) of {rs.name} could not be settled",
              file=sys.stderr)
        return EXIT_UNKNOWN
    return EXIT_OK


# ---- report ---------------------------------------------------------------

def cmd_report(args: argparse.Namespace) -> int:
    """An evidence bundle for a modification; exit codes in README.md (`redline report`)."""
    import time

    from redline import report
    project = project_of(args)
    extra = [Path(p) for p in args.paths] or list(project.proofs)
    program = _require_program(args, extra)
    mod = program.ruleset(args.modification)
    if mod is None or mod.base is None:
        mods = sorted(rs.name for rs in program.rulesets.values() if rs.base is not None)
        raise UsageError(f"`{args.modification}` is not a modification; the rules define {', '.join(mods) or 'none'}")
    out = Path(args.out)
    try:
        cvc5 = report.load_cvc5()
        report.bundle.check_target(out)
    except (report.SolverMissing, report.BundleError) as e:
        raise UsageError(str(e)) from None
    # A bundle with no property about the modification would read as an empty "all clear".
    named = {part for p in program.properties for key in p.expected for part in key.split("..")}
    if mod.name not in named:
        raise UsageError(f"no property states what is expected of `{mod.name}` (`expect {mod.name} proved|refuted`), "
                         "so a bundle would prove nothing about it; give property files (redline report FILES) "
                         "or list them under `proofs` in the configuration")
    files = []
    found = rule_files([*project.rules, *extra])
    for f, shown in zip(found, display_names(found, [*project.rules, *extra]), strict=True):
        files.append(report.RuleFile(shown, _rule_bytes(f)))
    start = time.perf_counter()
    settings = report.Settings(mod.name, args.timeout * 1000, args.rlimit, args.seed)
    built = _solving(args, lambda: report.build_bundle(program, files, settings, cvc5=cvc5))
    try:
        report.write_bundle(built.files, out)
    except report.BundleError as e:
        raise UsageError(str(e)) from None
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
        print(f"{n['results']} results: {n['as_expected']} as expected, {n['unknown']} unknown; re-checked: "
              f"{n['rechecked']} agree, {n['recheck_disagrees']} disagree, {n['recheck_unsettled']} not re-checked")
        print(f"bundle written to {out} in {seconds:.1f} s: open {out / 'report.html'}")
    return report.exit_status(ev)


# ---- fmt ------------------------------------------------------------------

def cmd_fmt(args: argparse.Namespace) -> int:
    """Lay out rule files, comments kept: print them, or `--check` / `--diff` (exit 1 where one would change), or `--write`."""
    if args.write and (args.check or args.diff):
        raise UsageError("--write rewrites the files; it does not go with --check or --diff")
    status, changed = EXIT_OK, 0
    files = rule_files([Path(p) for p in args.paths])
    for f in files:
        src = Source(str(_display(f)), _read_text(f))
        text, diags = format_source(src)
        if text is None:
            print_diagnostics(diags, args.format)
            status = EXIT_USAGE
            continue
        if text != src.text:
            changed += 1
            if args.write:
                _write_atomic(f, text)
            if args.check:
                print(f"{src.path}: not in canonical layout", file=sys.stderr)
            if args.diff:
                sys.stdout.writelines(difflib.unified_diff(
                    src.text.splitlines(keepends=True), text.splitlines(keepends=True), f"{src.path}", f"{src.path} (formatted)"))
        if not (args.check or args.diff or args.write):
            print(text, end="")
    if args.write:
        print(f"{changed} file(s) reformatted, {len(files) - changed} unchanged", file=sys.stderr)
    if status == EXIT_OK and changed and (args.check or args.diff):
        status = EXIT_FAIL
    return status


def _write_atomic(path: Path, text: str) -> None:
    """Replace `path` whole or not at all: write a temporary file beside it, then rename it over."""
    import tempfile

    try:
        mode = path.stat().st_mode & 0o7777
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                out.write(text)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e.strerror}") from None


def _short(v: dict[str, Any] | None) -> str:
    if v is None:
        return "invalid input"
    if v["verdict"] == "accept":
        return "accept"
    return f"reject {v['layer']} {v['code'] or ''}".rstrip()


# ---- impact ---------------------------------------------------------------

def _impact_rulesets(program: Program, names: list[str] | None) -> list[RuleSet]:
    names = names or ["baseline", "mp107"]
    if len(names) > 2:
        raise UsageError("give one rule set, or two to compare (old, then new)")
    out = []
    for name in names:
        rs = program.ruleset(name)
        if rs is None:
            raise UsageError(f"unknown rule set `{name}`; the rules define {', '.join(sorted(program.rulesets))}")
        out.append(rs)
    return out


def _at(text: str | None) -> int:
    if text is None:  # the fleet as it stands now
        return time.time_ns() // 1000  # microseconds, as redline.times
    try:
        return parse_time(text, "--at")
    except InputError as e:
        raise UsageError(str(e)) from None


def cmd_impact(args: argparse.Namespace) -> int:
    import redline.impact.run as impact
    from redline.impact.render import format_fleet, format_replay

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
            return EXIT_OK
        rulesets = _impact_rulesets(program, args.ruleset)
        root = Path(args.fleet)
        if not root.is_dir():
            raise UsageError(f"{root}: not a directory of fleet tables")
        if args.question == "fleet":
            result = impact.run_fleet(program, rulesets, root, _at(args.at), args.visit_cost, bad_rows, args.threads)
            print(json.dumps(result, indent=2) if args.format == "json" else format_fleet(result))
        else:
            verdicts = Path(args.verdicts) if args.verdicts else None
            result = impact.run_replay(program, rulesets, root, bad_rows, verdicts, args.examples, args.threads)
            print(json.dumps(result, indent=2) if args.format == "json" else format_replay(result))
    except (impact.ImpactInputError, impact.Unsupported, impact.OutputError) as e:
        raise UsageError(str(e)) from None
    return EXIT_OK


def _count(text: str) -> int:
    return _whole(text, 0)


def _fraction(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, found `{text}`") from None
    if not 0 <= x <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, found {x}")
    return x


def _cost(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount such as 150 or 95.50, found `{text}`") from None
    if not x >= 0 or x == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a non-negative amount, found {text}")
    return x


def _impact_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("impact", help="fleet impact on DuckDB: stuck devices, log replay, a synthetic fleet")
    questions = p.add_subparsers(dest="question", required=True, parser_class=_Parser)
    shared = _Parser(add_help=False)
    shared.add_argument("--threads", type=positive, metavar="N", help="DuckDB threads (default: every core)")
    tables = _Parser(add_help=False)
    tables.add_argument("fleet", metavar="DIR", help="the fleet tables: <table>.parquet or <table>.csv (README: Fleet impact)")
    tables.add_argument("--ruleset", action="append", metavar="NAME",
                        help="a rule set; twice to compare old and new (default: baseline, then mp107)")
    tables.add_argument("--bad-rows", metavar="DIR", help="write bad rows to DIR/<table>.csv and go on (default: exit 2 at the first)")
    q = questions.add_parser("fleet", parents=[common, shared, tables], help="devices stuck with a trust anchor nobody can correct")
    q.add_argument("--at", metavar="TIME", help="the instant to judge the fleet at (default: now)")
    q.add_argument("--visit-cost", type=_cost, metavar="AMOUNT", help="the cost of one site visit, to price the devices freed")
    q = questions.add_parser("replay", parents=[common, shared, tables], help="every request of a log judged; what changes between two rule sets")
    q.add_argument("--verdicts", metavar="FILE", help="write every verdict to FILE (.parquet, else CSV)")
    q.add_argument("--examples", type=positive, default=20, metavar="N", help="changed requests to list (default 20)")
    q = questions.add_parser("generate", parents=[common, shared], help="write a synthetic fleet (deterministic by seed)")
    q.add_argument("out", metavar="DIR", help="where to write the fleet tables (Parquet)")
    defaults = impact_defaults()
    q.add_argument("--devices", type=positive, default=defaults.devices, help=f"devices in the fleet (default {defaults.devices})")
    q.add_argument("--requests", type=_count, default=defaults.requests, help="requests in the log (default none)")
    shares = {"smets1_share": "share of SMETS1 devices", "wrong_no_share": "share with a wrong Network Operator certificate",
              "churn": "share of sites that changed Supplier", "correction_share": "share of requests that are corrections"}
    for name, what in shares.items():
        q.add_argument("--" + name.replace("_", "-"), type=_fraction, default=getattr(defaults, name),
                       help=f"{what}, 0 to 1 (default {getattr(defaults, name)})")
    counts = {"suppliers": "Suppliers", "dnos": "Electricity Distributors", "gts": "Gas Transporters"}
    for name, what in counts.items():
        q.add_argument("--" + name, type=positive, default=getattr(defaults, name),
                       help=f"how many {what} (default {getattr(defaults, name)})")
    q.add_argument("--seed", type=int, default=defaults.seed, help=f"the generator's seed (default {defaults.seed})")
    p.set_defaults(run=cmd_impact)


def impact_defaults() -> Any:
    from redline.impact.params import FleetParams
    return FleetParams()


# ---- codegen --------------------------------------------------------------

GENERATED_HEADER = b"# Generated by `redline codegen --ruleset "  # the first line of every module it writes: how it knows its own

def cmd_codegen(args: argparse.Namespace) -> int:
    """Write a rule set as a standalone Python validator (standard library only)."""
    import hashlib

    from redline.codegen import CodegenError, RuleFile, dependencies, generate

    project = project_of(args)
    program = _require_program(args)
    rs = program.ruleset(args.ruleset)
    if rs is None:
        raise UsageError(f"unknown rule set `{args.ruleset}`; the rules define {', '.join(sorted(program.rulesets))}")
    if args.output not in (None, "-"):
        _check_output(lambda: output.check_file(Path(args.output), GENERATED_HEADER, "a validator"))
    found = rule_files(project.rules)
    # the header names each rule file relative to its root, so the output does not depend on where it ran
    files = [RuleFile(shown, _rule_bytes(f)) for f, shown in zip(found, display_names(found, project.rules), strict=True)]
    files = dependencies(program, rs, files)  # the header names only these, and so does --format json
    try:
        text = generate(program, rs, files)
    except CodegenError as e:
        raise UsageError(f"cannot generate a validator for `{rs.name}`: {e}") from None
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return EXIT_OK
    out = Path(args.output)
    _check_output(lambda: output.write_file(out, text.encode("utf-8"), GENERATED_HEADER, "a validator"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if args.format == "json":
        print(json.dumps({"ruleset": rs.name, "output": str(out), "sha256": digest,
                          "rule_files": [{"path": f.name, "sha256": f.sha256} for f in files]}, indent=2))
    else:
        print(f"wrote {out}: validator for `{rs.name}` ({len(text.splitlines())} lines, sha256 {digest[:16]}...)")
    return EXIT_OK


# ---- lsp ------------------------------------------------------------------

def cmd_lsp(args: argparse.Namespace) -> int:
    """Serve the language server protocol over standard input and output until the editor says exit."""
    try:
        from redline.lsp.server import serve
    except ImportError as e:
        raise UsageError(f"`redline lsp` needs pygls ({e}); install it with `pip install pygls`") from None
    rules = Path(args.rules).resolve() if args.rules else None
    if rules is not None and not rules.is_dir():
        raise UsageError(f"{args.rules}: rules directory not found")
    serve(rules)
    return EXIT_OK


# ---- entry point ----------------------------------------------------------

def positive(text: str) -> int:
    return _whole(text, 1)


def _whole(text: str, least: int) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found `{text}`") from None
    if n < least:
        raise argparse.ArgumentTypeError(f"expected a number of at least {least}, found {n}")
    return n


def version_text() -> str:
    """redline's version and those of what decides its answers (the solver, the parser, Python),
    read from the installed distributions' metadata (the CLI imports neither lark nor z3 itself)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def of(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:  # run from a checkout without installing it
            return "unknown (not installed)"
    return (f"redline {of('redline')} (Python {platform.python_version()}, z3-solver {of('z3-solver')}, "
            f"lark {of('lark')})")


def make_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people (the default) or JSON for programs (docs/formats.md)")
    common.add_argument("--rules", metavar="DIR", help="the rules directory, instead of the configuration's or the "
                        "shipped SEC rules (default: redline.toml / [tool.redline] found upwards, else the shipped rules)")
    common.add_argument("--all-warnings", action="store_true",
                        help="show every warning in full (default: several alike in one file are told in one line)")
    parser = _Parser(prog="redline", description="SEC service-request rules: check, validate, test.")
    parser.add_argument("--version", action="version", version=version_text(),
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
    p.add_argument("--max-xml-bytes", type=positive, default=DEFAULT_MAX_BYTES, metavar="N",
                   help=f"refuse a DUIS XML request larger than this (default {DEFAULT_MAX_BYTES})")
    p.add_argument("--max-json-bytes", type=positive, default=MAX_JSON_BYTES, metavar="N",
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
    p.add_argument("--timeout", type=positive, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--rlimit", type=positive, default=DEFAULT_RLIMIT, help="Z3 resource limit per call, for reproducible give-ups")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.add_argument("--smt2", metavar="DIR", help="write every proof obligation as SMT-LIB2")
    p.add_argument("--depth", type=positive, default=None, metavar="K",
                   help="how many steps the model checker searches for a run (default 4)")
    p.add_argument("--cex-dir", metavar="DIR", help="write each counterexample and witness as state.json / request.json")
    p.set_defaults(run=cmd_prove)
    p = sub.add_parser("diff", parents=[common], help="the semantic difference between two rule sets")
    p.add_argument("old", help="the rule set before, e.g. baseline")
    p.add_argument("new", help="the rule set after, e.g. mp107")
    p.add_argument("--timeout", type=positive, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.add_argument("--limit", type=positive, default=2000, help="stop after this many regions of requests (default 2000)")
    p.add_argument("--rlimit", type=positive, default=DEFAULT_RLIMIT, help="Z3 resource limit per call, for reproducible give-ups")
    p.add_argument("--cex-dir", metavar="DIR", help="write each witness as DIR/region-N (and DIR/intent-N) state.json / request.json")
    p.set_defaults(run=cmd_diff)
    p = sub.add_parser("liveness", parents=[common], help="can every check reject and every exception decide a request?")
    p.add_argument("--ruleset", required=True, metavar="NAME", help="the rule set whose rules are examined")
    p.add_argument("--fail-on-dead", action="store_true", help="exit 1 if a check or exception is dead or redundant, or a disjunct of a condition never holds")
    p.add_argument("--timeout", type=positive, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--rlimit", type=positive, default=DEFAULT_RLIMIT, help="Z3 resource limit per call, for reproducible give-ups")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.set_defaults(run=cmd_liveness)
    p = sub.add_parser("report", parents=[common], help="write an evidence bundle for a modification (HTML, Markdown, JSON, SMT-LIB2)")
    p.add_argument("paths", nargs="*", help="property files or directories (default: proofs/)")
    p.add_argument("--modification", default="mp107", metavar="NAME", help="the modification (default mp107)")
    p.add_argument("--out", default=".redline-out/evidence", metavar="DIR", help="the bundle directory (default .redline-out/evidence)")
    p.add_argument("--timeout", type=positive, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--rlimit", type=positive, default=DEFAULT_RLIMIT, help="Z3 resource limit per call")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
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
    _impact_parser(sub, common)
    p = sub.add_parser("completion", help="print a shell completion script",
                       description="Print a completion script for bash, zsh or fish, written from this command line "
                                   "itself. Use: eval \"$(redline completion bash)\" in ~/.bashrc; "
                                   "eval \"$(redline completion zsh)\" in ~/.zshrc; "
                                   "redline completion fish > ~/.config/fish/completions/redline.fish")
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    p.set_defaults(run=cmd_completion)
    p = sub.add_parser("lsp", parents=[common], help="run the language server (for editors) on standard input and output",
                       description="Serve the Language Server Protocol on stdin/stdout. Each document is checked with "
                                   "its rules directory (the enclosing rules/, or the rules/ beside its directory), "
                                   "or with --rules DIR when given. --format is accepted and has no effect.")
    p.add_argument("--stdio", action="store_true", help="accepted for editors that pass it; stdio is the only transport")
    p.set_defaults(run=cmd_lsp)
    for name, sp in sub.choices.items():
        examples, exits = USAGE_NOTES[name]
        sp.formatter_class = argparse.RawDescriptionHelpFormatter
        codes = "".join(line + "\n" for line in exits.splitlines() if not line.endswith(" -"))  # "-": never given
        sp.epilog = "examples:\n" + "".join(f"  {x}\n" for x in examples) + "\nexit codes (docs/exit-codes.md):\n" + codes
    return parser


_EXITS = "  0 {ok}\n  1 {fail}\n  2 bad input or usage (nothing was decided)\n  3 {unknown}\n  70 a bug in redline (please report it)\n"
# Per command: examples a reviewer can copy, and what each exit code means for it.
USAGE_NOTES: dict[str, tuple[list[str], str]] = {
    "check": (["redline check", "redline check -v", "redline check my-rules/new-mod.redline"],
              _EXITS.format(ok="the rules check", fail="an error in the rules", unknown="-")),
    "validate": (["redline validate --ruleset mp107 --state state.json request.json",
                  "redline validate --ruleset baseline --format json --state state.json requests/ > verdicts.jsonl"],
                 _EXITS.format(ok="every request judged (accepted or rejected)",
                               fail="with --fail-on-reject: some request rejected", unknown="-")),
    "test": (["redline test", "redline test my-scenarios.redline"],
             _EXITS.format(ok="every scenario as expected", fail="a scenario not as expected", unknown="-")),
    "prove": (["redline prove", "redline prove --property no_takeover --format json --smt2 out/smt2",
               "redline prove proofs/temporal.redline --depth 8 --cex-dir out/traces"],
              _EXITS.format(ok="every result as expected", fail="a result settled against its expectation",
                            unknown="a result unknown (the solver gave up), none against expectation")),
    "diff": (["redline diff baseline mp107", "redline diff baseline mp107 --format json --cex-dir out/diff"],
             _EXITS.format(ok="the diff is complete and within the declared intents", fail="an intent violated",
                           unknown="the diff is not complete or the intent check unknown")),
    "liveness": (["redline liveness --ruleset mp107", "redline liveness --ruleset mp107 --fail-on-dead"],
                 _EXITS.format(ok="every rule examined", fail="with --fail-on-dead: a dead or redundant rule or disjunct",
                               unknown="some rule's liveness unknown")),
    "report": (["redline report --out evidence", "redline report --modification mp107 --out evidence --format json"],
               _EXITS.format(ok="every result as expected and re-checked", fail="a finding: a result not as expected, "
                             "a re-check that disagrees, a violated intent, a dead rule the modification writes",
                             unknown="something not settled: an unknown or unre-checked result, an incomplete diff")),
    "fmt": (["redline fmt rules/mp107.redline", "redline fmt --check rules proofs", "redline fmt --write rules"],
            _EXITS.format(ok="laid out (or nothing would change)", fail="with --check or --diff: a file would change",
                          unknown="-")),
    "codegen": (["redline codegen --ruleset mp107 -o validators/mp107.py"],
                _EXITS.format(ok="the validator was written", fail="-", unknown="-")),
    "completion": (['eval "$(redline completion bash)"', "redline completion fish > ~/.config/fish/completions/redline.fish"],
                   _EXITS.format(ok="the script was printed", fail="-", unknown="-")),
    "impact": (["redline impact generate fleet/ --devices 100000 --requests 1000000",
                "redline impact fleet fleet/ --visit-cost 150", "redline impact replay fleet/ --format json"],
               _EXITS.format(ok="the question was answered", fail="-", unknown="-")),
    "lsp": (["redline lsp", "redline lsp --rules my-rules"],
            _EXITS.format(ok="the editor closed the session", fail="-", unknown="-")),
}


def cmd_completion(args: argparse.Namespace) -> int:
    print(completion_script(args.shell, make_parser()), end="")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except UsageError as e:
        print(f"redline: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as e:  # a command that stopped early (rules that do not check) keeps its code
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    except RecursionError:
        print("redline: error: input nested too deeply", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # a bug in redline, not bad input: say so, without a traceback
        print(f"redline: internal error: {type(e).__name__}: {e} (this is a bug in redline; please report it)", file=sys.stderr)
        return 70


def entry() -> NoReturn:
    sys.exit(main())
