"""One streamed attempt: tokens as they come, a stall timeout, loops cut while they happen.

A streamed call ends in one of four ways: the model stops (or hits `max_tokens`); it falls into
a loop, which is cut as soon as it is seen and the connection closed so the server stops
generating; no token arrives for `stall_s` (stalled); or the overall deadline passes. In the
last two cases `PartialAnswer` carries how many tokens were generated, so the call's record
counts them instead of 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from ._repeat import find_loop
from ._types import Usage

__all__ = ["PartialAnswer", "StallError", "StreamedAnswer", "stream_attempt"]

_LOOP_CHECK_EVERY = 24  # chunks


class StallError(TimeoutError):
    """No token arrived for the stall timeout."""


class PartialAnswer(Exception):
    """An attempt that failed after (possibly) generating tokens; `cause` is the real error."""

    def __init__(self, cause: BaseException, output_tokens: int, text: str) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.output_tokens = output_tokens
        self.text = text


@dataclass(frozen=True, slots=True)
class StreamedAnswer:
    text: str
    usage: Usage
    finish: str  # "stop", "length" or "looped"


def _estimate_tokens(chars: int) -> int:
    return max(1, chars // 4) if chars else 0


async def stream_attempt(
    lm: Any, kwargs: dict[str, Any], *, prompt_chars: int, timeout_s: float, stall_s: float
) -> StreamedAnswer:
    """Run one streamed `acompletion`; raise `PartialAnswer` wrapping any failure."""
    deadline = time.monotonic() + timeout_s
    parts: list[str] = []
    chunks = 0
    usage: Usage | None = None
    finish = "stop"
    stream: Any = None
    try:
        stream = await asyncio.wait_for(
            lm.acompletion(**kwargs, stream=True, stream_options={"include_usage": True}),
            timeout=timeout_s,
        )
        iterator = stream.__aiter__()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no complete answer within {timeout_s:g} s")
            # Before the first token the server may still be reading a long prompt: only the
            # overall deadline applies. After it, a silence longer than stall_s is a stall.
            wait = remaining if not parts else min(remaining, stall_s)
            try:
                chunk = await asyncio.wait_for(iterator.__anext__(), timeout=wait)
            except StopAsyncIteration:
                break
            except TimeoutError:
                if parts and wait < remaining:
                    raise StallError(
                        f"stalled: no token for {stall_s:g} s after {chunks} token(s)"
                    ) from None
                raise TimeoutError(f"no complete answer within {timeout_s:g} s") from None
            got = getattr(chunk, "usage", None)
            if got is not None and getattr(got, "completion_tokens", None):
                usage = Usage(
                    input_tokens=int(getattr(got, "prompt_tokens", 0) or 0),
                    output_tokens=int(got.completion_tokens or 0),
                )
            choices = getattr(chunk, "choices", None) or []
            if not choices:
                continue
            delta = getattr(choices[0], "delta", None)
            piece = getattr(delta, "content", None)
            if isinstance(piece, str) and piece:
                parts.append(piece)
                chunks += 1
            reason = getattr(choices[0], "finish_reason", None)
            if reason == "length":
                finish = "length"
            if chunks and chunks % _LOOP_CHECK_EVERY == 0:
                text = "".join(parts)
                cut = find_loop(text)
                if cut is not None:
                    parts = [text[:cut]]
                    finish = "looped"
                    break
    except asyncio.CancelledError:
        await _close(stream)
        raise PartialAnswer(asyncio.CancelledError(), chunks, "".join(parts)) from None
    except Exception as exc:
        await _close(stream)
        raise PartialAnswer(exc, chunks, "".join(parts)) from exc
    if finish == "looped":
        await _close(stream)
    text = "".join(parts)
    if usage is None or finish == "looped":
        usage = Usage(input_tokens=_estimate_tokens(prompt_chars), output_tokens=chunks)
    return StreamedAnswer(text, usage, finish)


async def _close(stream: Any) -> None:
    close = getattr(stream, "aclose", None)
    if close is None:
        return
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await asyncio.wait_for(close(), timeout=2.0)
