"""Values the LLM client hands out: call records, results, and the cache protocol."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Purpose = Literal["task", "reflection", "merge", "judge", "assist"]
PURPOSES: tuple[str, ...] = ("task", "reflection", "merge", "judge", "assist")

Outcome = Literal[
    "ok",
    "error",
    "timeout",
    "stalled",
    "cancelled",
    "rate_limited",
    "auth",
    "unavailable",
    "cached",
]
OUTCOMES: tuple[str, ...] = (
    "ok",
    "error",
    "timeout",
    "stalled",
    "cancelled",
    "rate_limited",
    "auth",
    "unavailable",
    "cached",
)


@dataclass(frozen=True, slots=True)
class LlmCallRecord:
    """One attempt (or one cache hit), as the store's `llm_calls` table keeps it.

    `error` is a short description already scrubbed of secrets; None when the call succeeded
    cleanly (an "ok" answer that was cut from a loop or stopped at `max_tokens` says so here).
    `created_at` is when the attempt started; a failed, timed-out, stalled or cancelled attempt
    counts the tokens it streamed (its input tokens are then an estimate, characters / 4).
    """

    model: str
    purpose: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    outcome: Outcome
    error: str | None
    created_at: float


Recorder = Callable[[LlmCallRecord], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class LlmResult:
    """The answer of `LlmClient.complete`.

    `redacted` lists the kinds of secrets masked in what was sent (empty when nothing was, or
    when redaction did not apply); `attempts` counts HTTP attempts (0 for a cache hit).
    `finish` says how the answer ended.
    """

    text: str
    usage: Usage
    cost_usd: float
    cached: bool
    model: str
    purpose: str = "task"
    latency_ms: float = 0.0
    attempts: int = 0
    redacted: tuple[str, ...] = ()
    # "stop"; "length" (hit max_tokens) or "looped" (a repetition was cut): an unterminated
    # ``` fence is then closed, so what was written so far can still be parsed.
    finish: str = "stop"


@runtime_checkable
class ResponseCache(Protocol):
    """Where answers to deterministic calls are kept (the store's cache table, in the daemon)."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str) -> None: ...
