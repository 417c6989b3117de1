#!/usr/bin/env python3
"""Equivalence at scale: the generated validators against the interpreter (and Z3).

What is checked, and why (issue 7: the generated validator must mean
exactly what the proved rules mean):

1. Random requests: the benchmark's generator (bench/validate.py: a state of
   thousands of devices and a realistic mix over every SRV and role) with
   several seeds, at least 100,000 requests per rule set. Each generated
   verdict must equal the interpreter's `to_json()`, for the request as
   generated (every field given, null where unused) and again with its
   nulls left out.
2. Exhaustive: every combination of SRV, User Role, device type, generation
   and target cell with every pattern of the relations the rules look at
   (tests/codegen_space.py), for both rule sets.
3. Z3: the interpreter is held to the Z3 encoding by the differential test;
   on the same random inputs as that test, the three are compared together
   by tests/test_codegen.py::test_generated_interpreter_and_encoding_agree,
   which this script runs with `--z3 N` examples (it costs a solver call
   per rule set per example, so the default here is modest).

Usage:

    .venv/bin/python bench/codegen_equivalence.py                 # random 100,000 x 2 rule sets + exhaustive
    .venv/bin/python bench/codegen_equivalence.py --z3 20000      # and 20,000 three-way Hypothesis examples
    .venv/bin/python bench/codegen_equivalence.py --quick         # small sizes, a smoke run
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from validate import Sizes, load_generated, load_rules, make_requests, make_state  # bench/validate.py

from redline.check.checked import Program
from redline.interp import Validator, load_request, load_state
from redline.loading import repo_rules

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import codegen_space  # noqa: E402  (tests/codegen_space.py: the exhaustive space)

RULESETS = ("baseline", "mp107")
SEEDS = (1, 2, 3, 4)


def random_agreement(program: Program, modules: dict[str, Any], sizes: Sizes, seeds: tuple[int, ...]) -> int:
    catalogue = dict(program.rulesets["baseline"].catalogue)
    compared = 0
    for seed in seeds:
        rng = random.Random(seed)
        state_json, parties, sites = make_state(rng, sizes)
        raw = make_requests(rng, sizes.requests, state_json, parties, sites, catalogue)
        state = load_state(state_json, program)
        for name in RULESETS:
            rs, module = program.rulesets[name], modules[name]
            validator, prepared = Validator(rs), module.prepare(state_json)
            for q in raw:
                want = validator.validate(state, load_request(q, state, program, rs)).to_json()
                # As sent, and with its nulls left out, as a sender may (a path of its own in the module).
                for sent in (q, {k: v for k, v in q.items() if v is not None}):
                    got = module.validate_prepared(prepared, sent)
                    if got != want:
                        raise SystemExit(f"DISAGREEMENT under {name} (seed {seed}):\n  request {sent}\n  interpreter {want}\n  generated {got}")
                compared += 1
        print(f"  seed {seed}: {len(raw)} requests x {len(RULESETS)} rule sets agree")
    return compared


def exhaustive_agreement(program: Program, modules: dict[str, Any], state_step: int) -> int:
    compared = 0
    catalogue = program.rulesets["baseline"].catalogue
    for i, (state_json, requests) in enumerate(codegen_space.space(catalogue, program.enums)):
        if i % state_step:
            continue
        state = load_state(state_json, program)
        prepared = {name: m.prepare(state_json) for name, m in modules.items()}
        for q in requests:
            for name in RULESETS:
                rs = program.rulesets[name]
                want = VALIDATORS[name].validate(state, load_request(q, state, program, rs)).to_json()
                got = modules[name].validate_prepared(prepared[name], q)
                if got != want:
                    raise SystemExit(f"DISAGREEMENT under {name}:\n  state {state_json}\n  request {q}\n  interpreter {want}\n  generated {got}")
                compared += 1
    return compared


VALIDATORS: dict[str, Validator] = {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--z3", type=int, default=0, metavar="N", help="also run N three-way Hypothesis examples (with Z3)")
    args = parser.parse_args()
    program = load_rules(repo_rules())
    VALIDATORS.update({name: Validator(program.rulesets[name]) for name in RULESETS})
    with tempfile.TemporaryDirectory() as tmp:
        modules = {name: load_generated(program, name, Path(tmp)) for name in RULESETS}
        sizes = Sizes(devices=1_000, requests=2_000) if args.quick else Sizes(devices=5_000, requests=25_000)
        print(f"== Random requests: generated vs interpreter ({len(SEEDS)} seeds x {sizes.requests} requests) ==")
        start = time.perf_counter()
        random_count = random_agreement(program, modules, sizes, SEEDS)
        print(f"  {random_count} verdicts equal ({random_count // len(RULESETS)} requests per rule set); {time.perf_counter() - start:.0f} s")
        step = 97 if args.quick else 1
        print("== Exhaustive space: generated vs interpreter" + (" (every 97th state pattern)" if step > 1 else "") + " ==")
        start = time.perf_counter()
        exhaustive_count = exhaustive_agreement(program, modules, step)
        print(f"  {exhaustive_count} verdicts equal ({exhaustive_count // len(RULESETS)} requests per rule set, "
              f"{len(codegen_space.state_keys(program.enums)) // step} state patterns); {time.perf_counter() - start:.0f} s")
    if args.z3:
        print(f"== Three-way (generated, interpreter, Z3): {args.z3} Hypothesis examples, both rule sets ==")
        env = {**os.environ, "REDLINE_CODEGEN_EXAMPLES": str(args.z3)}
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "tests/test_codegen.py::test_generated_interpreter_and_encoding_agree"], cwd=REPO, env=env)
        print(f"  {'agree' if done.returncode == 0 else 'FAILED'}; {time.perf_counter() - start:.0f} s")
        if done.returncode:
            return 1
    print(f"PASS: {random_count} random and {exhaustive_count} exhaustive verdicts agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
