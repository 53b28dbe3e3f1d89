"""The engine's exception root."""

from __future__ import annotations

__all__ = ["EngineError", "ProtocolError", "StateError"]


class EngineError(Exception):
    """Base class for every error the engine raises on purpose."""


class ProtocolError(EngineError):
    """The caller answered a request that is not outstanding, or with the wrong kind of answer."""


class StateError(EngineError):
    """A serialized state cannot be restored: the message names what is wrong."""
