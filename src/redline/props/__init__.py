"""Properties: proof results, counterexamples decoded and replayed.

`prove(...)` decides each property under each rule set it names (smt/),
decodes every model into STATE.json / REQUEST.json, and replays it through
the interpreter (interp/) before anything is shown: a model that does not
replay is an internal error, never a finding.
"""

from redline.props.prover import prove
from redline.props.results import ProofResult, ReplayError

__all__ = ["ProofResult", "ReplayError", "prove"]
