"""`redline diff`: the classes where two rule sets disagree, merged into a few
regions a reviewer can read, each with a witness replayed through the
interpreter under both rule sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redline.check import checked as ir
from redline.interp import InputError, Validator, load_request, load_state
from redline.props.prover import ReplayError
from redline.smt import Sorts
from redline.smt.diff import RawClass, check_intents, semantic_diff
from redline.smt.solver import DEFAULT_RLIMIT

# How each attribute reads in a condition, and which we never show (implied by another).
HIDDEN = {"has_target"}


@dataclass
class Region:
    conditions: dict[str, frozenset[Any]]
    before: dict[str, Any]
    after: dict[str, Any]
    classes: list[RawClass]


def _key(o: dict[str, Any]) -> tuple[Any, ...]:
    return (o["verdict"], o["layer"], o["code"], o["check"], tuple(o["effects"]))


def _factor(rows: list[dict[str, Any]], keys: list[str]) -> list[dict[str, frozenset[Any]]]:
    """Describe a set of classes as few products of value sets as we can.

    An attribute factors out when every combination of the other attributes
    occurs with the same set of its values (role ED or GT, whatever the rest:
    `role in {ED, GT}`). What does not factor splits the set on its value,
    and each part is factored again.
    """
    if not keys:
        return [{}]
    for k in keys:
        rest = [x for x in keys if x != k]
        by_rest: dict[tuple[Any, ...], set[Any]] = {}
        for r in rows:
            by_rest.setdefault(tuple(r[x] for x in rest), set()).add(r[k])
        value_sets = {frozenset(v) for v in by_rest.values()}
        if len(value_sets) == 1:
            (values,) = value_sets
            seen: set[tuple[Any, ...]] = set()
            reduced = []
            for r in rows:
                t = tuple(r[x] for x in rest)
                if t not in seen:
                    seen.add(t)
                    reduced.append({x: r[x] for x in rest})
            return [{k: values, **cube} for cube in _factor(reduced, rest)]
    k, rest = keys[0], keys[1:]
    out = []
    for v in sorted({r[k] for r in rows}, key=str):
        part = [{x: r[x] for x in rest} for r in rows if r[k] == v]
        out += [{k: frozenset([v]), **cube} for cube in _factor(part, rest)]
    return out


def regions(raw: list[RawClass], domains: dict[str, frozenset[Any]]) -> list[Region]:
    groups: dict[tuple[Any, ...], list[RawClass]] = {}
    for c in raw:
        groups.setdefault((_key(c.before), _key(c.after)), []).append(c)
    out = []
    for members in groups.values():
        keys = sorted(members[0].attrs, key=lambda k: (k in ("srv", "generation", "role"), k))  # factor details first
        cubes = _factor([dict(c.attrs) for c in members], keys)
        for cube in cubes:
            inside = [c for c in members if all(c.attrs[k] in vals for k, vals in cube.items())]
            shown = {k: v for k, v in cube.items() if k not in HIDDEN and v != domains.get(k)}
            out.append(Region(shown, members[0].before, members[0].after, inside))
    return sorted(out, key=lambda r: (-len(r.classes), str(r.conditions)))


def condition_text(name: str, values: frozenset[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        (v,) = values
        return name if v else f"not ({name})"
    field = {"srv": "srv", "role": "role", "device": "device in SMI", "device_type": "device.type",
             "generation": "device.generation", "smi_status": "device.smi_status", "target": "target cell"}.get(name, name)
    if len(values) == 1:
        return f"{field} == {next(iter(values))}"
    return f"{field} in {{{', '.join(sorted(map(str, values)))}}}"


def summary(r: Region) -> str:
    c = r.conditions
    parts = []
    if "srv" in c:
        parts.append(" or ".join(sorted(c["srv"])))
    if "generation" in c:
        parts.append("on " + "/".join(sorted(c["generation"])))
    if "role" in c:
        parts.append("from " + "/".join(sorted(c["role"])))
    if "target" in c:
        parts.append("targeting " + "/".join(sorted(c["target"])))
    rel = [condition_text(k, v) for k, v in c.items() if all(isinstance(x, bool) for x in v) and k != "device"]
    text = " ".join(parts) or "requests"
    return text + (" where " + " and ".join(rel) if rel else "")


ORDER = ["srv", "generation", "role", "target", "device", "device_type", "smi_status"]


def _fold_suitability(r: Region, rs: ir.RuleSet) -> None:
    """Say "a device the SRV suits" rather than list the SRV's own device types and SMI statuses."""
    srvs = r.conditions.get("srv")
    if srvs is not None and len(srvs) == 1:
        row = rs.catalogue[next(iter(srvs))]
        if r.conditions.get("device_type") == frozenset(row.get("device_types", ())) and \
                r.conditions.get("smi_status") == frozenset(row.get("smi_statuses", ())):
            del r.conditions["device_type"], r.conditions["smi_status"]
            r.conditions.pop("device", None)
            r.conditions["a device the SRV suits"] = frozenset([True])
    r.conditions = dict(sorted(r.conditions.items(), key=lambda kv: (ORDER.index(kv[0]) if kv[0] in ORDER else len(ORDER), kv[0])))


def _public(o: dict[str, Any]) -> dict[str, Any]:
    return {k: o[k] for k in ("verdict", "layer", "code", "clause")}


def replay(program: ir.Program, old: ir.RuleSet, new: ir.RuleSet, r: Region) -> dict[str, Any]:
    w = r.classes[0].witness
    try:
        state = load_state(w["state"], program)
        got = []
        for rs in (old, new):
            v = Validator(rs).validate(state, load_request(w["request"], state, program, rs)).to_json()
            got.append(v)
    except InputError as e:
        raise ReplayError(f"a diff witness is not valid input: {e}") from None
    for want, v in zip((r.before, r.after), got, strict=True):
        if (v["verdict"], v["layer"], v["code"]) != (want["verdict"], want["layer"], want["code"]):
            raise ReplayError(f"a diff witness replays as {v['verdict']} {v['layer']} {v['code']} under {v['ruleset']}, "
                              f"not {want['verdict']} {want['layer']} {want['code']}")
    return w


def intent_report(program: ir.Program, sorts: Sorts, old: ir.RuleSet, new: ir.RuleSet, timeout_ms: int, rlimit: int,
                  seed: int) -> dict[str, Any]:
    if not new.intents:
        return {"status": "absent", "violations": []}
    if new.base != old.name:
        return {"status": "absent", "violations": [],
                "reason": f"the intent of `{new.name}` is declared against `{new.base}`, not `{old.name}`"}
    problems, unsettled = check_intents(sorts, old, new, timeout_ms, rlimit, seed)
    violations = []
    for p in problems:
        v: dict[str, Any] = {"intent": p.intent.cite, "kind": p.intent.kind, "problem": p.problem}
        if p.witness is not None and p.before is not None and p.after is not None:
            region = Region({}, p.before, p.after, [RawClass({}, p.before, p.after, p.witness)])
            v["witness"] = replay(program, old, new, region)
            v["before"], v["after"] = _public(p.before), _public(p.after)
        violations.append(v)
    status = "violated" if violations else ("unknown" if unsettled else "satisfied")
    out: dict[str, Any] = {"status": status, "violations": violations,
                           "declared": [{"kind": i.kind, "clause": i.cite} for i in new.intents]}
    if unsettled and not violations:
        out["reason"] = unsettled
    return out


def diff(program: ir.Program, old: ir.RuleSet, new: ir.RuleSet, timeout_ms: int, seed: int, limit: int = 2000,
         rlimit: int = DEFAULT_RLIMIT) -> dict[str, Any]:
    sorts = Sorts(program, sorted(old.catalogue))
    raw = semantic_diff(sorts, old, new, timeout_ms, rlimit, seed, limit)
    domains: dict[str, frozenset[Any]] = {
        "srv": frozenset(old.catalogue), "role": frozenset(program.enums["UserRole"]),
        "device_type": frozenset(program.enums["DeviceType"]), "generation": frozenset(program.enums["Generation"]),
        "smi_status": frozenset(program.enums["SmiStatus"]), "target": frozenset(program.enums["RemotePartyRole"]),
        "device": frozenset([True, False]), **{rel: frozenset([True, False]) for rel in raw.relations},
    }
    changes = []
    for r in regions(raw.classes, domains):
        _fold_suitability(r, old)
        clauses = [x for x in dict.fromkeys([r.before["clause"], r.after["clause"], *new.redline_clauses]) if x]
        changes.append({
            "summary": summary(r),
            "conditions": [condition_text(k, v) for k, v in r.conditions.items()],
            "before": _public(r.before), "after": _public(r.after),
            "clauses": clauses, "count": len(r.classes),
            "witness": replay(program, old, new, r),
        })
    out: dict[str, Any] = {
        "old": old.name, "new": new.name, "complete": raw.complete, "changes": changes,
        "count": len(raw.classes), "solver_calls": raw.solver_calls,
        "intent": intent_report(program, sorts, old, new, timeout_ms, rlimit, seed),
    }
    if raw.reason:
        out["reason"] = raw.reason
    return out
