#!/usr/bin/env python3
"""Benchmark: how fast redline loads its rules and validates service requests.

What is measured, and why:

1. Rule loading. Every `redline` command starts by parsing and checking the
   shipped rules (rules/**/*.redline, through `redline.build.build`). A user
   pays this on each invocation, so it should stay under 1 s. We print the
   first run (which also builds the LALR parser) and the median of 5.

2. Validation throughput. A DCC-scale batch pushes many requests through one
   compiled rule set, so the interpreter has a floor of 20,000 requests/s in
   a single process. We generate, from a fixed seed, a STATE of at least
   10,000 devices (meters, GPFs, comms hubs, PPMIDs and other devices on
   SMETS1 and SMETS2 sites, with trust anchors owned by many parties and
   time-indexed registration with several assignments per MPxN) and at
   least 100,000 requests covering every SRV of the catalogue, every User
   Role, known and unknown devices, 6.15.1 with its target role and new
   owner, execution times and date ranges. Every request is valid input by
   construction: the loaders never reject one.

   The headline figure times only `Validator.validate(state, request)` over
   pre-loaded requests, median of 5 runs, for `baseline` and `mp107`. It is
   the figure checked against the floor. A second figure adds the work a
   caller around the interpreter does per request (`load_request` and
   `Verdict.to_json()`), for information. The accept/reject mix by code is
   printed so that a reader can see the requests exercise every check.

3. The generated validator (`redline codegen`). The module is generated
   into a temporary directory and imported; each run prepares the state
   afresh (not timed, so the loader's memos of times and device spellings
   start cold) and then times `validate_prepared(prepared, request)` over
   the raw REQUEST dicts: it does more than the interpreter's headline
   figure (it also checks each request, fail-closed, and returns the
   docs/formats.md verdict with its trace), the same as the second figure.
   Every verdict is first compared with the interpreter's `to_json()`.
   Targets (issue 7), for mp107: at least 500,000 requests/s and at least
   20 x the interpreter's headline figure. Both ratios are printed; missing
   a target is reported, not hidden, and does not change the exit code.
   To show what is possible at all, the same loop is timed over a function
   that only reads the request's eight contract fields and decides nothing:
   no validator written in Python can beat that ceiling on this machine.

Usage:

    .venv/bin/python bench/validate.py           # full run; exit 1 if the floor is missed
    .venv/bin/python bench/validate.py --quick   # small sizes, a CI smoke run; never fails on speed
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redline.build import build
from redline.check.checked import Program, RuleSet, carries_certificate
from redline.codegen import RuleFile, generate
from redline.interp import Validator, load_request, load_state
from redline.interp.values import Request, State
from redline.loading import repo_rules, rule_files
from redline.source import Source

SEED = 20260301
RUNS = 5
RULE_LOAD_TARGET_SECONDS = 1.0
FLOOR_REQUESTS_PER_SECOND = 20_000
GENERATED_TARGET_REQUESTS_PER_SECOND = 500_000
GENERATED_TARGET_RATIO = 20
RULESETS = ("baseline", "mp107")

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
DAY = 24 * 3600
YEAR = 365 * DAY


@dataclass(frozen=True)
class Sizes:
    devices: int
    requests: int


FULL = Sizes(devices=10_000, requests=100_000)
QUICK = Sizes(devices=1_000, requests=5_000)


# ---- timing helpers ---------------------------------------------------------

def median_seconds(run: Callable[..., object], *args: Any) -> tuple[float, list[float]]:
    """Time `run(*args)` RUNS times; return the median and every run's seconds."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def iso(t: int) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- 1. rule loading --------------------------------------------------------

def rule_sources(rules_dir: Path) -> list[Source]:
    return [Source(str(path), path.read_text(encoding="utf-8")) for path in sorted(rules_dir.rglob("*.redline"))]


def load_rules(rules_dir: Path) -> Program:
    program, diagnostics = build(rule_sources(rules_dir))
    if program is None:
        errors = "\n".join(str(d) for d in diagnostics if d.is_error)
        raise SystemExit(f"the shipped rules do not check:\n{errors}")
    return program


def bench_rule_loading(rules_dir: Path) -> Program:
    files = sorted(rules_dir.rglob("*.redline"))
    lines = sum(len(f.read_text(encoding="utf-8").splitlines()) for f in files)
    median, times = median_seconds(load_rules, rules_dir)
    verdict = "ok" if median < RULE_LOAD_TARGET_SECONDS else "MISSED"
    print("== Rule loading: parse + check of the shipped rules ==")
    print(f"  {len(files)} files, {lines} lines in {rules_dir}")
    print(f"  first run {times[0]:.3f} s (includes building the parser); "
          f"median of {len(times)}: {median:.3f} s; target under {RULE_LOAD_TARGET_SECONDS:.0f} s: {verdict}")
    return load_rules(rules_dir)


# ---- 2. the generated world ---------------------------------------------------

def party_id(n: int) -> str:
    return f"90-B3-D5-1F-30-{n:02X}-00-00"


def device_id(n: int) -> str:
    return f"00-DB-{(n >> 24) & 0xFF:02X}-{(n >> 16) & 0xFF:02X}-{(n >> 8) & 0xFF:02X}-{n & 0xFF:02X}-00-01"


def unknown_device_id(n: int) -> str:
    """An id the state never holds: known ids end in -00-01, these in -FF-FF."""
    return f"00-DB-{(n >> 24) & 0xFF:02X}-{(n >> 16) & 0xFF:02X}-{(n >> 8) & 0xFF:02X}-{n & 0xFF:02X}-FF-FF"


# (how many, roles, DCC user?) - 50 parties in all.
PARTY_KINDS: list[tuple[int, list[str], bool]] = [
    (10, ["IS", "GS"], True),        # dual-fuel suppliers
    (2, ["IS", "ES", "GS"], True),   # dual-fuel suppliers that also buy export
    (5, ["IS"], True),               # electricity-only suppliers
    (1, ["IS", "ED"], True),         # a supplier in the same group as a distributor
    (4, ["GS"], True),               # gas-only suppliers
    (8, ["ED"], True),               # electricity distributors
    (5, ["GT"], True),               # gas transporters
    (4, ["RSA"], True),              # registered supplier agents
    (6, ["OU"], True),               # other users
    (2, ["IS", "GS"], False),        # former suppliers, no longer DCC users
    (1, ["ED"], False),              # a former distributor
    (1, ["GT"], False),              # a former transporter
    (1, [], False),                  # the DCC itself: owns Root, Recovery, ACB, TransCoS
]


@dataclass
class Parties:
    """Party ids by what they can do, for the generators to choose from."""

    roles: dict[str, list[str]]  # party -> User Roles
    elec_suppliers: list[str]
    gas_suppliers: list[str]
    export_suppliers: list[str]
    distributors: list[str]
    transporters: list[str]
    agents: list[str]
    dcc: str

    @property
    def all(self) -> list[str]:
        return list(self.roles)


def make_parties() -> tuple[dict[str, Any], Parties]:
    parties_json: dict[str, Any] = {}
    roles: dict[str, list[str]] = {}
    n = 1
    for count, kind_roles, dcc_user in PARTY_KINDS:
        for _ in range(count):
            pid = party_id(n)
            parties_json[pid] = {"roles": list(kind_roles), "dcc_user": dcc_user}
            roles[pid] = list(kind_roles)
            n += 1

    def having(role: str) -> list[str]:
        return [p for p, rs in roles.items() if role in rs]

    dcc = next(p for p, rs in roles.items() if not rs)
    return parties_json, Parties(
        roles=roles, elec_suppliers=having("IS"), gas_suppliers=having("GS"), export_suppliers=having("ES"),
        distributors=having("ED"), transporters=having("GT"), agents=having("RSA"), dcc=dcc,
    )


SMI_STATUSES = [("Commissioned", 75), ("InstalledNotCommissioned", 8), ("Pending", 7),
                ("Decommissioned", 4), ("Withdrawn", 3), ("Suspended", 3)]
CREDENTIAL_TYPES = {"ESME", "GSME", "GPF", "CHF", "HCALCS", "PPMID"}


def weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def assignments(rng: random.Random, role: str, candidates: list[str], changes: int) -> list[dict[str, Any]]:
    """A history of `role` at one MPxN: successive parties, sometimes with a gap or an end."""
    out = []
    start = int(NOW.timestamp()) - rng.randint(3 * YEAR, 11 * YEAR)
    party = rng.choice(candidates)
    for i in range(changes):
        last = i == changes - 1
        if last:
            ending = rng.random()
            if ending < 0.85:
                end = None                                          # current and open-ended
            elif ending < 0.92:
                end = int(NOW.timestamp()) + rng.randint(DAY, 90 * DAY)  # ends soon (a change of supplier ahead)
            else:
                end = int(NOW.timestamp()) - rng.randint(DAY, YEAR)    # ended: nobody holds the role now
            if end is not None and end <= start:
                end = start + rng.randint(DAY, YEAR)
        else:
            end = start + rng.randint(60 * DAY, 3 * YEAR)
            if end >= int(NOW.timestamp()):
                end = start + DAY
        out.append({"role": role, "party": party, "from": iso(start), "to": None if end is None else iso(end)})
        if end is None:
            break
        gap = rng.randint(DAY, 60 * DAY) if rng.random() < 0.1 else 0
        start = end + gap
        party = rng.choice([c for c in candidates if c != party] or candidates)
    return out


def current_holder(history: list[dict[str, Any]]) -> str:
    """The party that holds the role now, or the most recent one (for a stale trust anchor)."""
    now = iso(int(NOW.timestamp()))
    for a in reversed(history):
        if a["from"] <= now and (a["to"] is None or a["to"] > now):
            return str(a["party"])
    return str(history[-1]["party"])


@dataclass
class Site:
    """One premises: its MPxNs, its devices, and who holds which role there."""

    devices: list[str]
    mpxns: list[str]


def make_state(rng: random.Random, sizes: Sizes) -> tuple[dict[str, Any], Parties, list[Site]]:
    parties_json, parties = make_parties()
    devices: dict[str, Any] = {}
    registration: dict[str, list[dict[str, Any]]] = {}
    sites: list[Site] = []
    next_device = 1
    site_no = 0

    def add(dtype: str, generation: str, *, mpxn: str | None = None, associated: str | None = None,
            anchors: dict[str, Any] | None = None) -> str:
        nonlocal next_device
        did = device_id(next_device)
        next_device += 1
        body: dict[str, Any] = {"type": dtype, "generation": generation, "smi_status": weighted(rng, SMI_STATUSES)}
        if mpxn is not None:
            body["mpxn"] = mpxn
        else:
            body["associated_device"] = associated
        if anchors is not None and dtype in CREDENTIAL_TYPES:
            body["trust_anchors"] = anchors
        devices[did] = body
        return did

    def anchors_for(supplier_history: list[dict[str, Any]], operator_history: list[dict[str, Any]],
                    operators: list[str]) -> dict[str, Any]:
        supplier = current_holder(supplier_history)
        if rng.random() < 0.15:  # not updated at the last change of supplier
            supplier = str(supplier_history[0]["party"])
        operator = current_holder(operator_history)
        if rng.random() < 0.2:   # the stuck certificate MP107 is about: another operator's
            operator = rng.choice(operators)
        anchors: dict[str, Any] = {"Root": parties.dcc, "Recovery": parties.dcc, "Supplier": supplier,
                                   "NetworkOperator": operator, "ACB": parties.dcc}
        if rng.random() < 0.1:
            anchors["TransCoS"] = parties.dcc
        if rng.random() < 0.1:
            anchors["LoadController"] = None if rng.random() < 0.5 else supplier
        return anchors

    while len(devices) < sizes.devices:
        site_no += 1
        generation = "SMETS1" if rng.random() < 0.3 else "SMETS2"
        fuel = rng.random()
        has_elec, has_gas = fuel < 0.85, fuel >= 0.40
        site = Site(devices=[], mpxns=[])
        hub_parent, hub_anchors = None, None
        if has_elec:
            mpan = f"{10 + site_no % 14}{site_no:011d}"
            supplier_history = assignments(rng, "IS", parties.elec_suppliers, rng.randint(1, 4))
            operator_history = assignments(rng, "ED", parties.distributors, rng.randint(1, 2))
            history = supplier_history + operator_history
            if rng.random() < 0.15:
                history += assignments(rng, "ES", parties.export_suppliers, 1)
            if rng.random() < 0.1:
                history += assignments(rng, "RSA", parties.agents, rng.randint(1, 2))
            registration[mpan] = history
            anchors = anchors_for(supplier_history, operator_history, parties.distributors)
            esme = add("ESME", generation, mpxn=mpan, anchors=anchors)
            site.devices.append(esme)
            site.mpxns.append(mpan)
            hub_parent, hub_anchors = esme, anchors
            if rng.random() < 0.5:
                site.devices.append(add("PPMID", generation, associated=esme, anchors=dict(anchors)))
            if rng.random() < 0.15:
                site.devices.append(add("HCALCS", generation, associated=esme, anchors=dict(anchors)))
        if has_gas:
            mprn = f"{site_no:010d}"
            supplier_history = assignments(rng, "GS", parties.gas_suppliers, rng.randint(1, 4))
            operator_history = assignments(rng, "GT", parties.transporters, rng.randint(1, 2))
            registration[mprn] = supplier_history + operator_history
            anchors = anchors_for(supplier_history, operator_history, parties.transporters)
            gsme = add("GSME", generation, mpxn=mprn, anchors=anchors)
            gpf = add("GPF", generation, associated=gsme, anchors=dict(anchors))
            site.devices += [gsme, gpf]
            site.mpxns.append(mprn)
            if hub_parent is None:  # a gas-only site's hub reaches its MPRN through GPF -> GSME
                hub_parent, hub_anchors = gpf, anchors
        assert hub_parent is not None and hub_anchors is not None
        chf = add("CHF", generation, associated=hub_parent, anchors=dict(hub_anchors))
        site.devices.append(chf)
        if rng.random() < 0.7:
            site.devices.append(add("IHD", generation, associated=chf))
        if rng.random() < 0.1:
            site.devices.append(add("CAD", generation, associated=chf))
        sites.append(site)

    state = {"now": iso(int(NOW.timestamp())), "parties": parties_json, "devices": devices, "registration": registration}
    return state, parties, sites


# ---- 2. the generated requests ------------------------------------------------

REMOTE_PARTY_ROLES = [("NetworkOperator", 40), ("Supplier", 35), ("Root", 5), ("Recovery", 5),
                      ("ACB", 5), ("TransCoS", 5), ("LoadController", 5)]
USER_ROLES = ["IS", "ES", "GS", "RSA", "ED", "GT", "OU"]


def make_requests(rng: random.Random, count: int, state: dict[str, Any], parties: Parties, sites: list[Site],
                  catalogue: dict[str, Any]) -> list[dict[str, Any]]:
    srvs = list(catalogue)
    devices = state["devices"]
    by_type: dict[str, list[str]] = {}
    for did, body in devices.items():
        by_type.setdefault(body["type"], []).append(did)
    suitable = {srv: sorted(t for t in row["device_types"] if t in by_type) for srv, row in catalogue.items()}
    site_of = {did: site for site in sites for did in site.devices}
    now = int(NOW.timestamp())
    requests = []
    for i in range(count):
        # Every SRV, evenly; plus extra 6.15.1, the SRV that MP107 changes.
        srv = "6.15.1" if rng.random() < 0.05 else srvs[i % len(srvs)]
        row = catalogue[srv]
        device = None
        if not row["non_device"]:
            if rng.random() < 0.08:
                device = unknown_device_id(rng.randrange(1 << 32))
            elif suitable[srv] and rng.random() < 0.75:
                device = rng.choice(by_type[rng.choice(suitable[srv])])
            else:
                device = rng.choice(sites).devices[0] if rng.random() < 0.5 else device_id(rng.randint(1, len(devices)))
        sender, role = choose_sender(rng, device, row, state, parties, site_of)
        request: dict[str, Any] = {"sender": sender, "role": role, "srv": srv, "device": device}
        if carries_certificate(row):  # every SRV that carries a certificate names it, replacing or not
            anchors = state["devices"][device].get("trust_anchors") or {} if device in state["devices"] else {}
            if sender == anchors.get("NetworkOperator") and rng.random() < 0.8:
                request["remote_party_role"] = "NetworkOperator"  # an operator correcting its own cell
            else:
                request["remote_party_role"] = weighted(rng, REMOTE_PARTY_ROLES)
            pick = rng.random()
            if pick < 0.5:
                request["new_certificate_owner"] = sender
            elif pick < 0.8 and device in site_of:
                history = state["registration"][site_of[device].mpxns[0]]
                request["new_certificate_owner"] = rng.choice(history)["party"]
            else:
                request["new_certificate_owner"] = rng.choice(parties.all)
        shape = rng.random()
        if shape < 0.2:
            request["execution_time"] = iso(now + rng.randint(-400 * DAY, 60 * DAY))
        else:
            request["execution_time"] = None
        if shape > 0.85:
            start = now - rng.randint(0, 3 * YEAR)
            request["date_range"] = {"from": iso(start), "to": iso(min(start + rng.randint(0, YEAR), now + 30 * DAY))}
        else:
            request["date_range"] = None
        requests.append(request)
    return requests


def choose_sender(rng: random.Random, device: str | None, row: Any, state: dict[str, Any], parties: Parties,
                  site_of: dict[str, Site]) -> tuple[str, str]:
    """A sender and role: mostly someone with a stake in the device, sometimes anyone."""
    eligible = row["eligible_roles"]
    pick = rng.random()
    site = site_of.get(device) if device is not None else None
    if site is not None and row["replaces_trust_anchor"] and pick < 0.35:
        # The owner of the Network Operator cell, correcting it (what MP107 is about), registered or not.
        owner = (state["devices"][device].get("trust_anchors") or {}).get("NetworkOperator")
        operator_roles = [r for r in parties.roles[owner] if r in ("ED", "GT")] if owner is not None else []
        if operator_roles:
            return str(owner), rng.choice(operator_roles)
    if site is not None and pick < 0.6:
        # Someone registered at the device's MPxN (now, or before, or later), in that role.
        history = [a for mpxn in site.mpxns for a in state["registration"][mpxn]]
        fitting = [a for a in history if a["role"] in eligible]
        assignment = rng.choice(fitting if fitting and rng.random() < 0.85 else history)
        sender, role = assignment["party"], assignment["role"]
        if rng.random() < 0.1 and parties.roles[sender]:
            role = rng.choice(parties.roles[sender])
        return str(sender), str(role)
    if site is not None and pick < 0.75:
        # The owner of the device's Supplier or Network Operator trust anchor.
        anchors = state["devices"][device].get("trust_anchors") or {}
        owners = [o for cell, o in anchors.items() if o is not None and cell in ("Supplier", "NetworkOperator")]
        if owners:
            sender = rng.choice(owners)
            return sender, rng.choice(parties.roles[sender] or USER_ROLES)
    # Anyone: usually a party in a role the SRV allows, sometimes in a role it does not hold.
    pick = rng.random()
    able = [(p, r) for p, rs in parties.roles.items() for r in rs if r in eligible]
    if able and pick < 0.5:
        return rng.choice(able)
    sender = rng.choice(parties.all)
    if parties.roles[sender] and pick < 0.8:
        return sender, rng.choice(parties.roles[sender])
    return sender, rng.choice(USER_ROLES)


def describe_requests(requests: list[dict[str, Any]], state: dict[str, Any], catalogue: dict[str, Any]) -> None:
    known = sum(1 for r in requests if r["device"] is not None and r["device"] in state["devices"])
    unknown = sum(1 for r in requests if r["device"] is not None and r["device"] not in state["devices"])
    print(f"  {len(requests)} requests: {len({r['srv'] for r in requests})}/{len(catalogue)} SRVs, "
          f"{len({r['role'] for r in requests})} User Roles, {len({r['sender'] for r in requests})} senders")
    print(f"    device known {known}, unknown {unknown}, none (Non-Device SRVs) {len(requests) - known - unknown}")
    print(f"    execution time {sum(r['execution_time'] is not None for r in requests)}, "
          f"date range {sum(r['date_range'] is not None for r in requests)}, "
          f"6.15.1 {sum(r['srv'] == '6.15.1' for r in requests)} "
          f"(targets {dict(Counter(r.get('remote_party_role') for r in requests if r['srv'] == '6.15.1'))})")


def describe_state(state: dict[str, Any]) -> None:
    devices = state["devices"].values()
    types = Counter(d["type"] for d in devices)
    generations = Counter(d["generation"] for d in devices)
    statuses = Counter(d["smi_status"] for d in devices)
    parties = state["parties"].values()
    assignment_count = sum(len(a) for a in state["registration"].values())
    print(f"  STATE: {len(state['devices'])} devices {dict(types)}")
    print(f"    {dict(generations)}; SMI {dict(statuses)}")
    print(f"    {len(state['parties'])} parties ({sum(not p['dcc_user'] for p in parties)} not DCC users); "
          f"{len(state['registration'])} MPxNs with {assignment_count} assignments")


# ---- 3. validation throughput ---------------------------------------------------

def validate_all(validator: Validator, state: State, requests: list[Request]) -> None:
    validate = validator.validate
    for request in requests:
        validate(state, request)


def load_validate_dump_all(validator: Validator, state: State, raw_requests: list[dict[str, Any]],
                           program: Program, ruleset: RuleSet) -> None:
    validate = validator.validate
    for raw in raw_requests:
        validate(state, load_request(raw, state, program, ruleset)).to_json()


def outcome_key(verdict_json: dict[str, Any]) -> str:
    if verdict_json["verdict"] == "accept":
        return "accept"
    return f"reject {verdict_json['layer']:<6} {verdict_json['code'] or '-':<4} {verdict_json['check']}"


def print_mix(mixes: dict[str, Counter[str]], total: int) -> None:
    print("== Verdict mix by layer, code and check ==")
    keys = sorted({k for mix in mixes.values() for k in mix}, key=lambda k: (k != "accept", k))
    width = max(len(k) for k in keys)
    print(f"  {'':<{width}}  " + "  ".join(f"{name:>16}" for name in mixes))
    for key in keys:
        cells = "  ".join(f"{mix[key]:>8} {100 * mix[key] / total:5.1f}%  " for mix in mixes.values())
        print(f"  {key:<{width}}  {cells}")


def bench_throughput(program: Program, state: State, raw_requests: list[dict[str, Any]]) -> dict[str, float]:
    """Requests per second of `validate` alone, per rule set; prints the extended figures and the mix."""
    rates: dict[str, float] = {}
    mixes: dict[str, Counter[str]] = {}
    verdicts: dict[str, list[str]] = {}
    count = len(raw_requests)
    print(f"== Validation throughput: single process, median of {RUNS} runs over {count} requests ==")
    for name in RULESETS:
        ruleset = program.rulesets[name]
        validator = Validator(ruleset)
        requests = [load_request(raw, state, program, ruleset) for raw in raw_requests]
        median, _ = median_seconds(validate_all, validator, state, requests)
        rates[name] = count / median
        full, _ = median_seconds(load_validate_dump_all, validator, state, raw_requests, program, ruleset)
        ratio = rates[name] / FLOOR_REQUESTS_PER_SECOND
        mark = "ok" if ratio >= 1 else "BELOW THE FLOOR"
        print(f"  {name:<8} validate:                      {rates[name]:>9,.0f} requests/s "
              f"({1e6 * median / count:.1f} us each); {ratio:.2f} x the floor of {FLOOR_REQUESTS_PER_SECOND:,}: {mark}")
        print(f"  {name:<8} load_request + validate + to_json: {count / full:>9,.0f} requests/s "
              f"({1e6 * full / count:.1f} us each)")
        outcomes = [outcome_key(validator.validate(state, r).to_json()) for r in requests]
        verdicts[name] = outcomes
        mixes[name] = Counter(outcomes)
    print_mix(mixes, count)
    changed = sum(a != b for a, b in zip(*(verdicts[n] for n in RULESETS), strict=True))
    print(f"  {changed} requests ({100 * changed / count:.2f}%) get a different verdict under "
          f"{RULESETS[1]} than under {RULESETS[0]}")
    return rates


# ---- 4. the generated validator ---------------------------------------------------

def load_generated(program: Program, name: str, directory: Path) -> Any:
    rules = repo_rules()
    files = [RuleFile(f.relative_to(rules).as_posix(), f.read_bytes()) for f in rule_files([rules])]
    path = directory / f"{name}.py"
    path.write_text(generate(program, program.rulesets[name], files), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"generated_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated_rate(module: Any, state_json: dict[str, Any], raw_requests: list[dict[str, Any]]) -> tuple[float, list[float]]:
    """Median seconds of `validate_prepared` over every request, on a freshly prepared state each run."""
    times = []
    for _ in range(RUNS):
        prepared = module.prepare(state_json)
        validate_prepared = module.validate_prepared
        start = time.perf_counter()
        for raw in raw_requests:
            validate_prepared(prepared, raw)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


CONTRACT_FIELDS = ("sender", "role", "srv", "device", "remote_party_role", "new_certificate_owner",
                   "execution_time", "date_range")


def read_fields_only(request: Any) -> object:
    """What any validator of a raw request must at least do: see that it is an object
    and read each of the contract's fields. It decides nothing."""
    if type(request) is dict:
        get = request.get
        for field in CONTRACT_FIELDS:
            get(field)
    return None


def ceiling_rate(raw_requests: list[dict[str, Any]]) -> float:
    """Requests/s of `read_fields_only`: a ceiling no validator written in Python can pass here."""
    median, _ = median_seconds(lambda: [read_fields_only(raw) for raw in raw_requests])
    return len(raw_requests) / median


def bench_generated(program: Program, state: State, state_json: dict[str, Any], raw_requests: list[dict[str, Any]],
                    interpreter_rates: dict[str, float]) -> dict[str, float]:
    count = len(raw_requests)
    rates: dict[str, float] = {}
    print(f"== Generated validator (redline codegen): prepared state, median of {RUNS} runs over {count} raw requests ==")
    ceiling = ceiling_rate(raw_requests)
    print(f"  ceiling: merely reading the request's eight fields, deciding nothing: {ceiling:>9,.0f} requests/s "
          f"({1e6 / ceiling:.2f} us each)")
    with tempfile.TemporaryDirectory() as tmp:
        for name in RULESETS:
            module = load_generated(program, name, Path(tmp))
            ruleset = program.rulesets[name]
            validator = Validator(ruleset)
            start = time.perf_counter()
            prepared = module.prepare(state_json)
            prepare_seconds = time.perf_counter() - start
            disagree = sum(
                module.validate_prepared(prepared, raw) != validator.validate(state, load_request(raw, state, program, ruleset)).to_json()
                for raw in raw_requests)
            median, _ = generated_rate(module, state_json, raw_requests)
            rates[name] = count / median
            full, _ = median_seconds(load_validate_dump_all, validator, state, raw_requests, program, ruleset)
            interp, interp_full = interpreter_rates[name], count / full
            ratio, ratio_full = rates[name] / interp, rates[name] / interp_full
            print(f"  {name:<8} prepare (once): {prepare_seconds:.3f} s; verdicts equal to the interpreter's: "
                  f"{count - disagree}/{count}" + ("" if not disagree else "  DISAGREEMENT"))
            print(f"  {name:<8} interpreter validate:                        {interp:>9,.0f} requests/s")
            print(f"  {name:<8} interpreter load_request + validate + to_json: {interp_full:>9,.0f} requests/s")
            print(f"  {name:<8} generated validate_prepared (raw request -> verdict): {rates[name]:>9,.0f} requests/s "
                  f"({1e6 * median / count:.2f} us each)")
            target = rates[name] >= GENERATED_TARGET_REQUESTS_PER_SECOND and ratio >= GENERATED_TARGET_RATIO
            print(f"  {name:<8} the ceiling is {ceiling / interp:.1f} x the interpreter's validate; "
                  f"the generated validator reaches {rates[name] / ceiling:.0%} of it")
            print(f"  {name:<8} ratio {ratio:.1f} x the interpreter's validate, {ratio_full:.1f} x its load + validate + to_json; "
                  f"targets {GENERATED_TARGET_REQUESTS_PER_SECOND:,}/s and {GENERATED_TARGET_RATIO} x: "
                  + ("met" if target else "NOT MET"))
            if disagree:
                raise SystemExit(f"the generated validator for {name} disagrees with the interpreter on {disagree} requests")
    return rates


# ---- main -------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes for a CI smoke run; never fails on speed")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    print(f"redline benchmark ({'quick' if args.quick else 'full'} run; Python {sys.version.split()[0]}; seed {SEED})")

    program = bench_rule_loading(repo_rules())
    catalogue = dict(program.rulesets[RULESETS[0]].catalogue)

    print("== Generated input ==")
    rng = random.Random(SEED)
    state_json, parties, sites = make_state(rng, sizes)
    raw_requests = make_requests(rng, sizes.requests, state_json, parties, sites, catalogue)
    describe_state(state_json)
    describe_requests(raw_requests, state_json, catalogue)
    start = time.perf_counter()
    state = load_state(state_json, program)
    print(f"  load_state: {time.perf_counter() - start:.3f} s (once)")

    rates = bench_throughput(program, state, raw_requests)
    bench_generated(program, state, state_json, raw_requests, rates)
    slowest = min(rates, key=lambda name: rates[name])
    missed = rates[slowest] < FLOOR_REQUESTS_PER_SECOND
    if args.quick:
        print(f"quick run: slowest rule set {slowest} at {rates[slowest]:,.0f} requests/s (floor not enforced)")
        return 0
    print(f"{'FAIL' if missed else 'PASS'}: slowest rule set {slowest} at {rates[slowest]:,.0f} requests/s; "
          f"floor {FLOOR_REQUESTS_PER_SECOND:,}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
