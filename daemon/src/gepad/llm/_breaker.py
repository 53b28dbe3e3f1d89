"""A circuit breaker over every model call the client makes.

closed --(threshold consecutive failed attempts, or one auth failure)--> open
open --(cooldown elapsed; the next attempt is the probe)--> half-open
half-open --(probe succeeds)--> closed;  --(probe fails)--> open again

While open, and while a half-open probe is in flight, attempts are refused at once with
`CircuitOpenError`, so a dead or misconfigured provider costs no calls and no waiting.
All methods run on the event loop thread without awaiting, so no lock is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from ._errors import CircuitOpenError

BreakerStateName = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    __slots__ = (
        "_clock",
        "_cooldown_s",
        "_failures",
        "_probing",
        "_reason",
        "_state",
        "_threshold",
        "_until",
    )

    def __init__(self, *, threshold: int, cooldown_s: float, clock: Callable[[], float]) -> None:
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._state: BreakerStateName = "closed"
        self._failures = 0
        self._reason: str | None = None
        self._until: float | None = None
        self._probing = False

    def admit(self, *, model: str | None = None, purpose: str | None = None) -> bool:
        """Let one attempt through or raise `CircuitOpenError`; True when it is the probe."""
        if self._state == "open":
            assert self._until is not None
            if self._clock() < self._until:
                raise self._refusal(model, purpose, "the circuit breaker is open")
            self._state = "half-open"
            self._probing = False
        if self._state == "half-open":
            if self._probing:
                raise self._refusal(model, purpose, "a probe call is in flight")
            self._probing = True
            return True
        return False

    def record_success(self, probe: bool) -> None:
        del probe  # any success proves the provider answers again
        self._state = "closed"
        self._failures = 0
        self._reason = None
        self._until = None
        self._probing = False

    def record_failure(self, reason: str, probe: bool, *, trip: bool = False) -> None:
        """Count a failed attempt; `trip` opens the breaker at once (authentication failures)."""
        self._failures += 1
        self._reason = reason
        if probe or trip or self._failures >= self._threshold or self._state != "closed":
            self._state = "open"
            self._until = self._clock() + self._cooldown_s
            self._probing = False

    def abandon(self, probe: bool) -> None:
        """The attempt ended without an answer either way (cancelled): free the probe slot."""
        if probe and self._state == "half-open":
            self._probing = False

    def snapshot(self) -> dict[str, Any]:
        """{"state", "reason", "until", "failures"}: `until` is a wall-clock time while open."""
        state = self._state
        if state == "open" and self._until is not None and self._clock() >= self._until:
            state = "half-open"  # the next attempt will probe
        return {
            "state": state,
            "reason": self._reason if state != "closed" else None,
            "until": self._until if state == "open" else None,
            "failures": self._failures,
        }

    def _refusal(self, model: str | None, purpose: str | None, why: str) -> CircuitOpenError:
        until = self._until if self._until is not None else self._clock()
        reason = self._reason or "repeated failures"
        return CircuitOpenError(
            f"{why} after {self._failures} failed call(s) (last: {reason}); "
            f"calls resume after {until:.0f}",
            until=until,
            reason=reason,
            model=model,
            purpose=purpose,
        )
