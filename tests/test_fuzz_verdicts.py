"""Verdict-agreement fuzzing: hostile but plausible STATE/REQUEST documents (issue 15).

Well-formed worlds (the Hypothesis strategies of test_properties and
test_differential) are mutated the way real inputs go wrong: times with
fractions (up to nine digits), offsets, a final newline, Unicode digits or
an impossible clock; ids in another case, with a newline or a space, in
full-width or Arabic-Indic digits, one pair short; a field missing, unknown
or of the wrong type; a party or device listed twice in two spellings; odd
signing-certificate keys. Each goes to the interpreter, through the loaders
`redline validate` uses (`load_state`, `load_request`), and to both
generated validators (written once per session), by `validate` and by
`prepare` + `validate_prepared` twice (memos cold, then warm). They must give
the same verdict, or both refuse with the same message (the generated
runtime promises the interpreter's message).

A short run is part of the default test run. A long one:

    REDLINE_FUZZ_EXAMPLES=20000 PYTHONPATH=src .venv/bin/python -m pytest -q -s tests/test_fuzz_verdicts.py

prints the counts (examples; per rule set, accepts, rejects and refusals).
"""

from __future__ import annotations

import collections
import copy
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_codegen import interpreted
from test_differential import deep_worlds
from test_properties import JUNK, worlds
from test_signers import NAMES

EXAMPLES = int(os.environ.get("REDLINE_FUZZ_EXAMPLES", "150"))
COUNTS: collections.Counter[str] = collections.Counter()

ODD_DIGITS = "٠١٢٣٤٥٦٧٨٩０１２３４５６７８９߀"


@pytest.fixture(scope="module", autouse=True)
def report_counts() -> Iterator[None]:
    yield
    if COUNTS:
        print("\nfuzz verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items())), file=sys.stderr)


def odd_times(base: str) -> st.SearchStrategy[str]:
    head = base[:19]
    return st.one_of(
        st.builds(lambda d: f"{head}.{d}Z", st.text("0123456789", min_size=1, max_size=9)),
        st.sampled_from([f"{head}+00:00", f"{head}+01:00", f"{head}-05:30", f"{head}Z\n", f"{head}.5Z\n", f" {head}Z",
                         f"{head}Z ", f"{head}z", f"{head}", f"{head}.Z", f"{head},5Z", head.replace("T", "t") + "Z",
                         head[:17] + "60Z", head[:11] + "24:00:00Z", "2026-02-29T00:00:00Z", "0000-01-01T00:00:00Z",
                         "9999-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"]),
        st.builds(lambda i, c: base[:i] + c + base[i + 1:], st.sampled_from([0, 3, 6, 9, 12, 18]), st.sampled_from(ODD_DIGITS)),
    )


def odd_ids(base: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([base.lower(), base + "\n", base + " ", " " + base, base.replace("-", ":"), base[:-3], base + "-00",
                         "\u200b" + base, base.replace("-", "\u2013"), base.replace("0", "０", 1), base.replace("0", "٠", 1)]),
        st.just(int(base.replace("-", ""), 16)),
    )


def _is_time(v: Any) -> bool:
    return isinstance(v, str) and len(v) >= 20 and v[4:5] == "-" and v[10:11] == "T"


def _is_id(v: Any) -> bool:
    return isinstance(v, str) and len(v) == 23 and v.count("-") == 7


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield (*path, k), v
            yield from _leaves(v, (*path, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield (*path, i), v
            yield from _leaves(v, (*path, i))


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for k in path[:-1]:
        doc = doc[k]
    return doc


def _rekey(d: dict[str, Any], old: str, new: str) -> None:
    """Rename a key in place, keeping the order of the others (the order decides which error comes first)."""
    items = [(new if k == old else k, v) for k, v in d.items()]
    d.clear()
    d.update(items)


@st.composite
def mutated(draw: st.DrawFn, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with one hostile change."""
    out = copy.deepcopy(doc)
    leaves = list(_leaves(out))
    times = [p for p, v in leaves if _is_time(v)]
    ids = [p for p, v in leaves if _is_id(v)]
    keys = [p for p, _ in leaves if _is_id(p[-1])]
    paths = [p for p, _ in leaves]
    # Well-formed changes (a fraction of a second, an id in lower case) weigh as much as hostile ones,
    # so that verdicts are compared as often as refusals.
    kinds = [k for k, pool in (("fraction", times), ("fraction", times), ("lower", ids), ("time", times), ("id", ids),
                               ("key", keys), ("twice", keys), ("junk", paths), ("delete", paths), ("extra", [()]),
                               ("signers", [()])) if pool]
    kind = draw(st.sampled_from(kinds))
    if kind == "fraction":
        path = draw(st.sampled_from(times))
        head = _parent(out, path)[path[-1]][:19]
        fraction = st.sampled_from(["", ".000000", ".5", ".999999"]) | st.text("0123456789", min_size=1, max_size=6).map(lambda d: "." + d)
        _parent(out, path)[path[-1]] = head + draw(fraction) + "Z"
    elif kind == "lower":
        path = draw(st.sampled_from(ids))
        _parent(out, path)[path[-1]] = _parent(out, path)[path[-1]].lower()
    elif kind == "time":
        path = draw(st.sampled_from(times))
        _parent(out, path)[path[-1]] = draw(odd_times(_parent(out, path)[path[-1]]))
    elif kind == "id":
        path = draw(st.sampled_from(ids))
        _parent(out, path)[path[-1]] = draw(odd_ids(_parent(out, path)[path[-1]]))
    elif kind in ("key", "twice"):
        path = draw(st.sampled_from(keys))
        parent, key = _parent(out, path), path[-1]
        new = draw(odd_ids(key).filter(lambda x: isinstance(x, str) and x != key))
        if kind == "key":
            _rekey(parent, key, new)
        else:  # the same entity listed again under another spelling
            parent[new] = copy.deepcopy(parent[key])
    elif kind == "junk":
        path = draw(st.sampled_from(paths))
        _parent(out, path)[path[-1]] = draw(st.one_of(JUNK, st.floats(allow_nan=False), st.just([]), st.just({})))
    elif kind == "delete":
        path = draw(st.sampled_from(paths))
        del _parent(out, path)[path[-1]]
    elif kind == "extra":
        target = draw(st.sampled_from([out, *[v for _, v in leaves if isinstance(v, dict)]]))
        target[draw(st.sampled_from(["extra", "Now", "srvv", "to", "from", "signing_certificates"]))] = draw(JUNK)
    else:
        owner = draw(st.sampled_from([*sorted(out.get("parties", {})), "90-B3-D5-1F-30-09-00-00"]))
        out["signing_certificates"] = {
            draw(NAMES) + "|" + draw(st.sampled_from(["1", "0012", "x", "٣", ""])): {"party": owner, "role": draw(st.sampled_from(["ED", "IS", "XX"]))}
            for _ in range(draw(st.integers(1, 2)))
        }
    return out


@st.composite
def hostile(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    state, request = draw(st.one_of(worlds(), deep_worlds()))
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3]))):
        if draw(st.booleans()):
            state = draw(mutated(state))
        else:
            request = draw(mutated(request))
    return state, request


def generated_outcomes(module: ModuleType, state: Any, request: Any) -> list[tuple[str, Any]]:
    """`validate`, then `prepare` and `validate_prepared` twice; InputError as ("error", message)."""
    out: list[tuple[str, Any]] = []
    try:
        out.append(("ok", module.validate(state, request)))
    except module.InputError as e:
        out.append(("error", str(e)))
    try:
        prepared = module.prepare(state)
    except module.InputError as e:
        return [*out, ("error", str(e))]
    for _ in range(2):
        try:
            out.append(("ok", module.validate_prepared(prepared, request)))
        except module.InputError as e:
            out.append(("error", str(e)))
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile())
def test_interpreter_and_generated_validator_agree_on_hostile_inputs(
        generated_validators: dict[str, ModuleType], world: tuple[dict[str, Any], dict[str, Any]]) -> None:
    state, request = world
    COUNTS["examples"] += 1
    for name, module in generated_validators.items():
        want = interpreted(name, state, request)
        for got in generated_outcomes(module, state, request):
            assert got == want, (name, state, request)
        COUNTS[f"{name} {want[1]['verdict'] if want[0] == 'ok' else 'refused'}"] += 1
