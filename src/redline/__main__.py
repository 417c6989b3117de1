"""`python -m redline`: the same command line as the `redline` script."""

from redline.cli import entry

entry()
