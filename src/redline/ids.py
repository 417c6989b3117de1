"""Entity Identifiers: the 64-bit ids of parties and devices (eight hex pairs)."""

from __future__ import annotations

import re

# Matched whole (fullmatch): `$` would also allow a final newline, a second spelling of one id.
EUI64 = re.compile(r"[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}")


def is_eui64(text: object) -> bool:
    return isinstance(text, str) and EUI64.fullmatch(text) is not None


def normalise(text: str) -> str:
    """Ids compare case-insensitively: one spelling, upper case."""
    return text.upper()
