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

import functools
import hashlib
import io
import keyword
import re
import textwrap
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from typing import Any

from redline import ast
from redline.check import checked as ir
from redline.check.reads import reads
from redline.check.text import rule_text
from redline.check.types import BOOL, DATERANGE, TIME, EnumT, MapT, OptT, Prim, RecordT, SetT, Type
from redline.codegen.emit import LOCALS, CodegenError, Emitter, definitions
from redline.codegen.fold import decided, fold
from redline.source import Source
from redline.syntax.parser import parse

EMBED_MARKER = "# ---- EMBED: everything below is copied into generated modules ----\n"
# runtime.py imports the signing-key reader; a generated module holds signers.py's own text instead.
SIGNERS_LINE = "from redline.signers import parse_signer_key  # noqa: E402, I001\n"
SIGNERS_START = "_SPLIT_RDN = "  # the first line of signers.py after its imports
PASS, FAIL, SKIP, WAIVED = 0, 1, 2, 3  # as in runtime.py
SLOT_BITS = 4
WIDTH = 120  # the longest line a generated module has (ruff's line-length for it)
PYTHON_FLOOR = "3.9"  # as runtime.PYTHON_FLOOR
# The type of each of a plan's and check function's parameters (emit.LOCALS).
PARAM_TYPES = {
    "p": "Prepared", "sender": "str", "sp": "Party", "role": "str", "srv": "str", "row": "Service",
    "device": "str | None", "dev": "Device | None", "rpr": "str | None", "owner": "str | None",
    "exec_time": "int | None", "date_range": "tuple[int, int] | None", "now": "int", "rx": "JsonObject",
}
PLAN_PARAMS = ("p", "sender", "sp", "role", "srv", "row", "device", "dev", "rpr", "owner", "exec_time", "date_range", "rx")
# Helpers whose result mypy sees as Any: a check returning one of them alone says bool() of it.
ANY_HELPERS = ("_party_field(", "_device_field(", "_service_field(")


@dataclass(frozen=True, slots=True)
class RuleFile:
    name: str  # as shown in the header: relative to the rules directory
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def runtime_source() -> str:
    """runtime.py's embedded part, with signers.py's text (after its imports) in place of its import."""
    text = resources.files("redline.codegen").joinpath("runtime.py").read_text(encoding="utf-8")
    head, marker, body = text.partition(EMBED_MARKER)
    if not marker or body.count(SIGNERS_LINE) != 1:
        raise CodegenError("runtime.py has lost its EMBED marker or its signers line")
    signers = resources.files("redline").joinpath("signers.py").read_text(encoding="utf-8")
    _, start, rest = signers.partition(SIGNERS_START)
    if not start:
        raise CodegenError("signers.py no longer starts its body with `_SPLIT_RDN`")
    return body.replace(SIGNERS_LINE, start + rest.rstrip("\n") + "\n")


def generate(program: ir.Program, ruleset: ir.RuleSet, files: Sequence[RuleFile]) -> str:
    """The module's text; its header names only the `files` the rule set depends on (see `dependencies`)."""
    return _Writer(program, ruleset, dependencies(program, ruleset, files)).module()


def redline_version() -> str:
    try:
        return metadata.version("redline")
    except metadata.PackageNotFoundError:
        return "unknown"


def dependencies(program: ir.Program, ruleset: ir.RuleSet, files: Sequence[RuleFile]) -> list[RuleFile]:
    """The files that declare something the rule set uses: its own declaration and those of its base
    chain, the vocabulary (enums, groups), the records, the catalogue, and the assumptions its checks,
    exceptions, definitions, effects, records and catalogue rest on. Not scenarios, worlds, properties,
    events or other modifications. A file that does not parse is kept (it cannot be shown unrelated)."""
    chain: set[str] = set()
    name: str | None = ruleset.name
    while name is not None and name not in chain:
        chain.add(name)
        base = program.rulesets.get(name)
        chain.update(base.reused if base is not None else ())  # the files its reused redlines are written in
        name = base.base if base is not None else None
    rests: set[str] = set()
    for c in ruleset.checks:
        rests.update(c.rests)
        for x in c.exceptions:
            rests.update(x.rests)
        for e in (c.applies, c.requires, *(x.when for x in c.exceptions)):
            rests.update(r for d in definitions(e).values() for r in d.rests)
    for ef in ruleset.effects:
        rests.update(ef.rests)
    summaries = [(f, _declarations(f.name, f.data)) for f in files]
    for _, s in summaries:
        rests.update(s[1] if s is not None else ())
    kept = []
    for f, s in summaries:
        if s is None or any(_uses(kind, decl, chain, rests) for kind, decl in s[0]):
            kept.append(f)
    return kept


# The grammar's STRING and COMMENT, and the keywords that start a declaration a rule set can use.
_STRING_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')
_USABLE = re.compile(r"\b(?:enum|group|record|catalogue|assumption|ruleset|modification)\b")


@functools.lru_cache(maxsize=256)
def _declarations(name: str, data: bytes) -> tuple[frozenset[tuple[str, str]], frozenset[str]] | None:
    """(kind, name) of each declaration in a rule file, and the assumptions its records and catalogue
    rest on; None where it does not parse. A file without one of the keywords that start an enum,
    group, record, catalogue, assumption, rule set or modification (strings and comments aside) is
    not parsed: it declares none of them (scenario files are most of the rules' text)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if _USABLE.search(_STRING_OR_COMMENT.sub(" ", text)) is None:
        return frozenset(), frozenset()
    try:
        module, diags = parse(Source(name, text))
    except RecursionError:
        return None
    if any(d.is_error for d in diags):
        return None
    decls: set[tuple[str, str]] = set()
    rests: set[str] = set()
    for d in module.decls:
        decls.add((type(d).__name__, d.name.name))
        if isinstance(d, ast.RecordDecl):
            rests.update(r.name for fd in d.fields for r in fd.rests)
        elif isinstance(d, ast.CatalogueDecl):
            rests.update(r.name for r in d.rests)
    return frozenset(decls), frozenset(rests)


def _uses(kind: str, name: str, chain: set[str], rests: set[str]) -> bool:
    if kind in ("EnumDecl", "GroupDecl", "RecordDecl", "RelationDecl", "CatalogueDecl"):
        return True
    if kind in ("RulesetDecl", "ModificationDecl"):
        return name.lower() in chain
    if kind == "AssumptionDecl":
        return name in rests
    return False


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


def _wrap_text(line: str, width: int) -> list[str]:
    """A line of prose broken at spaces to fit `width` (continuations indented two more); a word
    longer than the width stays whole."""
    if len(line) <= width:
        return [line]
    lead = line[:len(line) - len(line.lstrip(" "))]
    return textwrap.wrap(line, width, initial_indent="", subsequent_indent=lead + "  ", break_long_words=False,
                         break_on_hyphens=False, drop_whitespace=True) or [line]


def _doc(lines: list[str], indent: str) -> list[str]:
    body = [_literal(wrapped) for ln in lines for wrapped in (_wrap_text(ln, WIDTH - len(indent) - 3) if ln else [""])]
    out = [f'{indent}"""{body[0]}']
    out += [f"{indent}{ln}" if ln else "" for ln in body[1:]]
    out.append(f'{indent}"""')
    return out


def _comment(text: str, indent: str) -> list[str]:
    """A comment (text printable: no rule text can start a line of code), wrapped to the width."""
    body = _printable(text)
    return [f"{indent}# {ln}" for ln in _wrap_text(body, WIDTH - len(indent) - 2)]


def _fit(line: str) -> list[str]:
    """A line of code split to fit the width where Python allows it: after a comma or before
    `and`, `or`, `if`, `else` inside brackets. Strings are never split; a line that cannot be
    split stays as it is (the tests run ruff on the shipped rule sets' modules)."""
    if len(line) <= WIDTH:
        return [line]
    indent = line[:len(line) - len(line.lstrip(" "))]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return [line]
    breaks: list[int] = []  # columns where a new line may start
    depth = 0
    for tok in tokens:
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        elif depth > 0 and tok.type == tokenize.OP and tok.string == ",":
            breaks.append(tok.end[1] + 1)
        elif depth > 0 and tok.type == tokenize.NAME and tok.string in ("and", "or", "if", "else"):
            breaks.append(tok.start[1])
    cont = indent + " " * 8
    out: list[str] = []
    start, prefix = 0, ""
    while len(prefix) + len(line) - start > WIDTH:
        fitting = [b for b in breaks if start < b and len(prefix) + b - start <= WIDTH]
        if not fitting:
            later = [b for b in breaks if b > start]
            if not later:
                break
            fitting = later[:1]
        cut = fitting[-1]
        out.append((prefix + line[start:cut]).rstrip())
        start, prefix = cut, cont
    out.append(prefix + line[start:])
    return out


def _def(name: str, params: Sequence[str], returns: str) -> list[str]:
    """A function's first line, or, where it would be too long, one typed parameter a line."""
    typed = [f"{n}: {PARAM_TYPES[n]}" for n in params]
    line = f"def {name}({', '.join(typed)}) -> {returns}:"
    if len(line) <= WIDTH:
        return [line]
    return [f"def {name}(", *[f"    {x}," for x in typed], f") -> {returns}:"]


def _fit_all(lines: Sequence[str]) -> list[str]:
    """Every line fitted: a comment line wrapped as prose, a line of code split by `_fit`."""
    out: list[str] = []
    for ln in lines:
        stripped = ln.lstrip(" ")
        if stripped.startswith("#") and len(ln) > WIDTH:
            out += _comment(stripped[1:].strip(), ln[:len(ln) - len(stripped)])
        else:
            out += _fit(ln)
    return out


def _value_repr(v: Any) -> str:
    if isinstance(v, frozenset):
        items = sorted(v)
        return "frozenset((" + ", ".join(repr(x) for x in items) + ("," if len(items) == 1 else "") + "))"
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    raise CodegenError(f"cannot write the catalogue value {v!r}")


def _py_type(t: Type) -> str:
    """The Python annotation of a value of a rule-language type, as the generated module holds it."""
    if isinstance(t, OptT):
        return f"{_py_type(t.inner)} | None"
    if isinstance(t, EnumT):
        return "str"
    if isinstance(t, SetT):
        return "frozenset[str]"
    if isinstance(t, MapT):
        return f"dict[str, {_py_type(t.value)}]"
    if isinstance(t, Prim):
        return {"Bool": "bool", "Text": "str", "MPxN": "str", "Time": "int"}.get(t.name, "Any")
    return "Any"


def _set_type(value: frozenset[Any]) -> str:
    kinds = {type(x) for x in value}
    return f"frozenset[{kinds.pop().__name__}]" if len(kinds) == 1 else "frozenset[Any]"


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
        title = f"A standalone validator for rule set `{self.rs.name}`: {self.rs.cite}."
        lines = [
            f"# Generated by `redline codegen --ruleset {self.rs.name}`. Do not edit: regenerate from the rules.",
            *_doc([
                title,
                "",
                f"Generated by redline {redline_version()}. Standard library only: no solver, no parser, no",
                f"redline at run time. Needs Python {PYTHON_FLOOR} or later (checked on import: ImportError).",
                "",
                "    prepared = prepare(state)                      # STATE.json as a dict: checked and indexed once",
                "    verdict = validate_prepared(prepared, request) # REQUEST.json as a dict -> the verdict",
                "    verdict = validate(state, request)             # both at once",
                "",
                "The verdict is the one docs/formats.md describes. The public API is `__all__`: prepare,",
                "validate, validate_prepared, InputError, Prepared (the type of a prepared state), RULESET",
                "and CHECKS; every other name may change when the module is generated again.",
                "Malformed input raises InputError (a ValueError) with the interpreter's message.",
                "Verdicts are shared, read-only dicts (copy.deepcopy gives a mutable one).",
                "",
                "Threads: a prepared state may be shared by any number of threads once `prepare` has",
                "returned, without a lock. Its only writes are two memos (the days of times, the device",
                "spellings) and the module's table of verdicts, each entry a function of its key alone:",
                "threads racing on one at worst compute it twice (and the memos may pass their bound by",
                "an entry or two), so every thread gets the verdict a single thread would (equal, though",
                "during warm-up not always the same object). Do not change a prepared state or a verdict.",
                "",
                "Generated from these rule files (SHA-256), the ones declaring what this rule set uses:",
                "",
            ], "")[:-1],  # not _doc's closing quotes: the file list follows
            *[f"    {_literal(f.name):<{width}}  {f.sha256}" for f in self.files],
            '"""',
            "",
        ]
        return "\n".join(lines)

    def tables(self) -> str:
        enums = [f"    {name!r}: {tuple(v)!r}," for name, v in self.program.enums.items()]
        v = self.program.vocab
        invariants = [line for i in self.program.invariants
                      for line in ("    (", f"        {i.form!r}, {i.name!r},",
                                   # a long clause as adjacent literals, so no line passes the width
                                   *[f"        {i.cite[k:k + 80]!r}" for k in range(0, max(len(i.cite), 1), 80)], "        ,",
                                   f"        frozenset({sorted(i.roles)!r}),", "    ),")]
        vocab = {"role": v.role, "cell": v.cell, "device_type": v.device_type, "generation": v.generation,
                 "smi_status": v.smi_status}
        def pieces(text: str, indent: str, end: str) -> list[str]:
            """A long clause as adjacent literals (one string to Python), so no line passes the width."""
            out = [f"{indent}{text[k:k + 80]!r}" for k in range(0, max(len(text), 1), 80)]
            out[-1] += end
            return out

        checks = []
        for c in self.checks:
            checks += ["    (", f"        {c.name!r}, {c.layer.value!r}, {c.code!r},", *pieces(c.cite, "        ", ",")]
            if c.exceptions:
                checks += ["        (", *[line for x in c.exceptions
                                         for line in ("            (", *pieces(x.cite, "                ", f", {x.origin!r}"),
                                                      "            ),")], "        ),"]
            else:
                checks.append("        (),")
            checks.append("    ),")
        record = self.program.records["Service"]
        lines = [
            f"RULESET = {self.rs.name!r}",
            *self.declared_tables(),
            "ENUMS = {", *enums, "}",
            "# the part each enum plays (redline.check.checked.Vocabulary)",
            f"VOCAB = {vocab!r}",
            'USER_ROLES = frozenset(ENUMS[VOCAB["role"]])',
            'REMOTE_PARTY_ROLES = frozenset(ENUMS[VOCAB["cell"]])',
            "# the invariants every state satisfies: (form, name, clause, User Roles)",
            "INVARIANTS = (", *invariants, ")",
            "# the SRVs whose requests carry a certificate (remote_party_role, new_certificate_owner)",
            f"CARRYING = frozenset({sorted(ir.carrying_srvs(self.rs.catalogue))!r})",
            "# check name, layer, code, clause, ((exception clause, written by), ...);",
            "# bit slot i of an outcome key is check i",
            "CHECKS = (", *checks, ")",
            "# sets the rules name (hoisted so that a request does not build them)",
            *[f"{name}: {_set_type(value)} = {_value_repr(value)}" for value, name in self.em.sets.items()],
            "",
            "",
            "class Service:",
            '    """A row of the DUIS catalogue (keyword arguments only: SRVS below names every field)."""',
            "",
            f"    __slots__ = {('srv', *record)!r}",
            "",
            f"    def __init__(self, *, srv: str, {', '.join(f'{f}: {_py_type(ty)}' for f, ty in record.items())}) -> None:",
            "        self.srv = srv",
            *[f"        self.{f} = {f}" for f in record],
            "",
        ]
        return "\n".join(_fit_all(lines))

    def declared_tables(self) -> list[str]:
        """What rule files declared beyond the built-in world, for the runtime's generic loader."""
        program = self.program
        if not program.declared and not program.relations:
            return []
        r = reads(program, self.rs)
        request = program.declared.get("Request", {})
        strict = any(not isinstance(request[n], OptT) for n in r.field_names("Request"))
        lines = ["DECLARED = {"]
        for record in ("Device", "Party", "Request"):
            fields = program.declared.get(record, {})
            if fields:
                lines += [f"    {record!r}: {{", *[f"        {n!r}: {_type_tuple(t)!r}," for n, t in sorted(fields.items())], "    },"]
        lines += ["}", f"RELATIONS = {dict(sorted(program.relations.items()))!r}",
                  f"READS_FIELDS = {tuple(sorted(r.fields))!r}", f"READS_RELATIONS = {tuple(sorted(r.relations))!r}",
                  f"FAST_PATH_NEEDS_MORE = {strict!r}"]
        return lines

    def check_function(self, index: int, c: ir.Check) -> list[str]:
        self.em.used = set()
        body = self.em.test(c.requires) if c.requires is not None else "True"
        params = [n for n in LOCALS if n in self.em.used]
        self.fn_params[c.name] = params
        if body.startswith(ANY_HELPERS):
            body = f"bool({body})"  # an Any from a lookup: say it is a truth
        return ["", *_def(self.fn_names[c.name], params, "bool | None"),
                *_doc(_check_doc(c, self.program, index), "    "), *_fit(f"    return {body}"), ""]

    def plans(self) -> tuple[list[str], list[str]]:
        cat = self.rs.catalogue
        fields = list(self.program.records["Service"])
        bodies: dict[str, list[str]] = {}  # plan body -> the SRVs that share it
        of_srv: dict[str, str] = {}
        for srv, row in cat.items():
            missing = [f for f in fields if row.get(f) is None and not isinstance(self.program.records["Service"][f], OptT)]
            if missing:
                raise CodegenError(f"catalogue row {srv} has no {', '.join(missing)}")
            body = "\n".join(_fit_all(self.plan_body(srv)))
            bodies.setdefault(body, []).append(srv)
            of_srv[srv] = body
        names = {body: f"plan_{i + 1}" for i, body in enumerate(bodies)}
        out = []
        for body, srvs in bodies.items():
            shown = ", ".join(srvs) if len(srvs) <= 12 else ", ".join(srvs[:12]) + f", ... ({len(srvs)} SRVs)"
            doc = f'    """SRVs {_literal(shown)}."""'
            out += ["", *_def(names[body], PLAN_PARAMS, "JsonObject"),
                    *(_doc([f"SRVs {shown}."], "    ") if len(doc) > WIDTH else [doc]), body, ""]
        dispatch = ["# SRV -> (its catalogue row, its plan)", "SRVS = {"]
        for srv, row in cat.items():
            dispatch += [f"    {srv!r}: (", "        Service(", f"            srv={srv!r},"]
            dispatch += [f"            {f}={_value_repr(row[f])}," for f in fields]
            dispatch += ["        ),", f"        {names[of_srv[srv]]},", "    ),"]
        dispatch.append("}")
        return out, _fit_all(dispatch)

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
            lines += ["    effects: list[tuple[str, str, str]] = []", *effects, "    return _with_effects(v, effects) if effects else v"]
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
            lines += [*_comment(f"effect {ef.name}: {ef.cite}", "    "),
                      f"    if {cond}:",
                      f"        cell, new = {em.value(fold(ef.cell, srv, cat))}, {em.value(fold(ef.owner, srv, cat))}",
                      "        if cell is not None and new is not None:",
                      "            effects.append((device, cell, new))"]
        return lines


def _type_tuple(t: Type) -> tuple[Any, ...]:
    """A declared type as the runtime's descriptor (runtime.DECLARED)."""
    match t:
        case OptT(inner=i):
            return ("opt", _type_tuple(i))
        case EnumT(name=n):
            return ("enum", n)
        case SetT(elem=e):
            return ("set", e.name)
        case MapT(key=k, value=v):
            return ("map", k.name, _type_tuple(v))
        case RecordT(name=n):
            return ("ref", n)
    return {BOOL: ("bool",), TIME: ("time",), DATERANGE: ("range",)}.get(t, ("text",))


def ruleset_files(texts: Mapping[str, bytes]) -> list[RuleFile]:
    return [RuleFile(name, data) for name, data in sorted(texts.items())]
