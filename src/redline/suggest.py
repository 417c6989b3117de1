"""Did you mean: the one way redline suggests a name for a misspelt one, everywhere it does
(rule files, properties, STATE.json / REQUEST.json, DUIS XML). One cutoff and one count, so
the same slip gets the same suggestion whichever input it is made in.

`codegen/runtime.py` carries a copy (a generated validator imports nothing of redline); keep
its `_closest` the same as `closest` here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6  # difflib's similarity ratio: below it a "suggestion" is more often noise than help
MOST = 3


def closest(name: str, candidates: Iterable[str], n: int = MOST) -> list[str]:
    """Up to `n` candidates like `name`, the likest first; compared as written, else ignoring case."""
    cands = [str(c) for c in candidates]
    found = difflib.get_close_matches(name, cands, n=n, cutoff=CUTOFF)
    if not found:
        lowered = {c.lower(): c for c in cands}
        found = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=CUTOFF)]
    return found


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`; did you mean `a` or `b`?`, or nothing when no candidate is close."""
    found = closest(name, candidates)
    return ("; did you mean " + " or ".join(f"`{c}`" for c in found) + "?") if found else ""


def closest_srvs(srv: str, catalogue: Iterable[str]) -> str:
    """`; the closest SRVs are `a`, `b``, or nothing: an SRV is a number, so no question is asked."""
    found = closest(srv, catalogue)
    return ("; the closest SRVs are " + ", ".join(f"`{c}`" for c in found)) if found else ""
