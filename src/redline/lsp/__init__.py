"""The language server (`redline lsp`): diagnostics, hover, definitions, completion, symbols and formatting.

This package is the only importer of pygls and lsprotocol; only the CLI imports it.
"""
