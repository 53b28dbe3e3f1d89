"""The language server's exceptions; `GepadLspError` is the root of all of them."""

from __future__ import annotations

from typing import Any

__all__ = ["DaemonUnavailable", "GepadLspError", "InputError", "RemoteError"]


class GepadLspError(Exception):
    """Base class for every error the language server raises on purpose."""


class InputError(GepadLspError):
    """A command's arguments are wrong; answered with an LSP error (-32602), never a crash."""


class DaemonUnavailable(GepadLspError):
    """The daemon cannot be reached (not running, refused, connection lost)."""


class RemoteError(GepadLspError):
    """The daemon answered with a JSON-RPC error; `code` and `data` are its own."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
