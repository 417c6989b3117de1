"""Syntax: the lark grammar, the parser, and the AST builder.

This package is the only importer of lark.
"""

from redline.syntax.parser import parse

__all__ = ["parse"]
