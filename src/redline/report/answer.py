"""The answer a reviewer reads first, in words: what the modification changes, whether that is all
it meant to change, which properties it keeps, gains and breaks, what risk remains, and what the
analysis rests on. Computed once from the evidence, told alike by the HTML and Markdown pages."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from redline.jsondoc import JsonObject
from redline.report.evidence import Evidence, result_name


@dataclass(frozen=True)
class Said:
    """A property's claim as the answer tells it, and the property, whose formula is one click away."""

    text: str
    prop: str

    def __str__(self) -> str:
        return self.text


@dataclass
class Answer:
    modification: str
    base: str | None
    changes: list[str] = field(default_factory=list)  # one sentence per region of the diff, in prose, with its witness
    change_rules: list[list[str]] = field(default_factory=list)  # each region's conditions in rule syntax, for the expert
    coverage: str = ""  # whether those are all the changes
    none_found: str = "Nothing: every request is judged as before."  # said when the diff has no region
    intended: str = ""  # whether they are all the modification declared
    # A property may state a safeguard ("any mis-set certificate can be corrected") or describe the problem
    # ("the stuck state is reachable"); redline does not know which, so these say what changed, not whether
    # it is good, and each says whether it is what the property file expects.
    kept: list[Said] = field(default_factory=list)  # claims that hold before and after
    gained: list[Said] = field(default_factory=list)  # claims that fail before and hold after
    broken: list[Said] = field(default_factory=list)  # claims that hold before and fail after
    risks: list[Said] = field(default_factory=list)  # claims that fail before and still fail after: what it leaves open
    rests_on: list[str] = field(default_factory=list)  # the assumptions these results rest on, most used first
    unsettled: list[str] = field(default_factory=list)


def claim(r: JsonObject) -> str:
    """A property's claim without its citation prefix (`docs/domain.md, ... P1: any mis-set ...`)."""
    text = str(r.get("claim") or r["property"])
    return text.split(": ", 1)[1] if ": " in text else text


def _said(r: JsonObject, more: str = "") -> Said:
    expected = "" if r["status"] == r["expected"] else f", NOT as expected ({r['expected']})"
    why = f"; acknowledged: {r['acknowledged']}" if r.get("acknowledged") else ""  # a generic result the modification expects otherwise
    return Said(f"{claim(r)} ({r['property']}{expected}{why}){more}", r["property"])


def answer(ev: Evidence) -> Answer:
    base = ev.diff["old"] if ev.diff is not None else None
    a = Answer(ev.modification, base, unsettled=list(ev.unsettled))
    if ev.diff is not None:
        d = ev.diff
        regions = ev.view.regions if ev.view is not None and len(ev.view.regions) == len(d["changes"]) else None
        for i, c in enumerate(d["changes"]):
            if regions is not None:  # in prose, the rule syntax one click away
                a.changes.append(regions[i].sentence + (f" {regions[i].example}" if regions[i].example else ""))
            else:
                witness = c.get("witness", {}).get("sentence")
                a.changes.append(c["summary"] + (f" For example: {witness}." if witness else ""))
            a.change_rules.append(list(c["conditions"]))
        a.coverage = ("These are all the changes: no request outside them is judged differently (proved over every state)."
                      if d["complete"] else f"These may NOT be all the changes: {d.get('reason')}.")
        if not d["complete"]:  # "nothing changes" would be the all clear the incomplete diff cannot give
            a.none_found = "No change was found, but the search is NOT complete (below): this is not a finding of no change."
        if "rejection_moves" in d:
            a.coverage += " " + d["rejection_moves"]["sentence"]
        intent = d["intent"]
        a.intended = {
            "satisfied": "That is what the modification declares it intends, and every declared intent really happens.",
            "violated": "NOT only what it intends: " + "; ".join(v["problem"] for v in intent["violations"]) + ".",
            "absent": "The modification declares no intent to check the changes against"
                      + (f" ({intent['reason']})." if intent.get("reason") else "."),
            "unknown": f"Whether that is all it intends could not be settled: {intent.get('reason')}.",
        }.get(intent["status"], f"Intent: {intent['status']}.")
    by: dict[str, dict[str, JsonObject]] = {}
    for r in ev.results:
        by.setdefault(r["property"], {})[r["ruleset"]] = r
    for runs in by.values():
        after = runs.get(ev.modification)
        before = runs.get(base) if base is not None else None
        pair = next((r for k, r in runs.items() if ".." in k), None)
        if pair is not None and pair["status"] == "proved":
            a.kept.append(_said(pair, f", between {pair['ruleset'].replace('..', ' and ')}"))
        elif pair is not None and pair["status"] == "refuted":
            a.broken.append(_said(pair, f", between {pair['ruleset'].replace('..', ' and ')}"))
        if after is None:
            continue
        was = before["status"] if before is not None else None
        now = after["status"]
        if now == "proved":
            (a.gained if was == "refuted" else a.kept).append(_said(after))
        elif now == "refuted" and was == "proved":
            a.broken.append(_said(after))
        elif now == "refuted":
            a.risks.append(_said(after, f" does not hold under {ev.modification}: "
                                       f"see its {'counterexample' if after.get('counterexample') else 'finding'} "
                                       f"under {result_name(after)}"))
    used = Counter(x for r in ev.results if r["ruleset"] in (ev.modification, base) or ".." in r["ruleset"]
                   for x in r.get("assumptions") or [])
    text = {x["name"]: x["text"] for x in ev.assumptions}
    a.rests_on = [f"{name} ({n} results): {text.get(name, '')}" for name, n in used.most_common()]
    return a
