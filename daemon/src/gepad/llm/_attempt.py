"""One HTTP attempt at a model, and where it runs: here (litellm in this process) or a worker.

The client keeps everything around an attempt (redaction, cache, limits, retries, breaker,
records, loop cuts) and hands the attempt itself to an `AttemptRunner`. `InProcessAttempts`
runs it with litellm loaded into this process; `gepad.llm._worker.LlmWorker` sends it to a
subprocess that runs the same `InProcessAttempts`, so both paths classify failures the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from ._litellm import load_litellm
from ._redact import Redactor
from ._request import _cost, _read_response
from ._retry import Failure, classify
from ._stream import PartialAnswer, stream_attempt
from ._types import Usage

__all__ = [
    "TIMEOUT_GRACE_S",
    "AttemptCancelled",
    "AttemptFailed",
    "AttemptRunner",
    "InProcessAttempts",
    "RawAnswer",
]

# Our own guard around litellm's timeout, in case a transport ignores it.
TIMEOUT_GRACE_S = 1.0


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """What one successful attempt returned, before the client cuts loops."""

    text: str
    usage: Usage
    finish: str  # "stop", "length" or "looped"
    cost_usd: float = 0.0


class AttemptFailed(Exception):
    """The attempt failed; `failure` says how, `output_tokens` what it streamed before."""

    def __init__(self, failure: Failure, output_tokens: int = 0) -> None:
        super().__init__(failure.text)
        self.failure = failure
        self.output_tokens = output_tokens


class AttemptCancelled(Exception):
    """The attempt was cancelled by its caller after streaming `output_tokens` tokens.

    Raised in place of `asyncio.CancelledError` so the tokens reach the call's record; the
    client records the call and raises `CancelledError` again.
    """

    def __init__(self, output_tokens: int = 0) -> None:
        super().__init__("cancelled")
        self.output_tokens = output_tokens


class AttemptRunner(Protocol):
    async def attempt(
        self,
        kwargs: dict[str, Any],
        *,
        prompt_chars: int,
        timeout_s: float,
        stall_s: float,
        stream: bool,
    ) -> RawAnswer:
        """Run one attempt. Raises `AttemptFailed`, `AttemptCancelled` or `CancelledError`."""
        ...


class InProcessAttempts:
    """Attempts made with litellm loaded into this process (on the first attempt)."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._lm: ModuleType | None = None

    def litellm(self) -> ModuleType:
        if self._lm is None:
            self._lm = load_litellm()
        return self._lm

    async def attempt(
        self,
        kwargs: dict[str, Any],
        *,
        prompt_chars: int,
        timeout_s: float,
        stall_s: float,
        stream: bool,
    ) -> RawAnswer:
        lm = self.litellm()
        try:
            if stream:
                answer = await stream_attempt(
                    lm, kwargs, prompt_chars=prompt_chars, timeout_s=timeout_s, stall_s=stall_s
                )
                return RawAnswer(answer.text, answer.usage, answer.finish)
            response = await asyncio.wait_for(
                lm.acompletion(**kwargs), timeout=timeout_s + TIMEOUT_GRACE_S
            )
            text, usage, finish = _read_response(response)
            return RawAnswer(text, usage, finish, _cost(lm, response, str(kwargs["model"])))
        except PartialAnswer as exc:
            if isinstance(exc.cause, asyncio.CancelledError):
                raise AttemptCancelled(exc.output_tokens) from None
            raise AttemptFailed(
                classify(exc.cause, lm, self._redactor), exc.output_tokens
            ) from exc.cause
        except Exception as exc:
            raise AttemptFailed(classify(exc, lm, self._redactor)) from exc
