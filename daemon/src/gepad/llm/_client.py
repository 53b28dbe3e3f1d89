"""The daemon's one way to call a model: redaction, cache, limits, retries, breaker, accounting."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._attempt import AttemptCancelled, AttemptFailed, AttemptRunner, InProcessAttempts
from ._breaker import CircuitBreaker
from ._errors import LlmAuthError, LlmRequestError, LlmUnavailableError
from ._locality import is_local_model, is_loopback_url, should_redact
from ._redact import Redactor
from ._repeat import find_loop, salvage
from ._request import (
    _check_messages,
    _check_params,
    _check_purpose,
    _finish_note,
    _partial_usage,
    _text_size,
    cache_key,
)
from ._retry import Failure, backoff_delay
from ._settings import LlmSettings
from ._types import LlmCallRecord, LlmResult, Outcome, Recorder, ResponseCache, Usage

logger = logging.getLogger(__name__)

_INLINE_REDACTION_CHARS = 32_768
# Sent as the key to an OpenAI-compatible server on loopback when OPENAI_API_KEY is unset:
# llama.cpp, vLLM and the like ignore it, and the OpenAI client refuses to send nothing.
LOCAL_PLACEHOLDER_KEY = "gepad-local-no-key"
# A looped answer with less than this much text left after the cut is re-asked once.
_MIN_SALVAGED_CHARS = 20


class LlmClient:
    """Async access to the configured models for the optimizer and the assist features.

    Every `complete` call:
    1. masks secrets in the messages when the model is not local (or `redact = "always"`);
    2. answers from the cache, without any HTTP call, when the call is deterministic
       (temperature 0, or `cache = "always"`) and the same request was answered before;
    3. otherwise calls litellm under a global concurrency limit with a timeout, retrying rate
       limits, 5xx, timeouts and connection errors with exponential backoff and full jitter;
    4. records every attempt (and every cache hit) through `recorder`.

    Authentication failures are not retried (`LlmAuthError`) and open the circuit breaker at
    once; `breaker_threshold` consecutive failed attempts open it too (`CircuitOpenError`
    until `breaker_cooldown_s` has passed, then one probe call decides).

    `attempts` runs each HTTP attempt: by default litellm in this process; the daemon passes
    its `LlmWorker`, so litellm lives in a subprocess that exits when idle.
    """

    def __init__(
        self,
        settings: LlmSettings,
        recorder: Recorder,
        *,
        cache: ResponseCache | None = None,
        redactor: Redactor | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        attempts: AttemptRunner | None = None,
    ) -> None:
        if not isinstance(settings, LlmSettings):
            raise TypeError(f"settings must be an LlmSettings, got {type(settings).__name__}")
        if not callable(recorder):
            raise TypeError("recorder must be an async callable taking an LlmCallRecord")
        self._settings = settings
        self._recorder = recorder
        self._cache = cache
        self._redactor = redactor or Redactor()
        self._clock = clock
        self._rng = rng or random.Random()
        self._semaphore = asyncio.Semaphore(settings.concurrency)
        self._breaker = CircuitBreaker(
            threshold=settings.breaker_threshold,
            cooldown_s=settings.breaker_cooldown_s,
            clock=clock,
        )
        self._attempts: AttemptRunner = attempts or InProcessAttempts(self._redactor)
        self._cost = 0.0

    @property
    def settings(self) -> LlmSettings:
        return self._settings

    def breaker_state(self) -> dict[str, Any]:
        """{"state": "closed"|"open"|"half-open", "reason": str|None, "until": float|None, ...}."""
        return self._breaker.snapshot()

    def model_for(self, purpose: str) -> str:
        return self._settings.model_for(_check_purpose(purpose))

    def redacts(self, purpose: str) -> bool:
        """Whether text sent for `purpose` is masked under the current settings."""
        model = self.model_for(purpose)
        local = is_local_model(model, self._settings.api_base_for(model))
        return should_redact(self._settings.redact, local)

    async def complete(
        self,
        purpose: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        response_format: Mapping[str, Any] | None = None,
        use_cache: bool = True,
    ) -> LlmResult:
        """Send chat `messages` to the model configured for `purpose` and return its answer.

        `use_cache=False` skips the cache lookup (a caller re-asking after a malformed answer)
        but still stores the fresh answer, replacing the old one.
        Raises `LlmInputError` for bad arguments, `LlmAuthError`, `LlmRequestError`,
        `LlmUnavailableError` (retries exhausted) or `CircuitOpenError`.
        """
        _check_purpose(purpose)
        checked = _check_messages(messages)
        call_params = _check_params(temperature, max_tokens, response_format)
        settings = self._settings
        call_params.setdefault("max_tokens", settings.max_tokens_for(purpose))
        model = settings.model_for(purpose)
        api_base = settings.api_base_for(model)
        # Per-model parameters win: a model that only accepts temperature=1 is configured so.
        params = {**call_params, **settings.params_for(model)}

        redacted_kinds: tuple[str, ...] = ()
        if should_redact(settings.redact, is_local_model(model, api_base)):
            if _text_size(checked) > _INLINE_REDACTION_CHARS:
                # ~1.5 MB/s of regex work: keep the event loop free for clients meanwhile.
                sent, report = await asyncio.to_thread(self._redactor.redact_messages, checked)
            else:
                sent, report = self._redactor.redact_messages(checked)
            redacted_kinds = report.kinds
            if report.total:
                logger.info(
                    "masked %d secret(s) (%s) before calling %s",
                    report.total,
                    ", ".join(report.kinds),
                    model,
                )
        else:
            sent = checked

        # The key covers what the model actually receives (the redacted text): the answer is a
        # function of that, and no hash of a raw secret is ever written to the store.
        effective_temperature = params.get("temperature", temperature)
        cacheable = self._cache is not None and (
            settings.cache == "always" or (settings.cache == "auto" and effective_temperature == 0)
        )
        key = cache_key(model, api_base, sent, params) if cacheable else None
        if key is not None and use_cache:
            hit = await self._cache_get(key, purpose=purpose, model=model)
            if hit is not None:
                return LlmResult(
                    text=hit.text,
                    usage=hit.usage,
                    cost_usd=0.0,
                    cached=True,
                    model=model,
                    purpose=purpose,
                    latency_ms=hit.latency_ms,
                    attempts=0,
                    redacted=redacted_kinds,
                )

        result = await self._call_with_retries(purpose, model, api_base, sent, params)
        result = LlmResult(
            text=result.text,
            usage=result.usage,
            cost_usd=result.cost_usd,
            cached=False,
            model=model,
            purpose=purpose,
            latency_ms=result.latency_ms,
            attempts=result.attempts,
            redacted=redacted_kinds,
            finish=result.finish,
        )
        if key is not None:
            await self._cache_put(key, result.text)
        return result

    # ------------------------------------------------------------------ internals

    async def _call_with_retries(
        self,
        purpose: str,
        model: str,
        api_base: str | None,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
    ) -> LlmResult:
        settings = self._settings
        kwargs: dict[str, Any] = {
            **params,
            "model": model,
            "messages": messages,
            "timeout": settings.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
        }
        if api_base:
            kwargs["api_base"] = api_base
            if (
                model.startswith("openai/")
                and is_loopback_url(api_base)
                and not os.environ.get("OPENAI_API_KEY")
            ):
                kwargs["api_key"] = LOCAL_PLACEHOLDER_KEY
        prompt_chars = _text_size(messages)
        attempt = 0
        reasked = False
        while True:
            attempt += 1
            failure: Failure | None = None
            partial_tokens = 0
            async with self._semaphore:
                probe = self._breaker.admit(model=model, purpose=purpose)
                started_at = self._clock()
                started = time.perf_counter()
                try:
                    text, usage, finish = await self._attempt(kwargs, prompt_chars)
                except asyncio.CancelledError:
                    self._breaker.abandon(probe)
                    latency_ms = (time.perf_counter() - started) * 1000.0
                    await self._record(
                        model,
                        purpose,
                        Usage(),
                        0.0,
                        latency_ms,
                        "cancelled",
                        "cancelled",
                        started_at,
                    )
                    raise
                except AttemptCancelled as exc:
                    latency_ms = (time.perf_counter() - started) * 1000.0
                    self._breaker.abandon(probe)
                    await self._record(
                        model,
                        purpose,
                        _partial_usage(exc.output_tokens, prompt_chars),
                        0.0,
                        latency_ms,
                        "cancelled",
                        "cancelled",
                        started_at,
                    )
                    raise asyncio.CancelledError() from None
                except AttemptFailed as exc:
                    latency_ms = (time.perf_counter() - started) * 1000.0
                    partial_tokens = exc.output_tokens
                    failure = exc.failure
                    self._breaker.record_failure(
                        f"{failure.outcome}: {failure.text}", probe, trip=failure.outcome == "auth"
                    )
                else:
                    latency_ms = (time.perf_counter() - started) * 1000.0
                    self._breaker.record_success(probe)
            if failure is None:
                cost = self._cost
                note = _finish_note(finish, text, kwargs.get("max_tokens"))
                await self._record(model, purpose, usage, cost, latency_ms, "ok", note, started_at)
                if (
                    finish == "looped"
                    and not reasked
                    and len(text.strip()) < _MIN_SALVAGED_CHARS
                    and kwargs.get("temperature", 0) == 0
                ):
                    # Greedy decoding looped from the start: the same call would loop again.
                    reasked = True
                    kwargs["temperature"] = settings.retry_temperature
                    logger.warning(
                        "%s answer from %s looped with nothing usable; re-asking once at "
                        "temperature %g",
                        purpose,
                        model,
                        settings.retry_temperature,
                    )
                    continue
                return LlmResult(
                    text, usage, cost, False, model, purpose, latency_ms, attempt, finish=finish
                )

            await self._record(
                model,
                purpose,
                _partial_usage(partial_tokens, prompt_chars),
                0.0,
                latency_ms,
                failure.outcome,
                failure.text,
                started_at,
            )
            self._raise_if_final(failure, model, purpose, attempt)
            if failure.outcome in ("timeout", "stalled") and kwargs.get("temperature", 0) == 0:
                # A greedy call that ran out of time would do the same again: vary it.
                kwargs["temperature"] = settings.retry_temperature
            delay = backoff_delay(
                attempt,
                base_s=settings.backoff_base_s,
                max_s=settings.backoff_max_s,
                rng=self._rng,
                retry_after_s=failure.retry_after_s,
            )
            logger.warning(
                "%s call to %s failed (attempt %d of %d, %s); retrying in %.2fs",
                purpose,
                model,
                attempt,
                settings.max_retries + 1,
                failure.outcome,
                delay,
            )
            await asyncio.sleep(delay)

    async def _attempt(self, kwargs: dict[str, Any], prompt_chars: int) -> tuple[str, Usage, str]:
        """One HTTP attempt: (text, usage, finish). Sets `self._cost` for a success."""
        settings = self._settings
        self._cost = 0.0
        answer = await self._attempts.attempt(
            kwargs,
            prompt_chars=prompt_chars,
            timeout_s=settings.timeout_s,
            stall_s=settings.stall_timeout_s,
            stream=settings.stream,
        )
        text, usage, finish = answer.text, answer.usage, answer.finish
        self._cost = answer.cost_usd
        if finish != "looped":
            cut = find_loop(text)
            if cut is not None:
                text, finish = text[:cut], "looped"
        if finish in ("length", "looped"):
            text = salvage(text)
        return text, usage, finish

    def _raise_if_final(self, failure: Failure, model: str, purpose: str, attempt: int) -> None:
        if failure.outcome == "auth":
            raise LlmAuthError(
                f"{model} refused the credentials ({failure.text}). Set the key in the environment "
                "variable litellm reads for this provider (e.g. OPENAI_API_KEY, ANTHROPIC_API_KEY) "
                "and restart the daemon.",
                model=model,
                purpose=purpose,
            )
        if not failure.retryable:
            raise LlmRequestError(
                f"{model} rejected the request: {failure.text}", model=model, purpose=purpose
            )
        if attempt > self._settings.max_retries:
            raise LlmUnavailableError(
                f"{model} failed {attempt} time(s) in a row; last: {failure.text}",
                model=model,
                purpose=purpose,
                outcome=failure.outcome,
                attempts=attempt,
            )

    async def _record(
        self,
        model: str,
        purpose: str,
        usage: Usage,
        cost: float,
        latency_ms: float,
        outcome: Outcome,
        error: str | None,
        created_at: float | None = None,
    ) -> None:
        record = LlmCallRecord(
            model=model,
            purpose=purpose,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=cost,
            latency_ms=round(latency_ms, 3),
            outcome=outcome,
            error=error,
            created_at=self._clock() if created_at is None else created_at,
        )
        try:
            await self._recorder(record)
        except Exception:
            # Losing one accounting row must not lose the answer that was paid for.
            logger.exception("could not record an LLM call (%s, %s, %s)", model, purpose, outcome)

    async def _cache_get(self, key: str, *, purpose: str, model: str) -> LlmResult | None:
        assert self._cache is not None
        started = time.perf_counter()
        try:
            text = await self._cache.get(key)
        except Exception:
            logger.exception("response cache lookup failed; calling the model instead")
            return None
        if text is None:
            return None
        latency_ms = (time.perf_counter() - started) * 1000.0
        await self._record(model, purpose, Usage(), 0.0, latency_ms, "cached", None)
        return LlmResult(text, Usage(), 0.0, True, model, purpose, latency_ms, 0)

    async def _cache_put(self, key: str, text: str) -> None:
        assert self._cache is not None
        try:
            await self._cache.put(key, text)
        except Exception:
            logger.exception("could not store a response in the cache")
