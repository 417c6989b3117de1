"""Hostile input, third campaign: what changed recently (`add row`, unlisted parties, fleet CSV dialects) and
names and strings from rule files flowing into generated SQL and Python.

Each is a precise refusal (exit 2, one clear line) or a correct answer; never a traceback, an internal error
(70) or a silently wrong answer.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from cli_support import Run
from redline.impact import csvfiles
from redline.impact.fromjson import write_requests, write_state
from redline.impact.sql import SPARK, lit
from redline.loading import load_program, repo_rules


@pytest.fixture(scope="module")
def fleet_world() -> Any:
    program, _ = load_program(repo_rules(), [])
    sc = next(s for s in program.scenarios if s.name == "stuck_owner_no_fixes_under_mp107")

    def write(root: Path) -> Path:
        root.mkdir(parents=True, exist_ok=True)
        write_state(sc.state, program, root)
        write_requests([(1, sc.state["now"], sc.request)], program, root)
        return root
    return write


def _with_service_field(tmp_path: Path, field: str) -> Path:
    """The shipped rules with one more Bool column `field` of `Service`, false in every row."""
    rules = tmp_path / "rules"
    shutil.copytree(repo_rules(), rules)
    world = rules / "world.redline"
    world.write_text(world.read_text().replace("  replaces_trust_anchor: Bool\n", f"  replaces_trust_anchor: Bool\n  {field}: Bool\n"))
    cat = rules / "duis-catalogue.redline"
    for v in ("false", "true"):
        cat.write_text(cat.read_text().replace(f"    replaces_trust_anchor = {v},\n",
                                               f"    replaces_trust_anchor = {v},\n    {field} = false,\n"))
    return rules


# ---- names from rule files in the fleet SQL ---------------------------------------------------

@pytest.mark.parametrize("field", ["select", "check"])
def test_a_service_field_named_like_an_sql_keyword_is_a_column_like_any_other(tmp_path: Path, run: Run,
                                                                              fleet_world: Any, field: str) -> None:
    """The catalogue relation named its columns as the rule files name Service's fields, unquoted:
    `AS k(srv, ..., select, ...)` was a DuckDB parser error, an internal error (70)."""
    rules = _with_service_field(tmp_path, field)
    want = run("impact", "replay", str(fleet_world(tmp_path / "a")), "--format", "json")
    got = run("impact", "replay", str(fleet_world(tmp_path / "b")), "--rules", str(rules), "--format", "json")
    assert got.code == want.code == 0, got.err
    assert got.out.replace(str(tmp_path / "b"), "") == want.out.replace(str(tmp_path / "a"), "")


def test_a_backslash_in_a_string_is_itself_in_sparks_sql() -> None:
    """Spark's SQL reads backslash escapes in a string literal: an SRV, cite or text ending in `\\` ended
    the literal early (`'9.9\\'`, a ParseException), and `\\n` in one was a newline."""
    assert lit("9.9\\", SPARK) == "'9.9\\\\'" and lit("a\\n'b", SPARK) == "'a\\\\n''b'"
    assert lit("9.9\\") == "'9.9\\'"  # DuckDB's literals take a backslash as itself


BACKSLASH_ROW = '''modification new_srv "a new SRV whose name ends in a backslash" amends baseline
  add row "9.9\\\\" "c" {
    name = "n\\\\", service_reference = "9.9", critical = false, on_demand = true, future_dated = No,
    dcc_scheduled = false, non_device = false, eligible_roles = {ED}, device_types = {ESME},
    smi_statuses = {Commissioned}, replaces_trust_anchor = false, carries_certificate = false
  }
'''


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime for Spark")
def test_spark_judges_an_srv_with_a_backslash_as_duckdb_does(tmp_path: Path, run: Run, fleet_world: Any) -> None:
    pytest.importorskip("pyspark")
    rules = tmp_path / "rules"
    shutil.copytree(repo_rules(), rules)
    (rules / "new.redline").write_text(BACKSLASH_ROW, encoding="utf-8")
    root = fleet_world(tmp_path / "fleet")
    requests = root / "requests.csv"
    head, row = requests.read_text().splitlines()[:2]
    fields = row.split(",")
    fields[4], fields[6], fields[7] = "9.9\\", "", ""  # srv; no certificate carried
    requests.write_text(f"{head}\n{row}\n{','.join(['2', *fields[1:]])}\n")
    args = ["impact", "replay", str(root), "--rules", str(rules), "--ruleset", "baseline", "--ruleset", "new_srv",
            "--format", "json", "--threads", "1"]
    duck, spark = run(*args), run(*args, "--engine", "spark")
    assert duck.code == spark.code == 0, spark.err
    assert spark.out == duck.out


# ---- fleet CSV files ----------------------------------------------------------------------------

@pytest.mark.usefixtures("cached_rules")
def test_a_csv_file_with_cr_line_endings_reads_as_with_crlf(tmp_path: Path, run: Run, fleet_world: Any) -> None:
    """A file saved with lone CRs (classic Mac OS, some exporters) is one line to `readline`: its header held CRs,
    and the csv module's `new-line character seen in unquoted field` was an internal error (70)."""
    want = run("impact", "replay", str(fleet_world(tmp_path / "a")), "--format", "json")
    root = fleet_world(tmp_path / "b")
    for path in root.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r"))
    got = run("impact", "replay", str(root), "--format", "json")
    assert want.code == got.code == 0, got.err
    assert got.out.replace(str(root), "") == want.out.replace(str(tmp_path / "a"), "")


@pytest.mark.parametrize("header_end, row_end, said", [(b"\n", b"\r\n", "CRLF, and the header line in LF"),
                                                       (b"\r\n", b"\n", "LF, and the header line in CRLF")])
def test_a_csv_file_whose_lines_end_unlike_its_header_is_told_by_line(tmp_path: Path, run: Run, fleet_world: Any,
                                                                       header_end: bytes, row_end: bytes, said: str) -> None:
    """DuckDB fixes a CSV file's line ending from its first line; a later line ending otherwise was "the CSV Parser
    state machine reached an invalid state" with no line (and a `new_line` option read such a file as no rows)."""
    root = fleet_world(tmp_path / "fleet")
    path = root / "parties.csv"  # four rows (DuckDB reads one row ending in CRLF at the end of the file)
    header, _, rest = path.read_bytes().replace(b"\r\n", b"\n").partition(b"\n")
    path.write_bytes(header + header_end + rest.replace(b"\n", row_end))
    r = run("impact", "replay", str(root))
    assert r.code == 2 and r.out == "", r.err
    assert f"parties: cannot read {path}: line 2 ends in {said}" in r.err, r.err
    assert "Traceback" not in r.err and "invalid state" not in r.err


@pytest.mark.parametrize("chunk", [1, 2, 3, 1 << 20])
def test_the_mixed_line_ending_is_found_across_chunk_boundaries(tmp_path: Path, chunk: int) -> None:
    """A CRLF split between two reads is one ending, not a CR then an LF."""
    path = tmp_path / "t.csv"
    for text, want in ((b"a,b\r\n1,2\r\n3,4\r\n", None), (b"a,b\r\n1,2\r\n3,4\n5,6\r\n", 3), (b"a,b\n1,2\r3,4\n", 2),
                       (b"a,b\r1,2\r3,4\r", None), (b"a,b\n1,2", None), (b"a,b\r\n1,2\r", 2)):
        path.write_bytes(text)
        got = csvfiles.mixed_line_ending(path, chunk)
        assert (got if got is None else int(got.split()[1])) == want, (text, chunk, got)


def test_relations_whose_names_differ_only_in_case_are_refused_for_the_fleet(tmp_path: Path, run: Run,
                                                                             fleet_world: Any) -> None:
    """`relation Joined` beside the shipped `joined` checks (the rule language tells case), but to SQL both are one
    table: the second file loaded (`Joined.csv`) silently replaced the first's tuples, which `smi_joins` reads."""
    rules = tmp_path / "rules"
    shutil.copytree(repo_rules(), rules)
    (rules / "joined-again.redline").write_text('relation Joined "another relation" (Device, Device)\n', encoding="utf-8")
    root = fleet_world(tmp_path / "fleet")
    (root / "Joined.csv").write_text("device_1,device_2\n")
    r = run("impact", "replay", str(root), "--rules", str(rules), "--ruleset", "baseline", "--ruleset", "smi_joins")
    assert r.code == 2 and r.out == "", r.err
    assert r.err == ("redline: error: Joined: the declared relations `Joined` and `joined` have names that differ only in "
                     "case, one table name to SQL; rename one to use them with redline impact\n")


def test_trust_anchor_cells_whose_names_differ_only_in_case_are_refused_for_the_fleet(tmp_path: Path, run: Run,
                                                                                       fleet_world: Any) -> None:
    """`Root` and `root` are two cells to the rule language but one column `trust_anchor_root` to SQL: the loader's
    query was a DuckDB Binder error (a duplicate named argument); now it names both members."""
    rules = tmp_path / "rules"
    shutil.copytree(repo_rules(), rules)
    vocabulary = rules / "vocabulary.redline"
    text = vocabulary.read_text(encoding="utf-8")
    vocabulary.write_text(text.replace('Root "0 root",', 'Root "0 root", root "a second root",', 1), encoding="utf-8")
    root = fleet_world(tmp_path / "fleet")
    r = run("impact", "replay", str(root), "--rules", str(rules))
    assert r.code == 2 and r.out == "", r.err
    assert r.err == ("redline: error: devices.trust_anchor_Root: the RemotePartyRole members `Root` and `root` differ "
                     "only in case, one trust anchor column to SQL; rename one to use them with redline impact\n"), r.err
