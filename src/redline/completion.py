"""Shell completion scripts for bash, zsh and fish, written from the argparse parser itself.

Generated rather than hand-kept, so a new command or option completes the day it is added.
What completes: command names, each command's options, the choices of options that have
them (`--format text|json`), and file names everywhere else (rule files, STATE.json, ...).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

SHELLS = ("bash", "zsh", "fish")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: tuple[str, ...]  # every spelling, e.g. ("-o", "--output")
    choices: dict[str, tuple[str, ...]]  # option spelling -> its choices


def _commands(parser: argparse.ArgumentParser) -> tuple[tuple[str, ...], list[Command]]:
    top = tuple(s for a in parser._actions for s in a.option_strings)
    out: list[Command] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {c.dest: c.help or "" for c in action._choices_actions}
        for name, sub in action.choices.items():
            options: list[str] = []
            choices: dict[str, tuple[str, ...]] = {}
            for a in sub._actions:
                options += a.option_strings
                if a.option_strings and a.choices:
                    for s in a.option_strings:
                        choices[s] = tuple(str(c) for c in a.choices)
            out.append(Command(name, helps.get(name, ""), tuple(options), choices))
    return top, out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def bash(parser: argparse.ArgumentParser) -> str:
    top, cmds = _commands(parser)
    lines = [
        "# bash completion for redline: eval \"$(redline completion bash)\"",
        "_redline() {",
        '  local cur prev cmd i',
        '  cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; cmd=""',
        '  for ((i = 1; i < COMP_CWORD; i++)); do',
        '    case "${COMP_WORDS[i]}" in -*) ;; *) cmd="${COMP_WORDS[i]}"; break ;; esac',
        '  done',
        '  if [[ -z "$cmd" ]]; then',
        f'    COMPREPLY=($(compgen -W {_quote(" ".join([c.name for c in cmds] + list(top)))} -- "$cur")); return',
        '  fi',
        '  case "$cmd" in',
    ]
    for c in cmds:
        lines.append(f"    {c.name})")
        if c.choices:
            lines.append('      case "$prev" in')
            for opt, ch in c.choices.items():
                lines.append(f'        {opt}) COMPREPLY=($(compgen -W {_quote(" ".join(ch))} -- "$cur")); return ;;')
            lines.append("      esac")
        lines.append(f'      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W {_quote(" ".join(c.options))} -- "$cur")); '
                     'else COMPREPLY=($(compgen -f -- "$cur")); fi ;;')
    lines += ["  esac", "}", "complete -o filenames -F _redline redline", ""]
    return "\n".join(lines)


def zsh(parser: argparse.ArgumentParser) -> str:
    # zsh runs bash completion functions through bashcompinit: one logic, two shells.
    return "\n".join([
        "# zsh completion for redline: eval \"$(redline completion zsh)\"",
        "autoload -Uz bashcompinit && bashcompinit",
        bash(parser),
    ])


def fish(parser: argparse.ArgumentParser) -> str:
    top, cmds = _commands(parser)
    names = " ".join(c.name for c in cmds)
    lines = ["# fish completion for redline: redline completion fish | source",
             "complete -c redline -e"]
    for c in cmds:
        lines.append(f"complete -c redline -n 'not __fish_seen_subcommand_from {names}' -f -a {c.name} "
                     f"-d {_quote(c.help)}")
    for opt in top:
        if opt.startswith("--"):
            lines.append(f"complete -c redline -n 'not __fish_seen_subcommand_from {names}' -l {opt[2:]}")
    for c in cmds:
        for opt in c.options:
            if opt.startswith("--"):
                flag = f"-l {opt[2:]}"
            elif len(opt) == 2:
                flag = f"-s {opt[1]}"
            else:
                continue
            choices = f" -x -a {_quote(' '.join(c.choices[opt]))}" if opt in c.choices else ""
            lines.append(f"complete -c redline -n '__fish_seen_subcommand_from {c.name}' {flag}{choices}")
    return "\n".join(lines) + "\n"


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](parser)
