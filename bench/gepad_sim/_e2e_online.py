"""The end-to-end benchmark's online feed and its prequential curves.

The daemon gets its data the way `_online.py` hands it to an optimizer in the engine-only runs:
`online_start` of the train and validation tasks first, then `online_batch` more every
`online_every` rollouts, alternating train and validation in split order. The run is cut into
segments of `online_every` rollouts (one `optimizer.run` each); between segments the next tasks
arrive as the user's feedback on what the daemon's *current* prompt did with them. Arrivals are
tied to rollout counts, never to wall time, so a seed gives the same run every time.

The prequential curve: the rolling share of examples already handled (over the last `window`),
after each arrival, sampled at `points` evenly spaced arrivals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gepad_sim._scenario import Task

__all__ = ["OnlinePlan", "curve_points", "rolling"]


@dataclass(frozen=True, slots=True)
class OnlinePlan:
    first: tuple[Task, ...]  # fed before the first segment
    batches: tuple[tuple[Task, ...], ...]  # batch i arrives after segment i
    every: int

    @classmethod
    def make(
        cls, train: Sequence[Task], val: Sequence[Task], *, start: float, every: int, batch: int
    ) -> OnlinePlan:
        n_train = max(1, math.ceil(start * len(train)))
        n_val = max(1, math.ceil(start * len(val)))
        rest_t, rest_v = list(train[n_train:]), list(val[n_val:])
        pending: list[Task] = []
        while rest_t or rest_v:
            if rest_t:
                pending.append(rest_t.pop(0))
            if rest_v:
                pending.append(rest_v.pop(0))
        batches = tuple(
            tuple(pending[i : i + batch]) for i in range(0, len(pending), max(1, batch))
        )
        return cls((*train[:n_train], *val[:n_val]), batches, every)

    def segments(self, budget: int) -> list[int]:
        """The cumulative rollout target at the end of each segment."""
        marks = list(range(self.every, budget, self.every))
        return [*marks, budget] if budget > 0 else []


def rolling(values: Sequence[float], window: int) -> list[float]:
    """The mean of the last `window` values after each value."""
    out: list[float] = []
    total = 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def curve_points(curve: Sequence[float], points: int = 10) -> list[tuple[int, float]]:
    """(arrival number, value) at `points` evenly spaced arrivals, first and last included."""
    n = len(curve)
    if n == 0:
        return []
    picks = sorted({round(k * (n - 1) / max(1, points - 1)) for k in range(points)})
    return [(i + 1, curve[i]) for i in picks]
