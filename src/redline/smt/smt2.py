"""SMT-LIB2 text of a solver's assertions, the same bytes for the same query.

Z3 names the `let` variables it introduces after its internal expression
ids (`$x6422`, `?x93`), and those depend on everything the process built
before: two runs of `redline report` in one process (or after different
earlier work) would write different files for the same obligation. The
names are renumbered here in order of first appearance, which changes no
meaning (they are bound variables) and makes the text reproducible.

Which shared subterms Z3 writes as a `let` also depends on what else holds
them: terms Python has not yet garbage-collected count. `prove` therefore
runs with the cyclic garbage collector paused (`props.prover.prove`), so what
is still held when a query is written is the same on every run. Found when
merely importing another library (DuckDB) changed the collector's timing,
and with it the structure of one obligation between two runs. (A collection
before each query, or copying it into a fresh context, also works, but costs
half to five times the proofs themselves.)
"""

from __future__ import annotations

import re

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


def smt2_text(solver: z3.Solver) -> str:
    return canonical(str(solver.to_smt2()))


__all__ = ["canonical", "smt2_text"]
