"""Counterexamples, witnesses and multi-step traces told for people, as plain data both renderers share.

A finding becomes a `Story`: the setting (parties, device, registration,
bound values), then numbered steps, each with who sent what, the verdict
with its clause, and what changed in the state; and, for a counterexample
that is a state alone, what each candidate request would get.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from redline.codec import key_from_json
from redline.jsondoc import JsonObject


@dataclass
class Step:
    number: int
    actor: str  # "party (name) as ROLE", or "environment"
    action: str  # the request, or the event
    verdicts: list[str]  # "mp107: reject DSP E4 by eligible_user [SRPD 6.1(f)]"
    changed: list[str]


@dataclass
class Story:
    kind: str  # counterexample | witness
    setting: list[str]
    steps: list[Step] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)


def namer(names: dict[str, str]) -> Any:
    """A party id told with the name the finding gives it, where it gives one."""
    def who(pid: Any) -> str:
        return f"{pid} ({names[pid]})" if pid in names else str(pid)
    return who


def verdict_text(v: JsonObject | None) -> str:
    if v is None:
        return "no verdict recorded"
    if v.get("verdict") == "accept":
        effects = v.get("effects") or []
        return "accept" + ("" if effects else " (no effect)")
    parts = ["reject", v.get("layer") or "", v.get("code") or ""]
    text = " ".join(p for p in parts if p)
    if v.get("check"):
        text += f" by {v['check']}"
    if v.get("clause"):
        text += f" [{v['clause']}]"
    return text


# The built-in keys of each record (docs/formats.md); any other key is declared data (`extend ...`).
BUILT_IN = {
    "party": {"roles", "dcc_user"},
    "device": {"type", "generation", "smi_status", "mpxn", "associated_device", "trust_anchors"},
    "request": {"sender", "role", "srv", "device", "remote_party_role", "new_certificate_owner", "execution_time",
                "date_range"},
}


def declared(record: JsonObject, kind: str, who: Any) -> str:
    """The declared fields a record gives a value (`; with dno_region North`), so a reader sees what decides."""
    def shown(v: Any) -> str:
        if isinstance(v, list):
            return "{" + ", ".join(shown(x) for x in v) + "}"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k}: {shown(x)}" for k, x in sorted(v.items())) + "}"
        return str(who(v)) if isinstance(v, str) else json.dumps(v)
    given = [f"{k} {shown(v)}" for k, v in sorted(record.items()) if k not in BUILT_IN[kind] and v is not None]
    return f"; with {', '.join(given)}" if given else ""


def setting(state: JsonObject | None, who: Any) -> list[str]:
    if not state:
        return []
    lines = [f"now {state.get('now')}"]
    for pid, p in sorted((state.get("parties") or {}).items()):
        lines.append(f"party {who(pid)}: roles {', '.join(p.get('roles') or []) or 'none'}; "
                     f"{'a DCC User' if p.get('dcc_user') else 'NOT a DCC User'}{declared(p, 'party', who)}")
    for did, d in sorted((state.get("devices") or {}).items()):
        anchors = ", ".join(f"{c} owned by {who(o)}" for c, o in sorted((d.get("trust_anchors") or {}).items())) or "none"
        where = f"MPxN {d['mpxn']}" if d.get("mpxn") else f"associated with {d.get('associated_device')}"
        lines.append(f"device {did}: {d.get('type')} {d.get('generation')} {d.get('smi_status')}, {where}; "
                     f"trust anchors: {anchors}{declared(d, 'device', who)}")
    for mpxn, items in sorted((state.get("registration") or {}).items()):
        for a in items:
            lines.append(f"registered for {mpxn}: {who(a['party'])} as {a['role']} from {a['from']} to {a.get('to') or 'open'}")
    for name, tuples in sorted((state.get("relations") or {}).items()):
        lines.extend(f"holds {name}({', '.join(who(x) for x in t)})" for t in tuples)
    return lines


def request_text(q: JsonObject, who: Any) -> str:
    text = f"sends {q.get('srv')}"
    if q.get("device"):
        text += f" to {q['device']}"
    if q.get("remote_party_role"):
        text += f" replacing the {q['remote_party_role']} certificate with {who(q.get('new_certificate_owner'))}'s"
    if q.get("execution_time"):
        text += f", to execute at {q['execution_time']}"
    if q.get("date_range"):
        text += f", for {q['date_range'].get('from')} to {q['date_range'].get('to')}"
    return text + declared(q, "request", who)


def changes(before: JsonObject | None, after: JsonObject | None, who: Any) -> list[str]:
    """What differs between two states, in the words of the records."""
    if not before or not after:
        return []
    out = []
    if before.get("now") != after.get("now"):
        out.append(f"time moves from {before.get('now')} to {after.get('now')}")
    bp, ap = before.get("parties") or {}, after.get("parties") or {}
    for pid in sorted(set(bp) | set(ap)):
        if pid not in bp:
            out.append(f"party {who(pid)} appears")
        elif pid not in ap:
            out.append(f"party {who(pid)} is gone")
        else:
            if bp[pid].get("dcc_user") != ap[pid].get("dcc_user"):
                out.append(f"party {who(pid)} {'becomes' if ap[pid].get('dcc_user') else 'is no longer'} a DCC User")
            if bp[pid].get("roles") != ap[pid].get("roles"):
                out.append(f"party {who(pid)}'s roles: {', '.join(bp[pid].get('roles') or []) or 'none'} -> "
                           f"{', '.join(ap[pid].get('roles') or []) or 'none'}")
    bd, ad = before.get("devices") or {}, after.get("devices") or {}
    for did in sorted(set(bd) | set(ad)):
        if did not in bd or did not in ad:
            out.append(f"device {did} {'appears' if did not in bd else 'is gone'}")
            continue
        for k in ("type", "generation", "smi_status", "mpxn", "associated_device"):
            if bd[did].get(k) != ad[did].get(k):
                out.append(f"device {did} {k}: {bd[did].get(k)} -> {ad[did].get(k)}")
        bt, at = bd[did].get("trust_anchors") or {}, ad[did].get("trust_anchors") or {}
        for cell in sorted(set(bt) | set(at)):
            if bt.get(cell) != at.get(cell):
                out.append(f"device {did} {cell} cell: {who(bt[cell]) if cell in bt else 'empty'} -> "
                           f"{who(at[cell]) if cell in at else 'empty'}")
    br, ar = before.get("registration") or {}, after.get("registration") or {}
    for mpxn in sorted(set(br) | set(ar)):
        old = [a for a in br.get(mpxn, []) if a not in ar.get(mpxn, [])]
        new = [a for a in ar.get(mpxn, []) if a not in br.get(mpxn, [])]
        out += [f"registration for {mpxn} loses {who(a['party'])} as {a['role']} from {a['from']}" for a in old]
        out += [f"registration for {mpxn} gains {who(a['party'])} as {a['role']} from {a['from']} to {a.get('to') or 'open'}" for a in new]
    return out


def story(result: JsonObject) -> Story | None:
    found = result.get("counterexample") or result.get("witness")
    if found is None:
        return None
    kind = "counterexample" if result.get("counterexample") else "witness"
    names = {v: k for k, v in (found.get("parties") or {}).items()}
    who = namer(names)
    trace = found.get("trace") or []
    first_state = trace[0].get("state") if trace else found.get("state")
    lines = setting(first_state, who)
    if found.get("values"):
        lines.append("with " + ", ".join(f"{k} = {v}" for k, v in sorted(found["values"].items())))
    s = Story(kind, lines)
    if trace:
        for i, step in enumerate(trace, 1):
            nxt = trace[i]["state"] if i < len(trace) else None
            if step.get("request") is not None:
                q = step["request"]
                actor = f"{who(q.get('sender'))} as {q.get('role')}"
                action = request_text(q, who)
                v = step.get("verdict")
                verdicts = [(f"{v['ruleset']}: " if v and v.get("ruleset") else "") + verdict_text(v)]
            elif step.get("event") is None:  # the run's last state: it ends here, nothing is done in it
                continue
            else:
                ev = step.get("event")
                if isinstance(ev, dict):  # the model checker's form: the declared event, its citation, who it concerns
                    ev = f"{ev.get('name')} [{ev.get('cite')}]" + (f": {ev['party']}" if ev.get("party") else "")
                actor, action, verdicts = "environment", f"event: {ev}", []
            changed = changes(step.get("state"), nxt, who) if nxt is not None else []
            if nxt is not None and not changed:
                changed = ["nothing"]
            s.steps.append(Step(i, actor, action, verdicts, changed))
    elif found.get("request") is not None:
        q = found["request"]
        judged = sorted((found.get("verdicts") or {}).items())
        verdicts = [f"{key_from_json(key).ruleset}: {verdict_text(v)}" for key, v in judged]
        changed = []
        for key, v in judged:  # each rule set's cells after its effects (the last effect on a cell wins)
            after = {(e["device"], e["trust_anchor"]): e["owner"] for e in v.get("effects") or []}
            under = f"under {key_from_json(key).ruleset}: " if len(judged) > 1 else ""
            changed += [f"{under}device {d} {cell} cell -> {who(owner)}" for (d, cell), owner in after.items()]
        s.steps.append(Step(1, f"{who(q.get('sender'))} as {q.get('role')}", request_text(q, who), verdicts, changed))
    for c in result.get("candidates") or []:
        q = c["request"]
        s.candidates.append(f"{who(q.get('sender'))} as {q.get('role')} {request_text(q, who)}: "
                            f"{c['ruleset']}: {verdict_text(c['verdict'])}")
    return s
