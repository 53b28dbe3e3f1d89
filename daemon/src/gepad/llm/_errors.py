"""Errors raised by the LLM access layer (all under `gepad.errors.GepadError`)."""

from __future__ import annotations

from gepad.errors import GepadError


class LlmError(GepadError):
    """Root of the LLM layer's errors. `model` and `purpose` say which call failed, when known."""

    def __init__(self, message: str, *, model: str | None = None, purpose: str | None = None):
        super().__init__(message)
        self.model = model
        self.purpose = purpose


class LlmInputError(LlmError, ValueError):
    """The caller passed something the client cannot send (bad purpose, bad messages, ...)."""


class LlmAuthError(LlmError):
    """The provider refused the credentials (401/403). Not retried: the user must fix the key."""


class LlmRequestError(LlmError):
    """The provider rejected this particular request (400, 404, 422, ...). Not retried."""


class LlmUnavailableError(LlmError):
    """The model could not be reached or kept failing after every retry."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        purpose: str | None = None,
        outcome: str = "unavailable",
        attempts: int = 0,
    ):
        super().__init__(message, model=model, purpose=purpose)
        self.outcome = outcome
        self.attempts = attempts


class CircuitOpenError(LlmUnavailableError):
    """Raised without any call while the circuit breaker is open.

    A subclass of `LlmUnavailableError` so that one `except` pauses the optimizer for both.
    `until` is the wall-clock time after which a probe call is allowed.
    """

    def __init__(
        self,
        message: str,
        *,
        until: float,
        reason: str,
        model: str | None = None,
        purpose: str | None = None,
    ):
        super().__init__(message, model=model, purpose=purpose, outcome="unavailable", attempts=0)
        self.until = until
        self.reason = reason


class LlmBudgetExceeded(LlmError):
    """A daily budget (USD or tokens) is spent; raised by the optimizer's budget check."""
