"""Syntax: the lark grammar, the parser, the AST builder and the layout of `redline fmt`.

This package is the only importer of lark.
"""

from redline.syntax.parser import format_source, parse

__all__ = ["format_source", "parse"]
