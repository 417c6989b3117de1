"""What the evidence bundle shows a SEC Panel member: the modification as a redline of its base's rule text
(struck and inserted, word by word), each claim one click from its formula, and the diff's regions in prose
with no rule syntax (the rule conditions one click away)."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from redline.cli import main
from redline.loading import load_program
from redline.report import RuleFile, Settings, build_bundle, load_cvc5
from redline.report.prose import Wording, region_sentence
from redline.report.redline_view import Piece, formulas, marked, rule_changes

ROOT = Path(__file__).resolve().parents[1]
RULE_SYNTAX = ("==", "!=", "sender.", "device.", "request.", "srv.", ";", "`", "_")

GT_WAIVER = '''
modification gt_waiver "test: no DSP RDP check for a Gas Transporter's 6.15.1" amends baseline
  amend check eligible_user
    except "test §1" when srv == "6.15.1" and role == GT
  intends change "test §1" where srv == "6.15.1" and role == GT

modification gt_waiver_after_mp107 "test: the same redlines over mp107" amends mp107 with redlines of gt_waiver
'''

NARROWED = '''
modification narrowed "test: the S1SP owner check reads the NO cell" amends baseline
  amend check s1sp_certificate_owner
    requires sender == device.trust_anchors[NetworkOperator]
'''


@pytest.fixture(scope="module")
def program() -> Any:
    prog, diags = load_program(ROOT / "rules", [ROOT / "proofs"])
    assert prog is not None, diags
    return prog


def text_of(line: tuple[Piece, ...], kinds: set[str]) -> str:
    return "".join(p.text for p in line if p.kind in kinds)


def test_mp107_is_shown_as_baselines_text_with_its_inserted_exceptions(program: Any) -> None:
    changes = {c.name: c for c in rule_changes(program, "mp107")}
    assert set(changes) == {"eligible_user", "s1sp_registration"}
    c = changes["eligible_user"]
    assert c.kind == "check" and c.how == "amended" and c.cite == "SRPD 6.1(f)"
    inserted = [text_of(line, {"ins"}) for line in c.lines if any(p.kind == "ins" for p in line)]
    assert inserted == ['  except "MP107 §1: no DSP RDP check for SRV 6.15.1 where the sender is a Network Operator" '
                        'when srv == "6.15.1" and role in NetworkOperator']
    assert not any(p.kind == "del" for line in c.lines for p in line)  # MP107 strikes nothing of eligible_user
    # The base's own text, unchanged, around it: as baseline.redline writes it.
    same = [text_of(line, {"same"}) for line in c.lines if all(p.kind == "same" for p in line)]
    assert same[0] == 'check eligible_user "SRPD 6.1(f)" at DSP reject E4'
    assert "  except \"SRPD 6.2\" when srv.non_device rests on A2" in same and "  requires sender_is_eligible" in same
    assert c.clauses == ("MP107 §1: no DSP RDP check for SRV 6.15.1 where the sender is a Network Operator",)
    assert changes["s1sp_registration"].clauses[0].startswith("MP107 §3")


def test_a_changed_line_is_marked_word_by_word(rules_copy: Path) -> None:
    (rules_copy / "narrowed.redline").write_text(NARROWED, encoding="utf-8")
    prog, diags = load_program(rules_copy, [])
    assert prog is not None, diags
    [c] = rule_changes(prog, "narrowed")
    [line] = [x for x in c.lines if any(p.kind != "same" for p in x)]
    assert text_of(line, {"same", "del"}) == "  requires sender_owns_authorising_cell"
    assert text_of(line, {"same", "ins"}) == "  requires sender == device.trust_anchors[NetworkOperator]"
    assert text_of(line, {"same"}).strip() == "requires"  # only the words that changed are struck and inserted
    assert marked(["a b c"], ["a x c"]) == ((Piece("same", "a "), Piece("del", "b"), Piece("ins", "x"), Piece("same", " c")),)


def test_a_reuse_chain_is_shown_against_its_own_base(rules_copy: Path) -> None:
    """`amends mp107 with redlines of gt_waiver`: mp107's text (its exception included) is the base, and the
    reused exception is what is inserted; both in the bundle's HTML and Markdown."""
    (rules_copy / "gt.redline").write_text(GT_WAIVER, encoding="utf-8")
    prog, diags = load_program(rules_copy, [])
    assert prog is not None, diags
    [c] = rule_changes(prog, "gt_waiver_after_mp107")
    assert c.name == "eligible_user"
    same = "\n".join(text_of(line, {"same"}) for line in c.lines)
    assert 'except "MP107 §1: no DSP RDP check' in same  # mp107's redline is part of this modification's base
    inserted = [text_of(line, {"ins"}) for line in c.lines if any(p.kind == "ins" for p in line)]
    assert inserted == ['  except "test §1" when srv == "6.15.1" and role == GT']
    b = build_bundle(prog, [RuleFile("x", b"")], Settings("gt_waiver_after_mp107"), [], load_cvc5())
    md, page = b.files["report.md"].decode(), b.files["report.html"].decode()
    assert "## The modification as a redline of mp107" in md
    assert '  - **except "test §1" when srv == "6.15.1" and role == GT**' in md
    assert '<ins>  except &quot;test §1&quot; when srv == &quot;6.15.1&quot; and role == GT</ins>' in page
    assert re.search(r"ins \{[^}]*text-decoration: underline", page) and re.search(r"del \{[^}]*line-through", page)


def test_mp107_redline_in_the_bundle(evidence_bundle: tuple[Path, int, str]) -> None:
    out, _, _ = evidence_bundle
    md, page = (out / "report.md").read_text(encoding="utf-8"), (out / "report.html").read_text(encoding="utf-8")
    # first the redline against the base's text, then the declaration as written
    assert md.index("## The modification as a redline of baseline") < md.index("## The modification as written")
    assert ('  - **except "MP107 §3: no S1SP RDP check for SRV 6.15.1 where it targets Network Operator certificates" '
            'when srv == "6.15.1" and request.remote_party_role == NetworkOperator**') in md
    assert "<ins>  except &quot;MP107 §1: no DSP RDP check for SRV 6.15.1 where the sender is a Network Operator&quot;" in page
    assert "Clause: SRPD 6.1(f)." in md and "Clause: SRPD 6.1(f)." in page


class Claims(HTMLParser):
    """Every claim's formula link (the `a` after each `span.claim`) and every id of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.claims = 0
        self.links: list[str] = []
        self._after_claim = False
        self._in_claim = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "span" and a.get("class") == "claim":
            self.claims += 1
            self._in_claim = True
        elif tag == "a" and self._after_claim:
            if a.get("class") == "formula-link":
                self.links.append(str(a.get("href")))
            self._after_claim = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._in_claim:
            self._in_claim, self._after_claim = False, True


def test_every_claim_is_one_click_from_its_formula(evidence_bundle: tuple[Path, int, str], program: Any) -> None:
    out, _, _ = evidence_bundle
    page = (out / "report.html").read_text(encoding="utf-8")
    p = Claims()
    p.feed(page)
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    # each claim in the properties table, in each result, and in the answer's lists
    assert p.claims >= 2 * len(doc["results"]) and len(p.links) == p.claims
    for href in p.links:
        assert href.startswith("#formula-") and href[1:] in p.ids, href
    # the formula is the property's `holds` as written, with file:line
    f = formulas(program)["no_takeover"]
    src = (ROOT / f.path).read_text(encoding="utf-8").splitlines()
    assert src[f.line - 1].strip().startswith("holds forall s: State, r: Request .")
    assert f"{f.path}:{f.line}" in page and "implies r.sender == owner(s, NetworkOperator)" in page
    md = (out / "report.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(#(formula-[\w-]+)\)", md)
    assert len(links) >= 2 * len(doc["results"])
    for anchor in links:
        assert f'<a id="{anchor}"></a>' in md, anchor


def test_region_sentences_are_prose(evidence_bundle: tuple[Path, int, str]) -> None:
    out, _, _ = evidence_bundle
    page = (out / "report.html").read_text(encoding="utf-8")
    answer = page[page.index('<section id="answer">'):page.index("</section>", page.index('<section id="answer">'))]
    regions = re.findall(r'<li class="region">(.*?)<details class="rules">(.*?)</details>', answer)
    assert len(regions) == 3
    for html_sentence, rules in regions:
        sentence = html.unescape(html_sentence)
        for token in RULE_SYNTAX:
            assert token not in sentence, (token, sentence)
        assert "srv == 6.15.1" in rules  # the rule syntax, one click away
    # the rule conditions of each region, one click away in both formats
    for i in range(1, len(regions) + 1):
        assert f'href="#region-{i}"' in answer and f'id="region-{i}"' in page
    md = (out / "report.md").read_text(encoding="utf-8")
    md_answer = md[md.index("## The answer"):md.index("### Properties")]
    for i in range(1, len(regions) + 1):
        assert f"](#region-{i}))" in md_answer and f'<a id="region-{i}"></a>' in md
    for line in (x for x in md_answer.splitlines() if x.startswith("- A ")):
        for token in RULE_SYNTAX:
            assert token not in line.split(" ([the rule conditions]")[0].replace("\\", ""), (token, line)
    accepted = [s for s, _ in regions if "is now accepted" in s]
    assert len(accepted) == 1
    assert accepted[0].startswith("A SMETS1 request for 6.15.1 (Update Security Credentials (KRP)) from a Network Operator "
                                  "(ED or GT) replacing the Network Operator certificate, on a device in the SMI")
    assert "(was rejected by the DSP with E4 (SRPD 6.1(f)) under baseline)" in accepted[0]


def test_region_sentences_of_a_wide_diff_are_prose(capsys: pytest.CaptureFixture[str], rules_copy: Path) -> None:
    """Removing the SMI status check changes many SRVs, some carrying no certificate: no rule syntax, and no
    condition on a certificate such a request does not carry."""
    (rules_copy / "ns.redline").write_text('modification no_status "test" amends baseline\n'
                                           '  remove check smi_status_suits_srv "test: no SMI status check"\n', encoding="utf-8")
    assert main(["diff", "baseline", "no_status", "--format", "json", "--rules", str(rules_copy)]) == 0
    d = json.loads(capsys.readouterr().out)
    prog, _ = load_program(rules_copy, [])
    assert prog is not None
    w = Wording(prog, [prog.rulesets["baseline"], prog.rulesets["no_status"]])
    for c in d["changes"]:
        sentence = region_sentence(w, c, "baseline", "no_status")
        for token in RULE_SYNTAX:  # the rule sets are named as they are called (`no_status`), nothing else
            assert token not in sentence.replace("no_status", "it"), (token, sentence)
        assert "(was rejected by the DSP with E5" in sentence
        assert "remote party role" not in sentence or "6.15.1" in sentence or "6.23" in sentence
    [c] = [x for x in rule_changes(prog, "no_status")]
    assert c.how == "removed" and all(p.kind == "del" for line in c.lines for p in line)


def test_every_condition_of_the_shipped_rules_is_worded(program: Any) -> None:
    """Each condition any shipped rule set tests, said to hold and not to hold, reads as words: no operator,
    no dotted path, no name with an underscore."""
    w = Wording(program, program.rulesets.values())
    assert len(w.conditions) > 20
    for label in w.conditions:
        for text in (label, f"not ({label})"):
            said = w.condition(text)
            if said is None:  # an attribute value the sentence's subject says (`device.generation == SMETS1`)
                assert re.match(r"(srv|role|device\.\w+|request\.remote_party_role) (==|in) ", label), label
                continue
            for token in (*RULE_SYNTAX, "[", "(s"):
                assert token not in said, (token, text, said)
    said = {w.condition(x) for x in ("not (registered(request.new_certificate_owner, ED, device.mpxn) throughout relevant_times)",
                                     "request.other_device == null", "joined(device, request.other_device)")}
    assert "the request's new certificate owner is not registered as ED for the device's MPxN throughout the relevant times" in said
    assert {"the request's other device is not given", "the device and the request's other device are joined"} <= said
