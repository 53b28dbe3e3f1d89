"""The daemon's asyncio main: start everything in order, wait for a stop, undo in reverse.

Start: lock -> stale cleanup -> token -> bind -> store -> prompts -> server -> daemon.json.
Stop (SIGTERM/SIGINT, or the `stop` event): refuse new connections (503) and calls (-32003),
let calls in flight finish, close connections (1001), wait for prompt mutations, remove
daemon.json, close the store, release and remove the lock. daemon.json exists only while the
daemon serves, so a client that finds it (with a live pid) can talk to it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gepad
from gepad.capture import CaptureService, CaptureSettings, capture_methods
from gepad.config import Config
from gepad.daemon._network import bind_listener, ws_url_for
from gepad.daemon._runtime import (
    acquire_lock,
    clean_stale,
    ensure_token,
    remove_discovery,
    write_discovery,
)
from gepad.daemon._seeds import DEFAULT_SEEDS
from gepad.dashboard import DashboardAccess, DashboardHttp, Insight, dashboard_methods
from gepad.delivery import DeliveryService
from gepad.paths import Paths
from gepad.prompts import PromptService
from gepad.server import (
    DaemonInfo,
    Dispatcher,
    NotificationHub,
    RpcServer,
    ServerLimits,
    build_methods,
    prompt_state_to_wire,
)
from gepad.store import Store

if TYPE_CHECKING:
    from gepad.learning import AssistService, OptimizerRunner
    from gepad.llm import LlmWorker
    from gepad.outcomes import OutcomeIngester

__all__ = ["serve"]

log = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def serve(
    config: Config,
    paths: Paths,
    *,
    ready: Callable[[DaemonInfo], None] | None = None,
    stop: asyncio.Event | None = None,
    seeds: Mapping[str, str] = DEFAULT_SEEDS,
) -> None:
    """Run the daemon until `stop` is set (default: until SIGTERM or SIGINT).

    Raises AlreadyRunningError, ConfigError (non-loopback host), DaemonError (cannot bind)
    and SchemaTooNewError/StoreError (database refused) before anything is served.
    """
    loop = asyncio.get_running_loop()
    owns_signals = stop is None
    stop_event = stop if stop is not None else asyncio.Event()
    if owns_signals:
        for sig in _STOP_SIGNALS:
            loop.add_signal_handler(sig, _on_signal, sig, stop_event)
    try:
        async with AsyncExitStack() as stack:
            server, prompts = await _start(config, paths, stack, seeds=seeds, ready=ready)
            await stop_event.wait()
            log.info("stopping")
            if not await server.drain("the daemon is shutting down"):
                log.error("stopping with calls still running; their replies are lost")
            await server.close()
            await prompts.drain()
            # The exit stack now closes the store, removes daemon.json and releases the lock.
    finally:
        if owns_signals:
            for sig in _STOP_SIGNALS:
                loop.remove_signal_handler(sig)
    log.info("stopped")


def _llm_worker(config: Config, stack: AsyncExitStack) -> LlmWorker | None:
    """The model worker every LLM client of the daemon shares (None: calls run in-process).

    Registered before the optimizer and assist start, so it is stopped after them.
    """
    if not config.llm_worker:
        return None
    from gepad.llm import LlmWorker, WorkerSettings

    worker = LlmWorker(WorkerSettings(idle_s=config.llm_worker_idle_s))
    stack.push_async_callback(worker.aclose)
    return worker


async def _start_optimizer(
    config: Config,
    store: Store,
    prompts: PromptService,
    hub: NotificationHub,
    worker: LlmWorker | None,
) -> OptimizerRunner:
    # Imported here: the learning side pulls in the engine; litellm itself loads only on the
    # first model call (in the model worker, by default), so an idle daemon stays small.
    from gepad.engine_settings import engine_config_for
    from gepad.learning import (
        DriftSettings,
        JudgeSettings,
        OptimizerRunner,
        PrequentialSettings,
        RunnerSettings,
    )
    from gepad.llm import LlmSettings

    components = tuple(sorted(prompts.components()))
    runner = OptimizerRunner(
        store,
        prompts,
        LlmSettings.from_config(config),
        RunnerSettings(
            components=components,
            optimize_after_examples=config.optimize_after_examples,
            optimize_every_minutes=config.optimize_every_minutes,
            run_rollouts=config.optimize_run_rollouts,
            daily_budget_usd=config.daily_budget_usd,
            daily_budget_tokens=config.daily_budget_tokens,
            judge=JudgeSettings(
                mode=config.judge_mode,
                repeats=config.judge_repeats,
                temperature=config.judge_temperature,
                calibration_per_run=config.judge_calibration_per_run,
                kappa_threshold=config.judge_kappa_threshold,
            ),
            prequential=PrequentialSettings(
                enabled=config.prequential_enabled, window=config.prequential_window
            ),
            drift=DriftSettings(
                enabled=config.drift_enabled, max_calls_per_run=config.drift_max_calls
            ),
        ),
        engine_configs={c: engine_config_for(config.engine, c) for c in components},
        notify=lambda params: hub.broadcast("optimizer.progress", params),
        llm_attempts=worker,
    )
    await runner.start()
    return runner


def _assist(
    config: Config, store: Store, prompts: PromptService, worker: LlmWorker | None
) -> AssistService:
    # Imported here, like the optimizer: litellm itself loads only on the first assist call.
    from gepad.learning import AssistService
    from gepad.llm import LlmSettings

    return AssistService(store, prompts, LlmSettings.from_config(config), llm_attempts=worker)


def _delivery(config: Config, paths: Paths, prompts: PromptService) -> DeliveryService:
    # deliveries.json sits beside the database; `continue` writes under the user's home.
    return DeliveryService(
        prompts,
        paths.data_dir / "deliveries.json",
        home=Path.home(),
        gepad_home=None if paths.home is None else str(paths.home),
        edits=config.delivery_edits,
    )


async def _start_outcomes(
    config: Config, paths: Paths, store: Store, optimizer: OptimizerRunner | None
) -> OutcomeIngester | None:
    if not config.outcomes_enabled:
        return None
    from gepad.errors import ConfigError, WorkspaceError
    from gepad.outcomes import IngestSettings, OutcomeIngester

    try:
        ingester = OutcomeIngester(
            store,
            IngestSettings.from_config(config),
            config_workspaces=config.workspaces,
            registry_file=paths.data_dir / "workspaces.json",
            on_examples=None if optimizer is None else optimizer.examples_added,
        )
    except WorkspaceError as exc:
        raise ConfigError(f"{paths.config_file}: 'workspaces': {exc}") from None
    await ingester.start()
    return ingester


async def _start_capture(
    config: Config,
    paths: Paths,
    store: Store,
    optimizer: OptimizerRunner | None,
    outcomes: OutcomeIngester | None,
) -> CaptureService:
    # Claude Code's spool, Continue's dev data, git (issue 14); captured Claude Code projects
    # are watched for test reports too, so failures link to what Claude wrote.
    capture = CaptureService(
        store,
        CaptureSettings.from_config(config, paths.spool_dir),
        on_examples=None if optimizer is None else optimizer.examples_added,
        register_workspace=None if outcomes is None else outcomes.add,
    )
    await capture.start()
    return capture


def _on_signal(sig: signal.Signals, stop_event: asyncio.Event) -> None:
    if not stop_event.is_set():
        log.info("received %s", sig.name)
    stop_event.set()


async def _start(
    config: Config,
    paths: Paths,
    stack: AsyncExitStack,
    *,
    seeds: Mapping[str, str],
    ready: Callable[[DaemonInfo], None] | None,
) -> tuple[RpcServer, PromptService]:
    pid = os.getpid()
    lock = acquire_lock(paths.lock_file, paths.discovery_file)
    stack.callback(lock.release)
    clean_stale(paths.discovery_file)
    token = ensure_token(paths.token_file)

    sock = bind_listener(config.host, config.port, allow_non_loopback=config.allow_non_loopback)
    stack.callback(sock.close)
    ws_url = ws_url_for(sock)

    store = await Store.open(paths.db_file, dedupe_window_s=config.dedupe_window_s)
    stack.push_async_callback(_close_store, store)
    prompts = PromptService(store, swap_policy=config.swap_policy, seeds=seeds)
    await prompts.start()

    info = DaemonInfo(
        version=gepad.__version__,
        pid=pid,
        started_at=time.time(),
        ws_url=ws_url,
        home=paths.home_display,
        swap_policy=config.swap_policy,
    )
    hub = NotificationHub(prompt_state_to_wire)
    stack.callback(prompts.subscribe(hub.on_change))
    optimizer = None
    worker = _llm_worker(config, stack)
    if config.optimizer_enabled:
        optimizer = await _start_optimizer(config, store, prompts, hub, worker)
        stack.push_async_callback(optimizer.stop)
    delivery = _delivery(config, paths, prompts)
    await delivery.start()
    stack.push_async_callback(delivery.stop)
    if optimizer is not None:
        # The optimizer's length budget is what every enabled assistant reads whole, unless
        # the user set max_prompt_chars ([engine], or [engine.kernel] for kernels).
        engine = config.engine
        fixed = {
            c
            for c in prompts.components()
            if engine.max_prompt_chars is not None
            or (c == "kernel" and engine.kernel.max_prompt_chars is not None)
        }
        optimizer.set_length_budgets(delivery.max_prompt_chars, fixed=frozenset(fixed))
    outcomes = await _start_outcomes(config, paths, store, optimizer)
    if outcomes is not None:
        stack.push_async_callback(outcomes.stop)
    methods = build_methods(
        store,
        prompts,
        info,
        optimizer=optimizer,
        assist=_assist(config, store, prompts, worker),
        delivery=delivery,
        workspaces=outcomes,
    )
    access = DashboardAccess("http" + ws_url.removeprefix("ws"), port=sock.getsockname()[1])
    insight = Insight(store, prompts, budgets=_budgets(config))
    methods.update({s.name: s for s in dashboard_methods(insight, access, prompts)})
    capture = await _start_capture(config, paths, store, optimizer, outcomes)
    stack.push_async_callback(capture.stop)
    methods.update(capture_methods(capture))
    server = RpcServer(
        Dispatcher(methods),
        hub,
        token=token,
        allowed_origins=config.allowed_origins,
        limits=ServerLimits(
            max_connections=config.max_connections,
            max_message_bytes=config.max_message_bytes,
        ),
        http_hook=DashboardHttp(access, allow_non_loopback=config.dashboard_allow_non_loopback),
    )
    await server.start(sock)
    # Runs before the store closes (exit stack is LIFO) if startup fails after this point.
    stack.push_async_callback(server.close)

    write_discovery(
        paths.discovery_file,
        {
            "pid": pid,
            "ws_url": ws_url,
            "started_at": info.started_at,
            "version": info.version,
            "max_message_bytes": config.max_message_bytes,
        },
    )
    stack.callback(remove_discovery, paths.discovery_file, pid=pid)
    log.info(
        "gepad %s serving %s (pid %d, home %s, db %s, swap_policy %s)",
        info.version,
        ws_url,
        pid,
        info.home,
        paths.db_file,
        config.swap_policy,
    )
    if ready is not None:
        ready(info)
    return server, prompts


def _budgets(config: Config) -> Callable[[], dict[str, Any]]:
    budget = {"daily_usd": config.daily_budget_usd, "daily_tokens": config.daily_budget_tokens}
    return lambda: dict(budget)


async def _close_store(store: Store) -> None:
    try:
        await store.close()
    except Exception:
        log.exception("closing the store failed")
