"""Generated validators take everything from the rule files as data, never as code.

A cite, a catalogue SRV, a string in a condition or a rule file's name may
hold `\"\"\"`, backslashes, newlines, NUL or other control characters; the generated
module must still import, and its docstrings and comments must show the text
(escaped where a character could end the string or the comment's line).
A Service field that cannot be a Python attribute is refused (exit 2).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from redline.cli import main
from redline.loading import repo_rules

# As written in the rule file (rule-language escapes: \" is a quote, \\ a backslash, \n a newline).
HOSTILE = r'MP \"\"\" end \\ back \n\"\"\"\nimport os\nos.exit(1)\n# \"'
# What it means once read.
MEANT = 'MP """ end \\ back \n"""\nimport os\nos.exit(1)\n# "'
SRV = r'9.9\"\"\"\n'  # a catalogue row whose name ends a docstring and a line
ROW = """
  row "{srv}" {{
    name = "{cite}",
    service_reference = "9.9",
    critical = false,
    on_demand = true,
    future_dated = No,
    dcc_scheduled = true,
    non_device = false,
    eligible_roles = {{GT}},
    device_types = {{GSME}},
    smi_statuses = {{Commissioned}},
    replaces_trust_anchor = false,
    carries_certificate = false
  }}
"""
MODIFICATION = f"""
modification hostile "{HOSTILE}" amends baseline
  amend check eligible_user
    except "{HOSTILE}" when srv == "{SRV}"
  add effect hostile_effect "{HOSTILE}"
    when srv == "{SRV}"
    set device.trust_anchors[Supplier] to sender
  add check hostile_check "{HOSTILE}" at Device reject E4
    applies when srv == "{SRV}" or srv.name == "{HOSTILE}"
    requires srv.name != "{HOSTILE}"
"""


def _rules(tmp_path: Path, file_name: str = "hostile.redline") -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(repo_rules(), rules)
    with (rules / "duis-catalogue.redline").open("a", encoding="utf-8") as f:
        f.write(ROW.format(srv=SRV, cite=HOSTILE))
    (rules / file_name).write_text(MODIFICATION, encoding="utf-8")
    return rules


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("hostile_validator", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hostile_text_reaches_the_module_as_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hostile.py"
    assert main(["codegen", "--rules", str(_rules(tmp_path)), "--ruleset", "hostile", "-o", str(out)]) == 0, capsys.readouterr().err
    module = _import(out)  # before the fix: a SyntaxError, the cite's `"""` closing the module docstring
    assert module.__doc__ is not None and MEANT in module.__doc__
    doc = module.check_eligible_user.__doc__
    assert doc is not None and MEANT in doc and 'srv == "9.9"""\n": ' in doc  # an SRV reads quoted, as rule files write it
    assert module.check_hostile_check.__doc__ is not None and MEANT in module.check_hostile_check.__doc__
    text = out.read_text(encoding="utf-8")
    assert "\nimport os" not in text and "\nos.exit(1)" not in text  # no line of the text became a line of code
    assert r"# effect hostile_effect: MP \"\"\" end \\ back \n" not in text  # comments show escapes, not raw lines
    assert "# effect hostile_effect: MP " in text
    assert module.RULESET == "hostile" and "9.9\"\"\"\n" in module.SRVS


def test_control_characters_and_file_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = _rules(tmp_path, 'odd """ \\ name.redline')
    text = (rules / 'odd """ \\ name.redline').read_text(encoding="utf-8")
    (rules / 'odd """ \\ name.redline').write_text(text.replace("end \\\\ back", "end \x00 \u2028 \x0c back"), encoding="utf-8")
    out = tmp_path / "odd.py"
    assert main(["codegen", "--rules", str(rules), "--ruleset", "hostile", "-o", str(out)]) == 0, capsys.readouterr().err
    module = _import(out)
    assert module.__doc__ is not None and 'odd """ \\ name.redline' in module.__doc__
    assert "end \x00 \u2028 \x0c back" in module.__doc__


@pytest.mark.parametrize("field", ["lambda", "srv", "__class__"])
def test_a_service_field_that_is_not_a_python_name_is_refused(tmp_path: Path, field: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(repo_rules(), rules)
    world = rules / "world.redline"
    world.write_text(world.read_text().replace("  replaces_trust_anchor: Bool\n", f"  replaces_trust_anchor: Bool\n  {field}: Bool\n"))
    cat = rules / "duis-catalogue.redline"
    cat.write_text(cat.read_text().replace("    replaces_trust_anchor = false\n", f"    replaces_trust_anchor = false,\n    {field} = false\n")
                   .replace("    replaces_trust_anchor = true\n", f"    replaces_trust_anchor = true,\n    {field} = false\n"))
    code = main(["codegen", "--rules", str(rules), "--ruleset", "mp107"])
    err = capsys.readouterr().err
    assert code == 2 and f"`{field}`" in err and "Traceback" not in err, err
