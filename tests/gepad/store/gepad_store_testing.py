"""Helpers shared by the store tests (a unique module name: tests/ holds no packages)."""

from __future__ import annotations


class FakeClock:
    """A clock the test moves by hand, for the dedupe window and timestamps."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
