"""Sorting litellm's exceptions into outcomes, and the backoff between retries."""

from __future__ import annotations

import math
import os
import random
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import Any

from ._redact import Redactor, is_secret_name, placeholder
from ._stream import StallError
from ._types import Outcome

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class Failure:
    outcome: Outcome
    retryable: bool
    status: int | None
    text: str
    retry_after_s: float | None = None


def classify(exc: BaseException, lm: ModuleType, redactor: Redactor) -> Failure:
    """Map an exception from `litellm.acompletion` (or our own timeout) to an outcome."""
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    text = safe_error_text(exc, redactor)
    if isinstance(exc, StallError):
        return Failure("stalled", True, status, text)
    if _missing_credentials(text):
        return Failure("auth", False, status, f"missing credentials: {text}")
    # litellm.Timeout subclasses openai.APIConnectionError: test it first.
    if isinstance(exc, TimeoutError | lm.Timeout) or status == 408:
        return Failure("timeout", True, status, text)
    if isinstance(exc, lm.AuthenticationError | lm.PermissionDeniedError) or status in (401, 403):
        return Failure("auth", False, status, text)
    if isinstance(exc, lm.RateLimitError) or status == 429:
        return Failure("rate_limited", True, status, text, _retry_after(exc))
    if isinstance(exc, lm.APIConnectionError):
        return Failure("unavailable", True, status, text)
    server_side = (lm.InternalServerError, lm.ServiceUnavailableError, lm.BadGatewayError)
    if isinstance(exc, server_side) or (status is not None and status >= 500):
        return Failure("unavailable", True, status, text, _retry_after(exc))
    return Failure("error", False, status, text)


_MISSING_KEY = re.compile(
    r"api_key client option must be set|missing credentials|missing (an )?api[_ ]?key|"
    r"api[_ ]?key (is )?(not set|required|missing)",
    re.I,
)


def _missing_credentials(text: str) -> bool:
    """The provider client refused to send a request without a key (no HTTP call made)."""
    return bool(_MISSING_KEY.search(text))


def backoff_delay(
    attempt: int, *, base_s: float, max_s: float, rng: random.Random, retry_after_s: float | None
) -> float:
    """Full jitter: uniform(0, min(max, base * 2**(attempt-1))), never below a Retry-After.

    `attempt` is the number of the attempt that just failed (1 for the first).
    """
    ceiling = min(max_s, base_s * (2 ** min(attempt - 1, 30)))
    delay = rng.uniform(0.0, ceiling)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, max_s))
    return delay


def safe_error_text(exc: BaseException, redactor: Redactor) -> str:
    """A one-paragraph description of `exc` that is safe to log and store.

    Provider error bodies sometimes echo the key they refused, so the text is redacted with
    every rule, and the values of secret-looking environment variables are masked verbatim.
    """
    raw = f"{type(exc).__name__}: {exc}"
    raw = _ANSI.sub("", raw)
    for name, value in os.environ.items():
        if len(value) >= 8 and is_secret_name(name) and value in raw:
            raw = raw.replace(value, placeholder("env-secret"))
    text = redactor.redact(raw).text
    text = " ".join(text.split())
    if len(text) > _MAX_ERROR_CHARS:
        text = text[: _MAX_ERROR_CHARS - 1] + "…"
    return text


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (Retry-After / retry-after-ms), if it said."""
    # litellm keeps the provider's headers here; `exc.response` is a rebuilt stand-in.
    headers: Any = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return _non_negative(float(ms) / 1000.0)
        value = headers.get("retry-after")
    except (AttributeError, TypeError, ValueError):
        return None
    if value is None:
        return None
    try:
        return _non_negative(float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return _non_negative(when.timestamp() - time.time())


def _non_negative(value: float) -> float | None:
    return value if math.isfinite(value) and value >= 0 else None
