"""Composable stop conditions: `MaxRollouts(600) | NoImprovement(20)`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AllOf",
    "AnyOf",
    "BudgetView",
    "Deadline",
    "MaxCost",
    "MaxIterations",
    "MaxRollouts",
    "MaxTokens",
    "NoImprovement",
    "StopCondition",
]


@dataclass(frozen=True, slots=True)
class BudgetView:
    """What stop conditions may look at."""

    rollouts: int
    iterations: int
    cost_usd: float
    tokens: int
    now: float
    iterations_since_improvement: int


class StopCondition:
    """Base class. `reason` says why to stop, or None; `rollout_cap` bounds request sizes."""

    def reason(self, view: BudgetView) -> str | None:
        raise NotImplementedError

    def rollout_cap(self) -> int | None:
        return None

    def __or__(self, other: StopCondition) -> StopCondition:
        return AnyOf((self, other))

    def __and__(self, other: StopCondition) -> StopCondition:
        return AllOf((self, other))


@dataclass(frozen=True, slots=True)
class MaxRollouts(StopCondition):
    limit: int

    def reason(self, view: BudgetView) -> str | None:
        return f"rollout budget of {self.limit} spent" if view.rollouts >= self.limit else None

    def rollout_cap(self) -> int | None:
        return self.limit


@dataclass(frozen=True, slots=True)
class MaxIterations(StopCondition):
    limit: int

    def reason(self, view: BudgetView) -> str | None:
        return f"{self.limit} iterations done" if view.iterations >= self.limit else None


@dataclass(frozen=True, slots=True)
class MaxCost(StopCondition):
    usd: float

    def reason(self, view: BudgetView) -> str | None:
        return f"cost budget of ${self.usd:.2f} spent" if view.cost_usd >= self.usd else None


@dataclass(frozen=True, slots=True)
class MaxTokens(StopCondition):
    limit: int

    def reason(self, view: BudgetView) -> str | None:
        return f"token budget of {self.limit} spent" if view.tokens >= self.limit else None


@dataclass(frozen=True, slots=True)
class Deadline(StopCondition):
    """Stop at a point in the caller's clock (the engine never reads a clock itself)."""

    at: float

    def reason(self, view: BudgetView) -> str | None:
        return "deadline reached" if view.now >= self.at else None


@dataclass(frozen=True, slots=True)
class NoImprovement(StopCondition):
    iterations: int

    def reason(self, view: BudgetView) -> str | None:
        if view.iterations_since_improvement >= self.iterations:
            return f"no new best in {self.iterations} iterations"
        return None


@dataclass(frozen=True, slots=True)
class AnyOf(StopCondition):
    conditions: Sequence[StopCondition]

    def reason(self, view: BudgetView) -> str | None:
        for c in self.conditions:
            r = c.reason(view)
            if r is not None:
                return r
        return None

    def rollout_cap(self) -> int | None:
        caps = [c for c in (x.rollout_cap() for x in self.conditions) if c is not None]
        return min(caps) if caps else None


@dataclass(frozen=True, slots=True)
class AllOf(StopCondition):
    conditions: Sequence[StopCondition]

    def reason(self, view: BudgetView) -> str | None:
        reasons = [c.reason(view) for c in self.conditions]
        if reasons and all(r is not None for r in reasons):
            return " and ".join(r for r in reasons if r is not None)
        return None

    def rollout_cap(self) -> int | None:
        caps = [x.rollout_cap() for x in self.conditions]
        if caps and all(c is not None for c in caps):
            return max(c for c in caps if c is not None)
        return None
