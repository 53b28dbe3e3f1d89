"""The exceptions the simulated-user package raises on purpose."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["OptimizerUnavailableError", "ScenarioError", "SimError"]


class SimError(Exception):
    """Root of every error gepad_sim raises on purpose."""


class ScenarioError(SimError):
    """A scenario file cannot be used; the message names the file and every problem found."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems: tuple[str, ...] = tuple(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{source}: {len(self.problems)} {noun}:\n{listing}")


class OptimizerUnavailableError(SimError):
    """An optimizer was asked for that is unknown or whose implementation is not installed."""
