"""The model worker's wire format: length-prefixed JSON frames over its stdin and stdout.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (one object).
The daemon sends `{"op": "call", "id", "kwargs", "prompt_chars", "timeout_s", "stall_s",
"stream"}` and `{"op": "cancel", "id"}`; the worker answers `{"op": "ready", "pid"}` once, then
one of `{"id", "ok": {...}}`, `{"id", "failed": {...}}` or `{"id", "cancelled": {...}}` per call.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

from ._attempt import RawAnswer
from ._retry import Failure
from ._types import OUTCOMES, Usage

__all__ = [
    "MAX_FRAME_BYTES",
    "WireError",
    "answer_from_wire",
    "answer_to_wire",
    "encode_frame",
    "failure_from_wire",
    "failure_to_wire",
    "read_frame",
]

MAX_FRAME_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")


class WireError(Exception):
    """A frame that is too large, cut short, or not a JSON object."""


def encode_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, allow_nan=False).encode("utf-8")
    if len(body) > MAX_FRAME_BYTES:
        raise WireError(f"a {len(body)}-byte message exceeds the {MAX_FRAME_BYTES}-byte limit")
    return _HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or None at a clean end of stream (between frames)."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise WireError("the stream ended inside a frame header") from None
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME_BYTES:
        raise WireError(f"a frame announces {size} bytes, over the {MAX_FRAME_BYTES}-byte limit")
    try:
        body = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise WireError("the stream ended inside a frame") from None
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"a frame is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise WireError(f"a frame holds a {type(message).__name__}, not an object")
    return message


def answer_to_wire(answer: RawAnswer) -> dict[str, Any]:
    return {
        "text": answer.text,
        "input_tokens": answer.usage.input_tokens,
        "output_tokens": answer.usage.output_tokens,
        "finish": answer.finish,
        "cost_usd": answer.cost_usd,
    }


def answer_from_wire(value: Any) -> RawAnswer:
    if not isinstance(value, dict):
        raise WireError("an answer is not an object")
    text, finish = value.get("text"), value.get("finish")
    if not isinstance(text, str) or finish not in ("stop", "length", "looped"):
        raise WireError("an answer lacks its text or finish")
    cost = value.get("cost_usd")
    return RawAnswer(
        text,
        Usage(_count(value.get("input_tokens")), _count(value.get("output_tokens"))),
        str(finish),
        float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else 0.0,
    )


def failure_to_wire(failure: Failure, output_tokens: int) -> dict[str, Any]:
    return {
        "outcome": failure.outcome,
        "retryable": failure.retryable,
        "status": failure.status,
        "text": failure.text,
        "retry_after_s": failure.retry_after_s,
        "output_tokens": output_tokens,
    }


def failure_from_wire(value: Any) -> tuple[Failure, int]:
    if not isinstance(value, dict):
        raise WireError("a failure is not an object")
    outcome, text = value.get("outcome"), value.get("text")
    if outcome not in OUTCOMES or not isinstance(text, str):
        raise WireError("a failure lacks a known outcome or its text")
    status = value.get("status")
    retry_after = value.get("retry_after_s")
    failure = Failure(
        outcome,
        bool(value.get("retryable")),
        status if isinstance(status, int) and not isinstance(status, bool) else None,
        text,
        float(retry_after)
        if isinstance(retry_after, int | float) and not isinstance(retry_after, bool)
        else None,
    )
    return failure, _count(value.get("output_tokens"))


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
