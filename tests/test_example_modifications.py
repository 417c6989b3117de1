"""The example modifications shipped in rules/ beside MP107, each end to end: both diffs complete,
every rule live or explained, its properties as expected, and a bundle scoped to it.

Their scenarios run with every other scenario (`redline test`), and the generated validators are
held to the interpreter on them with every shipped rule set (tests/test_codegen.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prove_support import Proved, properties_of
from redline.cli import main

ROOT = Path(__file__).resolve().parents[1]

# Load each set of rules once per worker, not once per command (conftest.py; keyed by the files' contents).
pytestmark = pytest.mark.usefixtures("cached_rules")

# modification -> the property file that states what is expected of it
EXAMPLES = {
    "owner_registered": "proofs/owner-registered.redline",  # another party's registration at the relevant times
    "cos_certificate_owner": "proofs/cos-certificate.redline",  # a certificate carried by a non-replacing SRV
    "smi_joins": "proofs/smi-joins.redline",  # a new state relation
}

# What each diff must name, both ways, beyond being complete: smi_joins's declared relation (tests/test_declared.py
# held this with its own two diffs, the same commands as here at about 15 s of CPU).
NAMED_BOTH_WAYS = {"smi_joins": ("joined(device, request.other_device)", "request.other_device")}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_diff_is_complete_both_ways_and_meets_the_intent(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = run(capsys, "diff", "baseline", name, "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["complete"] is True and d["count"] > 0 and d["intent"]["status"] == "satisfied", d["intent"]
    for change in d["changes"]:
        assert change["witness"]["sentence"]  # every region has a replayed witness
    code, out, err = run(capsys, "diff", name, "baseline", "--format", "json")
    back = json.loads(out)
    assert code == 0 and back["complete"] is True and back["count"] == d["count"], err
    for got in (d, back):
        assert got["changes"]
        text = json.dumps(got)
        assert all(named in text for named in NAMED_BOTH_WAYS.get(name, ())), name


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_rule_is_live_or_explained(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, err = run(capsys, "liveness", "--ruleset", name, "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert rows["complete"] is True
    # what the modification wrote is live: a rule it adds that never decides anything is a drafting error
    added = [r for r in rows["rules"] if r["origin"] == name]
    assert added and all(r["status"] == "live" for r in added), added


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_its_properties_are_as_expected(proved: Proved, name: str) -> None:
    """Read from the one `prove` run over every shipped property (tests/prove_support.py), of which tests/test_prove.py
    reads the rest: the exit code is 0 only if every result is as its property file expects."""
    assert proved.code == 0
    named = properties_of(ROOT / EXAMPLES[name])
    mine = [r for r in proved.results if r["property"] in named and name in r["ruleset"].split("..")]
    assert len(mine) >= 2 and all(r["status"] == r["expected"] for r in mine)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_bundle_scoped_to_the_modification(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str) -> None:
    out_dir = tmp_path / "bundle"
    code, _, err = run(capsys, "report", "--modification", name, "--out", str(out_dir))
    assert code == 0, err
    results = json.loads((out_dir / "results.json").read_text())
    # each example changes SMETS2 verdicts by design, and acknowledges the generic scope property refuted
    scope = next(r for r in results["results"] if r["property"] == "smets2_verdicts_unchanged")
    assert (scope["status"], scope["expected"]) == ("refuted", "refuted") and scope["acknowledged"], scope
    files = [f["path"] for f in results["files"]]
    assert not any(f.endswith("mp107.redline") for f in files), files  # another modification's rules and proofs
    assert any(f.endswith(EXAMPLES[name].split("/")[-1]) for f in files)
    keys = {"baseline", name, f"baseline..{name}"}
    assert results["results"] and all(r["ruleset"] in keys for r in results["results"])
