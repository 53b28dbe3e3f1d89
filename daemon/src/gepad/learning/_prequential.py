"""The prequential ("already handled") measure: test before train, online.

Every new example of a component is scored with the component's *current* prompt (the one the
user is served) before the optimizer may learn from it: one task rollout and its metric (the
judge; kernels by the toolchain). The score is recorded durably with the prompt version that
earned it, and only then is the example handed to the engine (`ComponentOptimizer.hold`).
Feedback is acknowledged as soon as it is stored; the score comes later, within the
optimizer's run, never before the acknowledgement and never after the example is learned from.

"Handled" is the metric's own pass: the judge's verdict (a pairwise win); where the metric gives
no verdict (kernels), a score at the engine's `perfect_score`. The rolling rate over the last
`window` scored examples, its trend and its history are reported in the optimizer status.

A model error records nothing (the example waits for the run's retry); an example the metric
cannot score (no valid verdict, no toolchain) is recorded as skipped with the reason and is then
learned from. An example the engine already holds (learned from while the measure was off, or
by an older daemon) is never given a score after the fact; the log says how many there are.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gepad.learning._adapters import BufferedRecorder, to_store_call
from gepad.learning._component import ComponentOptimizer
from gepad.learning._metric import SCORED_KINDS, Metric, RolloutResult
from gepad.llm import LlmError
from gepad.prompts import PromptService
from gepad.store import Example, PrequentialRecord, Store

__all__ = ["Prequential", "PrequentialSettings", "rolling_rates"]

log = logging.getLogger(__name__)

_CHUNK = 8  # examples scored at once (the LLM client bounds concurrency itself)
_HISTORY = 200  # points kept in memory and shown in the status


@dataclass(frozen=True, slots=True)
class PrequentialSettings:
    """Config keys `prequential_enabled`, `prequential_window`."""

    enabled: bool = True
    window: int = 20

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"prequential window must be >= 1, got {self.window}")


@dataclass(frozen=True, slots=True)
class _Point:
    example_id: int
    version: int | None
    score: float
    handled: bool
    t: float


def rolling_rates(handled: Sequence[bool], window: int) -> list[float]:
    """The share handled over the last `window` points, after each point."""
    out: list[float] = []
    total = 0
    for i, h in enumerate(handled):
        total += int(h)
        if i >= window:
            total -= int(handled[i - window])
        out.append(total / min(i + 1, window))
    return out


class Prequential:
    def __init__(
        self,
        store: Store,
        prompts: PromptService,
        metric: Metric,
        recorder: BufferedRecorder,
        settings: PrequentialSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._store = store
        self._prompts = prompts
        self._metric = metric
        self._recorder = recorder
        self._settings = settings
        self._done: dict[str, set[int]] = {}
        self._points: dict[str, deque[_Point]] = {}
        self._rollouts = 0  # scoring rollouts performed by this process
        self._skipped = 0

    @property
    def settings(self) -> PrequentialSettings:
        return self._settings

    async def load(self, optimizers: Sequence[ComponentOptimizer]) -> None:
        """Read what was recorded, and hold back every example not scored yet."""
        for opt in optimizers:
            c = opt.component
            self._done[c] = await self._store.prequential_ids(c)
            rows = await self._store.prequential(c, limit=_HISTORY)
            self._points[c] = deque(
                (_point(r) for r in rows if r.status == "scored" and r.score is not None),
                maxlen=_HISTORY,
            )
            if self._settings.enabled:
                done = self._done[c]
                opt.hold = lambda ex_id, done=done: int(ex_id) not in done

    def report_unscorable(self, opt: ComponentOptimizer) -> None:
        """Say how many examples the engine learned from without a prequential score."""
        engine = opt.engine
        if engine is None or not self._settings.enabled:
            return
        done = self._done.get(opt.component, set())
        known = engine.active_examples("train", "val", "holdout")
        missing = sum(1 for e in known if e.isdigit() and int(e) not in done)
        if missing:
            log.info(
                "prequential for %r: %d examples were learned from before they could be scored "
                "(measure off, or an older daemon); they get no score",
                opt.component,
                missing,
            )

    async def pending(self, opt: ComponentOptimizer) -> list[Example]:
        """The component's active examples that wait for their test-before-train score."""
        if not self._settings.enabled:
            return []
        engine = opt.engine
        assert engine is not None
        known = set(engine.active_examples("train", "val", "holdout"))
        done = self._done.setdefault(opt.component, set())
        return [
            e
            for e in await opt.all_examples()
            if e.component == opt.component
            and e.kind in SCORED_KINDS
            and str(e.id) not in known
            and e.id not in done
        ]

    async def score_pending(
        self, opt: ComponentOptimizer, over_budget: Callable[[], Awaitable[str | None]]
    ) -> int:
        """Score the waiting examples with the current prompt; returns how many were recorded.

        Stops early when `over_budget` gives a reason (the daily budget is spent); raises the
        first model error after recording what succeeded.
        """
        waiting = await self.pending(opt)
        recorded = 0
        for start in range(0, len(waiting), _CHUNK):
            if await over_budget() is not None:
                break
            recorded += await self._score_chunk(opt, waiting[start : start + _CHUNK])
        return recorded

    async def _score_chunk(self, opt: ComponentOptimizer, chunk: list[Example]) -> int:
        current = self._prompts.current(opt.component)
        engine = opt.engine
        assert engine is not None
        perfect = engine.config.perfect_score
        results = await asyncio.gather(
            *(self._metric.rollout(current.text, e) for e in chunk), return_exceptions=True
        )
        rows: list[PrequentialRecord] = []
        failure: BaseException | None = None
        for example, result in zip(chunk, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, LlmError):
                    log.error("prequential scoring of example %d failed", example.id,
                              exc_info=result)  # fmt: skip
                failure = failure or result  # recorded nothing: retried with the run
                continue
            self._rollouts += 1
            rows.append(_row(example, current.version, result, perfect, self._clock()))
        records = self._recorder.take()
        async with self._store.transaction() as tx:
            for record in records:
                await self._store.record_llm_call(tx, to_store_call(record, opt.component))
            for row in rows:
                await self._store.record_prequential(tx, row)
        done = self._done.setdefault(opt.component, set())
        points = self._points.setdefault(opt.component, deque(maxlen=_HISTORY))
        for row in rows:
            done.add(row.example_id)
            if row.status == "scored" and row.score is not None and row.handled is not None:
                points.append(_Point(row.example_id, row.prompt_version, row.score, row.handled,
                                     row.created_at))  # fmt: skip
            else:
                self._skipped += 1
                log.info("prequential: example %d skipped: %s", row.example_id, row.reason)
        if failure is not None:
            raise failure
        return len(rows)

    # ------------------------------------------------------------------ reporting

    def brief(self, component: str) -> dict[str, Any]:
        """The current rate of one component (for `optimizer.progress`)."""
        points = list(self._points.get(component, ()))
        n = self._settings.window
        last = points[-n:]
        handled = sum(1 for p in last if p.handled)
        return {
            "window": n,
            "count": len(last),
            "handled": handled,
            "rate": handled / len(last) if last else None,
            "version": last[-1].version if last else None,
        }

    def summary(self) -> dict[str, Any]:
        """The rate, its trend and its history per component (for `status.get`)."""
        n = self._settings.window
        components: dict[str, Any] = {}
        for component, deq in self._points.items():
            points = list(deq)
            rates = rolling_rates([p.handled for p in points], n)
            trend = None
            if len(points) > n:  # the first full window, to compare the current one with
                trend = {"rate": rates[n - 1], "version": points[n - 1].version}
            components[component] = {
                **self.brief(component),
                "trend": trend,
                "history": [
                    {
                        "example_id": p.example_id,
                        "version": p.version,
                        "score": p.score,
                        "handled": p.handled,
                        "t": p.t,
                        "rate": rate,
                    }
                    for p, rate in zip(points, rates, strict=True)
                ],
            }
        return {
            "enabled": self._settings.enabled,
            "window": n,
            "rollouts": self._rollouts,
            "skipped": self._skipped,
            "components": components,
        }


def _point(r: PrequentialRecord) -> _Point:
    assert r.score is not None
    return _Point(r.example_id, r.prompt_version, r.score, bool(r.handled), r.created_at)


def _row(
    example: Example, version: int, result: RolloutResult, perfect: float, now: float
) -> PrequentialRecord:
    if result.score is None:
        return PrequentialRecord(
            example.id, example.component, version, "skipped", None, None,
            "the metric gave no score (no valid verdict, or not scorable here)", now,
        )  # fmt: skip
    handled = result.passed if result.passed is not None else result.score >= perfect
    return PrequentialRecord(
        example.id, example.component, version, "scored", result.score, handled, None, now
    )
