"""The JSON-RPC methods: validate params (pydantic), call the store / prompt service, encode."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from gepad.errors import (
    DeliveryConflictError,
    DeliveryError,
    ModelUnavailableError,
    WorkspaceError,
)
from gepad.prompts import PromptService
from gepad.server._dispatch import MethodSpec, Result, Subscribe
from gepad.server._encode import prompt_state_to_wire, prompt_version_to_wire
from gepad.server._examples import examples_methods
from gepad.server._protocol import CONFLICT, INVALID_PARAMS, NOT_FOUND, UNAVAILABLE, RpcError
from gepad.server._review import review_methods
from gepad.server._wire import (
    ApproveParams,
    AssistRunParams,
    CompileResultFeedback,
    CorrectionFeedback,
    DeliverDisableParams,
    DeliverEnableParams,
    DeliverStatusParams,
    EmptyParams,
    Feedback,
    GenerationRecordParams,
    HistoryParams,
    OptimizerRunParams,
    PinParams,
    PromptGetParams,
    RollbackParams,
    SetParams,
    SubscribeParams,
    TestResultFeedback,
    WorkspaceParams,
    parse_feedback,
)
from gepad.store import EXAMPLE_KINDS, NewExample, NewGeneration, Store

__all__ = [
    "AssistControl",
    "DaemonInfo",
    "DeliveryControl",
    "OptimizerControl",
    "WorkspaceControl",
    "build_methods",
]


class OptimizerControl(Protocol):
    """What the server needs of the optimizer runner (kept abstract: the server stays light)."""

    def status(self) -> dict[str, Any]: ...
    async def usage_today(self) -> dict[str, Any]: ...
    def examples_added(self, count: int = 1) -> None: ...
    async def examples_changed(self) -> None: ...
    def run_now(self, budget: int | None = None) -> dict[str, Any]: ...
    def pause(self) -> dict[str, Any]: ...
    def resume(self) -> dict[str, Any]: ...


class AssistControl(Protocol):
    """What the server needs of the assistant (`gepad.learning.AssistService`)."""

    async def run(
        self,
        *,
        component: str,
        instruction: str,
        context: str | None,
        file: str | None,
        language: str | None,
        workspace: str | None,
    ) -> dict[str, Any]: ...


class DeliveryControl(Protocol):
    """What the server needs of `gepad.delivery.DeliveryService`."""

    async def enable(self, workspace: str, target: str, component: str = ...) -> dict[str, Any]: ...
    async def disable(self, workspace: str, target: str) -> dict[str, Any]: ...
    def status(self, workspace: str | None = None) -> dict[str, Any]: ...


class WorkspaceControl(Protocol):
    """What the server needs of `gepad.outcomes.OutcomeIngester` (workspace registration)."""

    async def add(self, path: str) -> dict[str, Any]: ...
    async def remove(self, path: str) -> dict[str, Any]: ...
    def listing(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class DaemonInfo:
    """Facts about this daemon process, reported by `status.get` and written to daemon.json."""

    version: str
    pid: int
    started_at: float
    ws_url: str
    home: str
    swap_policy: str


class _Methods:
    def __init__(
        self,
        store: Store,
        prompts: PromptService,
        info: DaemonInfo,
        clock: Callable[[], float],
        optimizer: OptimizerControl | None = None,
        assist: AssistControl | None = None,
        delivery: DeliveryControl | None = None,
        workspaces: WorkspaceControl | None = None,
    ) -> None:
        self._workspaces = workspaces
        self._delivery = delivery
        self._optimizer = optimizer
        self._assist = assist
        self._store = store
        self._prompts = prompts
        self._info = info
        self._clock = clock

    async def status_get(self, _: EmptyParams) -> dict[str, Any]:
        counts = await self._store.count_examples_by_kind()
        examples = {kind: int(counts.get(kind, 0)) for kind in EXAMPLE_KINDS}
        for kind, n in counts.items():
            examples.setdefault(kind, int(n))
        info = self._info
        return {
            "version": info.version,
            "pid": info.pid,
            "started_at": info.started_at,
            "uptime_s": max(0.0, self._clock() - info.started_at),
            "ws_url": info.ws_url,
            "home": info.home,
            "examples": examples,
            "examples_total": sum(examples.values()),
            "components": [
                prompt_state_to_wire(self._prompts.current(c)) for c in self._prompts.components()
            ],
            "swap_policy": info.swap_policy,
            "optimizer": await self._optimizer_status(),
        }

    async def _optimizer_status(self) -> dict[str, Any]:
        if self._optimizer is None:
            return {"state": "disabled", "reason": "the optimizer is not running in this daemon"}
        status = self._optimizer.status()
        status["today"] = await self._optimizer.usage_today()
        return status

    def _require_optimizer(self) -> OptimizerControl:
        if self._optimizer is None:
            raise RpcError(UNAVAILABLE, "the optimizer is not running in this daemon")
        return self._optimizer

    async def optimizer_status(self, _: EmptyParams) -> dict[str, Any]:
        self._require_optimizer()
        return await self._optimizer_status()

    async def optimizer_run(self, p: OptimizerRunParams) -> dict[str, Any]:
        return self._require_optimizer().run_now(p.budget)

    async def optimizer_pause(self, _: EmptyParams) -> dict[str, Any]:
        return self._require_optimizer().pause()

    async def optimizer_resume(self, _: EmptyParams) -> dict[str, Any]:
        return self._require_optimizer().resume()

    async def assist_run(self, p: AssistRunParams) -> dict[str, Any]:
        if self._assist is None:
            raise RpcError(UNAVAILABLE, "the assistant is not running in this daemon")
        try:
            return await self._assist.run(
                component=p.component,
                instruction=p.instruction,
                context=p.context,
                file=p.file,
                language=p.language,
                workspace=p.workspace,
            )
        except ModelUnavailableError as exc:
            raise RpcError(UNAVAILABLE, str(exc)) from None

    def _require_delivery(self) -> DeliveryControl:
        if self._delivery is None:
            raise RpcError(UNAVAILABLE, "delivery is not running in this daemon")
        return self._delivery

    async def deliver_enable(self, p: DeliverEnableParams) -> dict[str, Any]:
        with _delivery_errors():
            return await self._require_delivery().enable(p.workspace, p.target, p.component)

    async def deliver_disable(self, p: DeliverDisableParams) -> dict[str, Any]:
        with _delivery_errors():
            return await self._require_delivery().disable(p.workspace, p.target)

    async def deliver_status(self, p: DeliverStatusParams) -> dict[str, Any]:
        with _delivery_errors():
            return self._require_delivery().status(p.workspace)

    def _require_workspaces(self) -> WorkspaceControl:
        if self._workspaces is None:
            raise RpcError(UNAVAILABLE, "outcome ingestion is not running in this daemon")
        return self._workspaces

    async def workspace_add(self, p: WorkspaceParams) -> dict[str, Any]:
        try:
            return await self._require_workspaces().add(p.path)
        except WorkspaceError as exc:
            raise RpcError(INVALID_PARAMS, f"invalid params: 'path': {exc}") from None

    async def workspace_remove(self, p: WorkspaceParams) -> dict[str, Any]:
        try:
            return await self._require_workspaces().remove(p.path)
        except WorkspaceError as exc:
            raise RpcError(INVALID_PARAMS, f"invalid params: 'path': {exc}") from None

    async def workspace_list(self, _: EmptyParams) -> dict[str, Any]:
        return self._require_workspaces().listing()

    async def prompt_get(self, p: PromptGetParams) -> dict[str, Any]:
        return prompt_state_to_wire(self._prompts.current(p.component))

    async def prompt_history(self, p: HistoryParams) -> dict[str, Any]:
        versions = await self._prompts.history(p.component, limit=p.limit)
        return {
            "component": p.component,
            "versions": [prompt_version_to_wire(v) for v in versions],
        }

    async def prompt_subscribe(self, p: SubscribeParams) -> Result:
        if p.components is None:
            known = sorted(self._prompts.components())
            return Result({"subscribed": known, "all": True}, (Subscribe(None),))
        names = sorted(set(p.components))
        return Result({"subscribed": names, "all": False}, (Subscribe(frozenset(names)),))

    async def prompt_set(self, p: SetParams) -> dict[str, Any]:
        return prompt_state_to_wire(await self._prompts.set_text(p.component, p.text))

    async def prompt_rollback(self, p: RollbackParams) -> dict[str, Any]:
        await self._require_version(p.component, p.version)
        return prompt_state_to_wire(await self._prompts.rollback(p.component, p.version))

    async def prompt_pin(self, p: PinParams) -> dict[str, Any]:
        return prompt_state_to_wire(await self._prompts.pin(p.component, p.pinned))

    async def prompt_approve(self, p: ApproveParams) -> dict[str, Any]:
        await self._require_version(p.component, p.version)
        return prompt_state_to_wire(await self._prompts.approve(p.component, p.version))

    async def _require_version(self, component: str, version: int) -> None:
        # Raises UnknownComponentError (-32001) for an unknown component.
        self._prompts.current(component)
        if await self._store.get_prompt_version(component, version) is None:
            raise RpcError(NOT_FOUND, f"{component} has no version {version}")

    async def feedback_submit(self, p: Feedback) -> dict[str, Any]:
        await self._require_generation(p.generation_id)
        result = await self._store.add_example(_new_example(p))
        if result.created and self._optimizer is not None:
            self._optimizer.examples_added(1)
        return {"example_id": result.example_id, "duplicate": not result.created}

    async def _require_generation(self, generation_id: int | None) -> None:
        if generation_id is None:
            return
        if await self._store.get_generation(generation_id) is None:
            raise RpcError(NOT_FOUND, f"generation {generation_id} not found")

    async def generation_record(self, p: GenerationRecordParams) -> dict[str, Any]:
        generation_id = await self._store.record_generation(
            NewGeneration(
                component=p.component,
                workspace=p.workspace,
                file=p.file,
                language=p.language,
                instruction=p.instruction or "",
                context=p.context or "",
                output=p.output,
                prompt_version=p.prompt_version,
                model=p.model,
            )
        )
        return {"generation_id": generation_id}


@contextlib.contextmanager
def _delivery_errors() -> Iterator[None]:
    try:
        yield
    except DeliveryConflictError as exc:
        raise RpcError(CONFLICT, str(exc)) from None
    except DeliveryError as exc:
        raise RpcError(INVALID_PARAMS, f"invalid params: {exc}") from None


def _new_example(p: Feedback) -> NewExample:
    corrected = p.corrected if isinstance(p, CorrectionFeedback) else None
    comment = getattr(p, "comment", None)
    outcome: str | None = None
    if isinstance(p, TestResultFeedback):
        outcome = json.dumps({"test": p.test, "passed": p.passed, "message": p.message})
    elif isinstance(p, CompileResultFeedback):
        outcome = json.dumps({"tool": p.tool, "ok": p.ok, "diagnostics": p.diagnostics})
    return NewExample(
        kind=p.kind,
        component=p.component,
        workspace=p.workspace,
        file=p.file,
        language=p.language,
        context=p.context or "",
        output=p.output or "",
        corrected=corrected,
        comment=comment,
        outcome=outcome,
        generation_id=p.generation_id,
        prompt_version=p.prompt_version,
        source=p.source,
    )


def build_methods(
    store: Store,
    prompts: PromptService,
    info: DaemonInfo,
    *,
    clock: Callable[[], float] = time.time,
    optimizer: OptimizerControl | None = None,
    assist: AssistControl | None = None,
    delivery: DeliveryControl | None = None,
    workspaces: WorkspaceControl | None = None,
) -> dict[str, MethodSpec]:
    """Every method the daemon serves, keyed by its JSON-RPC name."""
    m = _Methods(store, prompts, info, clock, optimizer, assist, delivery, workspaces)
    specs = [
        MethodSpec("status.get", EmptyParams.model_validate, m.status_get),
        MethodSpec("prompt.get", PromptGetParams.model_validate, m.prompt_get),
        MethodSpec("prompt.history", HistoryParams.model_validate, m.prompt_history),
        MethodSpec("prompt.subscribe", SubscribeParams.model_validate, m.prompt_subscribe),
        MethodSpec("prompt.set", SetParams.model_validate, m.prompt_set),
        MethodSpec("prompt.rollback", RollbackParams.model_validate, m.prompt_rollback),
        MethodSpec("prompt.pin", PinParams.model_validate, m.prompt_pin),
        MethodSpec("prompt.approve", ApproveParams.model_validate, m.prompt_approve),
        MethodSpec("feedback.submit", parse_feedback, m.feedback_submit),
        MethodSpec("generation.record", GenerationRecordParams.model_validate, m.generation_record),
        MethodSpec("optimizer.status", EmptyParams.model_validate, m.optimizer_status),
        MethodSpec("optimizer.run", OptimizerRunParams.model_validate, m.optimizer_run),
        MethodSpec("optimizer.pause", EmptyParams.model_validate, m.optimizer_pause),
        MethodSpec("optimizer.resume", EmptyParams.model_validate, m.optimizer_resume),
        MethodSpec("assist.run", AssistRunParams.model_validate, m.assist_run),
        MethodSpec("deliver.enable", DeliverEnableParams.model_validate, m.deliver_enable),
        MethodSpec("deliver.disable", DeliverDisableParams.model_validate, m.deliver_disable),
        MethodSpec("deliver.status", DeliverStatusParams.model_validate, m.deliver_status),
        MethodSpec("workspace.add", WorkspaceParams.model_validate, m.workspace_add),
        MethodSpec("workspace.remove", WorkspaceParams.model_validate, m.workspace_remove),
        MethodSpec("workspace.list", EmptyParams.model_validate, m.workspace_list),
        *review_methods(store, prompts, optimizer),
        *examples_methods(store),
    ]
    return {spec.name: spec for spec in specs}
