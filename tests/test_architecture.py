"""The arrows of ARCHITECTURE.md, enforced on the import statements of src/redline.

Imports are read with `ast`, including those inside functions (a lazy import
is still a dependency) and relative imports (resolved against the module's
package).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "redline"
CLI_MAX_LINES = 600  # the parser, one short cmd_* per command, main; it was 1,236 lines with the loaders and renderers


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def from_target(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a `from ... import` names, a relative one resolved against `package`."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    base = ".".join(parts)
    return f"{base}.{node.module}" if node.module else base


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module `source` imports, as absolute dotted names.

    `from X import Y` yields both `X` and `X.Y` (Y may be a submodule), so a
    rule about `redline.cli` also catches `from redline import cli`.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = from_target(node, package)
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def all_modules() -> dict[str, set[str]]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        name = module_name(path)
        out[name] = imports_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
    return out


MODULES = all_modules()


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(
    importer_in: str | None, imported: str, *, allowed_in: str | None = None, table: dict[str, set[str]] | None = None
) -> list[str]:
    """Modules (optionally only those in `importer_in`) that import `imported` or below it."""
    bad = []
    for mod, imps in (MODULES if table is None else table).items():
        if importer_in is not None and not within(mod, importer_in):
            continue
        if allowed_in is not None and within(mod, allowed_in):
            continue
        hits = sorted(i for i in imps if within(i, imported))
        if hits:
            bad.append(f"{mod} imports {', '.join(hits)}")
    return bad


def test_modules_were_found() -> None:
    assert len(MODULES) >= 10
    for expected in ("redline", "redline.cli", "redline.syntax.parser", "redline.check", "redline.interp.values"):
        assert expected in MODULES
    # The parser really imports lark, so the rules below are looking at real imports.
    assert "lark" in MODULES["redline.syntax.parser"]
    assert "redline.validation" in MODULES["redline.cli"]


def test_import_reader_resolves_relative_and_from_imports() -> None:
    src = (
        "from . import values\nfrom ..check import checked\nimport lark.lexer\nfrom redline import cli\n"
        "def f():\n    import z3\n"
    )
    got = imports_of(src, "redline.interp.validate")
    assert {
        "redline.interp",
        "redline.interp.values",
        "redline.check",
        "redline.check.checked",
        "lark.lexer",
        "redline",
        "redline.cli",
        "z3",
    } <= got
    fake = {
        "redline.interp.validate": got,
        "redline.syntax.parser": {"lark"},
        "redline.check.x": {"redline.interpreter"},
    }
    assert violations(None, "lark", allowed_in="redline.syntax", table=fake) == [
        "redline.interp.validate imports lark.lexer"
    ]
    assert violations("redline.interp", "redline.cli", table=fake) == ["redline.interp.validate imports redline.cli"]
    assert violations("redline.check", "redline.interp", table=fake) == []  # a prefix of a name is not a package
    assert imports_of("from . import x\n", "redline.smt", is_package=True) == {"redline.smt", "redline.smt.x"}


def test_lark_only_in_syntax() -> None:
    assert violations(None, "lark", allowed_in="redline.syntax") == []


def test_z3_only_in_smt() -> None:
    assert violations(None, "z3", allowed_in="redline.smt") == []


def test_nothing_imports_cli() -> None:
    # `python -m redline` (redline.__main__) is the command line's other door, and nothing else.
    bad = violations(None, "redline.cli", allowed_in="redline.cli")
    assert bad == ["redline.__main__ imports redline.cli, redline.cli.entry"]


def test_cli_is_a_shell_over_library_modules() -> None:
    """The command line imports the standard library and redline's public names, nothing else: no
    solver, parser or database of its own, and no private helper (`_name`) of a library module, which
    would be logic that belongs in the library. What it does with them is kept short."""
    third_party = sorted(i for i in MODULES["redline.cli"]
                         if not within(i, "redline") and i.partition(".")[0] not in sys.stdlib_module_names)
    assert third_party == []
    private = sorted(i for i in MODULES["redline.cli"] if within(i, "redline") and i.rpartition(".")[2].startswith("_"))
    assert private == []
    lines = len((PKG / "cli.py").read_text(encoding="utf-8").splitlines())
    assert lines <= CLI_MAX_LINES, f"cli.py has {lines} lines; move what is not arguments, printing or exit codes to a library module"


@pytest.mark.parametrize(
    "importer,imported",
    [
        ("redline.interp", "redline.smt"),
        ("redline.smt", "redline.interp"),
        ("redline.syntax", "redline.check"),
        ("redline.syntax", "redline.interp"),
        ("redline.check", "redline.interp"),
        # Checking a program (property bodies included) needs no prover: `redline check` stays quick.
        ("redline.check", "redline.smt"),
        ("redline.check", "redline.props"),
        ("redline.build", "redline.smt"),
        ("redline.build", "redline.props"),
    ],
)
def test_layering(importer: str, imported: str) -> None:
    assert violations(importer, imported) == []


def test_untrusted_xml_only_through_the_hardened_parser() -> None:
    """defusedxml is imported only by redline.duis.safexml, and no module parses XML with the standard library's
    parsers directly (xml.etree is used for the tree type; xml.dom, xml.sax and expat not at all)."""
    assert violations(None, "defusedxml", allowed_in="redline.duis.safexml") == []
    for unsafe in ("xml.dom", "xml.sax", "xml.parsers", "lxml"):
        assert violations(None, unsafe) == []
    assert "defusedxml.ElementTree" in MODULES["redline.duis.safexml"]


def test_x509_only_where_certificates_are_read() -> None:
    bad = [v for v in violations(None, "cryptography", allowed_in="redline.duis.certs") if not v.startswith("redline.signers ")]
    assert bad == []


def test_language_server_stays_in_its_package() -> None:
    """pygls and lsprotocol only in redline.lsp, which only the CLI imports (lazily: `redline lsp`)."""
    for protocol in ("pygls", "lsprotocol"):
        assert violations(None, protocol, allowed_in="redline.lsp") == []
    assert [v for v in violations(None, "redline.lsp", allowed_in="redline.lsp") if not v.startswith("redline.cli ")] == []
    assert "pygls.lsp.server" in MODULES["redline.lsp.server"]


def test_checking_the_shipped_rules_and_proofs_loads_no_solver() -> None:
    """The import rules above see direct imports; this sees every module a check really loads."""
    root = SRC.parent
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from redline.build import build\n"
        "from redline.source import Source\n"
        "files = sorted(Path('rules').rglob('*.redline')) + sorted(Path('proofs').rglob('*.redline'))\n"
        "program, diags = build([Source(str(f), f.read_text(encoding='utf-8')) for f in files])\n"
        "assert program is not None and program.properties, diags\n"
        "print(sorted(m for m in sys.modules if m == 'z3' or m.startswith(('z3.', 'redline.smt', 'redline.props'))))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ---- no import cycles --------------------------------------------------------

def edges_of(source: str, module: str, modules: set[str], is_package: bool = False) -> set[str]:
    """The redline modules `source` imports, each import pointing at the module it names: `from X import Y`
    at `X.Y` when that is a module (a submodule import), else at `X`. A package's `__init__` running
    first is Python's doing, not a dependency the importer wrote, so it is not an edge."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = from_target(node, package)
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target)
    return {m for m in found if m in modules and m != module}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}
    names = set(paths)
    return {name: edges_of(p.read_text(encoding="utf-8"), name, names, p.name == "__init__.py") for name, p in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself),
    by Tarjan's algorithm, each sorted; iterative, so a long chain cannot overflow the stack."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    out.append(sorted(component))
    return out


def test_cycle_finder_finds_cycles_and_only_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()}
    assert cycles(graph) == [["a", "b", "c"], ["e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    names = {"redline.check", "redline.check.checked", "redline.check.program"}
    # `from redline.check import checked` depends on the submodule, not on the package's __init__
    assert edges_of("from redline.check import checked\n", "redline.check.program", names) == {"redline.check.checked"}
    assert edges_of("def f():\n    from . import program\n", "redline.check.checked", names) == {"redline.check.program"}


def test_no_import_cycles() -> None:
    """No two redline modules import each other, directly or through others, lazily (inside a function)
    or not: a cycle means code in the wrong module, and a lazy import only hides it."""
    found = cycles(import_graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)
