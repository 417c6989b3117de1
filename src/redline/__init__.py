"""redline: the GB Smart Energy Code's service-request rules, as code.

The pipeline (docs/architecture.md says where each concern lives):

    rules/*.redline, proofs/*.redline
      -> syntax/   lark grammar -> surface AST with spans (the only lark importer)
      -> check/    names, types, catalogue, redlines -> checked IR + diagnostics
      -> interp/   checked IR + STATE.json + REQUEST.json -> Verdict with trace (the validator)
      -> smt/      the same IR in Z3; props/ decides properties, diffs and liveness with it,
                   replaying every model through interp/
      -> codegen/  the IR as a standalone Python validator
      -> report/   the evidence bundle; duis/ maps DUIS XML requests onto REQUEST.json
      -> lsp/      the language server (`redline lsp`), on the same check/ and syntax/
      -> cli       reads files, prints and exits

`build(sources)` runs the first two stages; `Validator(ruleset)` is the
executable validator.
"""

from redline.build import build
from redline.interp import InputError, Validator, Verdict, load_request, load_state
from redline.source import Source

__all__ = ["InputError", "Source", "Validator", "Verdict", "build", "load_request", "load_state"]
