"""Validating request files (REQUEST.json or DUIS XML) against a rule set: one file, or a batch.

A batch yields one record per input, in input order, and goes on past a bad input (its record
carries `error`) and past a bug in redline (told as an internal error on that input alone).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from redline.check.checked import Program, RuleSet
from redline.codegen.fold import declared_read
from redline.duis import DuisError, map_request, parse_xml
from redline.inputs import MAX_JSON_BYTES, BadInput, parse_json, read_json, read_request
from redline.interp import InputError, Validator, load_request, load_state
from redline.interp.values import State
from redline.jsondoc import JsonObject
from redline.suggest import did_you_mean


@dataclass(frozen=True, slots=True)
class Run:
    program: Program
    ruleset: RuleSet
    validator: Validator
    state: State
    role: str | None
    max_xml_bytes: int
    max_json_bytes: int = MAX_JSON_BYTES


def ruleset_named(program: Program, name: str) -> RuleSet:
    rs = program.ruleset(name)
    if rs is None:
        raise BadInput(f"unknown rule set `{name}`; the rules define {', '.join(sorted(program.rulesets))}")
    return rs


def modification_named(program: Program, name: str) -> RuleSet:
    """The modification `name` (a rule set that amends another); BadInput with the likeliest names if not."""
    mods = sorted(rs.name for rs in program.rulesets.values() if rs.base is not None)
    rs = program.ruleset(name)
    if rs is None or rs.base is None:
        what = "a rule set, not a modification" if rs is not None else "not a modification"
        raise BadInput(f"`{name}` is {what}{did_you_mean(name, mods)}; the rules define {', '.join(mods) or 'none'}")
    return rs


def prepare(program: Program, ruleset: str, state_path: str, role: str | None,
            max_xml_bytes: int, max_json_bytes: int) -> Run:
    """What every request of one `validate` is judged with: the rule set, the state, the DUIS role."""
    rs = ruleset_named(program, ruleset)
    roles = program.roles()
    if role is not None and role not in roles:
        raise BadInput(f"--role: unknown User Role `{role}`; expected one of {', '.join(roles)}")
    try:
        state = load_state(read_json(state_path, max_json_bytes), program)
    except InputError as e:
        raise BadInput(f"{state_path}: {e.where}: {e.message}") from None
    return Run(program, rs, Validator(rs), state, role, max_xml_bytes, max_json_bytes)


def validate_file(run: Run, path: Path) -> tuple[JsonObject, bool]:
    """One request file (REQUEST.json or DUIS XML) -> (verdict record, accepted); BadInput for bad input.

    A DUIS request's record also carries the mapped REQUEST.json under `request`
    and what the XML says beside it under `duis`."""
    is_xml, data = read_request(path, run.max_xml_bytes, run.max_json_bytes)
    if not is_xml:
        try:
            request = load_request(parse_json(data, str(path)), run.state, run.program, run.ruleset)
        except InputError as e:
            raise BadInput(f"{path}: {e.where}: {e.message}") from None
        verdict = run.validator.validate(run.state, request)
        return verdict.to_json(), verdict.accepted
    try:
        mapped = map_request(parse_xml(data, run.max_xml_bytes),
                             run.ruleset.catalogue, run.state.signing_certificates, run.role)
    except DuisError as e:
        raise BadInput(f"{path}: {e.where}: {e.message}") from None
    srv = mapped.request.get("srv")
    unmapped = sorted(declared_read(run.ruleset, [srv if srv in run.ruleset.catalogue else None], "Request"))
    if unmapped:  # left null by the mapping, the verdict would be of another request than the XML's
        names = ", ".join(f"`{n}`" for n in unmapped)
        raise BadInput(f"{path}: rule set `{run.ruleset.name}` reads the declared Request field {names} for SRV {srv}, which "
                       "the DUIS XML mapping does not fill (it maps the built-in fields only): give the request as REQUEST.json "
                       f"with {names} (`validate --format json` under a rule set that does not read it shows the mapped request)")
    try:
        request = load_request(mapped.request, run.state, run.program, run.ruleset, where="request")
    except InputError as e:
        raise BadInput(f"{path}: the mapped {e.where}: {e.message}") from None
    verdict = run.validator.validate(run.state, request)
    return {**verdict.to_json(), "request": mapped.request, "duis": mapped.duis}, verdict.accepted


def validate_each(run: Run, inputs: Sequence[Path]) -> Iterator[tuple[Path, JsonObject, str]]:
    """(input, record, outcome) for each input in order; outcome is accept, reject, bad or internal.
    A bad input's record is `{"error": ...}`; so is a bug's, which the caller must report (exit 70)."""
    for path in inputs:
        try:
            record, accepted = validate_file(run, path)
            outcome = "accept" if accepted else "reject"
        except BadInput as e:
            record, outcome = {"error": str(e)}, "bad"
        except RecursionError:
            record, outcome = {"error": f"{path}: nested too deeply"}, "bad"
        except Exception as e:  # a bug in redline: the other inputs still get their records
            record = {"error": f"internal error: {type(e).__name__}: {e} (this is a bug in redline; please report it)"}
            outcome = "internal"
        yield path, {"input": str(path), **record}, outcome
