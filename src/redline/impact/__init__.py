"""Fleet impact: the rules compiled to SQL and evaluated by DuckDB over a fleet snapshot and a request log.

The questions (`fleet`, `replay`, `generate`) are in `run`; this package module imports nothing, so
that the command line, which names the synthetic fleet's parameters (`params`) in its help, does not
load DuckDB for every command (a DuckDB in the process also slows Z3 by about half).
"""
