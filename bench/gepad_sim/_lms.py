"""The simulated task, reflection and merge LMs (normative semantics: the issue's spec).

All three draw from one `random.Random(seed)` per optimizer run, in the order written below, so a
run is reproducible from its seed alone. Where the spec says "X iff A and rng.random() ...",
the draw happens only when A holds (Python's short-circuit `and`); where it says "with
probability p", the event happens iff `rng.random() < p`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gepad_sim._errors import SimError
from gepad_sim._prompt import over_specific_line, over_specific_pattern, prompt_lines
from gepad_sim._scenario import Rule, Scenario, Task

__all__ = ["LOOKS_RIGHT", "Record", "SimLMs", "TaskOutcome"]

LOOKS_RIGHT = "Looks right to me."
"""The simulated user's feedback when no rule was missed."""

# A run sees a few hundred distinct prompts; the bound only guards a pathological caller.
_VIEW_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Record:
    """One entry of a reflective dataset, as the reflection LM reads it.

    `input` is the task's input, `output` the task LM's output for it (`followed: ...; missed:
    ...`), `feedback` the simulated user's reply. The reflection LM uses `feedback` to find the
    rules to extract and the first record's `input` for its distractor line; `output` is carried
    for callers that show records to a real LLM.
    """

    input: str
    output: str
    feedback: str


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """What one task-LM call produced."""

    task_id: str
    input: str
    score: float
    output: str
    feedback: str
    followed: tuple[str, ...]
    missed: tuple[str, ...]

    def record(self) -> Record:
        """This outcome as a reflective record."""
        return Record(input=self.input, output=self.output, feedback=self.feedback)


@dataclass(frozen=True, slots=True)
class _PromptView:
    """What the task LM needs from a prompt, computed once per distinct prompt text."""

    n_lines: int
    patterns: tuple[str, ...]
    stated: frozenset[str]


def _format_ids(ids: Iterable[str]) -> str:
    return ", ".join(ids) or "none"


class SimLMs:
    """The three simulated LMs of one optimizer run, sharing one seeded random stream.

    `run_task` is a rollout and is counted; `reflect` and `merge` are counted separately. Nothing
    here knows which split a task belongs to: the harness evaluates the held-out split through
    an uncounted path that optimizers are not given.
    """

    __slots__ = (
        "_merge_calls",
        "_reflection_calls",
        "_rng",
        "_rollouts",
        "_rules",
        "_rules_by_id",
        "_sim",
        "_views",
    )

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self._rng = random.Random(seed)
        self._sim = scenario.sim
        self._rules: tuple[Rule, ...] = scenario.rules
        self._rules_by_id: dict[str, Rule] = {r.id: r for r in scenario.rules}
        self._views: dict[str, _PromptView] = {}
        self._rollouts = 0
        self._reflection_calls = 0
        self._merge_calls = 0

    @property
    def rollouts(self) -> int:
        """Task-LM calls so far (the budget unit)."""
        return self._rollouts

    @property
    def reflection_calls(self) -> int:
        return self._reflection_calls

    @property
    def merge_calls(self) -> int:
        return self._merge_calls

    # -- task LM -------------------------------------------------------------------------------

    def run_task(self, prompt: str, task: Task) -> TaskOutcome:
        """One rollout: the task LM answers `task` under `prompt`."""
        self._rollouts += 1
        return self._task(prompt, task)

    def run_tasks(self, prompt: str, tasks: Iterable[Task]) -> list[TaskOutcome]:
        """One rollout per task, in order."""
        return [self.run_task(prompt, t) for t in tasks]

    def _uncounted_mean(self, prompt: str, tasks: Sequence[Task], repeats: int) -> float:
        """Mean score over `repeats` passes of `tasks`; not a rollout (held-out scoring)."""
        total = 0.0
        for _ in range(repeats):
            for t in tasks:
                total += self._task(prompt, t).score
        return total / (repeats * len(tasks))

    def _view(self, prompt: str) -> _PromptView:
        view = self._views.get(prompt)
        if view is None:
            lines = prompt_lines(prompt)
            patterns = tuple(p for p in map(over_specific_pattern, lines) if p is not None)
            lowered = prompt.lower()
            stated = frozenset(
                r.id for r in self._rules if any(t in lowered for t in r.triggers_lower)
            )
            view = _PromptView(n_lines=len(lines), patterns=patterns, stated=stated)
            if len(self._views) >= _VIEW_CACHE_LIMIT:
                self._views.clear()
            self._views[prompt] = view
        return view

    def _task(self, prompt: str, task: Task) -> TaskOutcome:
        sim = self._sim
        view = self._view(prompt)
        if any(task.input.startswith(p) for p in view.patterns):
            p_fail = 0.0
        else:
            p_fail = min(
                1.0,
                sim.comply_noise
                + sim.line_penalty * max(0, view.n_lines - sim.max_useful_lines)
                + sim.overfit_penalty * len(view.patterns),
            )
        rng = self._rng
        followed: list[str] = []
        missed: list[str] = []
        for rid in task.rules:
            if rid not in self._rules_by_id:
                raise SimError(f"task {task.id!r} names rule {rid!r}, which the scenario lacks")
            if rid in view.stated and rng.random() >= p_fail:
                followed.append(rid)
            else:
                missed.append(rid)
        score = len(followed) / len(task.rules) if task.rules else 1.0
        feedback = " ".join(self._rules_by_id[r].feedback for r in missed) or LOOKS_RIGHT
        output = f"followed: {_format_ids(followed)}; missed: {_format_ids(missed)}"
        return TaskOutcome(
            task_id=task.id,
            input=task.input,
            score=score,
            output=output,
            feedback=feedback,
            followed=tuple(followed),
            missed=tuple(missed),
        )

    # -- reflection LM -------------------------------------------------------------------------

    def reflect(self, text: str, records: Sequence[Record]) -> str:
        """Rewrite `text` after reading `records` (the spec's reflection LM)."""
        self._reflection_calls += 1
        rng = self._rng
        sim = self._sim
        keep = 1.0 - sim.forget_prob
        out = [line for line in prompt_lines(text) if rng.random() < keep]
        lowered = "\n".join(out).lower()
        for record in records:
            for rule in self._rules:
                if rule.feedback not in record.feedback:
                    continue
                if any(t in lowered for t in rule.triggers_lower):
                    continue
                if rng.random() < sim.extract_prob:
                    out.append(rule.statement)
                    lowered = f"{lowered}\n{rule.statement.lower()}"
        # With no records there is no input to quote, so no draw either.
        if records and rng.random() < sim.distractor_prob:
            out.append(over_specific_line(records[0].input))
        return "\n".join(out)

    # -- merge LM ------------------------------------------------------------------------------

    def merge(self, a: str, b: str) -> str:
        """Combine two prompts (the spec's merge LM): A's lines, then B's lines not in A."""
        self._merge_calls += 1
        rng = self._rng
        drop = self._sim.forget_prob / 2
        lines_a = prompt_lines(a)
        in_a = set(lines_a)
        combined = lines_a + [line for line in prompt_lines(b) if line not in in_a]
        return "\n".join(line for line in combined if not rng.random() < drop)
