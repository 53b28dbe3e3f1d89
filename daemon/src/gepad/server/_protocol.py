"""JSON-RPC 2.0 framing, sans-I/O: text in, parsed requests out; replies in, text out.

Nothing here knows about websockets, asyncio or gepad's methods, so every framing rule can
be tested (and fuzzed) as a pure function.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CONFLICT",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MAX_BATCH",
    "METHOD_NOT_FOUND",
    "NOT_FOUND",
    "PARSE_ERROR",
    "UNAVAILABLE",
    "Invalid",
    "Message",
    "Request",
    "RpcError",
    "assemble",
    "encode",
    "error_reply",
    "notification",
    "parse",
    "result_reply",
]

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
NOT_FOUND: Final = -32001
CONFLICT: Final = -32002
UNAVAILABLE: Final = -32003

MAX_BATCH: Final = 100
_MEMBERS: Final = frozenset({"jsonrpc", "method", "params", "id"})

JsonId = str | int | float | None


class RpcError(Exception):
    """An error that becomes a JSON-RPC error object; the message is safe to send."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


@dataclass(frozen=True, slots=True)
class Request:
    """A well-formed call. `notification` calls carry no id and get no reply."""

    id: JsonId
    notification: bool
    method: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Invalid:
    """A message element that could not become a Request; its reply is already built
    (None: it was a notification, which never gets a reply)."""

    reply: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Message:
    items: tuple[Request | Invalid, ...]
    batch: bool


def _reject_constant(name: str) -> Any:
    # NaN/Infinity are not JSON; echoing one back as an id would produce invalid JSON.
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.loads/dumps with options construct a new decoder/encoder on every call.
# Both are stateless between calls.
_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def parse(text: str) -> Message:
    """Parse one websocket text message into requests and ready-made error replies."""
    try:
        value = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        detail = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        return Message((Invalid(error_reply(None, PARSE_ERROR, f"parse error: {detail}")),), False)
    if isinstance(value, list):
        if not value:
            reply = error_reply(None, INVALID_REQUEST, "invalid request: empty batch")
            return Message((Invalid(reply),), False)
        if len(value) > MAX_BATCH:
            reply = error_reply(
                None, INVALID_REQUEST, f"invalid request: batch of {len(value)} (max {MAX_BATCH})"
            )
            return Message((Invalid(reply),), False)
        return Message(tuple(_parse_one(item) for item in value), True)
    return Message((_parse_one(value),), False)


def _valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


def _parse_one(value: Any) -> Request | Invalid:
    if not isinstance(value, dict):
        return _invalid(None, f"expected an object, got {_json_type(value)}")
    has_id = "id" in value
    raw_id = value.get("id")
    if has_id and not _valid_id(raw_id):
        return _invalid(None, "'id' must be a string, a number or null")
    reply_id = raw_id if has_id else None
    unexpected = sorted(str(k) for k in value if k not in _MEMBERS)
    if unexpected:
        names = ", ".join(repr(k) for k in unexpected)
        return _invalid(reply_id, f"unexpected member(s) {names}")
    if value.get("jsonrpc") != "2.0":
        return _invalid(reply_id, "'jsonrpc' must be \"2.0\"")
    method = value.get("method")
    if not isinstance(method, str):
        return _invalid(reply_id, "'method' must be a string")
    params = value.get("params")
    if params is None:
        params = {}
    elif isinstance(params, list):
        if not has_id:
            return Invalid(None)
        reply = error_reply(
            reply_id, INVALID_PARAMS, "invalid params: pass params as an object (by name)"
        )
        return Invalid(reply)
    elif not isinstance(params, dict):
        return _invalid(reply_id, f"'params' must be an object, got {_json_type(params)}")
    return Request(id=reply_id, notification=not has_id, method=method, params=params)


def _invalid(reply_id: JsonId, detail: str) -> Invalid:
    return Invalid(error_reply(reply_id, INVALID_REQUEST, f"invalid request: {detail}"))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def error_reply(reply_id: JsonId, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "error": error, "id": reply_id}


def result_reply(reply_id: JsonId, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "result": result, "id": reply_id}


def notification(method: str, params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def encode(obj: Any) -> str:
    """Compact JSON; ASCII-only so a lone surrogate echoed from input still encodes."""
    return _ENCODER.encode(obj)


def assemble(message: Message, replies: Sequence[dict[str, Any] | None]) -> str | None:
    """The text to send back for `message`, or None when nothing is owed (notifications)."""
    present = [r for r in replies if r is not None]
    if not present:
        return None
    if message.batch:
        return encode(present)
    return encode(present[0])
