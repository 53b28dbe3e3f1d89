"""The optimizer runner: when to optimize, within which budgets, and what to tell the user.

A run starts after `optimize_after_examples` new examples, every `optimize_every_minutes` while
some examples have not been optimized on, or on demand (`optimize.run`). It steps each
component's engine until the engine idles, the run's rollout budget is spent, the daily budget
is reached, the user pauses it, or the model fails. Nothing here polls: the loop sleeps on an
event with a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gepa_engine import EngineConfig
from gepad.learning._adapters import BufferedRecorder, StoreCache
from gepad.learning._calibration import Calibrator
from gepad.learning._component import ComponentOptimizer
from gepad.learning._drift import DriftDetector, DriftSettings
from gepad.learning._forget import ForgetService
from gepad.learning._judging import JudgeSettings
from gepad.learning._metric import Metric
from gepad.learning._prequential import Prequential, PrequentialSettings
from gepad.learning._probe import NO_CREDENTIALS_PREFIX, probe_model
from gepad.llm import (
    AttemptRunner,
    CircuitOpenError,
    LlmAuthError,
    LlmClient,
    LlmError,
    LlmSettings,
    LlmUnavailableError,
)
from gepad.prompts import PromptService, PromptState
from gepad.store import Store

__all__ = ["OptimizerRunner", "RunnerSettings"]

log = logging.getLogger(__name__)

# Written when a run starts (with each engine's rollout limit) and when it ends: a start with
# no end after it is a run that a crash or a restart interrupted, and it continues on start-up.
_RUN_STARTED = "optimizer.run.started"
_RUN_ENDED = "optimizer.run.ended"

MODEL_HINT = (
    "set task_model / reflection_model (and api_base) in config.toml to a reachable model, "
    "e.g. start Ollama (`ollama serve`, `ollama pull qwen2.5-coder:7b`) or point api_base at "
    "any OpenAI-compatible server; keys come from OPENAI_API_KEY, ANTHROPIC_API_KEY, ..."
)


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    components: tuple[str, ...] = ("general",)
    optimize_after_examples: int = 5
    optimize_every_minutes: float = 30.0
    run_rollouts: int = 200
    daily_budget_usd: float = 1.0
    daily_budget_tokens: int = 2_000_000
    enabled: bool = True
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    prequential: PrequentialSettings = field(default_factory=PrequentialSettings)
    drift: DriftSettings = field(default_factory=DriftSettings)


def _start_of_day(now: float) -> float:
    day = dt.datetime.fromtimestamp(now).date()
    return dt.datetime.combine(day, dt.time()).timestamp()


def _start_of_next_day(now: float) -> float:
    # Not start-of-day + 24 h: a day with a daylight-saving change is 23 or 25 hours long.
    day = dt.datetime.fromtimestamp(now).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time()).timestamp()


class OptimizerRunner:
    def __init__(
        self,
        store: Store,
        prompts: PromptService,
        llm_settings: LlmSettings,
        settings: RunnerSettings,
        *,
        engine_configs: Mapping[str, EngineConfig] | None = None,
        notify: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.time,
        llm_attempts: AttemptRunner | None = None,
    ) -> None:
        self._store = store
        self._prompts = prompts
        self._settings = settings
        self._clock = clock
        self._notify = notify or (lambda _: None)
        self._recorder = BufferedRecorder()
        self._llm = LlmClient(
            llm_settings,
            self._recorder,
            cache=StoreCache(store),
            clock=clock,
            attempts=llm_attempts,
        )
        metric = Metric(self._llm, judge=settings.judge)
        self._metric = metric
        self._calibrator = Calibrator(
            store,
            metric,
            judge_model=self._llm.model_for("judge"),
            per_run=settings.judge.calibration_per_run,
            threshold=settings.judge.kappa_threshold,
            recorder=self._recorder,
        )
        self._prequential = Prequential(
            store, prompts, metric, self._recorder, settings.prequential, clock=clock
        )
        self._optimizers = {
            c: ComponentOptimizer(
                c,
                store=store,
                prompts=prompts,
                llm=self._llm,
                recorder=self._recorder,
                metric=metric,
                config=(engine_configs or {}).get(c) or EngineConfig(),
                clock=clock,
            )
            for c in settings.components
        }
        # Users change their minds: contradicted examples are retired before each sync.
        self._drift = DriftDetector(
            store, self._llm, self._recorder, settings.drift,
            over_budget=self._budget_spent, clock=clock,
        )  # fmt: skip
        self.forget = ForgetService(
            store, prompts, self._llm, self._recorder, on_change=self.examples_changed
        )
        self._wake = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._state = "idle" if settings.enabled else "disabled"
        self._reason: str | None = None
        self._paused = False
        self._pause_until = 0.0
        self._forced_budget: int | None = None
        # Rollout counts each engine may reach in a run that failed and waits to be retried.
        self._run_limits: dict[str, int] = {}
        self._force = False
        self._new_examples = 0
        self._last_run_at: float | None = None
        self._last_error: str | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self._calibrator.load()
        await self._drift.load()
        # Before the engines load: an example not scored yet must not reach them.
        await self._prequential.load(list(self._optimizers.values()))
        for opt in self._optimizers.values():
            await opt.load()
            self._prequential.report_unscorable(opt)
        if self._settings.enabled:
            await self._probe()
        self._unsubscribe = self._prompts.subscribe(self._on_prompt_change)
        if self._settings.enabled:
            # A daily budget spent before a restart still holds, and status must say so.
            await self._pause_if_over_budget()
            unfinished = await self._unfinished_run()
            if unfinished is None:  # no run recorded: a request left outstanding tells
                interrupted = any(self._interrupted(o) for o in self._optimizers.values())
            else:  # a run that ended (paused, failed) is not resumed, outstanding request or not
                interrupted = bool(unfinished)
            self._task = asyncio.create_task(self._loop(), name="gepad-optimizer")
            # A run interrupted by a crash or restart continues at once, with its own limits.
            if interrupted:
                self._run_limits = unfinished or {}
                self._force = True
                self._wake.set()

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # ------------------------------------------------------------------ control

    def examples_added(self, count: int = 1) -> None:
        self._new_examples += count
        if self._new_examples >= self._settings.optimize_after_examples:
            self._wake.set()

    async def examples_changed(self) -> None:
        """Examples were retired or restored: every engine follows now, not at the next run
        (a retired example stops counting at once)."""
        await self._drift.refresh()
        for opt in self._optimizers.values():
            await opt.sync_examples(retry_unscored=False)

    def run_now(self, budget: int | None = None) -> dict[str, Any]:
        self._force = True
        self._forced_budget = budget
        self._run_limits = {}
        self._paused = False
        self._pause_until = 0.0
        self._wake.set()
        return self.status()

    def pause(self) -> dict[str, Any]:
        self._paused = True
        self._set_state("paused", "paused by the user (gepad optimize --resume)")
        return self.status()

    def resume(self) -> dict[str, Any]:
        self._paused = False
        self._pause_until = 0.0
        self._set_state("idle", None)
        self._wake.set()
        return self.status()

    def status(self) -> dict[str, Any]:
        s = self._settings
        llm = self._llm.settings
        return {
            "state": self._state,
            "reason": self._reason,
            "hint": MODEL_HINT if self._state in ("waiting-for-model", "auth-error") else None,
            "models": {
                "task": llm.model_for("task"),
                "reflection": llm.model_for("reflection"),
                "judge": llm.model_for("judge"),
            },
            "breaker": self._llm.breaker_state(),
            "last_error": self._last_error,
            "last_run_at": self._last_run_at,
            "pending_examples": self._new_examples,
            "schedule": {
                "after_examples": s.optimize_after_examples,
                "every_minutes": s.optimize_every_minutes,
                "run_rollouts": s.run_rollouts,
            },
            "budget": {"daily_usd": s.daily_budget_usd, "daily_tokens": s.daily_budget_tokens},
            "paused_until": self._pause_until or None,
            "components": {c: o.status() for c, o in self._optimizers.items()},
            "judge": self._judge_status(),
            "prequential": self._prequential.summary(),
            "drift": self._drift.summary(),
        }

    async def usage_today(self) -> dict[str, Any]:
        usage = await self._store.llm_usage_since(_start_of_day(self._clock()))
        return {
            "calls": usage.calls,
            "tokens": usage.input_tokens + usage.output_tokens,
            "cost_usd": usage.cost_usd,
        }

    # ------------------------------------------------------------------ the loop

    async def _loop(self) -> None:
        while True:
            timeout = None
            if self._new_examples > 0:
                timeout = self._settings.optimize_every_minutes * 60
            if self._pause_until:
                timeout = max(1.0, self._pause_until - self._clock())
            timed_out = False
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                timed_out = True
            self._wake.clear()
            if self._paused:
                # Paused by the user: nothing runs, not even a retry, until resume or run_now
                # (both of which clear any pause-until anyway).
                self._pause_until = 0.0
                await self._abandon_retry()
                continue
            if self._pause_until and self._clock() < self._pause_until:
                continue
            self._pause_until = 0.0
            due = (
                self._force
                or timed_out
                or self._new_examples >= self._settings.optimize_after_examples
            )
            if not due:
                continue
            budget = self._forced_budget or self._settings.run_rollouts
            self._force = False
            self._forced_budget = None
            try:
                await self._run(budget)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the daemon must outlive any optimizer bug
                log.exception("optimizer run failed")
                self._last_error = f"{type(exc).__name__}: {exc}"
                self._set_state("error", self._last_error)

    async def _probe(self) -> bool:
        """Check every configured model cheaply; on a problem, say so and wait for a fix."""
        llm = self._llm.settings
        for purpose in ("task", "reflection", "judge"):
            model = llm.model_for(purpose)
            problem = await probe_model(model, llm.api_base_for(model))
            if problem is not None and problem.startswith(NO_CREDENTIALS_PREFIX):
                self._last_error = problem
                self._set_state("auth-error", f"the {purpose} model has no credentials: {problem}")
                return False
            if problem is not None:
                self._last_error = problem
                self._set_state(
                    "waiting-for-model", f"the {purpose} model is not usable: {problem}"
                )
                return False
        if self._state == "waiting-for-model":
            self._set_state("idle", None)
        return True

    async def _run(self, budget: int) -> None:
        self._new_examples = 0
        # "running" before anything is awaited: a client that sees the new last_run_at must
        # not see the previous run's final state and take this run for finished.
        self._set_state("running", None)
        self._last_run_at = self._clock()
        limits, self._run_limits = self._run_limits, {}
        if not limits:
            # A new run. A retried or resumed one keeps the limits it started with rather than
            # getting a fresh budget on top.
            for component, opt in self._optimizers.items():
                engine = opt.engine
                assert engine is not None
                limits[component] = engine.rollouts + budget
            await self._store.log_event(None, _RUN_STARTED, {"limits": limits})
        stopping = False
        try:
            await self._run_steps(budget, limits)
        except asyncio.CancelledError:
            stopping = True  # the daemon is stopping: its next start continues this run
            raise
        finally:
            if not stopping and not self._run_limits:  # not waiting to be retried either
                try:
                    await self._store.log_event(None, _RUN_ENDED, {"limits": limits})
                except Exception:  # at worst the next start resumes a run with nothing left
                    log.exception("could not record the end of an optimizer run")

    async def _abandon_retry(self) -> None:
        """A failed run waiting to be retried ends when the user pauses the optimizer."""
        if not self._run_limits:
            return
        limits, self._run_limits = self._run_limits, {}
        self._force = False
        self._forced_budget = None
        try:
            await self._store.log_event(None, _RUN_ENDED, {"limits": limits})
        except Exception:  # at worst the next start resumes the abandoned run
            log.exception("could not record the end of an optimizer run")

    async def _unfinished_run(self) -> dict[str, int] | None:
        """The limits of a run that started and never ended: empty when the last run ended,
        None when no run was ever recorded."""
        started = await self._store.events(limit=1, kind=_RUN_STARTED)
        if not started:
            return None
        ended = await self._store.events(limit=1, kind=_RUN_ENDED)
        if ended and ended[0].id > started[0].id:
            return {}
        limits = started[0].payload.get("limits")
        if not isinstance(limits, dict):
            return {}
        return {
            str(c): n
            for c, n in limits.items()
            if c in self._optimizers and isinstance(n, int) and not isinstance(n, bool)
        }

    async def _run_steps(self, budget: int, limits: dict[str, int]) -> None:
        if not await self._probe():
            self._schedule_retry(budget, limits)
            return
        for component, opt in self._optimizers.items():
            engine = opt.engine
            assert engine is not None
            limit = limits.setdefault(component, engine.rollouts + budget)
            try:
                # Test before train: new examples are scored with the current prompt first.
                if await self._prequential.score_pending(opt, self._over_daily_budget):
                    self._progress(component, "prequential", None)
            except LlmError as exc:
                self._model_failed(exc, budget, limits)
                return
            if await self._pause_if_over_budget():
                return
            await self._check_drift(component, opt)
            await opt.sync_examples()
            while True:
                if self._paused:
                    return
                if await self._pause_if_over_budget():
                    return
                try:
                    report = await opt.step(limit)
                except LlmError as exc:
                    self._model_failed(exc, budget, limits)
                    return
                self._progress(component, report.kind, report.reason)
                if report.kind != "step":
                    break
        await self._calibrate()
        self._set_state("idle", None)

    def _model_failed(self, exc: LlmError, budget: int, limits: dict[str, int]) -> None:
        """The state a model error leaves the optimizer in, and a retry where one helps."""
        self._last_error = str(exc)
        if isinstance(exc, LlmAuthError):
            self._paused = True
            self._set_state("auth-error", f"the model refused the credentials: {exc}")
        elif isinstance(exc, CircuitOpenError):
            # The breaker's reason starts with the last failure's outcome: a model that kept
            # timing out is slow, not unreachable.
            last = _condition(exc.reason.split(":", 1)[0].strip())
            self._set_state("waiting-for-model", f"{last}, retrying later: {exc}")
            self._schedule_retry(budget, limits)
        elif isinstance(exc, LlmUnavailableError):
            self._set_state("waiting-for-model", f"{_condition(exc.outcome)}: {exc}")
            self._schedule_retry(budget, limits)
        else:
            self._set_state("error", str(exc))

    def _schedule_retry(self, budget: int, limits: dict[str, int]) -> None:
        """Run again after the cooldown, as the same run: same budget, same limits."""
        cooldown = self._llm.settings.breaker_cooldown_s
        self._pause_until = self._clock() + cooldown
        self._force = True
        self._forced_budget = budget
        self._run_limits = limits

    async def _pause_if_over_budget(self) -> bool:
        over = await self._over_daily_budget()
        if over is None:
            return False
        self._pause_until = _start_of_next_day(self._clock()) + 1
        self._set_state("budget-exhausted", over)
        return True

    async def _over_daily_budget(self) -> str | None:
        s = self._settings
        usage = await self.usage_today()
        if s.daily_budget_usd > 0 and usage["cost_usd"] >= s.daily_budget_usd:
            return f"daily budget of ${s.daily_budget_usd:.2f} reached; resumes tomorrow"
        if s.daily_budget_tokens > 0 and usage["tokens"] >= s.daily_budget_tokens:
            return f"daily budget of {s.daily_budget_tokens} tokens reached; resumes tomorrow"
        return None

    async def _budget_spent(self) -> bool:
        return await self._over_daily_budget() is not None

    async def _check_drift(self, component: str, opt: ComponentOptimizer) -> None:
        try:
            pairs = await self._drift.check(component)
            engine = opt.engine
            if pairs and engine is not None:
                best = engine.best.components.get(component)
                current = best if best is not None else self._prompts.current(component).text
                text = await self._drift.superseded(component, current, pairs)
                if text is not None:  # a candidate like any other: it must earn its place
                    opt.add_candidate(text)
        except Exception:  # a failed check must not stop the run; it is retried next run
            log.exception("drift check for %s failed", component)

    async def _calibrate(self) -> None:
        """A few labelled examples re-judged after each run (judge_calibration_per_run)."""
        if await self._over_daily_budget() is not None:
            return
        try:
            await self._calibrator.run()
        except LlmError as exc:  # the run itself succeeded; the measure waits for the next one
            log.warning("judge calibration skipped: %s", exc)

    def _judge_status(self) -> dict[str, Any]:
        judge = self._metric.judge
        return {
            "mode": judge.settings.mode,
            "repeats": judge.settings.repeats,
            "cost": judge.cost(),
            "calibration": self._calibrator.summary(),
        }

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _interrupted(opt: ComponentOptimizer) -> bool:
        engine = opt.engine
        return engine is not None and engine.has_outstanding_request

    def set_length_budgets(
        self, room: Callable[[str], int | None], *, fixed: frozenset[str] = frozenset()
    ) -> None:
        """Cap each component's prompt at what its delivery targets read whole (`room`),
        except the components whose length budget the user set (`fixed`)."""
        for component, opt in self._optimizers.items():
            if component not in fixed:
                opt.length_budget = lambda c=component: room(c)

    def _on_prompt_change(self, state: PromptState) -> None:
        opt = self._optimizers.get(state.component)
        if opt is not None and state.source == "user-edit":
            opt.add_user_edit(state.text)
            self._wake.set()
        # A hand edit in a delivered file waits as a proposal; it competes from now on.
        if opt is not None and state.pending is not None:
            task = asyncio.get_running_loop().create_task(opt.seed_if_user_proposal())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            self._wake.set()

    def _set_state(self, state: str, reason: str | None) -> None:
        self._state = state
        self._reason = reason
        self._notify({"state": state, "reason": reason})

    def _progress(self, component: str, kind: str, reason: str | None) -> None:
        opt = self._optimizers[component]
        self._notify(
            {
                "state": self._state,
                "component": component,
                "step": kind,
                "reason": reason,
                **opt.status(),
                "prequential": self._prequential.brief(component),
            }
        )


def _condition(outcome: str) -> str:
    """A failed call's outcome in words: slow and stalled models are not unreachable ones."""
    if outcome == "timeout":
        return "model too slow (no complete answer within llm_timeout_s)"
    if outcome == "stalled":
        return "model stalled (no token within llm_stall_timeout_s)"
    if outcome == "rate_limited":
        return "model rate-limited"
    return "model unreachable"
