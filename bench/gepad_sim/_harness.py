"""The benchmark harness: one optimizer run on one scenario and seed.

An optimizer is `def run(ctx: RunContext) -> str`; it gets the train and validation splits and the
simulated LMs, reports each new best through `ctx.report_best`, and returns its final best
prompt. The harness keeps the held-out test split to itself and scores the returned prompt on it
afterwards, from the same random stream but outside the budget.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gepad_sim._errors import ScenarioError, SimError
from gepad_sim._flip import flip_pairs, follows_new_rule, post_flip_auc
from gepad_sim._lms import SimLMs
from gepad_sim._online import Arrival, OnlineFeed
from gepad_sim._realistic import RealisticLMs
from gepad_sim._scenario import Scenario, Task
from gepad_sim._split import split_tasks

__all__ = [
    "MIN_TASKS",
    "TEST_REPEATS",
    "Optimizer",
    "RunContext",
    "RunResult",
    "check_runnable",
    "make_lms",
    "rollouts_to_threshold",
    "run_optimizer",
]


def make_lms(scenario: Scenario, seed: int) -> SimLMs | RealisticLMs:
    """The simulated LMs a scenario's `[sim] mode` selects."""
    if scenario.mode == "realistic":
        return RealisticLMs(scenario, seed)
    return SimLMs(scenario, seed)


class _ClockedLMs:
    """The LMs as an online run's optimizer sees them: every rollout advances the clock."""

    def __init__(self, inner: SimLMs | RealisticLMs, on_rollout: Callable[[], None]) -> None:
        self._inner = inner
        self._on_rollout = on_rollout

    @property
    def rollouts(self) -> int:
        return self._inner.rollouts

    @property
    def reflection_calls(self) -> int:
        return self._inner.reflection_calls

    @property
    def merge_calls(self) -> int:
        return self._inner.merge_calls

    def run_task(self, prompt: str, task: Task) -> Any:
        outcome = self._inner.run_task(prompt, task)
        self._on_rollout()
        return outcome

    def run_tasks(self, prompt: str, tasks: Any) -> list[Any]:
        return [self.run_task(prompt, t) for t in tasks]

    def reflect(self, text: str, records: Any) -> str:
        return self._inner.reflect(text, records)

    def merge(self, a: str, b: str) -> str:
        return self._inner.merge(a, b)


TEST_REPEATS = 5
"""How many times the held-out split is evaluated; the test score is the mean of all of them."""

MIN_TASKS = 4
"""The fewest tasks for which the split leaves train, validation and test all non-empty."""


class RunContext:
    """What an optimizer may see and do during one run.

    `scenario` is the scenario with its task list cut down to train + val, so the held-out split
    cannot leak through it. `lms` are the simulated LMs; every `lms.run_task` is a rollout.
    """

    __slots__ = (
        "_best_prompt",
        "_best_val",
        "_curve",
        "_feed",
        "budget",
        "lms",
        "scenario",
        "seed",
        "train",
        "val",
    )

    def __init__(
        self,
        *,
        scenario: Scenario,
        train: tuple[Task, ...],
        val: tuple[Task, ...],
        budget: int,
        seed: int,
        lms: Any,
        feed: OnlineFeed | None = None,
    ) -> None:
        self.scenario = scenario
        self.train = train
        self.val = val
        self.budget = budget
        self.seed = seed
        self._feed = feed
        self.lms = lms if feed is None else _ClockedLMs(lms, self._tick)
        self._curve: list[tuple[int, float]] = []
        self._best_prompt: str | None = None
        self._best_val: float | None = None

    @property
    def rollouts_used(self) -> int:
        return int(self.lms.rollouts)

    @property
    def online(self) -> bool:
        """Whether data arrives during the run (`arrivals`, `advance`)."""
        return self._feed is not None

    @property
    def clock(self) -> int:
        """Rollouts used, plus those an idle optimizer let pass in an online run."""
        return self.rollouts_used + (0 if self._feed is None else self._feed.skipped)

    @property
    def rollouts_left(self) -> int:
        return max(0, self.budget - self.rollouts_used)

    def _current(self) -> str:
        return self._best_prompt if self._best_prompt is not None else self.scenario.seed_prompt

    def _tick(self) -> None:
        if self._feed is not None:
            self._feed.tick_curve(self.clock, self._current())

    def arrivals(self) -> list[Arrival]:
        """Tasks that arrived since the last call (always empty in a batch run).

        Each is scored with the current best prompt before it is handed over (prequential).
        """
        if self._feed is None:
            return []
        return self._feed.tick(self.clock, self._current())

    def advance(self) -> list[Arrival]:
        """An idle optimizer waits for the next arrival: the clock moves, no budget is spent."""
        if self._feed is None:
            return []
        wait = self._feed.time_to_next(self.clock)
        if wait <= 0:
            return []
        self._feed.skipped += wait
        return self.arrivals()

    @property
    def curve(self) -> tuple[tuple[int, float], ...]:
        """The reported (rollouts so far, best validation mean) points, in order."""
        return tuple(self._curve)

    @property
    def best_prompt(self) -> str | None:
        return self._best_prompt

    @property
    def best_val(self) -> float | None:
        return self._best_val

    def report_best(self, prompt: str, val_mean: float) -> None:
        """Record that the optimizer's current best is now `prompt`, scoring `val_mean` on val."""
        if not isinstance(prompt, str):
            raise SimError(f"report_best: prompt must be a str, not {type(prompt).__name__}")
        if (
            not isinstance(val_mean, int | float)
            or isinstance(val_mean, bool)
            or not math.isfinite(val_mean)
            or not 0.0 <= val_mean <= 1.0
        ):
            raise SimError(f"report_best: val_mean must be a number in [0, 1], got {val_mean!r}")
        self._curve.append((self.lms.rollouts, float(val_mean)))
        self._best_prompt = prompt
        self._best_val = float(val_mean)


Optimizer = Callable[[RunContext], str]


@dataclass(frozen=True, slots=True)
class RunResult:
    """One finished run. `to_json` gives the benchmark's JSON record."""

    scenario: str
    optimizer: str
    seed: int
    budget: int
    rollouts_used: int
    test_score: float
    rollouts_to_90: int | None
    curve: tuple[tuple[int, float], ...]
    final_prompt: str
    reflection_calls: int
    merge_calls: int
    seconds: float
    # Online runs only: the held-out curve, its area, and the prequential mean.
    heldout_curve: tuple[tuple[int, float], ...] = ()
    online_auc: float | None = None
    prequential: float | None = None
    # Each arriving task's test-before-train score, in arrival order (the prequential curve).
    prequential_scores: tuple[float, ...] = ()
    # Online runs of a flip scenario (`_flip.py`): the curve's mean from the flip on, and
    # whether the final prompt follows the new rule.
    post_flip_auc: float | None = None
    follows_new_rule: bool | None = None

    def to_json(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.online_auc is not None:
            extra = {
                "online_auc": self.online_auc,
                "prequential": self.prequential,
                "heldout_curve": [[r, v] for r, v in self.heldout_curve],
            }
        if self.post_flip_auc is not None:
            extra |= {
                "post_flip_auc": self.post_flip_auc,
                "follows_new_rule": self.follows_new_rule,
            }
        return extra | {
            "scenario": self.scenario,
            "optimizer": self.optimizer,
            "seed": self.seed,
            "budget": self.budget,
            "rollouts_used": self.rollouts_used,
            "test_score": self.test_score,
            "rollouts_to_90": self.rollouts_to_90,
            "curve": [[r, v] for r, v in self.curve],
        }


def check_runnable(scenario: Scenario) -> None:
    """Raise `ScenarioError` if the split would leave train, val or test empty."""
    n = len(scenario.tasks)
    if n < MIN_TASKS:
        raise ScenarioError(
            scenario.source,
            [
                f"has {n} task(s); the 40/30/30 split needs at least {MIN_TASKS} so that train, "
                "validation and held-out test are all non-empty"
            ],
        )


def rollouts_to_threshold(curve: tuple[tuple[int, float], ...], threshold: float) -> int | None:
    """The rollout count of the first curve point at or above `threshold`, or None."""
    for rollouts, val in curve:
        if val >= threshold:
            return rollouts
    return None


def run_optimizer(
    scenario: Scenario,
    optimizer: Optimizer,
    *,
    name: str,
    seed: int,
    budget: int,
    online: bool = False,
) -> RunResult:
    """Run `optimizer` once on `scenario` with `seed` and a rollout `budget`.

    `online` (realistic scenarios only) starts with part of the data and feeds the rest in
    during the run (`_online.py`).
    """
    check_runnable(scenario)
    if budget < 0:
        raise SimError(f"budget must be >= 0, got {budget}")
    split = split_tasks(scenario.tasks, seed)
    lms = make_lms(scenario, seed)
    train, val, feed = split.train, split.val, None
    if online:
        if not isinstance(lms, RealisticLMs) or scenario.realistic is None:
            raise SimError(f"scenario {scenario.name!r}: online runs need [sim] mode = realistic")
        params = scenario.realistic.params
        sim = lms

        def score(prompt: str, tasks: Sequence[Task], rng: random.Random) -> float:
            return sim.score_with(rng, prompt, tasks)

        feed, train, val = OnlineFeed.start(
            split.train,
            split.val,
            split.test,
            start=params.online_start,
            every=params.online_every,
            batch=params.online_batch,
            score=score,
            seed=seed,
        )
        pairs = flip_pairs(scenario)
        if pairs:
            feed.flip_clock = round(params.flip_at * budget)
            feed.flip_pairs = pairs
    ctx = RunContext(
        scenario=replace(scenario, tasks=split.train + split.val),
        train=train,
        val=val,
        budget=budget,
        seed=seed,
        lms=lms,
        feed=feed,
    )
    started = time.perf_counter()
    final = optimizer(ctx)
    seconds = time.perf_counter() - started
    if not isinstance(final, str):
        raise SimError(f"optimizer {name!r} returned {type(final).__name__}, not the prompt str")
    rollouts_used = lms.rollouts
    test = split.test if feed is None else feed.test  # after a flip, the flipped tasks
    test_score = lms._uncounted_mean(final, test, TEST_REPEATS)
    curve = ctx.curve
    return RunResult(
        scenario=scenario.name,
        optimizer=name,
        seed=seed,
        budget=budget,
        rollouts_used=rollouts_used,
        test_score=test_score,
        rollouts_to_90=rollouts_to_threshold(curve, 0.9 * scenario.sim.attainable),
        curve=curve,
        final_prompt=final,
        reflection_calls=lms.reflection_calls,
        merge_calls=lms.merge_calls,
        seconds=seconds,
        **_online_fields(ctx, feed, budget),
    )


def _online_fields(ctx: RunContext, feed: OnlineFeed | None, budget: int) -> dict[str, Any]:
    if feed is None:
        return {}
    # The curve runs to the end of the budget: a finished optimizer keeps its best prompt.
    final = ctx.best_prompt or ctx.scenario.seed_prompt
    feed.tick_curve(budget, final)
    flip: dict[str, Any] = {}
    if feed.flip_clock is not None:
        flip = {
            "post_flip_auc": post_flip_auc(feed.curve, feed.flip_clock, budget),
            "follows_new_rule": follows_new_rule(ctx.scenario, final),
        }
    return flip | {
        "heldout_curve": tuple(feed.curve),
        "online_auc": feed.auc(budget),
        "prequential": (
            sum(feed.prequential) / len(feed.prequential) if feed.prequential else None
        ),
        "prequential_scores": tuple(feed.prequential),
    }
