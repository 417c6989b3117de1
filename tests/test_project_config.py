"""Where rules come from: --rules, a project configuration found upwards, or the shipped SEC rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from redline.cli import main
from redline.project import ConfigError, resolve, shipped


def test_without_configuration_the_shipped_rules_are_read(tmp_path: Path) -> None:
    p = resolve(None, tmp_path)
    assert p.rules == (shipped()[0],)
    assert p.proofs == (shipped()[1],)
    assert p.config is None


def test_redline_toml_is_found_upwards_and_layers_over_the_shipped_rules(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "props").mkdir()
    (tmp_path / "redline.toml").write_text('rules = "mine"\nproofs = ["props"]\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    p = resolve(None, deep)
    assert p.rules == (shipped()[0], tmp_path / "mine")
    assert p.proofs == (shipped()[1], tmp_path / "props")
    assert p.config == tmp_path / "redline.toml"


def test_shipped_false_replaces_the_shipped_rules(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.redline]\nrules = ["mine"]\nshipped = false\n')
    p = resolve(None, tmp_path)
    assert p.rules == (tmp_path / "mine",) and p.proofs == ()
    assert "instead of the shipped" in p.origin


def test_a_pyproject_without_the_table_is_not_a_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert resolve(None, tmp_path).config is None


def test_the_rules_flag_wins_over_a_configuration(tmp_path: Path) -> None:
    (tmp_path / "redline.toml").write_text('bogus = 1\n')  # never read
    p = resolve(str(shipped()[0]), tmp_path)
    assert p.rules == (shipped()[0],) and p.origin.startswith("--rules")


@pytest.mark.parametrize(("text", "message"), [
    ('[tool.redline]\nrule = ["x"]\n', "pyproject.toml: [tool.redline] unknown key `rule`"),
    ('[tool.redline]\nrules = ["nowhere"]\n', "pyproject.toml: [tool.redline] rules: `nowhere` does not exist"),
    ('[tool.redline]\nrules = [1]\n', "[tool.redline] rules: expected a path or a list of paths, found [1]"),
    ('[tool.redline]\nshipped = "no"\n', "[tool.redline] shipped: expected true or false, found 'no'"),
    ('[tool.redline]\nshipped = false\n', "shipped = false needs `rules`"),
    ('[tool.redline\n', "pyproject.toml: not valid TOML"),
    ('tool = 3\n[tool.redline]\n', "pyproject.toml: not valid TOML"),
])
def test_a_bad_configuration_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError) as e:
        resolve(None, tmp_path)
    assert message in str(e.value)


def test_the_cli_refuses_a_bad_configuration_with_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "redline.toml").write_text('proofs = ["gone"]\n')
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "redline.toml: proofs: `gone` does not exist" in err
    assert "Traceback" not in err
