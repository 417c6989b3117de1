"""Where the rule files and property files a command reads come from.

Three places, first match wins:

1. `--rules DIR` on the command line: that directory instead of the shipped rules, and
   `DIR/../proofs` when it exists (the layout of this repository);
2. a project configuration, found upwards from the working directory: `redline.toml`
   (keys at top level) or `pyproject.toml` with a `[tool.redline]` table:

       rules = ["rules"]        # rule files or directories, relative to the configuration file
       proofs = ["proofs"]      # property files or directories
       shipped = true           # also load the SEC rules and proofs shipped with redline, underneath

3. the SEC rules and proofs shipped with redline: inside the installed package (a wheel
   carries them as `redline/rules` and `redline/proofs`), or beside `src/` in a checkout.

A configuration is read strictly: an unknown key, a value of the wrong type or a path that
does not exist is an error naming the file and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redline.jsondoc import JsonObject

KEYS = {"rules": "rule files or directories", "proofs": "property files or directories",
        "shipped": "whether the shipped SEC rules and proofs are loaded too (true or false)"}


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Project:
    rules: tuple[Path, ...]  # rule files or directories; the shipped ones first when layered
    proofs: tuple[Path, ...]  # property files or directories
    origin: str  # said by `redline check -v`: where these came from
    config: Path | None = None


def shipped() -> tuple[Path, Path]:
    """The SEC rules and proofs that come with redline: in the package when installed from a
    wheel, else beside `src/` in a checkout."""
    package = Path(__file__).resolve().parent
    if (package / "rules").is_dir():
        return package / "rules", package / "proofs"
    repo = package.parents[1]
    return repo / "rules", repo / "proofs"


def find_config(start: Path) -> Path | None:
    """The nearest `redline.toml`, or `pyproject.toml` with a `[tool.redline]` table, at or above `start`."""
    for folder in (start, *start.parents):
        own = folder / "redline.toml"
        if own.is_file():
            return own
        py = folder / "pyproject.toml"
        if py.is_file() and _table(py) is not None:
            return py
    return None


def _load_toml(path: Path) -> JsonObject:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:  # tomllib recurses per nested array or inline table
        raise ConfigError(f"{path}: arrays or tables nested too deeply for a configuration") from None


def _table(path: Path) -> JsonObject | None:
    data = _load_toml(path)
    if path.name == "redline.toml":
        return data
    tool = data.get("tool")
    table = tool.get("redline") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.redline] must be a table")
    return table


def _paths(config: Path, where: str, key: str, value: Any) -> tuple[Path, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise ConfigError(f"{config}: {where}{key}: expected a path or a list of paths, found {value!r}")
    out = []
    for item in items:
        p = (config.parent / item)
        if not p.exists():
            raise ConfigError(f"{config}: {where}{key}: `{item}` does not exist (looked for {p})")
        out.append(p)
    return tuple(out)


def read_config(config: Path) -> Project:
    table = _table(config) or {}
    where = "" if config.name == "redline.toml" else "[tool.redline] "
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        known = "; ".join(f"`{k}` ({v})" for k, v in KEYS.items())
        raise ConfigError(f"{config}: {where}unknown key `{unknown[0]}`; the keys are {known}")
    layered = table.get("shipped", True)
    if not isinstance(layered, bool):
        raise ConfigError(f"{config}: {where}shipped: expected true or false, found {layered!r}")
    rules = _paths(config, where, "rules", table.get("rules", []))
    proofs = _paths(config, where, "proofs", table.get("proofs", []))
    if not layered and not rules:
        raise ConfigError(f"{config}: {where}shipped = false needs `rules`: there would be no rules to load")
    if layered:
        own_rules, own_proofs = shipped()
        rules = (own_rules, *rules)
        proofs = ((own_proofs,) if own_proofs.is_dir() else ()) + proofs
    origin = f"{config}" + ("" if config.name == "redline.toml" else " [tool.redline]")
    origin += ", over the shipped SEC rules" if layered else ", instead of the shipped SEC rules"
    return Project(rules, proofs, origin, config)


def resolve(rules_flag: str | None, cwd: Path | None = None) -> Project:
    """The rules and proofs a command reads: `--rules`, else a configuration, else the shipped ones."""
    if rules_flag:
        rules = Path(rules_flag)
        proofs = rules.parent / "proofs"
        return Project((rules,), (proofs,) if proofs.is_dir() else (), f"--rules {rules_flag}")
    config = find_config((cwd or Path.cwd()).resolve())
    if config is not None:
        return read_config(config)
    rules, proofs = shipped()
    return Project((rules,), (proofs,) if proofs.is_dir() else (), f"the SEC rules shipped with redline ({rules})")


def display_names(files: Sequence[Path], roots: Sequence[Path]) -> list[str]:
    """Each file's name as a bundle or generated header shows it: relative to the one root it
    came from (so the output does not depend on where redline ran); with several roots, relative
    to that root's parent, so that `rules/x.redline` and `my-rules/x.redline` stay apart."""
    out = []
    resolved = [r.resolve() for r in roots]
    for f in files:
        path = f.resolve()
        for root in resolved:
            base = root if root.is_dir() else root.parent
            if path == root or root in path.parents:
                shown = path.relative_to(base.parent if len(roots) > 1 else base)
                out.append(shown.as_posix())
                break
        else:
            out.append(path.name)
    return out
