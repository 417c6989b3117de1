"""A request whose params do not fit its method is answered with an error, not left unanswered.

pygls reads each message through `structure_message`; when a request's params are of the wrong types it
raises, logs the message as unreadable and goes on serving, but never answers that request's id, so an
editor waiting on it (a hover, a completion) waits for ever. JSON-RPC says such a request gets an
Invalid Params error (-32602) with its id; this protocol sends it, then lets pygls log the message as before.
"""

from __future__ import annotations

from typing import Any

from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol

from redline.lsp.logs import reason


class AnsweringProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            msg_id = data.get("id") if isinstance(data, dict) else None
            if "method" in data and isinstance(msg_id, int | str) and not isinstance(msg_id, bool):
                cause = exc.__cause__ if exc.__cause__ is not None else exc
                self._send_response(msg_id, error=ResponseError(code=exc.code, message=f"{exc.message}: {reason(cause)}"[:2000]))
            raise
