"""Write one rule set as a standalone Python module (the text; the CLI writes the file).

The module is runtime.py's embedded part followed by what this file
generates from the checked IR:

- the rule set's tables: enums, the checks in order, set constants;
- one function per check, computing its requirement, with its clause,
  layer, code, applicability, exceptions and assumptions in the docstring;
- one plan per group of SRVs whose checks are decided alike. Folding the
  catalogue into `applies when` and `except when` settles most of them
  before any request arrives (a Non-Device SRV skips the device checks),
  so a plan calls only the checks that can still go either way, records
  each outcome in four bits of an integer, and returns the shared verdict
  for that outcome path (built once, on first use);
- the dispatch table: SRV -> (its catalogue row, its plan).

Output is deterministic: it depends only on the rule texts and the rule set
name (no times, no absolute paths, sets written in sorted order).
"""

from __future__ import annotations

import hashlib
import keyword
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redline.check import checked as ir
from redline.codegen.emit import LOCALS, CodegenError, Emitter, definitions, rule_text
from redline.codegen.fold import decided, fold

EMBED_MARKER = "# ---- EMBED: everything below is copied into generated modules ----\n"
PASS, FAIL, SKIP, WAIVED = 0, 1, 2, 3  # as in runtime.py
SLOT_BITS = 4
PLAN_PARAMS = "p, sender, sp, role, srv, row, device, dev, rpr, owner, exec_time, date_range"


@dataclass(frozen=True, slots=True)
class RuleFile:
    name: str  # as shown in the header: relative to the rules directory
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def runtime_source() -> str:
    text = resources.files("redline.codegen").joinpath("runtime.py").read_text(encoding="utf-8")
    head, marker, body = text.partition(EMBED_MARKER)
    if not marker:
        raise CodegenError("runtime.py has lost its EMBED marker")
    return body


def generate(program: ir.Program, ruleset: ir.RuleSet, files: Sequence[RuleFile]) -> str:
    return _Writer(program, ruleset, files).module()


def _check_doc(check: ir.Check, program: ir.Program, index: int) -> list[str]:
    code = f"rejects with {check.code}" if check.code else "rejects with no DUIS code"
    lines = [f"Check {index + 1}, `{check.name}` at the {check.layer.value} layer; {code}.", "",
             f"Clause: {check.cite}", f"Written by: {check.origin}",
             f"Applies when: {rule_text(check.applies) if check.applies is not None else 'always'}"]
    for j, x in enumerate(check.exceptions):
        lines.append(f"Except ({j + 1}) when {rule_text(x.when)}: {x.cite} [written by {x.origin}"
                     + (f"; rests on {', '.join(x.rests)}" if x.rests else "") + "]")
    lines.append(f"Requires: {rule_text(check.requires) if check.requires is not None else 'nothing'}")
    defs = definitions(check.requires)
    for d in defs.values():
        lines.append(f"  where {d.name} = {rule_text(d.value)}" + (f"  [{d.cite}]" if d.cite else "")
                     + (f" (rests on {', '.join(d.rests)})" if d.rests else ""))
    rests = sorted({*check.rests, *(r for d in defs.values() for r in d.rests)})
    for name in rests:
        a = program.assumptions.get(name)
        lines.append(f"Rests on {name}: {a.text if a else '(not declared)'}")
    lines += ["", "Returns the requirement's truth (null counts as false); the plans decide",
              "applicability and exceptions, most of them before any request arrives."]
    return lines


def _literal(text: str) -> str:
    """Text from the rules (or a file name) as the body of a triple-quoted string: the string's value is
    the text, and nothing in it can end the string or the line early: backslashes, `\"\"\"` and every
    character that is not printable (newlines, NUL, lone surrogates) are escaped."""
    return _printable(text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"'))


def _printable(text: str) -> str:
    """`text` with every character that is not printable written as its escape, so that, in a comment, no
    text from the rules can start a line of code."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _doc(lines: list[str], indent: str) -> list[str]:
    body = [_literal(ln) for ln in lines]
    out = [f'{indent}"""{body[0]}']
    out += [f"{indent}{ln}" if ln else "" for ln in body[1:]]
    out.append(f'{indent}"""')
    return out


def _value_repr(v: Any) -> str:
    if isinstance(v, frozenset):
        return "frozenset((" + "".join(f"{x!r}, " for x in sorted(v)) + "))"
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    raise CodegenError(f"cannot write the catalogue value {v!r}")


class _Writer:
    def __init__(self, program: ir.Program, ruleset: ir.RuleSet, files: Sequence[RuleFile]) -> None:
        self.program, self.rs, self.files = program, ruleset, files
        self.em = Emitter()
        self.checks = ruleset.checks
        if len(self.checks) * SLOT_BITS > 512:
            raise CodegenError("too many checks for the outcome key")
        for c in self.checks:
            if WAIVED + len(c.exceptions) > (1 << SLOT_BITS):
                raise CodegenError(f"check `{c.name}` has more exceptions than an outcome slot can name")
        for f in self.program.records["Service"]:  # each becomes an attribute and a parameter of the module's Service
            if keyword.iskeyword(f) or f.startswith("__") or f in ("srv", "self"):
                raise CodegenError(f"the Service field `{f}` cannot be written as a Python attribute; rename it")
        self.fn_names = {c.name: f"check_{c.name}" for c in self.checks}
        self.fn_params: dict[str, list[str]] = {}

    # ---- the parts --------------------------------------------------------------

    def module(self) -> str:
        check_fns = [ln for i, c in enumerate(self.checks) for ln in self.check_function(i, c)]
        plans, dispatch = self.plans()
        parts = [self.header(), "from __future__ import annotations\n", runtime_source(),
                 "\n# " + "=" * 76 + f"\n# Generated from the rules: rule set `{self.rs.name}`.\n# " + "=" * 76 + "\n",
                 self.tables(), "\n# ---- the checks, in order " + "-" * 52 + "\n",
                 "\n".join(check_fns), "\n# ---- the plans: the checks each SRV needs, in order " + "-" * 26 + "\n",
                 "\n".join(plans), "\n# ---- dispatch: SRV -> (its catalogue row, its plan) " + "-" * 26 + "\n",
                 "\n".join(dispatch), ""]
        return "\n".join(parts)

    def header(self) -> str:
        width = max((len(f.name) for f in self.files), default=0)
        lines = [
            f"# Generated by `redline codegen --ruleset {self.rs.name}`. Do not edit: regenerate from the rules.",
            f'"""A standalone validator for rule set `{self.rs.name}`: {_literal(self.rs.cite)}.',
            "",
            "Standard library only: no solver, no parser, no redline at run time.",
            "",
            "    prepared = prepare(state)                      # STATE.json as a dict: checked and indexed once",
            "    verdict = validate_prepared(prepared, request) # REQUEST.json as a dict -> the docs/formats.md verdict",
            "    verdict = validate(state, request)             # both at once",
            "",
            "Malformed input raises InputError (a ValueError) with the interpreter's message.",
            "Verdicts are shared, read-only dicts (copy.deepcopy gives a mutable one).",
            "",
            "Generated from these rule files (SHA-256):",
            "",
            *[f"    {_literal(f.name):<{width}}  {f.sha256}" for f in self.files],
            '"""',
            "",
        ]
        return "\n".join(lines)

    def tables(self) -> str:
        enums = "\n".join(f"    {name!r}: {tuple(v)!r}," for name, v in self.program.enums.items())
        checks = []
        for c in self.checks:
            exc = "".join(f"({x.cite!r}, {x.origin!r}), " for x in c.exceptions)
            checks.append(f"    ({c.name!r}, {c.layer.value!r}, {c.code!r}, {c.cite!r}, ({exc})),")
        fields = list(self.program.records["Service"])
        lines = [
            f"RULESET = {self.rs.name!r}",
            "ENUMS = {", enums, "}",
            'USER_ROLES = frozenset(ENUMS["UserRole"])',
            'REMOTE_PARTY_ROLES = frozenset(ENUMS["RemotePartyRole"])',
            "# check name, layer, code, clause, (exception clause, written by)...; bit slot i of an outcome key is check i",
            "CHECKS = (", *checks, ")",
            "# sets the rules name (hoisted so that a request does not build them)",
            *[f"{name} = {_value_repr(value)}" for value, name in self.em.sets.items()],
            "",
            "",
            "class Service:",
            '    """A row of the DUIS catalogue."""',
            "",
            f"    __slots__ = {('srv', *fields)!r}",
            "",
            f"    def __init__(self, srv: str, {', '.join(f'{f}: Any' for f in fields)}) -> None:",
            "        self.srv = srv",
            *[f"        self.{f} = {f}" for f in fields],
            "",
        ]
        return "\n".join(lines)

    def check_function(self, index: int, c: ir.Check) -> list[str]:
        self.em.used = set()
        body = self.em.test(c.requires) if c.requires is not None else "True"
        params = [n for n in LOCALS if n in self.em.used]
        self.fn_params[c.name] = params
        return ["", f"def {self.fn_names[c.name]}({', '.join(params)}):",
                *_doc(_check_doc(c, self.program, index), "    "), f"    return {body}", ""]

    def plans(self) -> tuple[list[str], list[str]]:
        cat = self.rs.catalogue
        fields = list(self.program.records["Service"])
        bodies: dict[str, list[str]] = {}  # plan body -> the SRVs that share it
        of_srv: dict[str, str] = {}
        for srv, row in cat.items():
            missing = [f for f in fields if row.get(f) is None]
            if missing:
                raise CodegenError(f"catalogue row {srv} has no {', '.join(missing)}")
            body = "\n".join(self.plan_body(srv))
            bodies.setdefault(body, []).append(srv)
            of_srv[srv] = body
        names = {body: f"plan_{i + 1}" for i, body in enumerate(bodies)}
        out = []
        for body, srvs in bodies.items():
            shown = ", ".join(srvs) if len(srvs) <= 12 else ", ".join(srvs[:12]) + f", ... ({len(srvs)} SRVs)"
            out += ["", f"def {names[body]}({PLAN_PARAMS}):", f'    """SRVs {_literal(shown)}."""', body, ""]
        dispatch = ["SRVS = {"]
        for srv, row in cat.items():
            args = ", ".join(f"{_value_repr(row[f])}" for f in fields)
            dispatch.append(f"    {srv!r}: (Service({srv!r}, {args}), {names[of_srv[srv]]}),")
        dispatch.append("}")
        return out, dispatch

    def plan_body(self, srv: str) -> list[str]:
        cat = self.rs.catalogue
        em = self.em
        em.used = set()
        lines: list[str] = []
        static = 0  # the outcome bits every path through this plan shares so far
        for i, c in enumerate(self.checks):
            shift = SLOT_BITS * i
            head = f"    # {i + 1}. {c.name} [{c.layer.value}{' ' + c.code if c.code else ''}]"
            applies = fold(c.applies, srv, cat) if c.applies is not None else None
            if decided(applies) is False:
                lines.append(f"{head}: does not apply to this SRV (skipped)")
                static |= SKIP << shift
                continue
            # Exceptions in order: the first that holds waives the check.
            waivers: list[tuple[str, int]] = []  # (condition source, outcome) still to test at run time
            waived_statically = None
            for j, x in enumerate(c.exceptions):
                w = fold(x.when, srv, cat)
                d = decided(w)
                if d is False:
                    continue
                if d is True:
                    waived_statically = WAIVED + j
                    break
                waivers.append((em.test(w), WAIVED + j))
            call = None
            if c.requires is not None:
                params = self.fn_params[c.name]
                args = ", ".join("p.now" if n == "now" else em.local(n) for n in params)
                call = f"{self.fn_names[c.name]}({args})"
            if applies is None or decided(applies) is True:
                if not waivers and waived_statically is not None:
                    lines.append(f"{head}: waived for this SRV by {c.exceptions[waived_statically - WAIVED].origin} (skipped)")
                    static |= waived_statically << shift
                    continue
                if not waivers and call is None:
                    lines.append(f"{head}: requires nothing (pass)")
                    continue
                lines.append(f"{head}: applies")
                indent = "    "
            else:
                lines.append(f"{head}: applies when {_printable(rule_text(c.applies)) if c.applies is not None else ''}")
                lines.append(f"    if not {em.test(applies)}:")
                lines.append(f"        k |= {SKIP << shift:#x}  # skipped")
                lines.append("    else:")
                indent = "        "
            fail = f"return VERDICTS[k | {static | (FAIL << shift):#x}]  # rejected by {c.name}"
            if waivers:
                kw = "if"
                for cond, outcome in waivers:
                    lines.append(f"{indent}{kw} {cond}:")
                    lines.append(f"{indent}    k |= {outcome << shift:#x}  # waived by {c.exceptions[outcome - WAIVED].origin}")
                    kw = "elif"
                if waived_statically is not None:
                    lines.append(f"{indent}else:")
                    lines.append(f"{indent}    k |= {waived_statically << shift:#x}  # waived by {c.exceptions[waived_statically - WAIVED].origin}")
                elif call is not None:
                    lines.append(f"{indent}elif not {call}:")
                    lines.append(f"{indent}    {fail}")
            elif waived_statically is not None:
                lines.append(f"{indent}k |= {waived_statically << shift:#x}  # waived by {c.exceptions[waived_statically - WAIVED].origin}")
            elif call is not None:
                lines.append(f"{indent}if not {call}:")
                lines.append(f"{indent}    {fail}")
            else:
                lines.append(f"{indent}pass  # requires nothing")
        lines.append(f"    v = VERDICTS[k | {static:#x}]  # accepted by every layer")
        effects = self.effect_lines(srv)
        if effects:
            lines += ["    effects = []", *effects, "    return _with_effects(v, effects) if effects else v"]
        else:
            lines.append("    return v  # no effect applies to this SRV")
        prelude = ["    k = 0"]
        if "now" in em.used:
            prelude.append("    now = p.now")
        return prelude + lines

    def effect_lines(self, srv: str) -> list[str]:
        cat, em = self.rs.catalogue, self.em
        lines: list[str] = []
        for ef in self.rs.effects:
            when = fold(ef.when, srv, cat)
            if decided(when) is False:
                continue
            cond = "device is not None" + ("" if decided(when) is True else f" and {em.test(when)}")
            lines += [f"    # effect {ef.name}: {_printable(ef.cite)}",
                      f"    if {cond}:",
                      f"        cell, new = {em.value(fold(ef.cell, srv, cat))}, {em.value(fold(ef.owner, srv, cat))}",
                      "        if cell is not None and new is not None:",
                      "            effects.append((device, cell, new))"]
        return lines


def ruleset_files(texts: Mapping[str, bytes]) -> list[RuleFile]:
    return [RuleFile(name, data) for name, data in sorted(texts.items())]
