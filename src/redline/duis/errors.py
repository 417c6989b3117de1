"""The one error the DUIS adapter raises: what is wrong, and where in the request."""

from __future__ import annotations


class DuisError(Exception):
    """Bad DUIS input. `where` names the element (`sr:Header/sr:RequestID`) or the line and column."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
