"""Online arrival of data, and the held-out curve measured while an optimizer runs.

In an online run the optimizer starts with `online_start` of the train and validation tasks;
the rest arrive `online_batch` at a time every `online_every` rollouts, alternating train and
validation in split order. The run's *clock* is the rollouts used plus the rollouts an idle
optimizer let pass (`RunContext.advance`): an optimizer with nothing to do waits for the next
examples without spending budget, but the clock (time, for the user) moves on.

Two online measures, both uncounted and drawn from a random stream of their own (so they never
change the optimizer's trajectory):
- the held-out curve: at every `online_every` mark of the clock, the current best prompt's mean
  on the held-out test tasks; its mean over the marks is the *area under the curve*;
- prequential (test-before-train): each arriving task is scored with the current best prompt
  before the optimizer sees it.

A scenario with a flip (`_flip.py`) passes `flip_clock` and `flip_pairs`: from the first curve
mark or release at or after `flip_clock`, the pending tasks and the held-out tasks are the
flipped ones.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gepad_sim._flip import flip_task
from gepad_sim._scenario import Task

__all__ = ["Arrival", "OnlineFeed"]

ScoreFn = Callable[[str, Sequence[Task], random.Random], float]


@dataclass(frozen=True, slots=True)
class Arrival:
    task: Task
    split: str  # "train" or "val"


@dataclass(slots=True)
class OnlineFeed:
    every: int
    batch: int
    pending: list[Arrival]
    test: tuple[Task, ...]
    score: ScoreFn
    rng: random.Random
    skipped: int = 0
    next_mark: int = 0
    curve: list[tuple[int, float]] = field(default_factory=list)
    prequential: list[float] = field(default_factory=list)
    released_at: int = 0
    flip_clock: int | None = None
    flip_pairs: Mapping[str, str] = field(default_factory=dict)
    flipped: bool = False

    def _flip_if(self, clock: int) -> None:
        if self.flipped or self.flip_clock is None or clock < self.flip_clock:
            return
        self.flipped = True
        self.pending = [Arrival(flip_task(a.task, self.flip_pairs), a.split) for a in self.pending]
        self.test = tuple(flip_task(t, self.flip_pairs) for t in self.test)

    @classmethod
    def start(
        cls,
        train: Sequence[Task],
        val: Sequence[Task],
        test: Sequence[Task],
        *,
        start: float,
        every: int,
        batch: int,
        score: ScoreFn,
        seed: int,
    ) -> tuple[OnlineFeed, tuple[Task, ...], tuple[Task, ...]]:
        """The feed, and the train and validation tasks available at the start."""
        n_train = max(1, math.ceil(start * len(train)))
        n_val = max(1, math.ceil(start * len(val)))
        rest_t, rest_v = list(train[n_train:]), list(val[n_val:])
        pending: list[Arrival] = []
        while rest_t or rest_v:
            if rest_t:
                pending.append(Arrival(rest_t.pop(0), "train"))
            if rest_v:
                pending.append(Arrival(rest_v.pop(0), "val"))
        feed = cls(
            every=every,
            batch=batch,
            pending=pending,
            test=tuple(test),
            score=score,
            rng=random.Random(seed + 7_919),
        )
        return feed, tuple(train[:n_train]), tuple(val[:n_val])

    def tick_curve(self, clock: int, best_prompt: str) -> None:
        """Record the held-out curve's marks up to `clock`."""
        while self.next_mark <= clock:
            self._flip_if(self.next_mark)
            self.curve.append((self.next_mark, self.score(best_prompt, self.test, self.rng)))
            self.next_mark += self.every

    def tick(self, clock: int, best_prompt: str) -> list[Arrival]:
        """Record curve marks up to `clock`; release and pre-score what arrived by then."""
        self.tick_curve(clock, best_prompt)
        arrived: list[Arrival] = []
        while self.pending and clock >= self.released_at + self.every:
            self.released_at += self.every
            self._flip_if(self.released_at)
            take, self.pending = self.pending[: self.batch], self.pending[self.batch :]
            for a in take:
                self.prequential.append(self.score(best_prompt, (a.task,), self.rng))
            arrived.extend(take)
        return arrived

    def time_to_next(self, clock: int) -> int:
        """Rollouts of waiting until the next batch arrives (0 when none is left)."""
        if not self.pending:
            return 0
        return max(0, self.released_at + self.every - clock)

    def auc(self, budget: int) -> float:
        points = [v for mark, v in self.curve if mark <= budget]
        return sum(points) / len(points) if points else 0.0
