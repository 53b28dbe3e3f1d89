"""Test-time search over a batch of kernel problems: GEPA evolves the `kernel` prompt.

`solve` drives `gepa_engine` with one component, ``kernel``. Every problem is both a training
and a validation example: it is added twice, as ``<name>:train`` (split ``train``, used for the
reflective minibatches) and ``<name>:val`` (split ``val``, used for full evaluations and the
Pareto frontier). Nothing in the engine is extended for this. In test-time search the problems
*are* the target, so there is nothing to generalise to: no validation example is held out from
selection, and the quote guard (which drops prompt lines that quote a minibatch input, i.e. a
problem's brief) is off, since a rule worded like the brief ("do not call cuBLAS") is no
overfitting here.

A rollout asks the writer for a kernel under the candidate prompt and scores it with
`evaluate_cuda` (static checks, nvcc + entry point, GPU run when a runner is given). Results are
cached by (problem, source): the same source on the same problem is compiled once, which is
what makes ``p:train`` and ``p:val`` cost one compile for a deterministic writer. Without a GPU
the best attainable score is 0.5, so the engine's "perfect" level is set to that and it stops
reflecting on minibatches that cannot improve.

The writer and the reflector are pluggable:

* ``writer(prompt, problem) -> source``: `simulated_writer` (the prepared-variant model of
  `gepad.kernel._simwriter`) or `llm_writer(llm)` (the task model under the prompt, with the
  problem's brief as the user message);
* ``reflector(request) -> text``: the raw answer to a `Reflect` or `Merge` request, parsed by
  the engine. `simulated_reflector` applies `simulated_reflection` to the records' real
  feedback; `llm_reflector(llm)` sends the engine's rendered prompt to the reflection model.

The report keeps, per problem, the best kernel found and the prompt that produced it, the seed
prompt's result and the evolved (best) prompt's result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gepa_engine import (
    Engine,
    EngineConfig,
    EvalOutcome,
    EvalResult,
    Evaluate,
    ExampleSpec,
    Finished,
    Idle,
    MaxRollouts,
    Merge,
    Reflect,
    TextAnswer,
)
from gepad.errors import KernelSolveError
from gepad.kernel._answer_source import extract_source
from gepad.kernel._evaluate import KernelEvaluation, evaluate_cuda
from gepad.kernel._gpu import GpuRunner
from gepad.kernel._nvcc import NvccToolchain
from gepad.kernel._problems import KernelProblem
from gepad.kernel._simwriter import simulated_reflection, write_kernel

__all__ = [
    "BUDGET_PRESETS",
    "COMPONENT",
    "KERNEL_SEED_PROMPT",
    "ProblemResult",
    "Reflector",
    "SolveReport",
    "Writer",
    "extract_source",
    "llm_reflector",
    "llm_writer",
    "parse_budget",
    "simulated_reflector",
    "simulated_writer",
    "solve",
]

log = logging.getLogger(__name__)

COMPONENT = "kernel"
# Rollouts per problem for the named budgets; an integer budget is a total.
BUDGET_PRESETS: Mapping[str, int] = {"small": 8, "medium": 20, "large": 50}
# The best score a kernel can reach without a GPU run: static + compiled (see _evaluate.py).
_CPU_ONLY_MAX = 0.5

KERNEL_SEED_PROMPT = (
    "You write CUDA kernels for the problem you are given. Reply with one complete .cu file in "
    "a single fenced cuda code block: the kernels and the host launcher the problem asks for.\n"
)

Writer = Callable[[str, KernelProblem], Awaitable[str]]
Reflector = Callable[[Reflect | Merge], Awaitable[str]]
Progress = Callable[[str], None]


def parse_budget(value: str | int, n_problems: int) -> int:
    """Total rollouts for a budget: a preset name (rollouts per problem) or a positive integer."""
    if isinstance(value, int) or str(value).strip().isdigit():
        total = int(value)
        if total < 1:
            raise KernelSolveError(f"budget must be at least 1 rollout, got {total}")
        return total
    per = BUDGET_PRESETS.get(str(value).strip().lower())
    if per is None:
        names = ", ".join(BUDGET_PRESETS)
        raise KernelSolveError(f"budget must be a number of rollouts or one of {names}: {value!r}")
    # The seed's full evaluation alone costs one rollout per problem.
    return max(per * max(n_problems, 1), 2 * n_problems + 6)


# ---- writers and reflectors ------------------------------------------------------------------


async def simulated_writer(prompt: str, problem: KernelProblem) -> str:
    """The simulated task model (prepared variants chosen by the prompt's statements)."""
    return write_kernel(prompt, problem)


def _fenced(text: str) -> str:
    return f"```\n{text.rstrip()}\n```"


def _merge_lines(a: str, b: str) -> str:
    seen: set[str] = set()
    out: list[str] = []
    for line in (*a.splitlines(), *b.splitlines()):
        if line.strip() and line not in seen:
            seen.add(line)
            out.append(line)
    return "\n".join(out) + "\n"


async def simulated_reflector(request: Reflect | Merge) -> str:
    """A reflection-LM stand-in: edits the prompt by the hints the records' real feedback hits.

    A merge keeps every distinct line of both parents. The answer is fenced as a real model is
    asked to do, so the engine's parser does its normal work.
    """
    if isinstance(request, Merge):
        return _fenced(_merge_lines(request.text_a, request.text_b))
    feedback = "\n".join(r.feedback for r in request.records)
    return _fenced(simulated_reflection(request.current_text, feedback))


def llm_writer(llm: Any, *, max_tokens: int | None = None) -> Writer:
    """The task model writes the kernel: the candidate prompt as system, the brief as user.

    `max_tokens` None: the configured cap for task calls (`llm_max_tokens`), as for every other
    call; a fixed 4096 here once let a small model run on for minutes on one CPU thread.
    """

    async def write(prompt: str, problem: KernelProblem) -> str:
        messages = [
            {"role": "system", "content": prompt},
            {"role": "user", "content": problem.brief()},
        ]
        result = await llm.complete("task", messages, max_tokens=max_tokens)
        return extract_source(result.text)

    return write


def llm_reflector(llm: Any) -> Reflector:
    """The reflection (or merge) model answers the engine's rendered prompt."""

    async def reflect(request: Reflect | Merge) -> str:
        purpose = "merge" if isinstance(request, Merge) else "reflection"
        result = await llm.complete(purpose, [{"role": "user", "content": request.prompt}])
        return str(result.text)

    return reflect


# ---- the report ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProblemResult:
    """One problem's kernel under one prompt (or its best kernel over the whole search)."""

    problem: str
    score: float
    static_ok: bool
    compiled: bool
    correct: bool | None
    speedup: float | None
    feedback: str
    source: str
    prompt: str
    rollouts: int = 0  # rollouts spent on this problem during the search
    found_at: int = 0  # the search's rollout count when this kernel was first seen

    @property
    def clean(self) -> bool:
        """Passes the static checks and compiles with the launcher exported."""
        return self.static_ok and self.compiled

    def to_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "score": round(self.score, 4),
            "static_ok": self.static_ok,
            "compiled": self.compiled,
            "correct": self.correct,
            "speedup": self.speedup,
            "rollouts": self.rollouts,
            "found_at": self.found_at,
            "feedback": self.feedback,
            "source": self.source,
            "prompt": self.prompt,
        }


def _result(
    ev: KernelEvaluation, source: str, prompt: str, *, rollouts: int = 0, found_at: int = 0
) -> ProblemResult:
    return ProblemResult(
        problem=ev.problem,
        score=ev.score,
        static_ok=ev.static_ok,
        compiled=ev.compiled,
        correct=ev.correct,
        speedup=ev.speedup,
        feedback=ev.feedback,
        source=source,
        prompt=prompt,
        rollouts=rollouts,
        found_at=found_at,
    )


@dataclass(frozen=True, slots=True)
class SolveReport:
    seed_prompt: str
    best_prompt: str
    seed: tuple[ProblemResult, ...]  # every problem under the seed prompt
    evolved: tuple[ProblemResult, ...]  # every problem under the engine's best prompt
    best: tuple[ProblemResult, ...]  # every problem's best kernel over the whole search
    rollouts: int
    budget: int
    iterations: int
    candidates: int
    stop_reason: str
    gpu: bool
    compiles: int  # distinct (problem, source) pairs evaluated, i.e. toolchain runs
    seconds: float
    events: Mapping[str, int] = field(default_factory=dict)

    @staticmethod
    def share_clean(results: Sequence[ProblemResult]) -> float:
        return sum(r.clean for r in results) / len(results) if results else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "seed_prompt": self.seed_prompt,
            "best_prompt": self.best_prompt,
            "seed_share_clean": self.share_clean(self.seed),
            "evolved_share_clean": self.share_clean(self.evolved),
            "rollouts": self.rollouts,
            "budget": self.budget,
            "iterations": self.iterations,
            "candidates": self.candidates,
            "stop_reason": self.stop_reason,
            "gpu": self.gpu,
            "compiles": self.compiles,
            "seconds": round(self.seconds, 2),
            "events": dict(self.events),
            "seed": [r.to_json() for r in self.seed],
            "evolved": [r.to_json() for r in self.evolved],
            "best": [r.to_json() for r in self.best],
        }


# ---- the search ------------------------------------------------------------------------------


class _Rollouts:
    """Writes and evaluates kernels (cached by problem and source); keeps each problem's best."""

    def __init__(
        self,
        problems: Mapping[str, KernelProblem],
        writer: Writer,
        nvcc: NvccToolchain,
        gpu: GpuRunner | None,
        concurrency: int,
    ) -> None:
        self._problems = problems
        self._writer = writer
        self._nvcc = nvcc
        self._gpu = gpu
        self._sem = asyncio.Semaphore(concurrency)
        self._cache: dict[tuple[str, str], asyncio.Task[KernelEvaluation]] = {}
        self.best: dict[str, ProblemResult] = {}
        self.spent: dict[str, int] = dict.fromkeys(problems, 0)
        self.count = 0

    @property
    def compiles(self) -> int:
        return len(self._cache)

    async def _evaluate(self, source: str, problem: KernelProblem) -> KernelEvaluation:
        async with self._sem:
            return await evaluate_cuda(source, problem, nvcc=self._nvcc, gpu=self._gpu)

    async def run(self, prompt: str, name: str) -> tuple[str, KernelEvaluation]:
        problem = self._problems[name]
        async with self._sem:
            source = await self._writer(prompt, problem)
        key = (name, source)
        task = self._cache.get(key)
        if task is None:
            task = asyncio.ensure_future(self._evaluate(source, problem))
            self._cache[key] = task
        return source, await task

    def record(self, name: str, prompt: str, source: str, ev: KernelEvaluation) -> None:
        self.count += 1
        self.spent[name] += 1
        old = self.best.get(name)
        if old is None or ev.score > old.score:
            self.best[name] = _result(ev, source, prompt, found_at=self.count)


def _problem_of(example_id: str) -> str:
    return example_id.rsplit(":", 1)[0]


async def solve(
    problems: Sequence[KernelProblem],
    budget: int,
    *,
    writer: Writer,
    reflector: Reflector,
    nvcc: NvccToolchain,
    gpu: GpuRunner | None = None,
    seed_prompt: str = KERNEL_SEED_PROMPT,
    progress: Progress | None = None,
    seed: int = 0,
    concurrency: int = 2,
    config: EngineConfig | None = None,
) -> SolveReport:
    """Evolve the ``kernel`` prompt over `problems` within `budget` rollouts (see the module doc).

    Raises KernelSolveError for an empty or duplicated problem list or a non-positive budget.
    Errors of the writer (e.g. `SimWriterError` for a problem it has no variants for) propagate.
    """
    if not problems:
        raise KernelSolveError("no problems to solve")
    by_name = {p.name: p for p in problems}
    if len(by_name) != len(problems):
        dupes = sorted({p.name for p in problems if sum(q.name == p.name for q in problems) > 1})
        raise KernelSolveError(f"problems given more than once: {', '.join(dupes)}")
    if budget < 1:
        raise KernelSolveError(f"budget must be at least 1 rollout, got {budget}")
    say = progress or (lambda _: None)
    started = time.monotonic()
    engine_config = config or EngineConfig(
        holdout_fraction=0.0,
        minibatch_size=min(3, len(problems)),
        perfect_score=1.0 if gpu is not None else _CPU_ONLY_MAX,
        merge_minibatch_size=min(5, len(problems)),
        quote_guard_chars=0,
        # Each problem's validation example is its training example again (one compile): its
        # feedback teaches reflection nothing the training one does not.
        reflect_on_val=False,
    )
    engine = Engine.start(
        {COMPONENT: seed_prompt}, seed=seed, config=engine_config, stop=MaxRollouts(budget)
    )
    engine.add_examples(
        [ExampleSpec(f"{p.name}:train", "train") for p in problems]
        + [ExampleSpec(f"{p.name}:val", "val") for p in problems]
    )
    rollouts = _Rollouts(by_name, writer, nvcc, gpu, concurrency)
    seed_results: dict[str, ProblemResult] = {}
    events: dict[str, int] = {}
    stop_reason = ""
    while True:
        request = engine.next_request(now=time.time())
        for event in engine.take_events():
            events[event.kind] = events.get(event.kind, 0) + 1
        if isinstance(request, (Idle, Finished)):
            stop_reason = f"{type(request).__name__.lower()}: {request.reason}"
            break
        if isinstance(request, Evaluate):
            prompt = request.components[COMPONENT]
            names = [_problem_of(e) for e in request.example_ids]
            done = await asyncio.gather(*(rollouts.run(prompt, n) for n in names))
            outcomes = []
            for ex_id, name, (source, ev) in zip(request.example_ids, names, done, strict=True):
                rollouts.record(name, prompt, source, ev)
                if prompt == seed_prompt and name not in seed_results:
                    seed_results[name] = _result(ev, source, prompt)
                outcomes.append(
                    EvalOutcome(ex_id, ev.score, ev.feedback, source, by_name[name].brief())
                )
            answer: EvalResult | TextAnswer = EvalResult(tuple(outcomes))
        else:
            answer = TextAnswer(await reflector(request))
        new = engine.complete(request.id, answer, now=time.time())
        for event in new:
            events[event.kind] = events.get(event.kind, 0) + 1
            if event.kind == "new_best":
                say(
                    f"new best prompt {event.candidate_id} after {engine.rollouts} rollouts "
                    f"(val mean {engine.mean_val(engine.best.id) or 0.0:.3f})"
                )
        if isinstance(request, Evaluate):
            clean = sum(r.clean for r in rollouts.best.values())
            say(
                f"rollouts {engine.rollouts}/{budget}: {request.purpose} of "
                f"{request.candidate_id}; best kernels clean {clean}/{len(problems)}"
            )
    best_prompt = engine.best.components[COMPONENT]
    # The final tables: every problem under the seed and under the best prompt. Mostly cached;
    # these extra evaluations are not rollouts of the search and are not counted as such.
    final: dict[str, dict[str, ProblemResult]] = {}
    for label, prompt in (("seed", seed_prompt), ("evolved", best_prompt)):
        done = await asyncio.gather(*(rollouts.run(prompt, p.name) for p in problems))
        final[label] = {
            p.name: _result(ev, source, prompt)
            for p, (source, ev) in zip(problems, done, strict=True)
        }
    # The seed row is what the search saw (a non-deterministic writer may answer differently now).
    final["seed"].update(seed_results)
    best = tuple(
        _with_rollouts(rollouts.best[p.name], rollouts.spent[p.name])
        if p.name in rollouts.best
        else _with_rollouts(final["evolved"][p.name], 0)
        for p in problems
    )
    return SolveReport(
        seed_prompt=seed_prompt,
        best_prompt=best_prompt,
        seed=tuple(final["seed"][p.name] for p in problems),
        evolved=tuple(final["evolved"][p.name] for p in problems),
        best=best,
        rollouts=engine.rollouts,
        budget=budget,
        iterations=engine.iteration,
        candidates=len(engine.candidates),
        stop_reason=stop_reason,
        gpu=gpu is not None,
        compiles=rollouts.compiles,
        seconds=time.monotonic() - started,
        events=events,
    )


def _with_rollouts(result: ProblemResult, spent: int) -> ProblemResult:
    return replace(result, rollouts=spent)
