"""Calibrating the judge against the user's own labels.

A thumbs-up output should pass and a thumbs-down output should fail when the judge re-grades it
against the user's own words (`Metric.rejudge`). A few labelled examples are re-judged at the
end of every optimizer run (`judge_calibration_per_run`); the calls are ordinary judge calls,
recorded and counted against the daily budget like any other. Each result is an event
(`judge.calibration`) in the store, so the measure survives restarts; the summary counts the
latest result per example for the current judge model and mode only.

Tests and compiler outcomes are never judged (they are the user's tools' own verdicts), nor are
kernel examples (the toolchain scores them); a thumbs-down without a comment gives the judge
nothing to check against, so it is left out too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from gepad.learning._adapters import BufferedRecorder, to_store_call
from gepad.learning._metric import Metric
from gepad.store import Example, Store

__all__ = ["CALIBRATION_EVENT", "MIN_CALIBRATION_LABELS", "Calibrator", "cohen_kappa"]

log = logging.getLogger(__name__)

CALIBRATION_EVENT: Final = "judge.calibration"
MIN_CALIBRATION_LABELS: Final = 6
"""Fewer labelled re-judgements than this give no verdict on the judge, only the numbers."""
_WINDOW = 500
_SCAN = 2000


def cohen_kappa(pairs: Sequence[tuple[bool, bool]]) -> float | None:
    """Cohen's κ of (user says good, judge says pass) pairs; None when it is undefined (no
    pairs, or both raters constant on the same side, so chance agreement is 1)."""
    n = len(pairs)
    if n == 0:
        return None
    agree = sum(1 for a, b in pairs if a == b) / n
    user_yes = sum(1 for a, _ in pairs if a) / n
    judge_yes = sum(1 for _, b in pairs if b) / n
    chance = user_yes * judge_yes + (1 - user_yes) * (1 - judge_yes)
    if chance >= 1.0:
        return None
    return (agree - chance) / (1 - chance)


def _label(example: Example) -> bool | None:
    """What the user said of this output: True good, False bad, None no usable label."""
    from gepad.kernel._example import is_kernel_example

    if example.retired or is_kernel_example(example.component, example.kind):
        return None
    if example.kind == "thumbs_up":
        return True
    if example.kind == "thumbs_down" and (example.comment or "").strip():
        return False
    return None


@dataclass(frozen=True, slots=True)
class _Result:
    example_id: int
    label: bool
    passed: bool
    model: str
    mode: str


class Calibrator:
    def __init__(
        self,
        store: Store,
        metric: Metric,
        *,
        judge_model: str,
        per_run: int,
        threshold: float,
        recorder: BufferedRecorder | None = None,
    ) -> None:
        self._store = store
        # The LLM client's call records: written to the store after each re-judgement, so the
        # calls count against the daily budget like every other.
        self._recorder = recorder
        self._metric = metric
        self._model = judge_model
        self._mode = metric.judge.settings.mode
        self._per_run = per_run
        self._threshold = threshold
        self._results: dict[int, _Result] = {}  # latest per example, current model and mode
        self._calls = 0
        self._tokens = 0

    async def load(self) -> None:
        for event in reversed(await self._store.events(limit=_WINDOW, kind=CALIBRATION_EVENT)):
            p = event.payload
            try:
                result = _Result(
                    int(p["example_id"]), bool(p["label"]), bool(p["passed"]), str(p["model"]),
                    str(p["mode"]),
                )  # fmt: skip
            except (KeyError, TypeError, ValueError):
                continue
            if result.model == self._model and result.mode == self._mode:
                self._results[result.example_id] = result

    async def run(self) -> int:
        """Re-judge up to `per_run` labelled examples not yet judged by this judge; returns how
        many were judged. Model errors propagate (the caller decides what they mean)."""
        if self._per_run <= 0:
            return 0
        done = 0
        for example in await self._candidates():
            label = _label(example)
            assert label is not None
            try:
                grade = await self._metric.rejudge(example)
            finally:
                await self._record_calls(example.component)
            self._calls += grade.calls
            self._tokens += grade.tokens
            done += 1
            if grade.score is None:
                continue  # no valid verdict: nothing to compare
            result = _Result(example.id, label, grade.passed, self._model, self._mode)
            self._results[example.id] = result
            await self._store.log_event(
                None,
                CALIBRATION_EVENT,
                {
                    "example_id": example.id,
                    "label": label,
                    "passed": grade.passed,
                    "score": grade.score,
                    "model": self._model,
                    "mode": self._mode,
                },
            )
            if done >= self._per_run:
                break
        return done

    async def _record_calls(self, component: str) -> None:
        if self._recorder is None:
            return
        for record in self._recorder.take():
            await self._store.record_llm_call(None, to_store_call(record, component))

    async def _candidates(self) -> list[Example]:
        rows = await self._store.list_examples(limit=_SCAN)
        fresh = [e for e in rows if e.id not in self._results and _label(e) is not None]
        # Alternate the labels so that both kinds are measured early on.
        ups = [e for e in fresh if e.kind == "thumbs_up"]
        downs = [e for e in fresh if e.kind != "thumbs_up"]
        mixed: list[Example] = []
        for i in range(max(len(ups), len(downs))):
            mixed.extend(x[i] for x in (downs, ups) if i < len(x))
        return mixed

    def summary(self) -> dict[str, Any]:
        """Agreement and κ with the user's labels, and what to do when they are low."""
        pairs = [(r.label, r.passed) for r in self._results.values()]
        n = len(pairs)
        agreement = sum(1 for a, b in pairs if a == b) / n if n else None
        kappa = cohen_kappa(pairs)
        trusted: bool | None = None
        message: str | None = None
        if n < MIN_CALIBRATION_LABELS:
            message = (
                f"judge not calibrated yet: {n} of {MIN_CALIBRATION_LABELS} re-judged "
                "thumbs-up / thumbs-down examples"
            )
        elif kappa is None:
            message = (
                "judge calibration needs both thumbs-up and thumbs-down examples "
                f"(all {n} so far are one kind)"
            )
        else:
            trusted = kappa >= self._threshold
            if not trusted:
                message = (
                    f"the judge ({self._model}) agrees with your own thumbs-up / thumbs-down on "
                    f"{agreement:.0%} of {n} examples, Cohen's kappa {kappa:.2f} < "
                    f"{self._threshold:g}: its verdicts are not to be trusted. Set judge_model to "
                    'a stronger or different model (or try judge_mode = "repeat").'
                )
        return {
            "model": self._model,
            "mode": self._mode,
            "labels": n,
            "thumbs_up": sum(1 for a, _ in pairs if a),
            "thumbs_down": sum(1 for a, _ in pairs if not a),
            "agreement": None if agreement is None else round(agreement, 4),
            "kappa": None if kappa is None else round(kappa, 4),
            "threshold": self._threshold,
            "trusted": trusted,
            "message": message,
            "calls": self._calls,
            "tokens": self._tokens,
        }
