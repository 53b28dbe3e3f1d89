"""The benchmark harness: one optimizer run on one scenario and seed.

An optimizer is `def run(ctx: RunContext) -> str`; it gets the train and validation splits and the
simulated LMs, reports each new best through `ctx.report_best`, and returns its final best
prompt. The harness keeps the held-out test split to itself and scores the returned prompt on it
afterwards, from the same random stream but outside the budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from gepad_sim._errors import ScenarioError, SimError
from gepad_sim._lms import SimLMs
from gepad_sim._scenario import Scenario, Task
from gepad_sim._split import split_tasks

__all__ = [
    "MIN_TASKS",
    "TEST_REPEATS",
    "Optimizer",
    "RunContext",
    "RunResult",
    "check_runnable",
    "rollouts_to_threshold",
    "run_optimizer",
]

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
        lms: SimLMs,
    ) -> None:
        self.scenario = scenario
        self.train = train
        self.val = val
        self.budget = budget
        self.seed = seed
        self.lms = lms
        self._curve: list[tuple[int, float]] = []
        self._best_prompt: str | None = None
        self._best_val: float | None = None

    @property
    def rollouts_used(self) -> int:
        return self.lms.rollouts

    @property
    def rollouts_left(self) -> int:
        return max(0, self.budget - self.lms.rollouts)

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

    def to_json(self) -> dict[str, Any]:
        return {
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
    scenario: Scenario, optimizer: Optimizer, *, name: str, seed: int, budget: int
) -> RunResult:
    """Run `optimizer` once on `scenario` with `seed` and a rollout `budget`."""
    check_runnable(scenario)
    if budget < 0:
        raise SimError(f"budget must be >= 0, got {budget}")
    split = split_tasks(scenario.tasks, seed)
    lms = SimLMs(scenario, seed)
    ctx = RunContext(
        scenario=replace(scenario, tasks=split.train + split.val),
        train=split.train,
        val=split.val,
        budget=budget,
        seed=seed,
        lms=lms,
    )
    started = time.perf_counter()
    final = optimizer(ctx)
    seconds = time.perf_counter() - started
    if not isinstance(final, str):
        raise SimError(f"optimizer {name!r} returned {type(final).__name__}, not the prompt str")
    rollouts_used = lms.rollouts
    test_score = lms._uncounted_mean(final, split.test, TEST_REPEATS)
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
    )
