"""Reference `gepa` (PyPI gepa 0.1.4) on the learning benchmark, with the same real model.

gepa's metric is the checks' score (`rules.check`), its feedback the simulated user's
complaint for the broken rules (the same words the daemon gets) or "The user accepted this
output.", its reflection gepa's own default template sent to the same server, and
`max_metric_calls` the same budget. The user's train requests are split 2:1 into gepa's
trainset and valset (gepa needs a valset; the daemon splits its examples itself). Everything
else is gepa's default (Pareto selection, minibatches of 3, skip perfect minibatches).
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rules import check, complaint

__all__ = ["run_gepa"]

_log = logging.getLogger(__name__)
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)


class _Model(Protocol):
    usage: dict[str, dict[str, float]]

    def task(self, role: str, prompt: str, request: str) -> str: ...

    def chat(self, role: str, messages: list[dict[str, str]], max_tokens: int) -> str: ...


@dataclass(frozen=True, slots=True)
class _Trace:
    request: str
    output: str
    feedback: str


class _Quiet:
    def log(self, message: str, *args: Any, **kwargs: Any) -> None:
        _log.debug("%s", message)


class _Adapter:
    # gepa reads this attribute: None means "use gepa's own reflection with reflection_lm".
    # (Without it gepa's proposer raised AttributeError, which raise_on_exception=False hid:
    # the first run never reflected.)
    propose_new_texts = None

    def __init__(self, model: _Model, seed: int) -> None:
        self.model = model
        self.rng = random.Random(seed + 50_000)
        self.evaluations = 0

    def evaluate(self, batch: list[str], candidate: dict[str, str], capture_traces: bool = False):  # type: ignore[no-untyped-def]
        from gepa.core.adapter import EvaluationBatch

        outputs, scores, traces = [], [], []
        for request in batch:
            output = self.model.task("gepa-task", candidate["prompt"], request)
            verdict = check(output)
            words = complaint(verdict, self.rng)
            self.evaluations += 1
            outputs.append(output)
            scores.append(verdict.score)
            traces.append(_Trace(request, output, words or "The user accepted this output."))
        return EvaluationBatch(
            outputs=outputs, scores=scores, trajectories=traces if capture_traces else None
        )

    def make_reflective_dataset(
        self, candidate: dict[str, str], eval_batch: Any, components_to_update: list[str]
    ) -> dict[str, list[dict[str, Any]]]:
        rows = [
            {"Inputs": t.request, "Generated Outputs": t.output, "Feedback": t.feedback}
            for t in eval_batch.trajectories or []
        ]
        return {name: list(rows) for name in components_to_update}


def run_gepa(
    model: _Model,
    seed_prompt: str,
    feedback: Sequence[Mapping[str, Any]],
    budget: int,
    seed: int,
    reflection_tokens: int,
) -> dict[str, Any]:
    from gepa.api import optimize

    requests = [str(f["request"]) for f in feedback]
    order = list(requests)
    random.Random(seed).shuffle(order)
    n_val = max(1, len(order) // 3)
    val, train = order[:n_val], order[n_val:]
    answers: list[dict[str, Any]] = []

    def reflect(prompt: str) -> str:
        text = model.chat(
            "gepa-reflection", [{"role": "user", "content": prompt}], reflection_tokens
        )
        usable = bool(_FENCE.search(text))
        answers.append({"text": text, "has_fenced_block": usable})
        return text

    adapter = _Adapter(model, seed)
    result = optimize(
        seed_candidate={"prompt": seed_prompt},
        trainset=train,
        valset=val,
        adapter=adapter,  # type: ignore[arg-type]
        reflection_lm=reflect,
        max_metric_calls=budget,
        logger=_Quiet(),
        run_dir=None,
        seed=seed,
        display_progress_bar=False,
        raise_on_exception=False,
    )
    best = result.best_candidate
    best_prompt = best["prompt"] if isinstance(best, dict) else str(best)
    return {
        "best_prompt": best_prompt,
        "candidates": [c["prompt"] if isinstance(c, dict) else str(c) for c in result.candidates],
        "val_scores": list(result.val_aggregate_scores),
        "metric_calls": adapter.evaluations,
        "reflection_answers": answers,
        "train": train,
        "val": val,
    }
