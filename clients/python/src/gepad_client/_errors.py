"""The client library's exceptions; `GepadClientError` is the root of all of them."""

from __future__ import annotations

from typing import Any

__all__ = [
    "CallTimeout",
    "ConnectError",
    "ConnectionLost",
    "DaemonNotRunning",
    "GepadClientError",
    "RequestTooLarge",
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


class RequestTooLarge(GepadClientError):
    """A request was refused before sending: it is over the daemon's `max_message_bytes`."""

    def __init__(self, method: str, size: int, limit: int) -> None:
        super().__init__(
            f"{method}: the request is {_size(size)}, over the daemon's limit of {_size(limit)} "
            "per message (max_message_bytes in config.toml)"
        )
        self.method = method
        self.size = size
        self.limit = limit


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB ({n} bytes)"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB ({n} bytes)"
    return f"{n} bytes"


class CallTimeout(GepadClientError, TimeoutError):
    """A call got no reply within its timeout."""


class RpcError(GepadClientError):
    """The daemon answered a call with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message
        self.data = data
