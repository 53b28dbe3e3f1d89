"""The reference optimizer: `gepa.optimize` (PyPI gepa 0.1.4) over the simulated LMs.

The prompt is gepa's single component, `prompt`. Everything else is gepa's own default (Pareto
candidate selection, epoch-shuffled minibatches of 3, round-robin components, skip perfect
minibatches, strict-improvement acceptance, `use_merge=False`), with `max_metric_calls` set to
the run's budget and `seed` to the run's seed. gepa's merge is module-wise, so on a one-component
prompt it could never find a crossover anyway.

gepa's best program is the one with the highest mean over the whole validation set, so the
adapter spots every full-validation evaluation and reports a new best to the harness when that
mean beats every earlier one; ties keep the earlier program, as gepa's arg-max does.

Budget note: gepa checks `max_metric_calls` only between iterations, so its last iteration may
run a few rollouts past the budget; `rollouts_used` in the results shows by how much.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gepa.api import optimize
from gepa.core.adapter import EvaluationBatch
from gepa.core.result import GEPAResult

from gepad_sim._harness import RunContext
from gepad_sim._lms import Record, TaskOutcome
from gepad_sim._scenario import Task

__all__ = ["COMPONENT", "SimGEPAAdapter", "run_reference"]

# Online, gepa cannot grow its data: it is restarted from its best so far on the data so far,
# each time new examples arrived, after at least this many rollouts (and two validation passes).
_MIN_SEGMENT = 40

_log = logging.getLogger(__name__)

COMPONENT = "prompt"
"""The name of the single component gepa optimises."""


class _QuietLogger:
    """gepa's logger protocol, sent to `logging` at DEBUG so stdout stays the benchmark table."""

    def log(self, message: str, *args: Any, **kwargs: Any) -> None:
        _log.debug("%s", message)


@dataclass(frozen=True, slots=True)
class _Trajectory:
    record: Record


class SimGEPAAdapter:
    """A `gepa.GEPAAdapter` whose task and reflection LMs are the simulated ones."""

    def __init__(self, ctx: RunContext, val: Sequence[Task] | None = None) -> None:
        self._ctx = ctx
        self._val_ids = frozenset(t.id for t in (ctx.val if val is None else val))
        self._best_val = float("-inf")

    def evaluate(
        self,
        batch: list[Task],
        candidate: dict[str, str],
        capture_traces: bool = False,
    ) -> EvaluationBatch[_Trajectory, str]:
        prompt = candidate[COMPONENT]
        outcomes: list[TaskOutcome] = self._ctx.lms.run_tasks(prompt, batch)
        scores = [o.score for o in outcomes]
        if len(batch) == len(self._val_ids) and {t.id for t in batch} == self._val_ids:
            mean = sum(scores) / len(scores)
            if mean > self._best_val:
                self._best_val = mean
                self._ctx.report_best(prompt, mean)
        return EvaluationBatch(
            outputs=[o.output for o in outcomes],
            scores=scores,
            trajectories=[_Trajectory(o.record()) for o in outcomes] if capture_traces else None,
        )

    def make_reflective_dataset(
        self,
        candidate: dict[str, str],
        eval_batch: EvaluationBatch[_Trajectory, str],
        components_to_update: list[str],
    ) -> dict[str, list[dict[str, Any]]]:
        trajectories = eval_batch.trajectories or []
        records = [
            {
                "Inputs": t.record.input,
                "Generated Outputs": t.record.output,
                "Feedback": t.record.feedback,
            }
            for t in trajectories
        ]
        return {name: list(records) for name in components_to_update}

    def propose_new_texts(
        self,
        candidate: dict[str, str],
        reflective_dataset: Mapping[str, Sequence[Mapping[str, Any]]],
        components_to_update: list[str],
    ) -> dict[str, str]:
        new_texts: dict[str, str] = {}
        for name in components_to_update:
            rows = reflective_dataset.get(name)
            if rows is None:
                continue
            records = [
                Record(
                    input=str(r["Inputs"]),
                    output=str(r["Generated Outputs"]),
                    feedback=str(r["Feedback"]),
                )
                for r in rows
            ]
            new_texts[name] = self._ctx.lms.reflect(candidate[name], records)
        return new_texts


def _optimize(
    ctx: RunContext, seed_prompt: str, train: list[Task], val: list[Task], budget: int, seed: int
) -> str:
    adapter = SimGEPAAdapter(ctx, val)
    result: GEPAResult[str, int] = optimize(
        seed_candidate={COMPONENT: seed_prompt},
        trainset=train,
        valset=val,
        # Structurally a GEPAAdapter; mypy cannot match a method to the protocol's attribute.
        adapter=adapter,  # type: ignore[arg-type]
        max_metric_calls=budget,
        logger=_QuietLogger(),
        run_dir=None,
        seed=seed,
        display_progress_bar=False,
        raise_on_exception=True,
    )
    best = result.best_candidate
    return best[COMPONENT] if isinstance(best, dict) else best


def _run_online(ctx: RunContext) -> str:
    prompt = ctx.scenario.seed_prompt
    train, val = list(ctx.train), list(ctx.val)
    restart = 0
    while ctx.rollouts_left > 0:
        segment = min(ctx.rollouts_left, max(_MIN_SEGMENT, 2 * len(val)))
        before = ctx.rollouts_used
        prompt = _optimize(ctx, prompt, train, val, segment, ctx.seed + restart)
        restart += 1
        arrived = ctx.arrivals()
        if not arrived and ctx.rollouts_used == before:
            arrived = ctx.advance()
            if not arrived:
                break
        for a in arrived:
            (train if a.split == "train" else val).append(a.task)
    return prompt


def run_reference(ctx: RunContext) -> str:
    """Optimise with `gepa.optimize` under the run's budget and seed; return gepa's best prompt."""
    if ctx.online:
        return _run_online(ctx)
    prompt = _optimize(
        ctx, ctx.scenario.seed_prompt, list(ctx.train), list(ctx.val), ctx.budget, ctx.seed
    )
    if ctx.best_prompt is not None and prompt != ctx.best_prompt:
        # Both pick the first program with the highest full-valset mean; a mismatch means the
        # curve and the test score would describe different prompts.
        _log.warning("gepa's best prompt differs from the last one reported to the harness")
    return prompt
