"""What the command line accepts and says about itself: readers of option values (for argparse's
`type=`), the examples and exit-code notes of each command's --help, and --version's text."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from redline.exits import Exit
from redline.inputs import BadInput
from redline.interp import InputError
from redline.interp.values import parse_time

MAX_THREADS = 1024  # DuckDB allocates per thread up front: --threads 100000 takes minutes and gigabytes, more aborts


def path_refused(e: OSError) -> int:
    """An OSError that escaped every reader and writer: bad input (exit 2) when it names the path the file system
    refused (one too long for it, a loop of links, no permission), every command alike; else a bug (exit 70)."""
    if e.filename is None:
        print(f"redline: internal error: {type(e).__name__}: {e} (this is a bug in redline; please report it)", file=sys.stderr)
        return int(Exit.INTERNAL)
    print(f"redline: error: {os.fsdecode(e.filename)}: {e.strerror or e}", file=sys.stderr)
    return int(Exit.USAGE)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments, with an empty one refused (exit 2): `--rules ""` (an unset shell variable) read as no
    --rules at all, so the shipped rules judged instead; an empty path was the working directory."""
    args = parser.parse_args(argv)
    for dest, value in vars(args).items():
        if value == "" or (isinstance(value, list) and "" in value):
            chosen = _chosen(parser, args)
            chosen.error(f"argument {_option(chosen, dest)}: an empty value; give one")
    return args


def _chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)command's parser that `args` came through, e.g. `redline impact fleet`'s."""
    for action in parser._actions:  # noqa: SLF001 - argparse keeps its actions here, and nowhere public
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            name = getattr(args, action.dest, None)
            if isinstance(name, str) and name in action.choices:
                return _chosen(action.choices[name], args)
    return parser


def _option(parser: argparse.ArgumentParser, dest: str) -> str:
    """How the argument `dest` is written on the command line: `--rules`, `REQUEST`."""
    for action in parser._actions:  # noqa: SLF001
        if action.dest == dest:
            return "/".join(action.option_strings) or (action.metavar if isinstance(action.metavar, str) else dest)
    return dest


def positive(text: str) -> int:
    return whole(text, 1)


# Each step of the bounded search adds a copy of the transition relation to one solver, and each depth is a solver
# call: on the shipped temporal properties 4 steps take 11 s, 32 take 23 s, 64 take 190 s, 1000 never end in
# reasonable time. Every shipped story is at most two steps long; a longer bound would only look like thoroughness.
MAX_DEPTH = 32


# Z3 takes its timeout (in milliseconds) and resource limit as 32-bit unsigned numbers and silently wraps a larger
# one: `--timeout 4294968` was a timeout of 704 ms, `--rlimit 4294967297` a limit of 1 (every call `unknown`).
MAX_TIMEOUT_SECONDS = (2**32 - 1) // 1000
MAX_RLIMIT = 2**32 - 1


def timeout(text: str) -> int:
    """`--timeout SECONDS` per solver call: at least 1, at most MAX_TIMEOUT_SECONDS (49 days)."""
    return whole(text, 1, MAX_TIMEOUT_SECONDS)


def rlimit(text: str) -> int:
    return whole(text, 1, MAX_RLIMIT)


MAX_INPUT_BYTES = 1 << 40  # --max-json-bytes / --max-xml-bytes: 1 TiB; past sys.maxsize a bound was an OverflowError


def byte_bound(text: str) -> int:
    return whole(text, 1, MAX_INPUT_BYTES)


def depth(text: str) -> int:
    """`prove --depth`: at least 1, at most MAX_DEPTH."""
    return whole(text, 1, MAX_DEPTH)


def threads(text: str) -> int:
    """A thread count: at least 1, at most MAX_THREADS (a huge one would exhaust memory before any work)."""
    return whole(text, 1, MAX_THREADS)


def whole(text: str, least: int, most: int | None = None) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found `{text}`") from None
    if n < least:
        raise argparse.ArgumentTypeError(f"expected a number of at least {least}, found {n}")
    if most is not None and n > most:
        raise argparse.ArgumentTypeError(f"expected a number of at most {most}, found {n}")
    return n


def count(text: str) -> int:
    return whole(text, 0)


def fraction(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, found `{text}`") from None
    if not 0 <= x <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, found {x}")
    return x


def cost(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an amount such as 150 or 95.50, found `{text}`") from None
    if not x >= 0 or x == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a non-negative amount, found {text}")
    return x


def version_text() -> str:
    """redline's version and those of what decides its answers (the solver, the parser, Python),
    read from the installed distributions' metadata (the CLI imports neither lark nor z3 itself)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def of(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:  # run from a checkout without installing it
            return "unknown (not installed)"
    return (f"redline {of('redline')} (Python {platform.python_version()}, z3-solver {of('z3-solver')}, "
            f"lark {of('lark')})")



def instant(text: str | None) -> int:
    if text is None:  # the fleet as it stands now
        return time.time_ns() // 1000  # microseconds, as redline.times
    try:
        return parse_time(text, "--at")
    except InputError as e:
        raise BadInput(str(e)) from None


EXITS = "  0 {ok}\n  1 {fail}\n  2 bad input or usage (nothing was decided)\n  3 {unknown}\n  70 a bug in redline (please report it)\n"
# Per command: examples a reviewer can copy, and what each exit code means for it.
USAGE_NOTES: dict[str, tuple[list[str], str]] = {
    "check": (["redline check", "redline check -v", "redline check my-rules/new-mod.redline"],
              EXITS.format(ok="the rules check", fail="an error in the rules", unknown="-")),
    "validate": (["redline validate --ruleset mp107 --state state.json request.json",
                  "redline validate --ruleset baseline --format json --state state.json requests/ > verdicts.jsonl"],
                 EXITS.format(ok="every request judged (accepted or rejected)",
                               fail="with --fail-on-reject: some request rejected", unknown="-")),
    "test": (["redline test", "redline test my-scenarios.redline"],
             EXITS.format(ok="every scenario as expected", fail="a scenario not as expected", unknown="-")),
    "prove": (["redline prove", "redline prove --property no_takeover --format json --smt2 out/smt2",
               "redline prove proofs/temporal.redline --depth 8 --cex-dir out/traces"],
              EXITS.format(ok="every result as expected", fail="a result settled against its expectation",
                            unknown="a result unknown (the solver gave up), none against expectation")),
    "diff": (["redline diff baseline mp107", "redline diff baseline mp107 --format json --cex-dir out/diff"],
             EXITS.format(ok="the diff is complete and within the declared intents", fail="an intent violated",
                           unknown="the diff is not complete or the intent check unknown")),
    "liveness": (["redline liveness --ruleset mp107", "redline liveness --ruleset mp107 --fail-on-dead"],
                 EXITS.format(ok="every rule examined", fail="with --fail-on-dead: a dead or redundant rule or disjunct",
                               unknown="some rule's liveness unknown")),
    "report": (["redline report --out evidence", "redline report --modification mp107 --out evidence --format json",
                "redline report --out evidence --fleet fleet/ --at 2026-03-01T12:00:00Z --visit-cost 150"],
               EXITS.format(ok="every result as expected and re-checked", fail="a finding: a result not as expected, "
                             "a re-check that disagrees, a violated intent, a dead rule the modification writes",
                             unknown="something not settled: an unknown or unre-checked result, an incomplete diff")),
    "fmt": (["redline fmt rules/mp107.redline", "redline fmt --check rules proofs", "redline fmt --write rules"],
            EXITS.format(ok="laid out (or nothing would change)", fail="with --check or --diff: a file would change",
                          unknown="-")),
    "codegen": (["redline codegen --ruleset mp107 -o validators/mp107.py"],
                EXITS.format(ok="the validator was written", fail="-", unknown="-")),
    "completion": (['eval "$(redline completion bash)"', "redline completion fish > ~/.config/fish/completions/redline.fish"],
                   EXITS.format(ok="the script was printed", fail="-", unknown="-")),
    "impact": (["redline impact generate fleet/ --devices 100000 --requests 1000000",
                "redline impact fleet fleet/ --visit-cost 150", "redline impact replay fleet/ --format json",
                "redline impact fleet fleet/ --engine spark --threads 2"],
               EXITS.format(ok="the question was answered", fail="-", unknown="-")),
    "lsp": (["redline lsp", "redline lsp --rules my-rules"],
            EXITS.format(ok="the editor closed the session", fail="-", unknown="-")),
}
