"""SMT-LIB2 text of a solver's assertions, the same bytes for the same query.

Z3 names the `let` variables it introduces after its internal expression
ids (`$x6422`, `?x93`), and those depend on everything the process built
before: two runs of `redline report` in one process (or after different
earlier work) would write different files for the same obligation. The
names are renumbered here in order of first appearance, which changes no
meaning (they are bound variables) and makes the text reproducible.

Which shared subterms Z3 writes as a `let` depends on each term's reference
count (a small term held at most twice is written out in place), and so on
whatever else holds it: other queries built in the same context, Python
objects not yet freed. `prove` therefore decides each result in a Z3 context
of its own, with the cyclic garbage collector paused (`props.prover.prove`),
so that what holds a term when its query is written is the same on every
run. Found when merely importing another library (DuckDB) changed the
collector's timing, and with it the structure of one obligation.

The text is made from the asserted terms, not from the solver: asking a
solver for its assertions makes terms in its context, which moved the
numbers Z3 gives later terms, and with them the models and unsat cores it
found, so writing the obligations (`--smt2`, the evidence bundle) changed
the answers. (A copy in a fresh context would not do: Z3 writes the copied
enumeration constants as `(_ C C)`, which cvc5 cannot read.)
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
    """The query asserting `assertions` (at least one), as `z3.Solver.to_smt2` writes it."""
    *rest, last = assertions
    given = (z3.Ast * len(rest))()
    for i, a in enumerate(rest):
        given[i] = a.as_ast()
    text = z3.Z3_benchmark_to_smtlib_string(last.ctx.ref(), "benchmark generated from python API", "", "unknown", "",
                                            len(rest), given, last.as_ast())
    return canonical(str(text))


__all__ = ["canonical", "smt2_text"]
