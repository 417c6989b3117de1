"""`redline diff`: the cubes where two rule sets disagree, merged into a few
regions a reviewer can read, each with a count of request shapes and a
witness made easy to read and replayed through the interpreter under both
rule sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from redline.check import checked as ir
from redline.interp import InputError, Validator, load_request, load_state
from redline.jsondoc import JsonObject
from redline.props.results import ReplayError
from redline.smt import Sorts
from redline.smt.diff import FINITE, Facts, Judgement, RawCube, Solvers, Witness, check_intents, semantic_diff
from redline.smt.encode import source_text
from redline.smt.solver import DEFAULT_RLIMIT

Shape = tuple[Any, ...]


@dataclass(frozen=True)
class Region:
    facts: Facts
    before: Judgement
    after: Judgement
    exact: bool
    shapes: frozenset[Shape] | None  # None: the solver gave up while counting them


@dataclass(frozen=True)
class Replayed:
    """A witness judged again by the interpreter under both rule sets, told in one sentence."""
    state: JsonObject
    request: JsonObject
    sentence: str


@dataclass(frozen=True)
class Change:
    """One region of the difference, as a reviewer reads it."""
    summary: str
    conditions: tuple[str, ...]
    before: Judgement
    after: Judgement
    clauses: tuple[str, ...]
    count: int | None  # request shapes; None: the solver gave up counting them
    exact: bool
    witness: Replayed
    # Its conditions as data, {attribute or condition label: values}, for a caller that evaluates them
    # (impact/regions.py); not in `diff --format json`, which shows them as `conditions`.
    facts: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    intent: str  # the intent's clause
    kind: str
    problem: str
    witness: Replayed | None = None
    before: Judgement | None = None
    after: Judgement | None = None


@dataclass(frozen=True)
class Declared:
    kind: str
    clause: str


@dataclass(frozen=True)
class IntentReport:
    status: str  # absent | satisfied | violated | unknown
    violations: tuple[Violation, ...] = ()
    declared: tuple[Declared, ...] | None = None  # None when no intent applies
    reason: str | None = None


@dataclass(frozen=True, order=True)
class Move:
    """Where a request is rejected before and after (`layer code`, or `layer, no DUIS code`)."""
    before: str
    after: str


@dataclass(frozen=True)
class RejectionMoves:
    shapes: int
    of: int
    transitions: dict[Move, int]
    sentence: str


@dataclass(frozen=True)
class DiffReport:
    old: str
    new: str
    complete: bool
    changes: tuple[Change, ...]
    terms: dict[str, str]
    count: int | None
    intent: IntentReport
    solver_calls: int
    rejection_moves: RejectionMoves | None = None
    reason: str | None = None


def _key(o: Judgement) -> tuple[Any, ...]:
    return (o.verdict, o.layer, o.code, o.check, o.effects)


def merge(cubes: list[RawCube]) -> list[tuple[Facts, list[RawCube]]]:
    """Join cubes of one change that differ only in one finite attribute's values (role ED, role GT:
    role in {ED, GT}), until no two do; each region keeps the cubes it is made of."""
    out: list[tuple[Facts, list[RawCube]]] = [(dict(c.facts), [c]) for c in cubes]

    def kind(c: RawCube) -> tuple[Any, ...]:
        return (_key(c.before), _key(c.after), c.exact)
    joined = True
    while joined:
        joined = False
        for i, (fi, ci) in enumerate(out):
            for j in range(i + 1, len(out)):
                fj, cj = out[j]
                if kind(ci[0]) != kind(cj[0]) or fi.keys() != fj.keys():
                    continue
                differ = [n for n in fi if fi[n] != fj[n]]
                if len(differ) == 1 and differ[0] in FINITE:
                    out[i] = ({**fi, differ[0]: fi[differ[0]] | fj[differ[0]]}, ci + cj)
                    del out[j]
                    joined = True
                    break
            if joined:
                break
    return out


def condition_text(name: str, values: frozenset[Any]) -> str:
    """A fact in the rules' own words: a finite attribute as the field the rules read, a condition as written."""
    if name == "device":
        return "device in SMI" if True in values else "no device in the SMI"
    if name in FINITE:
        field = {"srv": "srv", "role": "role", "device_type": "device.type", "generation": "device.generation",
                 "smi_status": "device.smi_status", "target": "request.remote_party_role"}[name]
        if len(values) == 1:
            return f"{field} == {next(iter(values))}"
        return f"{field} in {{{', '.join(sorted(map(str, values)))}}}"
    if True in values:
        return name
    if name.endswith(")") and " (under " in name:  # a condition the two rule sets judge differently
        label, whose = name.rsplit(" (under ", 1)
        return f"{condition_text(label, values)} (under {whose}"
    for eq, ne in ((" == ", " != "), (" != ", " == ")):
        if eq in name and name.count(" ") == 2:
            return name.replace(eq, ne)
    if " in " in name and name.count(" in ") == 1 and " " not in name.replace(" in ", "", 1):
        return name.replace(" in ", " not in ")
    return f"not {name}" if " " not in name else f"not ({name})"


def conditions(facts: Facts) -> list[str]:
    names = [n for n in FINITE if n in facts] + sorted(n for n in facts if n not in FINITE)
    return [condition_text(n, facts[n]) for n in names]


def summary(facts: Facts, rs: ir.RuleSet) -> str:
    """One sentence: which SRVs (with their names), on which generation, from which roles, and the rules'
    conditions that pick the region out."""
    parts = []
    if "srv" in facts:
        parts.append(" or ".join(f"{s} ({rs.catalogue[s].get('name', s)})" for s in sorted(facts["srv"])))
    else:
        parts.append("any SRV")
    if "generation" in facts:
        parts.append("on a " + " or ".join(sorted(facts["generation"])) + " device")
    if facts.get("device") == frozenset([False]):
        parts.append("for a device not in the SMI")
    if "role" in facts:
        parts.append("sent as " + " or ".join(sorted(facts["role"])))
    if "target" in facts:
        parts.append("replacing the " + " or ".join(sorted(facts["target"])) + " certificate")
    rest = [condition_text(n, v) for n, v in sorted(facts.items()) if n not in FINITE]
    for n in ("device_type", "smi_status"):
        if n in facts:
            rest.insert(0, condition_text(n, facts[n]))
    return " ".join(parts) + (", where " + " and ".join(rest) if rest else "")


def why(v: Any) -> str:
    """The fact that decides a replayed verdict, from its trace: the requirement the rejecting check
    found false, or the exceptions that let the request through."""
    if v.failed is not None:
        req = f": `{source_text(v.failed.requires)}` does not hold" if v.failed.requires is not None else ""
        return f"rejected by {v.failed.name} at {v.failed.layer.value}{' ' + v.failed.code if v.failed.code else ''}{req}"
    waived = [f"{c.name} waived by {x.cite}" for c, _, x in v.trace if x is not None]
    effects = "".join(f", setting the {cell} cell to {owner}" for _, cell, owner in v.effects)
    return "accepted" + effects + (" (" + "; ".join(waived) + ")" if waived else "")


def held_text(q: JsonObject, catalogue: Any) -> str:
    """The certificate a request holds, said as what it is for: a cell it replaces, or one it only carries (6.23)."""
    if not q.get("remote_party_role"):
        return ""
    if catalogue.get(q["srv"], {}).get("replaces_trust_anchor"):
        return f" replacing {q['remote_party_role']}"
    return f" carrying a certificate (role {q['remote_party_role']}) owned by {q['new_certificate_owner']}"


def replay(program: ir.Program, old: ir.RuleSet, new: ir.RuleSet, w: Witness,
           before: Judgement, after: Judgement) -> Replayed:
    """The witness judged again by the interpreter under both rule sets; a disagreement is an internal error."""
    try:
        state = load_state(w.state, program)
        got = [Validator(rs).validate(state, load_request(w.request, state, program, rs)) for rs in (old, new)]
    except InputError as e:
        raise ReplayError(f"a diff witness is not valid input: {e}") from None
    for want, v in zip((before, after), got, strict=True):
        j = v.to_json()
        if (j["verdict"], j["layer"], j["code"]) != (want.verdict, want.layer, want.code):
            raise ReplayError(f"a diff witness replays as {j['verdict']} {j['layer']} {j['code']} under {j['ruleset']}, "
                              f"not {want.verdict} {want.layer} {want.code}")
    q = w.request
    sentence = (f"{q['sender']} as {q['role']} sends {q['srv']}" + held_text(q, old.catalogue)
                + f"; {old.name}: {why(got[0])}; {new.name}: {why(got[1])}")
    return Replayed(w.state, q, sentence)


def chain_intents(program: ir.Program, old: ir.RuleSet, new: ir.RuleSet) -> tuple[ir.Intent, ...] | None:
    """The intents declared by every modification from `old` (exclusive) to `new`, or None if `new` does not descend from `old`.

    Over a chain such as baseline -> mp107 -> m, a difference is within intent
    if some modification on the chain declared it, and each declared intent is
    checked against what the whole chain does.
    """
    found: list[ir.Intent] = []
    at: ir.RuleSet | None = new
    seen: set[str] = set()
    while at is not None and at.name != old.name and at.name not in seen:
        seen.add(at.name)
        found[:0] = at.intents
        at = program.rulesets.get(at.base) if at.base is not None else None
    return tuple(found) if at is not None and at.name == old.name else None


def intent_report(program: ir.Program, z: Solvers, old: ir.RuleSet, new: ir.RuleSet) -> IntentReport:
    intents = chain_intents(program, old, new)
    if intents is None:
        if not new.intents:
            return IntentReport("absent")
        return IntentReport("absent", reason=f"the intent of `{new.name}` is declared against `{new.base}`, not `{old.name}`")
    if not intents:
        return IntentReport("absent")
    problems, unsettled = check_intents(z, old, new, intents)
    violations = []
    for p in problems:
        v = Violation(p.intent.cite, p.intent.kind, p.problem)
        if p.witness is not None and p.before is not None and p.after is not None:
            v = replace(v, witness=replay(program, old, new, p.witness, p.before, p.after), before=p.before, after=p.after)
        violations.append(v)
    status = "violated" if violations else ("unknown" if unsettled else "satisfied")
    return IntentReport(status, tuple(violations), tuple(Declared(i.kind, i.cite) for i in intents),
                        unsettled if unsettled and not violations else None)


def terms(rulesets: list[ir.RuleSet], used: set[str]) -> dict[str, str]:
    """The clause each name the rules define cites, for the names a region's conditions use."""
    found: dict[str, str] = {}

    def visit(e: object) -> None:
        if isinstance(e, ir.Defined) and e.cite and e.name in used:
            found.setdefault(e.name, e.cite)
        for child in ir.children(e):
            visit(child)
    for rs in rulesets:
        for c in rs.checks:
            for x in (c.applies, c.requires, *(w.when for w in c.exceptions)):
                visit(x)
    return dict(sorted(found.items()))


def _where(o: Judgement) -> str:
    return f"{o.layer} {o.code}" if o.code else f"{o.layer}, no DUIS code"


def rejection_moves(regions: list[Region], total: set[Shape]) -> RejectionMoves | None:
    """The request shapes whose every change only moves where a request is rejected (another layer, code or
    check, still rejected): invisible to the meter, but seen by a DCC User's error handling."""
    def moves(r: Region) -> bool:
        return r.before.verdict == r.after.verdict == "reject"
    if any(r.shapes is None for r in regions):
        return None
    other: set[Shape] = set().union(*[r.shapes or set() for r in regions if not moves(r)])
    moved: set[Shape] = set().union(*[r.shapes or set() for r in regions if moves(r)]) - other
    if not moved:
        return None
    by: dict[Move, set[Shape]] = {}
    for r in regions:
        if moves(r):
            before, after = _where(r.before), _where(r.after)
            if before == after:  # the same layer and code, another check: say which
                before, after = f"{before} ({r.before.check})", f"{after} ({r.after.check})"
            by.setdefault(Move(before, after), set()).update((r.shapes or set()) & moved)
    ways = "; ".join(f"{k.before} -> {k.after} ({len(v)})" for k, v in by.items() if v)
    return RejectionMoves(len(moved), len(total), {k: len(v) for k, v in by.items() if v},
                          f"{len(moved)} of {len(total)} changed request shapes only move where a request is rejected: {ways}. "
                          "The request is rejected before and after, but a DCC User's error handling sees another layer or response code "
                          "(or the verdict cites another check).")


def diff(program: ir.Program, old: ir.RuleSet, new: ir.RuleSet, timeout_ms: int, seed: int, limit: int = 2000,
         rlimit: int = DEFAULT_RLIMIT) -> DiffReport:
    sorts = Sorts(program, sorted(old.catalogue))
    raw = semantic_diff(sorts, old, new, timeout_ms, rlimit, seed, limit)
    z: Solvers = raw.solvers
    found: list[Region] = []
    witnesses = []
    for facts, parts in merge(raw.cubes):
        first = parts[0]
        counted = [z.shapes(c) for c in parts]
        shapes = None if any(x is None for x in counted) else frozenset(t for x in counted for t in x or [])
        found.append(Region(facts, first.before, first.after, first.exact, shapes))
        w = z.witness(facts, first.before, first.after)
        if w is None:
            raise ReplayError("a diff region has no witness in the bounded encoding it was found in")
        witnesses.append(replay(program, old, new, w, first.before, first.after))
    total: set[Shape] | None = set().union(*[r.shapes or set() for r in found])
    if any(r.shapes is None for r in found):
        total = None
    changes: list[Change] = []
    order = sorted(range(len(found)), key=lambda i: (-len(found[i].shapes or ()), conditions(found[i].facts)))
    for i in order:
        r = found[i]
        shown = dict(r.facts)
        for index, name, domain in ((0, "srv", old.catalogue), (1, "role", program.roles())):
            seen = frozenset(t[index] for t in r.shapes or ())
            if name not in shown and seen and len(seen) < len(domain):
                shown[name] = seen  # which SRVs or roles the region holds, counted: a reviewer names them
        shown = z.without_implied(shown)
        clauses = tuple(x for x in dict.fromkeys([r.before.clause, r.after.clause, *new.redline_clauses]) if x)
        changes.append(Change(
            summary(shown, old) if r.exact else "some requests where " + summary(shown, old), tuple(conditions(shown)),
            r.before, r.after, clauses, None if r.shapes is None else len(r.shapes), r.exact, witnesses[i],
            {n: tuple(sorted(v, key=str)) for n, v in shown.items()},
        ))
    words = {w.strip("`(),") for c in changes for x in c.conditions for w in x.split()}
    report = DiffReport(old.name, new.name, raw.complete and total is not None, tuple(changes), terms([old, new], words),
                        None if total is None else len(total), intent_report(program, z, old, new), 0,
                        rejection_moves(found, total or set()))
    reason = raw.reason or ("the solver gave up while counting the request shapes of a region" if total is None else None)
    return replace(report, solver_calls=z.calls, reason=reason)  # the calls of the intent check too
