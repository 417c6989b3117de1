"""Check: resolve names and types, apply redlines, produce the checked IR.

`check(modules)` is the only producer of `checked.Program`; the interpreter
and the SMT compiler accept nothing else.
"""

from redline.check.program import check_program as check

__all__ = ["check"]
