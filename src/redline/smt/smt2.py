"""SMT-LIB2 text of a solver's assertions, the same bytes for the same query.

Z3 names the `let` variables it introduces after its internal expression
ids (`$x6422`, `?x93`), and those depend on everything the process built
before: two runs of `redline report` in one process (or after different
earlier work) would write different files for the same obligation. The
names are renumbered here in order of first appearance, which changes no
meaning (they are bound variables) and makes the text reproducible.

Which shared subterms Z3 writes as a `let` depends on each term's reference
count (a small term held at most twice is written out in place), and so on
whatever else holds it: Python objects not yet freed, other queries built in
the same context. The assertions are therefore copied into a context of
their own and printed there, where the only references are the query's own.
That also leaves the solver's context as it was: printing there, or even
asking the solver for its assertions, creates terms, which moved the ids of
later terms and with them the models and unsat cores Z3 found, so writing the
obligations (`--smt2`, the evidence bundle) changed the answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import z3

# A quoted symbol or a string literal (left alone), or a let variable Z3 named: `$x` or `?x` and digits.
_SIMPLE = r"[\w.!@$?~%^&*+<>=/-]"
_TOKEN = re.compile(rf'(\|[^|]*\||"(?:[^"]|"")*")|(?<!{_SIMPLE})([$?]x)(\d+)(?!{_SIMPLE})')


def canonical(text: str) -> str:
    names: dict[str, str] = {}

    def rename(m: re.Match[str]) -> str:
        if m.group(1) is not None:
            return m.group(1)
        old = m.group(2) + m.group(3)
        if old not in names:
            names[old] = f"{m.group(2)}{len(names) + 1}"
        return names[old]
    return _TOKEN.sub(rename, text)


def smt2_text(assertions: Sequence[z3.BoolRef]) -> str:
    """The query asserting `assertions` (the terms given to the solver: asking a solver for its
    assertions creates terms in its context)."""
    ctx = z3.Context()
    copy = z3.Solver(ctx=ctx)
    copy.add([a.translate(ctx) for a in assertions])
    return canonical(str(copy.to_smt2()))


__all__ = ["canonical", "smt2_text"]
