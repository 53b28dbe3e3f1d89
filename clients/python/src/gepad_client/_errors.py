"""The client library's exceptions; `GepadClientError` is the root of all of them."""

from __future__ import annotations

from typing import Any

__all__ = [
    "CallTimeout",
    "ConnectError",
    "ConnectionLost",
    "DaemonNotRunning",
    "GepadClientError",
    "RpcError",
]


class GepadClientError(Exception):
    """Base class for every error the client library raises on purpose."""


class DaemonNotRunning(GepadClientError):
    """No live daemon was found: `daemon.json` is missing, unreadable, or names a dead pid."""


class ConnectError(GepadClientError):
    """The daemon was found but the websocket handshake failed (refused, 401, 403, 503...)."""


class ConnectionLost(GepadClientError):
    """The connection closed while a call was waiting for its reply."""


class CallTimeout(GepadClientError, TimeoutError):
    """A call got no reply within its timeout."""


class RpcError(GepadClientError):
    """The daemon answered a call with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data
