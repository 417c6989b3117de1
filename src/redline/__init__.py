"""redline: the GB Smart Energy Code's service-request rules, as code.

The pipeline (see ARCHITECTURE.md):

    rules/*.redline
      -> syntax/   lark grammar -> surface AST with spans (the only lark importer)
      -> check/    names, types, catalogue, redlines -> checked IR + diagnostics
      -> interp/   checked IR + STATE.json + REQUEST.json -> Verdict with trace
      -> cli       the only module that reads files, prints and exits
      -> lsp/      the language server (`redline lsp`): reads the rule files an editor's document is checked with

`build(sources)` runs the first two stages; `Validator(ruleset)` is the
executable validator.
"""

from redline.build import build
from redline.interp import InputError, Validator, Verdict, load_request, load_state
from redline.source import Source

__all__ = ["InputError", "Source", "Validator", "Verdict", "build", "load_request", "load_state"]
