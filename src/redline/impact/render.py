"""The impact results as text tables for people (JSON for machines is the results themselves)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redline.jsondoc import JsonObject


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    cells = [[str(h) for h in header]] + [[_cell(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.3f}%" if total else "-"


def format_fleet(r: JsonObject) -> str:
    names = r["rulesets"]
    two = len(names) == 2
    out = [f"fleet at {r['at']}: {r['devices']:,} devices; {r['mis_set']:,} with a {r['cell']} cell "
           f"not owned by the registered party ({_pct(r['mis_set'], r['devices'])}); {r['unregistered']:,} with no "
           f"registered party", ""]
    for name in names:
        s = r["stuck"][name]["devices"]
        out.append(f"stuck under {name}: {s:,} ({_pct(s, r['devices'])} of the fleet)")
    if two:
        out.append(f"freed by {names[1]}: {r['freed']:,}")
        if r.get("site_visits_saved_cost") is not None:
            out.append(f"site visits saved at {r['site_visit_cost']:,.2f} each: {r['site_visits_saved_cost']:,.2f}")
    header = ["", "devices", "mis-set", *(f"stuck {n}" for n in names), *(["freed"] if two else [])]
    for by, rows in r["by"].items():
        out += ["", f"by {by.replace('_', ' ')}:"]
        out += _table(header, [[row["key"], row["devices"], row["mis_set"], *(row["stuck"][n]["devices"] for n in names),
                                *([row["freed"]] if two else [])] for row in rows])
    return "\n".join(out)


def replay_bugs(replay: JsonObject | None) -> list[str]:
    """The region problems of a replay answer of two rule sets (none for one rule set, or no replay)."""
    changes = (replay or {}).get("changes")
    return region_problems(changes["by_region"]) if changes and changes.get("by_region") is not None else []


def region_problems(regions: JsonObject) -> list[str]:
    """A changed request in no region is a bug in redline (the diff or the SQL): said loudly. One in several is not
    (the diff's regions may overlap; it is counted in the first: regions.tie), and is told by `region_overlaps`."""
    x = regions["outside_every_region"]
    if not x["requests"]:
        return []
    why = "" if regions["diff_complete"] else " (the diff is not complete, so it may miss them)"
    return [f"BUG: {x['requests']:,} changed requests fall outside every region of the diff{why}; this is a bug in redline, "
            "please report it; request ids " + ", ".join(str(i) for i in x["examples"])]


def region_overlaps(regions: JsonObject) -> str | None:
    """A sentence on the changed requests that lie in more than one region, if any."""
    x = regions["in_several_regions"]
    if not x["requests"]:
        return None
    return (f"{x['requests']:,} changed requests lie in more than one region (the diff's regions overlap there, with the "
            "same outcomes); each is counted in the first; request ids " + ", ".join(str(i) for i in x["examples"]))


def format_replay(r: JsonObject, top: int = 10) -> str:
    out = []
    for name, s in r["summary"].items():
        out.append(f"{name}: {s['requests']:,} requests, {s['accepted']:,} accepted ({_pct(s['accepted'], s['requests'])})")
        out += _table(["rejected by", "layer", "code", "requests"],
                      [[c["check"], c["layer"], c["code"], c["requests"]] for c in s["rejected_by"]])
        for key in ("by_srv", "by_role", "by_sender"):
            rows = s[key]
            out += ["", f"  {key.replace('_', ' ')} (top {min(top, len(rows))} of {len(rows)}):"]
            out += ["  " + line for line in _table(["", "requests", "accepted"],
                                                   [[x["key"], x["requests"], x["accepted"]] for x in rows[:top]])]
        out.append("")
    ch = r.get("changes")
    if ch is not None:
        old, new = r["rulesets"]
        out.append(f"{ch['changed']:,} requests change verdict from {old} to {new} (by outcome class):")
        out += _table([old, new, "requests"], [[c["old"], c["new"], c["requests"]] for c in ch["classes"]])
        for key in ("by_srv", "by_role"):
            if ch.get(key):
                out += ["", f"  changed requests {key.replace('_', ' ')}:"]
                out += ["  " + line for line in _table(["", "requests"], [[x["key"], x["requests"]] for x in ch[key][:top]])]
        regions = ch.get("by_region")
        if regions is not None:
            out += ["", f"  changed requests by region of redline diff {old} {new}:"]
            out += [f"  {x['requests']:>10,}  {x['region']}. {x['summary']}" for x in regions["regions"]]
            out += region_problems(regions)
            overlap = region_overlaps(regions)
            out += [overlap] if overlap else []
        if ch["examples"]:
            out.append("for example request ids " + ", ".join(str(e["request_id"]) for e in ch["examples"]))
    if r.get("rejected_rows"):
        out.append("bad rows set aside: " + ", ".join(f"{t} {n:,}" for t, n in r["rejected_rows"].items()))
    return "\n".join(out).rstrip()
