"""The SMT back end: the checked IR compiled to Z3 (the only z3 importer).

Encoded fragment (what `encode` accepts; anything else is refused with an
`Unsupported` error naming the construct, never encoded approximately):

- one request judged in one state: every check of a rule set in order, with
  its `applies when`, exceptions and `requires`, the first failure rejecting;
  the effects of an accepted request on the device's trust anchor cells;
- the state is symbolic over all worlds of docs/formats.md as far as a request
  can observe them: any party ids (integers), any roles and DCC-User status
  (uninterpreted functions of the party), the request's device with any
  type, generation, SMI status, MPxN and trust anchor owners, any `now`,
  and Registration Data as a predicate `registered(party, role, mpxn, t)`
  over integer times (microseconds), so any timeline; `throughout` quantifies
  over every integer instant of the closed range;
- the request is symbolic: any sender, role, SRV of the catalogue, target
  device present or absent, target cell and new owner where the SRV
  replaces a trust anchor, optional execution time and date range;
- expressions: constants, variables, definitions, fields of Party, Device,
  Request and Service (Bool, enum, set and MPxN fields; not Text), trust
  anchor lookup, `==`/`!=` on non-Bool values, `in`, `and`, `or`, `not`,
  `if`, set literals, and `registered(...) throughout T`.

Null semantics are those stated once in redline.check.checked, which the
interpreter implements too.
"""

from redline.smt.encode import Encoder, Outcome, Unsupported
from redline.smt.symbolic import Sorts, SymRequest, SymState

__all__ = ["Encoder", "Outcome", "Sorts", "SymRequest", "SymState", "Unsupported"]
