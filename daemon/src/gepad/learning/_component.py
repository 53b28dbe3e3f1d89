"""One prompt component's optimizer: the engine, driven and persisted step by step.

Each step performs the engine's one outstanding request, feeds back the answer, and commits the
engine's state, the step's LLM call records and its events in one transaction. A crash loses at
most the step in flight; on restart the engine hands out that same request again, and the
response cache makes performing it again free. Nothing is counted twice because the engine
counts a rollout only when its answer is fed back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from gepa_engine import (
    Engine,
    EngineConfig,
    EngineError,
    EvalOutcome,
    EvalResult,
    Evaluate,
    Event,
    ExampleSpec,
    Finished,
    Idle,
    MaxRollouts,
    Merge,
    Reflect,
    TextAnswer,
)
from gepad.learning._adapters import BufferedRecorder, to_store_call
from gepad.learning._metric import SCORED_KINDS, Metric
from gepad.llm import LlmClient
from gepad.prompts import PromptService
from gepad.store import Example, Store

__all__ = ["ComponentOptimizer", "StepReport"]

log = logging.getLogger(__name__)

_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class StepReport:
    kind: str  # "step", "idle" or "finished"
    reason: str | None
    events: tuple[Event, ...]


class ComponentOptimizer:
    def __init__(
        self,
        component: str,
        *,
        store: Store,
        prompts: PromptService,
        llm: LlmClient,
        recorder: BufferedRecorder,
        metric: Metric,
        config: EngineConfig,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.component = component
        self._store = store
        self._prompts = prompts
        self._llm = llm
        self._recorder = recorder
        self._metric = metric
        self._config = config
        self._seed = seed
        self._clock = clock
        self._engine: Engine | None = None
        self._examples: dict[str, Example] = {}
        # The longest prompt every assistant it is delivered to reads whole (None: no limit);
        # set by the daemon once delivery runs, unless the user fixed max_prompt_chars.
        self.length_budget: Callable[[], int | None] | None = None
        # Examples the engine must not learn from yet (True: held back), set by the
        # prequential measure until each has its test-before-train score.
        self.hold: Callable[[str], bool] | None = None

    @property
    def engine(self) -> Engine | None:
        return self._engine

    async def load(self) -> None:
        """Restore the engine from the store, or start one from the current prompt."""
        text = await self._store.load_engine_state(self.component)
        if text is not None:
            try:
                self._engine = Engine.from_json(text, config=self._config)
                log.info(
                    "optimizer for %r resumed at iteration %d",
                    self.component,
                    self._engine.iteration,
                )
            except EngineError:
                log.exception(
                    "stored optimizer state for %r is unusable; starting afresh", self.component
                )
        if self._engine is None:
            self._engine = self._start_engine(self._prompts.current(self.component).text)
            await self._store.save_engine_state(None, self.component, self._engine.to_json())
        current = self._prompts.current(self.component)
        if current.source == "user-edit":
            # An edit made while the optimizer was down (or lost in a crash) still seeds it.
            self.add_user_edit(current.text)
        # So does a proposal waiting for approval (a hand edit in a delivered file).
        await self.seed_if_user_proposal()
        await self.sync_examples()
        await self._reconcile_best()

    async def sync_examples(self, *, retry_unscored: bool = True) -> int:
        """Bring the engine's dataset in line with the store; returns how many were added."""
        engine = self._require()
        # Results that came back unscored (a judge outage, say) are asked for again each run.
        if retry_unscored:
            engine.retry_unscored()
        rows = await self.all_examples()
        hold = self.hold
        known = set(engine.active_examples("train", "val", "holdout"))
        active = {
            str(e.id): e
            for e in rows
            if e.component == self.component
            and e.kind in SCORED_KINDS
            and (hold is None or str(e.id) in known or not hold(str(e.id)))
        }
        self._examples = active
        new = [ExampleSpec(ex_id) for ex_id in active if ex_id not in known]
        gone = [ex_id for ex_id in known if ex_id not in active]
        if new:
            engine.add_examples(new, now=self._clock())
        if gone:
            engine.retire_examples(gone)
        if new or gone:
            await self._store.save_engine_state(None, self.component, engine.to_json())
        return len(new)

    async def all_examples(self) -> list[Example]:
        rows: list[Example] = []
        after = 0
        while True:
            page = await self._store.list_examples(limit=_PAGE, after_id=after)
            rows.extend(page)
            if len(page) < _PAGE:
                return rows
            after = page[-1].id

    def _effective_config(self) -> EngineConfig:
        room = None if self.length_budget is None else self.length_budget()
        if room is None or room >= self._config.max_prompt_chars:
            return self._config
        return replace(self._config, max_prompt_chars=max(1, room))

    async def seed_if_user_proposal(self) -> None:
        """Seed the pending version when the user wrote it (not when the optimizer did)."""
        pending = self._prompts.current(self.component).pending
        if pending is None or self._engine is None:
            return
        version = await self._prompts.version(self.component, pending.version)
        if version is not None and version.source == "user-edit":
            self.add_user_edit(pending.text)

    def _start_engine(self, seed_text: str) -> Engine:
        return Engine.start(
            {self.component: seed_text}, seed=self._seed, now=self._clock(), config=self._config
        )

    def add_user_edit(self, text: str) -> None:
        engine = self._require()
        fresh = engine.rollouts == 0 and len(engine.candidates) == 1
        if fresh and engine.best.components.get(self.component) != text:
            # Nothing was learned from the built-in seed yet: the user's own prompt becomes the
            # seed instead of a rival of it, so every proposal builds on what the user wrote.
            # The examples come back with the next `sync_examples` (every run starts with one);
            # the state is saved with the next commit, and a crash before it redoes this on load.
            self._engine = self._start_engine(text)
            return
        self.add_candidate(text)

    def add_candidate(self, text: str) -> None:
        """A prompt from outside the search (the drift rewrite) joins the pool as a rival."""
        engine = self._require()
        if any(c.components.get(self.component) == text for c in engine.candidates.values()):
            return
        engine.add_seed_candidate({self.component: text}, now=self._clock())

    async def step(self, rollout_budget: int) -> StepReport:
        """Perform one request; commit its results and the engine state together."""
        engine = self._require()
        engine.stop = MaxRollouts(rollout_budget)
        engine.config = self._effective_config()
        now = self._clock()
        request = engine.next_request(now)
        if isinstance(request, (Idle, Finished)):
            events = tuple(engine.take_events())
            await self._commit(events)
            kind = "idle" if isinstance(request, Idle) else "finished"
            return StepReport(kind, request.reason, events)
        try:
            answer = await self._perform(request)
        except BaseException:
            # Failed attempts are recorded too; the request stays outstanding for next time.
            await self._commit(())
            raise
        events = tuple(engine.complete(request.id, answer, self._clock()))
        await self._commit(events)
        await self._propose_new_bests(events)
        return StepReport("step", None, events)

    async def _perform(self, request: Evaluate | Reflect | Merge) -> EvalResult | TextAnswer:
        if isinstance(request, Evaluate):
            text = request.components[self.component]
            ids = [e for e in request.example_ids if e in self._examples]
            results = await asyncio.gather(
                *(self._metric.rollout(text, self._examples[e]) for e in ids)
            )
            outcomes = [
                EvalOutcome(e, r.score, r.feedback, r.output, r.input)
                for e, r in zip(ids, results, strict=True)
            ]
            # An example retired while asked for is answered as unscored, never re-asked.
            outcomes += [
                EvalOutcome(e, None) for e in request.example_ids if e not in self._examples
            ]
            return EvalResult(tuple(outcomes))
        purpose = "merge" if isinstance(request, Merge) else "reflection"
        result = await self._llm.complete(purpose, [{"role": "user", "content": request.prompt}])
        tokens = result.usage.input_tokens + result.usage.output_tokens
        return TextAnswer(result.text, cost_usd=result.cost_usd, tokens=tokens)

    async def _commit(self, events: tuple[Event, ...]) -> None:
        engine = self._require()
        records = self._recorder.take()
        async with self._store.transaction() as tx:
            await self._store.save_engine_state(tx, self.component, engine.to_json())
            for record in records:
                await self._store.record_llm_call(tx, to_store_call(record, self.component))
            for event in events:
                await self._store.log_event(
                    tx,
                    f"optimizer.{event.kind}",
                    _event_payload(self.component, event, engine.rollouts),
                )

    async def _propose_new_bests(self, events: tuple[Event, ...]) -> None:
        if any(e.kind == "new_best" for e in events):
            await self._propose_best()

    async def _reconcile_best(self) -> None:
        """After a crash between commit and proposal, propose the best that was never offered."""
        engine = self._require()
        best = engine.best
        if best.origin == "seed":
            return
        versions = await self._prompts.history(self.component, limit=50)
        if not any(v.candidate_id == best.id for v in versions):
            await self._propose_best()

    async def _propose_best(self) -> None:
        engine = self._require()
        best = engine.best
        text = best.components[self.component]
        if text == self._prompts.current(self.component).text:
            return
        score = engine.mean_val(best.id)
        outcome = await self._prompts.propose(
            self.component, text, score=score, candidate_id=best.id
        )
        log.info(
            "optimizer for %r proposed %s (score %s): %s",
            self.component,
            best.id,
            score,
            outcome.action,
        )

    def status(self) -> dict[str, Any]:
        engine = self._engine
        if engine is None:
            return {"loaded": False}
        best = engine.best
        budget = engine.budget()
        return {
            "iteration": engine.iteration,
            "rollouts": budget["rollouts"],
            "reflection_calls": budget["reflection_calls"],
            "merge_calls": budget["merge_calls"],
            "best_candidate": best.id,
            "best_score": engine.mean_val(best.id),
            "candidates": len(engine.candidates),
            "frontier_size": len(engine.frontier()),
            "examples": {
                split: len(engine.active_examples(split)) for split in ("train", "val", "holdout")
            },
        }

    def _require(self) -> Engine:
        if self._engine is None:
            raise RuntimeError(f"optimizer for {self.component!r} is not loaded")
        return self._engine


def _event_payload(component: str, event: Event, rollouts: int) -> dict[str, Any]:
    detail = {k: (list(v) if isinstance(v, tuple) else v) for k, v in event.detail.items()}
    return {
        "component": component,
        # Rollouts spent when it happened: the dashboard's learning curve is drawn over them.
        "rollouts": rollouts,
        "iteration": event.iteration,
        "candidate": event.candidate_id,
        "detail": detail,
    }


Callback = Callable[[dict[str, Any]], Awaitable[None] | None]
