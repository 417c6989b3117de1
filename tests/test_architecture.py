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


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


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
            if node.level:
                base_parts = package.split(".")
                if node.level > 1:
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts)
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
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
    assert any(within(i, "redline.interp") for i in MODULES["redline.cli"])


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
