"""The command line: the only module that reads files, prints and exits.

Exit codes follow CONTRACTS.md. Every failure a user can cause is turned
into a diagnostic on stderr; `main` also guards against internal errors so
that no input ever shows a Python traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from redline.build import build
from redline.check.checked import Program, RuleSet
from redline.diagnostics import Diagnostic, bad_scenario, property_error, unsupported
from redline.duis import DEFAULT_MAX_BYTES, DuisError, map_request, parse_xml
from redline.interp import InputError, Validator, load_request, load_state
from redline.interp.values import State, parse_time
from redline.props import ReplayError, prove
from redline.props.diff import diff as semantic_diff
from redline.props.prover import property_diagnostics
from redline.render import render_json, render_text
from redline.scenarios import run_scenario
from redline.smt.encode import Unsupported
from redline.smt.properties import PropertyError
from redline.source import Source
from redline.syntax import parse
from redline.syntax.printer import print_module

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
MAX_JSON_BYTES = 64 * 1024 * 1024


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"redline: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def repo_rules() -> Path:
    """The repository's rules/: beside src/ in a checkout, else ./rules."""
    here = Path(__file__).resolve().parents[2] / "rules"
    return here if here.is_dir() else Path.cwd() / "rules"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read: {e}") from None


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


def load_program(rules: Path, extra: Sequence[Path]) -> tuple[Program | None, list[Diagnostic]]:
    if not rules.is_dir():
        raise UsageError(f"{rules}: rules directory not found (give --rules DIR)")
    files = rule_files([rules, *extra])
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
        for d in diags:
            print(render_text(d), file=sys.stderr)


def _require_program(args: argparse.Namespace, extra: Sequence[Path] = ()) -> Program:
    program, diags = load_program(Path(args.rules) if args.rules else repo_rules(), extra)
    if program is None:
        print_diagnostics(diags, args.format)
        raise SystemExit(EXIT_USAGE)
    return program


# ---- check ----------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    rules = Path(args.rules) if args.rules else repo_rules()
    extra = [Path(p) for p in args.paths]
    if not args.paths and (rules.parent / "proofs").is_dir():
        extra.append(rules.parent / "proofs")
    program, diags = load_program(rules, extra)
    if program is not None:  # property bodies get their types from the prover's vocabulary
        diags += [unsupported(span, msg) if unsup else property_error(span, msg)
                  for span, msg, unsup in property_diagnostics(program)]
        if any(d.is_error for d in diags):
            program = None
    errors = sum(d.is_error for d in diags)
    if args.format == "json":
        print(json.dumps({"ok": errors == 0, "diagnostics": [render_json(d) for d in diags]}, indent=2))
    else:
        for d in diags:
            print(render_text(d), file=sys.stderr)
        if program is not None:
            rs = ", ".join(f"{r.name} ({len(r.checks)} checks)" for r in program.rulesets.values())
            srvs = len(next(iter(program.rulesets.values())).catalogue) if program.rulesets else 0
            print(f"ok: {srvs} SRVs; rule sets {rs}; {len(program.assumptions)} assumptions; "
                  f"{len(program.properties)} properties; {len(program.scenarios)} scenarios")
        else:
            print(f"{errors} error(s)", file=sys.stderr)
    return EXIT_OK if errors == 0 else EXIT_FAIL


# ---- validate -------------------------------------------------------------

def read_json(path: str) -> Any:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_JSON_BYTES:
            raise UsageError(f"{path}: larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB")
        raw = p.read_bytes()
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path}: not UTF-8 text: {e.reason} at byte {e.start}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys, parse_int=_bounded_int)
    except json.JSONDecodeError as e:
        line = text.splitlines()[e.lineno - 1] if text.splitlines() else ""
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
    roles = program.enums["UserRole"]
    if args.role is not None and args.role not in roles:
        raise UsageError(f"--role: unknown User Role `{args.role}`; expected one of {', '.join(roles)}")
    try:
        state = load_state(read_json(args.state), program)
    except InputError as e:
        raise UsageError(f"{args.state}: {e.where}: {e.message}") from None
    run = _Run(program, rs, Validator(rs), state, args.role, args.max_xml_bytes)
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


def request_inputs(paths: Sequence[Path]) -> list[Path]:
    """The files of a batch in input order: a directory gives its *.xml and *.json files (not recursing), sorted by name."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in (".xml", ".json")))
        else:
            out.append(p)
    return out


def _read_request(path: Path, bound: int) -> bytes | None:
    """The bytes of a DUIS XML request (at most bound + 1 of them: enough to refuse it), or None for
    anything else. A DUIS request is recognised by content: it starts with `<`, after an optional BOM
    and white space."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
            if not head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"):
                return None
            if len(head) < 4096:
                return head
            size = os.fstat(f.fileno()).st_size  # sizes the read; 0 for a pipe or device, which reads to the bound
            return head + f.read((min(size, bound) if size else bound) + 1 - len(head))
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror}") from None


def validate_file(run: _Run, path: Path) -> tuple[dict[str, Any], bool]:
    """One request file (REQUEST.json or DUIS XML) -> (verdict record, accepted); UsageError for bad input.

    A DUIS request's record also carries the mapped REQUEST.json under `request`
    and what the XML says beside it under `duis`."""
    data = _read_request(path, run.max_xml_bytes)
    if data is None:
        try:
            request = load_request(read_json(str(path)), run.state, run.program, run.ruleset)
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
    for i, path in enumerate(inputs, 1):
        try:
            record, accepted = validate_file(run, path)
            out.write(json.dumps({"input": str(path), **record}) + "\n")
            rejected += not accepted
        except UsageError as e:
            bad += 1
            out.write(json.dumps({"input": str(path), "error": str(e)}) + "\n")
        if show and (i % step == 0 or i == total):
            end = "\r" if sys.stderr.isatty() and i < total else "\n"
            print(f"redline: validated {i}/{total} ({bad} bad input{'s' if bad != 1 else ''})", end=end, file=sys.stderr, flush=True)
    out.flush()
    if bad:
        return EXIT_USAGE
    return EXIT_FAIL if (args.fail_on_reject and rejected) else EXIT_OK


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
    rules = Path(args.rules) if args.rules else repo_rules()
    extra = [Path(p) for p in args.paths] or ([rules.parent / "proofs"] if (rules.parent / "proofs").is_dir() else [])
    program = _require_program(args, extra)
    if args.property and all(p.name != args.property for p in program.properties):
        names = [p.name for p in program.properties]
        raise UsageError(f"unknown property `{args.property}`; the properties are {', '.join(names)}")
    if not program.properties:
        raise UsageError("no properties to prove (give the files that hold them)")
    writer = None
    if args.smt2:
        out_dir = Path(args.smt2)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"{out_dir}: cannot create: {e.strerror}") from None

        def writer(name: str, text: str) -> None:
            (out_dir / f"{name}.smt2").write_text(text, encoding="utf-8")
    results = _solving(args, lambda: prove(program, args.property, args.timeout * 1000, args.rlimit, args.seed, writer, args.depth))
    if args.cex_dir:
        _write_cases(Path(args.cex_dir), results)
    if args.format == "json":
        print(json.dumps({"results": [r.to_json() for r in results]}, indent=2))
    else:
        for r in results:
            print(format_result(r, args.cex_dir))
        ok = sum(r.matches() for r in results)
        print(f"{len(results)} results: {ok} as expected, {len(results) - ok} not")
    if any(r.status == "unknown" for r in results):
        return EXIT_UNKNOWN
    return EXIT_OK if all(r.matches() for r in results) else EXIT_FAIL


def _write_cases(root: Path, results: list[Any]) -> None:
    for r in results:
        found = r.counterexample or r.witness
        if not found:
            continue
        d = root / f"{r.property}.{r.ruleset}"
        try:
            d.mkdir(parents=True, exist_ok=True)
            (d / "state.json").write_text(json.dumps(found["state"], indent=2) + "\n", encoding="utf-8")
            if found["request"] is not None:
                (d / "request.json").write_text(json.dumps(found["request"], indent=2) + "\n", encoding="utf-8")
            for i, c in enumerate(r.candidates, 1):
                (d / f"candidate-{i:02d}.json").write_text(json.dumps(c["request"], indent=2) + "\n", encoding="utf-8")
            for i, step in enumerate(found.get("trace") or [], 1):  # a run: each step's state and request, to replay
                (d / f"step-{i}-state.json").write_text(json.dumps(step["state"], indent=2) + "\n", encoding="utf-8")
                if "request" in step:
                    (d / f"step-{i}-request.json").write_text(json.dumps(step["request"], indent=2) + "\n", encoding="utf-8")
        except OSError as e:
            raise UsageError(f"{d}: cannot write: {e.strerror}") from None


def format_result(r: Any, cex_dir: str | None) -> str:
    mark = "ok  " if r.matches() else "FAIL"
    head = (f"{mark} {r.property} [{r.ruleset}]: {r.status.upper()} (expected {r.expected}); "
            f"{r.proof}, {r.seconds:.2f} s" + (f"; {r.reason}" if r.reason else ""))
    lines = [head]
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
    result = _solving(args, lambda: semantic_diff(program, old, new, args.timeout * 1000, args.seed, args.limit))
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print(format_diff(result))
    return EXIT_FAIL if result["intent"]["status"] == "violated" else EXIT_OK


def format_diff(d: dict[str, Any]) -> str:
    """A Markdown table a reviewer can paste into a modification report, then the intent check."""
    head = (f"{d['old']} -> {d['new']}: {d['count']} request classes change, in {len(d['changes'])} regions; "
            + ("complete: no difference lies outside them" if d["complete"] else f"NOT complete: {d.get('reason')}"))
    lines = [head, "", "| # | where (all of) | before | after | classes |", "|---|---|---|---|---|"]

    def outcome(o: dict[str, Any]) -> str:
        return _short(o) + (f" ({o['clause']})" if o["clause"] else "")
    for i, c in enumerate(d["changes"], 1):
        lines.append(f"| {i} | {'; '.join(c['conditions'])} | {outcome(c['before'])} | {outcome(c['after'])} | {c['count']} |")
    lines.append("")
    for i, c in enumerate(d["changes"], 1):
        q = c["witness"]["request"]
        lines.append(f"witness {i}: {q['sender']} as {q['role']} sends {q['srv']}"
                     + (f" replacing {q['remote_party_role']}" if q.get("remote_party_role") else "")
                     + f"; replayed: {_short(c['before'])} under {d['old']}, {_short(c['after'])} under {d['new']}")
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
    result = _solving(args, lambda: liveness(program, rs, args.timeout * 1000, args.seed))
    print(json.dumps(result, indent=2) if args.format == "json" else format_liveness(result))
    if args.fail_on_dead and (result["counts"]["dead"] or result["counts"]["redundant"]):
        return EXIT_FAIL
    return EXIT_OK if result["complete"] else EXIT_UNKNOWN


# ---- report ---------------------------------------------------------------

def cmd_report(args: argparse.Namespace) -> int:
    """An evidence bundle for a modification; exit codes in README.md (`redline report`)."""
    import time

    from redline import report
    rules = Path(args.rules) if args.rules else repo_rules()
    extra = [Path(p) for p in args.paths] or ([rules.parent / "proofs"] if (rules.parent / "proofs").is_dir() else [])
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
    root = rules.resolve().parent
    files = []
    for f in rule_files([rules, *extra]):
        try:
            shown = f.resolve().relative_to(root).as_posix()
        except ValueError:
            shown = f.name
        try:
            files.append(report.RuleFile(shown, f.read_bytes()))
        except OSError as e:
            raise UsageError(f"{f}: cannot read: {e.strerror}") from None
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
    for p in ev.problems:
        print(f"redline: ERROR: {p}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps({"out": str(out), "seconds": round(seconds, 3), **n, "problems": ev.problems}, indent=2))
    else:
        print(f"{n['results']} results: {n['as_expected']} as expected, {n['unknown']} unknown; re-checked: "
              f"{n['rechecked']} agree, {n['recheck_disagrees']} disagree, {n['recheck_unsettled']} not re-checked")
        print(f"bundle written to {out} in {seconds:.1f} s: open {out / 'report.html'}")
    return report.exit_status(ev)


# ---- fmt ------------------------------------------------------------------

def cmd_fmt(args: argparse.Namespace) -> int:
    """Print rule files in canonical layout; `--check` exits 1 where a file differs."""
    differs = 0
    for f in rule_files([Path(p) for p in args.paths]):
        src = Source(str(_display(f)), _read_text(f))
        module, diags = parse(src)
        if diags:
            print_diagnostics(diags, args.format)
            return EXIT_USAGE
        text = print_module(module)
        if args.check:
            if text != src.text:
                differs += 1
                print(f"{src.path}: not in canonical layout", file=sys.stderr)
        else:
            print(text, end="")
    return EXIT_FAIL if differs else EXIT_OK


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
        return int(time.time())
    try:
        return parse_time(text, "--at")
    except InputError as e:
        raise UsageError(str(e)) from None


def cmd_impact(args: argparse.Namespace) -> int:
    import redline.impact as impact
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
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found `{text}`") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, found {n}")
    return n


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
    q.add_argument("out", metavar="DIR")
    defaults = impact_defaults()
    q.add_argument("--devices", type=positive, default=defaults.devices)
    q.add_argument("--requests", type=_count, default=defaults.requests, help="requests in the log (default none)")
    for name in ("smets1_share", "wrong_no_share", "churn", "correction_share"):
        q.add_argument("--" + name.replace("_", "-"), type=_fraction, default=getattr(defaults, name))
    for name in ("suppliers", "dnos", "gts"):
        q.add_argument("--" + name, type=positive, default=getattr(defaults, name))
    q.add_argument("--seed", type=int, default=defaults.seed)
    p.set_defaults(run=cmd_impact)


def impact_defaults() -> Any:
    from redline.impact.synth import FleetParams
    return FleetParams()


# ---- codegen --------------------------------------------------------------

def cmd_codegen(args: argparse.Namespace) -> int:
    """Write a rule set as a standalone Python validator (standard library only)."""
    import hashlib

    from redline.codegen import CodegenError, RuleFile, generate

    rules = Path(args.rules) if args.rules else repo_rules()
    program = _require_program(args)
    rs = program.ruleset(args.ruleset)
    if rs is None:
        raise UsageError(f"unknown rule set `{args.ruleset}`; the rules define {', '.join(sorted(program.rulesets))}")
    try:  # the header names each rule file relative to --rules, so the output does not depend on where it ran
        files = [RuleFile(f.resolve().relative_to(rules.resolve()).as_posix(), f.read_bytes()) for f in rule_files([rules])]
    except OSError as e:
        raise UsageError(f"{rules}: cannot read: {e.strerror}") from None
    try:
        text = generate(program, rs, files)
    except CodegenError as e:
        raise UsageError(f"cannot generate a validator for `{rs.name}`: {e}") from None
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return EXIT_OK
    out = Path(args.output)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{out}: cannot write: {e.strerror}") from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if args.format == "json":
        print(json.dumps({"ruleset": rs.name, "output": str(out), "sha256": digest,
                          "rule_files": [{"path": f.name, "sha256": f.sha256} for f in files]}, indent=2))
    else:
        print(f"wrote {out}: validator for `{rs.name}` ({len(text.splitlines())} lines, sha256 {digest[:16]}...)")
    return EXIT_OK


# ---- entry point ----------------------------------------------------------

def positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found `{text}`") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, found {n}")
    return n


def make_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--format", choices=("text", "json"), default="text")
    common.add_argument("--rules", metavar="DIR", help="the rules directory (default: the repository's rules/)")
    parser = _Parser(prog="redline", description="SEC service-request rules: check, validate, test.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("check", parents=[common], help="parse and check rule files")
    p.add_argument("paths", nargs="*", help="extra rule files or directories (default: rules/ and proofs/)")
    p.set_defaults(run=cmd_check)
    p = sub.add_parser("validate", parents=[common], help="run service requests (REQUEST.json or DUIS XML) through a rule set")
    p.add_argument("--ruleset", required=True)
    p.add_argument("--state", required=True, metavar="STATE.json")
    p.add_argument("--fail-on-reject", action="store_true")
    p.add_argument("--role", metavar="ROLE", help="the sender's User Role for DUIS XML requests (default: from the "
                   "signing certificate, through the state's signing_certificates)")
    p.add_argument("--max-xml-bytes", type=positive, default=DEFAULT_MAX_BYTES, metavar="N",
                   help=f"refuse a DUIS XML request larger than this (default {DEFAULT_MAX_BYTES})")
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
    p.add_argument("--rlimit", type=positive, default=20_000_000, help="Z3 resource limit per call, for reproducible give-ups")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.add_argument("--smt2", metavar="DIR", help="write every proof obligation as SMT-LIB2")
    p.add_argument("--depth", type=positive, default=None, metavar="K",
                   help="how many steps the model checker searches for a run (default 4)")
    p.add_argument("--cex-dir", metavar="DIR", help="write each counterexample and witness as state.json / request.json")
    p.set_defaults(run=cmd_prove)
    p = sub.add_parser("diff", parents=[common], help="the semantic difference between two rule sets")
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--timeout", type=positive, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.add_argument("--limit", type=positive, default=2000, help="stop enumerating after this many classes (default 2000)")
    p.set_defaults(run=cmd_diff)
    p = sub.add_parser("liveness", parents=[common], help="can every check reject and every exception decide a request?")
    p.add_argument("--ruleset", required=True)
    p.add_argument("--fail-on-dead", action="store_true", help="exit 1 if a check or exception is dead or redundant")
    p.add_argument("--timeout", type=positive, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.set_defaults(run=cmd_liveness)
    p = sub.add_parser("report", parents=[common], help="write an evidence bundle for a modification (HTML, Markdown, JSON, SMT-LIB2)")
    p.add_argument("paths", nargs="*", help="property files or directories (default: proofs/)")
    p.add_argument("--modification", default="mp107", metavar="NAME", help="the modification (default mp107)")
    p.add_argument("--out", default=".redline-out/evidence", metavar="DIR", help="the bundle directory (default .redline-out/evidence)")
    p.add_argument("--timeout", type=positive, default=10, metavar="SECONDS", help="per solver call (default 10)")
    p.add_argument("--rlimit", type=positive, default=20_000_000, help="Z3 resource limit per call")
    p.add_argument("--seed", type=int, default=0, help="Z3 random seed (default 0)")
    p.set_defaults(run=cmd_report)
    p = sub.add_parser("fmt", parents=[common], help="print rule files in canonical layout (comments are not kept)")
    p.add_argument("paths", nargs="+")
    p.add_argument("--check", action="store_true", help="exit 1 if a file is not in canonical layout")
    p.set_defaults(run=cmd_fmt)
    p = sub.add_parser("codegen", parents=[common], help="write a rule set as a standalone Python validator")
    p.add_argument("--ruleset", required=True)
    p.add_argument("-o", "--output", metavar="FILE.py", help="where to write the module (default: standard output)")
    p.set_defaults(run=cmd_codegen)
    _impact_parser(sub, common)
    return parser


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
