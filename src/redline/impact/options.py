"""`redline impact` on the command line: its options, and the rule sets a question names.

Imports neither DuckDB nor the questions (`run`): building the parser for any command must stay cheap.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from redline import usage
from redline.check.checked import Program, RuleSet
from redline.impact.params import Engine, FleetParams
from redline.inputs import BadInput
from redline.validation import ruleset_named


def rulesets_of(program: Program, names: list[str] | None) -> list[RuleSet]:
    """The rule sets an impact question compares: one, or old then new (default baseline, then mp107)."""
    names = names or ["baseline", "mp107"]
    if len(names) > 2:
        raise BadInput("give one rule set, or two to compare (old, then new)")
    out = []
    for name in names:
        out.append(ruleset_named(program, name))
    return out


def engine_of(args: argparse.Namespace) -> Engine:
    """The engine `--engine` names (DuckDB when none is), with its Spark options (refused without `--engine spark`)."""
    if args.engine != "spark" and (args.spark_master or args.spark_staging):
        raise BadInput("--spark-master and --spark-staging are options of --engine spark")
    return Engine(args.engine or "duckdb", args.spark_master, args.spark_staging)


def without_fleet(args: argparse.Namespace) -> None:
    """Refuse `redline report`'s fleet options when no `--fleet DIR` is given."""
    if args.fleet is None and (args.at is not None or args.visit_cost is not None):
        raise BadInput("--at and --visit-cost are about a fleet: give --fleet DIR as well")
    if args.fleet is None and (args.engine is not None or args.spark_master or args.spark_staging):
        raise BadInput("--engine, --spark-master and --spark-staging are about a fleet: give --fleet DIR as well")


def add_engine_options(p: argparse.ArgumentParser, default: str | None = "duckdb", given: str = "") -> None:
    """`--engine`, `--spark-master` and `--spark-staging`, as `redline impact fleet|replay` and
    `redline report --fleet` take them; `given` begins each help text (report's: "with --fleet: ")."""
    p.add_argument("--engine", choices=("duckdb", "spark"), default=default,
                   help=f"{given}what judges the requests (default duckdb); loading, checking and counting stay with DuckDB")
    p.add_argument("--spark-master", metavar="URL",
                   help="with --engine spark: the Spark master (default local[N], N from --threads, else every core)")
    p.add_argument("--spark-staging", metavar="DIR",
                   help="with --engine spark: where the tables go to Spark as Parquet (default a temporary directory;"
                        " on a cluster, storage every executor reads at the same path)")


def add_parser(sub: Any, common: argparse.ArgumentParser, parser_class: type[argparse.ArgumentParser],
               run: Callable[[argparse.Namespace], int]) -> None:
    """`redline impact` and its three questions, on the command line's subparsers `sub`."""
    p = sub.add_parser("impact", help="fleet impact on DuckDB or Spark: stuck devices, log replay, a synthetic fleet")
    questions = p.add_subparsers(dest="question", required=True, parser_class=parser_class)
    shared = parser_class(add_help=False)
    shared.add_argument("--threads", type=usage.threads, metavar="N", help="DuckDB threads, and with --engine spark its local[N] (default: every core)")
    tables = parser_class(add_help=False)
    tables.add_argument("fleet", metavar="DIR", help="the fleet tables: <table>.parquet or <table>.csv (README: Fleet impact)")
    tables.add_argument("--ruleset", action="append", metavar="NAME",
                        help="a rule set; twice to compare old and new (default: baseline, then mp107)")
    tables.add_argument("--bad-rows", metavar="DIR", help="write bad rows to DIR/<table>.csv and go on (default: exit 2 at the first)")
    add_engine_options(tables)
    q = questions.add_parser("fleet", parents=[common, shared, tables], help="devices stuck with a trust anchor nobody can correct")
    q.add_argument("--at", metavar="TIME", help="the instant to judge the fleet at (default: now)")
    q.add_argument("--visit-cost", type=usage.cost, metavar="AMOUNT", help="the cost of one site visit, to price the devices freed")
    q = questions.add_parser("replay", parents=[common, shared, tables], help="every request of a log judged; what changes between two rule sets")
    q.add_argument("--verdicts", metavar="FILE", help="write every verdict to FILE (.parquet, else CSV)")
    q.add_argument("--examples", type=usage.positive, default=20, metavar="N", help="changed requests to list (default 20)")
    q = questions.add_parser("generate", parents=[common, shared], help="write a synthetic fleet (deterministic by seed)")
    q.add_argument("out", metavar="DIR", help="where to write the fleet tables (Parquet)")
    defaults = FleetParams()
    q.add_argument("--devices", type=usage.positive, default=defaults.devices, help=f"devices in the fleet (default {defaults.devices})")
    q.add_argument("--requests", type=usage.count, default=defaults.requests, help="requests in the log (default none)")
    shares = {"smets1_share": "share of SMETS1 devices", "wrong_no_share": "share with a wrong Network Operator certificate",
              "churn": "share of sites that changed Supplier", "correction_share": "share of requests that are corrections"}
    for name, what in shares.items():
        q.add_argument("--" + name.replace("_", "-"), type=usage.fraction, default=getattr(defaults, name),
                       help=f"{what}, 0 to 1 (default {getattr(defaults, name)})")
    counts = {"suppliers": "Suppliers", "dnos": "Electricity Distributors", "gts": "Gas Transporters"}
    for name, what in counts.items():
        q.add_argument("--" + name, type=usage.positive, default=getattr(defaults, name),
                       help=f"how many {what} (default {getattr(defaults, name)})")
    q.add_argument("--seed", type=int, default=defaults.seed, help=f"the generator's seed (default {defaults.seed})")
    p.set_defaults(run=run)
