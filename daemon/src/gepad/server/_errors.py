"""Which of gepad's own exceptions become which JSON-RPC application errors."""

from __future__ import annotations

from gepad.errors import (
    CorruptDatabaseError,
    DiskFullError,
    InvalidFieldError,
    InvalidPromptError,
    NotFoundError,
    PromptVersionError,
    StoreClosedError,
    UnknownComponentError,
)
from gepad.server._protocol import CONFLICT, INVALID_PARAMS, NOT_FOUND, UNAVAILABLE, RpcError

__all__ = ["map_exception"]


def map_exception(exc: Exception) -> RpcError | None:
    """The RpcError for a known, expected failure; None for a bug (-32603, logged)."""
    if isinstance(exc, InvalidFieldError | InvalidPromptError):
        field, reason = exc.field, exc.reason
        errors = [{"field": field, "message": reason}]
        return RpcError(INVALID_PARAMS, f"invalid params: {field!r}: {reason}", {"errors": errors})
    if isinstance(exc, UnknownComponentError | NotFoundError):
        return RpcError(NOT_FOUND, str(exc))
    if isinstance(exc, PromptVersionError):
        return RpcError(CONFLICT, str(exc))
    if isinstance(exc, StoreClosedError):
        return RpcError(UNAVAILABLE, "the daemon is shutting down")
    if isinstance(exc, DiskFullError | CorruptDatabaseError):
        # Says "disk full" / "corrupt" with the path; the operation was not carried out.
        return RpcError(UNAVAILABLE, str(exc))
    return None
