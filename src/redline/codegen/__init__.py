"""Generated runtime validators: a rule set as a standalone, standard-library-only Python module.

`generate(program, ruleset, files)` returns the module's text; `redline
codegen` writes it. runtime.py is the fixed part copied into every module,
fold.py settles what the SRV alone decides, emit.py writes expressions, and
module.py assembles checks, plans and tables.
"""

from redline.codegen.emit import CodegenError
from redline.codegen.module import RuleFile, dependencies, generate

__all__ = ["CodegenError", "RuleFile", "dependencies", "generate"]
