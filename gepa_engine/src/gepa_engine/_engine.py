"""The stepped GEPA engine: a sans-I/O state machine.

The caller loops::

    while True:
        request = engine.next_request(now)
        if isinstance(request, (Idle, Finished)):
            break
        answer = perform(request)           # LLM calls, concurrently if it likes
        events = engine.complete(request.id, answer, now)

Exactly one request is outstanding at a time; asking again returns the same request, so a
caller that crashed after persisting the state simply performs it again. Nothing is counted
until its answer arrives, so nothing is counted twice.

The work is split by concern: `Dataset` (examples, splits, sampler), `Scoreboard` (scores,
exact means, the frontier), `Pool` (candidates, lineage, the best), `Planner` (what to ask
next) and `Answers` (what an answer changes). This class is the public face over them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

from ._answers import Answers, records_for
from ._config import EngineConfig
from ._core import Core
from ._errors import EngineError, ProtocolError
from ._pending import (
    EVAL_PHASES,
    PendingBackfill,
    PendingChild,
    PendingConfirm,
    PendingFull,
    PendingMerge,
    PendingMergeGate,
    PendingParent,
    PendingReflect,
)
from ._planner import Planner
from ._state import EngineState, state_from_json, state_to_json
from ._stop import StopCondition
from ._templates import render_condense, render_merge, render_reflection
from ._types import (
    Answer,
    Candidate,
    EvalResult,
    Evaluate,
    Event,
    ExampleSpec,
    Finished,
    Idle,
    Merge,
    Reflect,
    Request,
    TextAnswer,
)

__all__ = ["Engine"]

_PURPOSE = {
    PendingFull: "full",
    PendingBackfill: "backfill",
    PendingParent: "minibatch-parent",
    PendingChild: "minibatch-child",
    PendingMergeGate: "merge-gate",
    PendingConfirm: "confirm",
}


class Engine:
    """GEPA over a dataset that may grow and shrink between steps."""

    def __init__(
        self,
        state: EngineState,
        *,
        config: EngineConfig | None = None,
        stop: StopCondition | None = None,
    ) -> None:
        self._s = state
        self._c: Core = Core.build(state, config or EngineConfig(), stop)
        self._planner = Planner(self._c)
        self._answers = Answers(self._c, self._planner)

    def _rebuild(self, config: EngineConfig) -> None:
        deferred = self._c.deferred
        self._c = Core.build(self._s, config, self._c.stop)
        self._c.deferred = deferred
        self._planner = Planner(self._c)
        self._answers = Answers(self._c, self._planner)

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        seed_components: Mapping[str, str],
        *,
        seed: int = 0,
        now: float = 0.0,
        config: EngineConfig | None = None,
        stop: StopCondition | None = None,
    ) -> Engine:
        """A fresh engine whose first candidate is `seed_components`."""
        if not seed_components:
            raise EngineError("the seed candidate needs at least one component")
        engine = cls(EngineState(rng=random.Random(seed)), config=config, stop=stop)
        cid = engine._c.pool.new(dict(seed_components), (), "seed", now)
        engine._s.best = cid
        return engine

    @classmethod
    def from_json(
        cls, text: str, *, config: EngineConfig | None = None, stop: StopCondition | None = None
    ) -> Engine:
        return cls(state_from_json(text), config=config, stop=stop)

    def to_json(self) -> str:
        return state_to_json(self._s)

    @property
    def config(self) -> EngineConfig:
        return self._c.config

    @config.setter
    def config(self, value: EngineConfig) -> None:
        """Search with another configuration from the next step on (the state is unchanged);
        the daemon lowers `max_prompt_chars` to what the user's assistants can read."""
        if value != self._c.config:
            self._rebuild(value)

    @property
    def stop(self) -> StopCondition | None:
        """The stop condition; a caller may replace it between steps (e.g. per run)."""
        return self._c.stop

    @stop.setter
    def stop(self, value: StopCondition | None) -> None:
        self._c.stop = value

    # -- read access -----------------------------------------------------------------------

    @property
    def iteration(self) -> int:
        return self._s.iteration

    @property
    def rollouts(self) -> int:
        return self._s.rollouts

    @property
    def best(self) -> Candidate:
        return self._s.candidates[self._s.best]

    @property
    def candidates(self) -> Mapping[str, Candidate]:
        return self._s.candidates

    def budget(self) -> dict[str, float | int]:
        s = self._s
        return {
            "rollouts": s.rollouts,
            "cached_rollouts": s.cached_rollouts,
            "unscored_rollouts": s.unscored_rollouts,
            "reflection_calls": s.reflection_calls,
            "merge_calls": s.merge_calls,
            "cost_usd": s.cost_usd,
            "tokens": s.tokens,
            "iterations": s.iteration,
            "iterations_since_improvement": s.iteration - s.last_improvement,
        }

    @property
    def has_outstanding_request(self) -> bool:
        """Whether a request was handed out and not completed (e.g. before a crash)."""
        return self._s.pending is not None

    def split_of(self, example_id: str) -> str | None:
        return self._c.data.split_of(example_id)

    def is_pending_full(self, candidate: str) -> bool:
        """Whether `candidate` still waits for its full validation evaluation."""
        return candidate in self._s.needs_full_eval

    def frontier(self) -> tuple[str, ...]:
        """The non-dominated candidates, each the sole surviving winner of some example."""
        return self._c.board.survivors()

    def frontier_wins(self, candidate: str) -> int:
        return self._c.board.wins(candidate)

    def front(self, example_id: str) -> frozenset[str]:
        return self._c.board.front(example_id)

    def val_scores(self, candidate: str) -> Mapping[str, float]:
        return self._c.board.scores(candidate)

    def active_examples(self, *splits: str) -> tuple[str, ...]:
        return self._c.data.active(*splits)

    def mean_val(
        self, candidate: str, *, splits: tuple[str, ...] = ("val", "holdout")
    ) -> float | None:
        """Exact mean over the active examples of `splits` that `candidate` has scores for."""
        return self._c.board.mean(candidate, splits)

    def compare(
        self, a: str, b: str, *, splits: tuple[str, ...] = ("val",)
    ) -> tuple[float, float, int]:
        """Means of `a` and `b` over the active examples both have scores for, and how many."""
        return self._c.board.compare(a, b, splits)

    # -- dataset changes -------------------------------------------------------------------

    def add_examples(self, specs: Iterable[ExampleSpec], now: float = 0.0) -> list[Event]:
        """Add examples; an unassigned split is chosen by the engine's split policy."""
        added, revived = self._c.data.add(specs)
        changed = added + revived
        if not changed:
            return []
        self._s.unusable_in_a_row = 0
        return [Event("examples_added", self._s.iteration, None, {"examples": tuple(changed)})]

    def retire_examples(self, ids: Iterable[str]) -> list[Event]:
        retired = self._c.data.retire(ids)
        if not retired:
            return []
        return [Event("examples_retired", self._s.iteration, None, {"examples": tuple(retired)})]

    def retry_unscored(self) -> int:
        """Ask again for every validation result that came back unscored.

        Unscored examples are not re-asked within a run, so a broken judge cannot make the
        engine spin; a caller calls this when the cause may be gone (the daemon: at the start
        of each run). Returns how many (candidate, example) pairs will be asked again.
        """
        return self._c.board.retry_unscored()

    def add_seed_candidate(self, components: Mapping[str, str], now: float = 0.0) -> str:
        """A user's own prompt edit: it enters the pool and competes like any candidate."""
        if set(components) != set(self.best.components):
            raise EngineError(
                "a seed candidate must have the same components as the engine's candidates: "
                f"{sorted(self.best.components)}"
            )
        return self._c.pool.new(dict(components), (), "user-edit", now)

    # -- stepping --------------------------------------------------------------------------

    def next_request(self, now: float = 0.0) -> Request | Idle | Finished:
        """The request to perform next (the same one again until it is completed)."""
        if self._s.pending is None:
            reason = None if self.stop is None else self.stop.reason(self._c.view(now))
            if reason is not None:
                return Finished(reason)
            planned = self._planner.plan(now)
            if planned is not None:
                return planned
        return self._request()

    def complete(self, request_id: int, answer: Answer, now: float = 0.0) -> list[Event]:
        """Feed back the answer to the outstanding request."""
        p = self._s.pending
        if p is None or p.id != request_id:
            want = None if p is None else p.id
            raise ProtocolError(f"request {request_id} is not outstanding (outstanding: {want})")
        wanted = EvalResult if isinstance(p, EVAL_PHASES) else TextAnswer
        if not isinstance(answer, wanted):
            raise ProtocolError(
                f"request {request_id} needs an {wanted.__name__}, got {type(answer).__name__}"
            )
        self._s.pending = None
        a = self._answers
        match p, answer:
            case PendingFull(), EvalResult():
                return a.full(p, answer)
            case PendingBackfill(), EvalResult():
                return a.backfill(p, answer)
            case PendingParent(), EvalResult():
                return a.parent(p, answer)
            case PendingChild(), EvalResult():
                return a.child(p, answer, now)
            case PendingMergeGate(), EvalResult():
                return a.merge_gate(p, answer, now)
            case PendingConfirm(), EvalResult():
                return a.confirm(p, answer)
            case PendingReflect(), TextAnswer():
                return a.reflect(p, answer)
            case PendingMerge(), TextAnswer():
                return a.merge(p, answer)
        raise EngineError(f"no handler for {type(p).__name__}")  # pragma: no cover

    def take_events(self) -> list[Event]:
        """Events produced while planning, for a caller that got `Idle` or `Finished`."""
        return self._c.flush([])

    # -- requests --------------------------------------------------------------------------

    def _request(self) -> Request:
        s = self._s
        p = s.pending
        match p:
            case PendingFull() | PendingBackfill():
                # Validation feedback is learned from too: its traces are wanted.
                traces = self.config.reflect_on_val
                return self._evaluate(p, p.cand, s.candidates[p.cand].components, traces)
            case PendingParent():
                return self._evaluate(p, p.parent, s.candidates[p.parent].components, True)
            case PendingConfirm():
                return self._evaluate(p, p.cand, s.candidates[p.cand].components, True)
            case PendingChild() | PendingMergeGate():
                return self._evaluate(p, "(child)", p.child, isinstance(p, PendingChild))
            case PendingReflect():
                current = p.text or s.candidates[p.parent].components[p.component]
                records = tuple(records_for(self._c, p.parent, p.batch))
                if p.mode == "condense":
                    prompt = render_condense(current, self._c.config.max_prompt_chars)
                    records = ()
                else:
                    prompt = render_reflection(current, records)
                return Reflect(
                    id=p.id,
                    candidate_id=p.parent,
                    component=p.component,
                    current_text=current,
                    records=records,
                    prompt=prompt,
                    mode=p.mode,
                )
            case PendingMerge():
                ta = s.candidates[p.a].components[p.component]
                tb = s.candidates[p.b].components[p.component]
                tanc = s.candidates[p.ancestor].components[p.component]
                return Merge(
                    id=p.id,
                    parent_ids=(p.a, p.b),
                    component=p.component,
                    text_a=ta,
                    text_b=tb,
                    ancestor_text=tanc,
                    prompt=render_merge(tanc, ta, tb),
                )
        raise EngineError("no request is pending")  # pragma: no cover

    def _evaluate(
        self,
        p: PendingFull
        | PendingBackfill
        | PendingParent
        | PendingChild
        | PendingMergeGate
        | PendingConfirm,
        cid: str,
        components: Mapping[str, str],
        traces: bool,
    ) -> Evaluate:
        return Evaluate(
            id=p.id,
            candidate_id=cid,
            components=dict(components),
            example_ids=p.examples,
            capture_traces=traces,
            purpose=_PURPOSE[type(p)],  # type: ignore[arg-type]
        )
