"""A region of the semantic diff told in prose, as a SEC Panel member reads it: "A SMETS1 6.15.1 (Update
Security Credentials (KRP)) request from a Network Operator (ED or GT), replacing the Network Operator
certificate, on a device in the SMI, ... is now accepted (was rejected by the DSP with E4 under SRPD 6.1(f))."

Every word comes from the checked program: enum members and names split into words, record fields,
layers, the catalogue's SRV names, the groups of the User Roles. Nothing names a modification. The
rule-syntax conditions stay in the diff's `conditions`, one click away for the expert.

A condition is found again from its text: the diff labels each fact with the source text of the
condition it is (or a name the rules define), so the labels of the two rule sets' conditions lead back
to the IR, and the IR is worded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, assert_never

from redline.check import checked as ir
from redline.check.text import expr_text
from redline.check.types import RecordT, SetT
from redline.jsondoc import JsonObject

# How names that are abbreviations are written: the vocabulary of the DCC's documents, not of any modification.
_ABBREVIATIONS = {"srv": "SRV", "smi": "SMI", "dcc": "DCC", "duis": "DUIS", "mpxn": "MPxN", "dsp": "DSP", "rdp": "RDP"}
# The request's own variables, said as what they are.
_VARS = {"request": "the request", "sender": "the sender", "role": "the User Role it is sent in", "srv": "the SRV",
         "device": "the device", "now": "the time of the request"}
# The finite attributes a region's conditions name (props/diff.py `condition_text`), by the field the rules read.
_FINITE = {"srv": "srv", "role": "role", "device.type": "device_type", "device.generation": "generation",
           "device.smi_status": "smi_status", "request.remote_party_role": "target"}
_FINITE_FACT = re.compile(r"^(srv|role|device\.type|device\.generation|device\.smi_status|request\.remote_party_role)"
                          r" (?:== ([^\s{}]+)|in \{([^{}]*)\})$")


def _srv_order(s: str) -> tuple[int | str, ...]:
    return tuple(int(x) if x.isdigit() else x for x in s.split("."))


def words(name: str) -> str:
    """`smi_status` -> "SMI status", `NetworkOperator` -> "Network Operator": a name as words."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ")
    return " ".join(_ABBREVIATIONS.get(w.lower(), w) for w in spaced.split())


def _negated(clause: str) -> str:
    """A clause in words, negated at its verb: "sender is eligible" -> "sender is not eligible",
    "sender owns X" -> "sender does not own X"."""
    ws = clause.split()
    for i, w in enumerate(ws):
        if w in ("is", "are", "has", "can", "was"):
            return " ".join([*ws[:i], {"has": "does not have"}.get(w, f"{w} not"), *ws[i + 1:]])
        if i > 0 and w.endswith("s") and not w.endswith("ss") and ws[i - 1] in _VARS.keys() | {"it"}:
            return " ".join([*ws[:i], "does not", w[:-1], *ws[i + 1:]])
    return f"it is not so that {clause}"


class Wording:
    """Words for one program's conditions and values."""

    def __init__(self, program: ir.Program, rulesets: Iterable[ir.RuleSet]) -> None:
        self.program = program
        self.rulesets = list(rulesets)
        self.conditions: dict[str, ir.Expr] = {}
        for rs in self.rulesets:
            for c in rs.checks:
                for x in (c.applies, c.requires, *(w.when for w in c.exceptions)):
                    if x is not None:
                        self._collect(x)
            for ef in rs.effects:
                self._collect(ef.when)

    def _collect(self, e: ir.Expr) -> None:
        if isinstance(e, ir.AndE | ir.OrE | ir.NotE | ir.IfE):
            for child in ir.children(e):
                if isinstance(child, ir.AndE | ir.OrE | ir.NotE | ir.IfE | ir.Eq | ir.Member | ir.Defined | ir.GetField
                              | ir.Registered | ir.ThroughoutE | ir.Related):
                    self._collect(child)
            return
        label = e.name if isinstance(e, ir.Defined) else expr_text(e)
        self.conditions.setdefault(label, e)

    # ---- values -------------------------------------------------------------------------------

    def members(self, values: Iterable[Any], enum_part: str | None = None) -> str:
        """A set of enum members as words: a group's name where the set is exactly a group."""
        vs = frozenset(str(v) for v in values)
        for name, (_, members) in self.program.groups.items():
            if members == vs and len(vs) > 1:
                return f"{words(name)} ({' or '.join(sorted(vs))})"
        return " or ".join(words(v) if not v[:1].isdigit() else v for v in sorted(vs))

    def srv(self, srvs: Iterable[str], most: int = 4) -> str:
        """SRVs with their DUIS names; past `most`, a count (the rule conditions list them all)."""
        catalogue = self.rulesets[0].catalogue if self.rulesets else {}
        named = [f"{s} ({catalogue.get(s, {}).get('name', 'an SRV')})" for s in sorted(srvs, key=_srv_order)]
        if len(named) > most + 1:
            return f"{', '.join(named[:most])} or one of {len(named) - most} more SRVs"
        return " or ".join(named)

    def noun(self, e: ir.Expr) -> str:
        match e:
            case ir.Var(name=n):
                return _VARS.get(n, f"the {words(n)}")
            case ir.Defined(name=n):
                return f"the {words(n)}"
            case ir.Const(value=v, type=t):
                if isinstance(v, frozenset):
                    return self.members(v)
                if isinstance(v, bool) or v is None:
                    return {True: "true", False: "false", None: "nothing"}[v]
                if isinstance(t, RecordT):
                    return self.srv([str(v)])
                return words(str(v)) if isinstance(v, str) else str(v)
            case ir.GetField(obj=o, name=n):
                return f"{self.owner(o)} {words(n)}"
            case ir.GetIndex(obj=ir.GetField(obj=o, name=n), key=k):
                return f"{self.owner(o)} {self.noun(k).removeprefix('the ')} {words(n).removesuffix('s')}"
            case ir.GetIndex(obj=o, key=k):
                return f"the {self.noun(k).removeprefix('the ')} entry of {self.noun(o)}"
            case ir.SetE(items=xs):
                return " or ".join(self.noun(x) for x in xs)
            case ir.Eq() | ir.Member() | ir.AndE() | ir.OrE() | ir.NotE() | ir.IfE() | ir.Registered() | ir.ThroughoutE() | ir.Related():
                return f"whether {self.clause(e, True)}"
            case _:
                assert_never(e)

    def owner(self, e: ir.Expr) -> str:
        n = self.noun(e)
        return n + ("'" if n.endswith("s") else "'s")

    # ---- conditions ---------------------------------------------------------------------------

    def clause(self, e: ir.Expr, holds: bool) -> str:
        """Condition `e` as a clause, saying it holds (or not)."""
        match e:
            case ir.Defined(name=n):
                text = words(n)
                text = text if text.split()[0].lower() not in _VARS else f"the {text}"
                return text if holds else _negated(text)
            case ir.GetField(obj=o, name=n):
                return f"{self.noun(o)} {'is' if holds else 'is not'} {words(n)}"
            case ir.Eq(left=a, right=ir.Const(value=None), negated=neg) | ir.Eq(left=ir.Const(value=None), right=a, negated=neg):
                return f"{self.noun(a)} {'is not given' if holds != neg else 'is given'}"
            case ir.Eq(left=a, right=b, negated=neg):
                return f"{self.noun(a)} {'is' if holds != neg else 'is not'} {self.noun(b)}"
            case ir.Registered(party=p, role=r, mpxn=m):
                return f"{self.noun(p)} {'is' if holds else 'is not'} registered as {self.noun(r)} for {self.noun(m)}"
            case ir.ThroughoutE(predicate=pr, times=t):
                return f"{self.clause(pr, holds)} throughout {self.noun(t)}"
            case ir.Related(name=n, args=xs):
                verb = ("is" if holds else "is not") if len(xs) == 1 else ("are" if holds else "are not")
                return f"{' and '.join(self.noun(x) for x in xs)} {verb} {words(n)}"
            case ir.Member(item=a, collection=b, negated=neg):
                target = self.noun(b)
                if isinstance(b, ir.Const) or isinstance(b.type, SetT) and isinstance(b, ir.SetE):
                    return f"{self.noun(a)} {'is' if holds != neg else 'is not'} {target}"
                return f"{self.noun(a)} {'is one of' if holds != neg else 'is not one of'} {target}"
            case ir.NotE(operand=x):
                return self.clause(x, not holds)
            case ir.Const() | ir.Var() | ir.GetIndex() | ir.AndE() | ir.OrE() | ir.IfE() | ir.SetE():
                text = self.fallback(expr_text(e))  # no better wording: the rule text, made into words
                return text if holds else f"it is not so that {text}"
            case _:
                assert_never(e)

    def fallback(self, text: str) -> str:
        """Rule text with no better wording, made into words: operators and paths spelled out."""
        text = text.replace("!=", " is not ").replace("==", " is ").replace(";", ",")
        text = re.sub(r"\b([a-z_]+)\.([a-z_]+)", lambda m: f"{words(m[1])}'s {words(m[2])}", text)
        return " ".join(words(w) if "_" in w else w for w in text.split())

    def placeholder(self, text: str, srvs: list[str] | None) -> bool:
        """A condition on the certificate of a request whose SRVs carry none: the solver's spelling of a value
        the rules never read there (smt/diff.py `base_constraints`), not a condition of the region."""
        if srvs is None or not any(f"request.{f}" in text for f in ("remote_party_role", "new_certificate_owner")):
            return False
        catalogue = self.rulesets[0].catalogue if self.rulesets else {}
        return not any(ir.carries_certificate(catalogue.get(s, {})) for s in srvs)

    def condition(self, text: str) -> str | None:
        """One of a region's conditions (props/diff.py wording) in prose; None for what the subject already says."""
        under = ""
        m = re.match(r"^(.*) \(under ([^()]*)\)$", text)
        if m:
            text, under = m[1], f" (as {m[2]} judges it)"
        if _FINITE_FACT.match(text) or text in ("device in SMI", "no device in the SMI"):
            return None
        for candidate, holds in self._readings(text):
            if candidate in self.conditions:
                return self.clause(self.conditions[candidate], holds) + under
        return self.fallback(text) + under

    @staticmethod
    def _readings(text: str) -> list[tuple[str, bool]]:
        """The labels a condition's text may be, with whether it says the label holds (props/diff.py negates a
        label as `not x`, `not (x)`, or by flipping `==`/`!=` and `in`/`not in`)."""
        out = [(text, True)]
        if text.startswith("not (") and text.endswith(")"):
            out.append((text[5:-1], False))
        elif text.startswith("not "):
            out.append((text[4:], False))
        for a, b in ((" != ", " == "), (" == ", " != "), (" not in ", " in ")):
            if a in text:
                out.append((text.replace(a, b, 1), False))
        return out


def outcome(o: JsonObject) -> str:
    if o.get("verdict") == "accept":
        effects = o.get("effects") or []
        return "accepted" + (f" (effect: {', '.join(words(x) for x in effects)})" if effects else ", with no effect")
    text = f"rejected by the {o.get('layer')}" + (f" with {o['code']}" if o.get("code") else "")
    # a clause citing several sources lists them with `;`: in a sentence, "and"
    return text + (f" ({o['clause'].replace('; ', ' and ')})" if o.get("clause") else "")


def region_sentence(w: Wording, change: JsonObject, old: str, new: str) -> str:
    facts: dict[str, list[str]] = {}
    device: bool | None = None
    for text in change["conditions"]:
        m = _FINITE_FACT.match(text)
        if m:
            facts[_FINITE[m[1]]] = [x.strip() for x in (m[2] or m[3]).split(",")]
        elif text == "device in SMI":
            device = True
        elif text == "no device in the SMI":
            device = False
    generation = " or ".join(facts.get("generation", []))
    text = f"A {generation} request".replace("  ", " ") + (f" for {w.srv(facts['srv'])}" if "srv" in facts else " for any SRV")
    if "role" in facts:
        roles = w.members(facts["role"])
        text += f" from {'an' if roles[:1] in 'AEIOU' else 'a'} {roles}"
    if "target" in facts:
        text += f" replacing the {w.members(facts['target'])} certificate"
    if device is False:
        text += ", for a device not in the SMI"
    elif device or any(k in facts for k in ("generation", "device_type", "smi_status")):
        text += ", on a device in the SMI"
        if "device_type" in facts:
            text += f" of type {w.members(facts['device_type'])}"
        if "smi_status" in facts:
            text += f" with SMI status {w.members(facts['smi_status'])}"
    where = [c for c in (w.condition(x) for x in change["conditions"] if not w.placeholder(x, facts.get("srv"))) if c]
    if where:
        text += ", where " + (", ".join(where[:-1]) + " and " + where[-1] if len(where) > 1 else where[0])
    some = "" if change.get("exact", True) else "Some requests of this kind: "
    return (f"{some}{text}, is now {outcome(change['after'])} under {new} "
            f"(was {outcome(change['before'])} under {old}).")


def example_sentence(w: Wording, change: JsonObject) -> str | None:
    """The replayed witness in words, saying nothing the region leaves to the solver's choice: the certificate
    it targets is told only where the region is about the target."""
    q = (change.get("witness") or {}).get("request")
    if not q:
        return None
    text = f"party {q['sender']}, as {q['role']}, sends {w.srv([q['srv']])}"
    if q.get("remote_party_role") and any("request.remote_party_role" in c for c in change["conditions"]):
        text += f" replacing the {words(q['remote_party_role'])} certificate"
    return f"For example (replayed through the interpreter under both rule sets): {text}."
