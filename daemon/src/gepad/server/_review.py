"""Review actions: reject a pending prompt version, retire or restore a feedback example, and
forget a rule (`examples.forget`).

A retirement or restore the user asks for is recorded as an `example.retired` /
`example.restored` event (who decided: "user"), beside the ones the drift detector records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import Field

from gepad.prompts import PromptService
from gepad.server._dispatch import MethodSpec
from gepad.server._encode import prompt_state_to_wire
from gepad.server._protocol import INVALID_PARAMS, NOT_FOUND, UNAVAILABLE, RpcError
from gepad.server._wire import ApproveParams, Component, RowId, _Params
from gepad.store import Store

__all__ = [
    "ExampleSync",
    "ForgetControl",
    "ForgetParams",
    "RetireParams",
    "RetiredParams",
    "review_methods",
]

_RETIRED_EVENT = "example.retired"
_RESTORED_EVENT = "example.restored"


class ExampleSync(Protocol):
    """The optimizer, told that examples were retired or restored."""

    async def examples_changed(self) -> None: ...


@runtime_checkable
class ForgetControl(Protocol):
    """`gepad.learning.ForgetService`: the two steps of forgetting a rule."""

    async def candidates(
        self, component: str, rule: str, ids: Sequence[int] | None = None
    ) -> dict[str, Any]: ...
    async def apply(self, component: str, rule: str, ids: Sequence[int]) -> dict[str, Any]: ...


class RetireParams(_Params):
    id: RowId


class RetiredParams(_Params):
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class ForgetParams(_Params):
    rule: str = Field(min_length=1, max_length=500)
    component: Component = "general"
    ids: list[RowId] | None = Field(default=None, max_length=1000)
    apply: bool = False


class _Review:
    def __init__(self, store: Store, prompts: PromptService, sync: ExampleSync | None) -> None:
        self._store = store
        self._prompts = prompts
        self._sync = sync
        forget = getattr(sync, "forget", None)
        self._forget = forget if isinstance(forget, ForgetControl) else None

    async def prompt_reject(self, p: ApproveParams) -> dict[str, Any]:
        self._prompts.current(p.component)  # unknown component: -32001
        if await self._store.get_prompt_version(p.component, p.version) is None:
            raise RpcError(NOT_FOUND, f"{p.component} has no version {p.version}")
        # Not the pending version: PromptVersionError, -32002.
        return prompt_state_to_wire(await self._prompts.reject(p.component, p.version))

    async def examples_retire(self, p: RetireParams) -> dict[str, Any]:
        return await self._set(p.id, retired=True)

    async def examples_unretire(self, p: RetireParams) -> dict[str, Any]:
        return await self._set(p.id, retired=False)

    async def _set(self, example_id: int, *, retired: bool) -> dict[str, Any]:
        example = await self._store.get_example(example_id)
        if example is None:
            raise RpcError(NOT_FOUND, f"example {example_id} not found")
        payload = {
            "id": example_id,
            "component": example.component,
            "by_example": None,
            "reason": "retired by the user" if retired else "restored by the user",
            "decided_by": "user",
        }
        async with self._store.transaction() as tx:
            if retired:
                changed = await self._store.retire_example(example_id, tx=tx)
            else:
                changed = await self._store.unretire_example(example_id, tx=tx)
            if changed:
                kind = _RETIRED_EVENT if retired else _RESTORED_EVENT
                await self._store.log_event(tx, kind, payload)
        if changed and self._sync is not None:
            await self._sync.examples_changed()
        return {"id": example_id, "retired": retired, "changed": changed}

    async def examples_retired(self, p: RetiredParams) -> dict[str, Any]:
        """The latest retirements (newest first, one per example), why, and whether the
        example is still retired now."""
        events = await self._store.events(limit=min(1000, p.limit * 5), kind=_RETIRED_EVENT)
        out: list[dict[str, Any]] = []
        seen: set[int] = set()
        for ev in events:
            example_id = ev.payload.get("id")
            if not isinstance(example_id, int) or example_id in seen:
                continue
            seen.add(example_id)
            example = await self._store.get_example(example_id)
            out.append(
                {
                    "id": example_id,
                    "component": ev.payload.get("component"),
                    "kind": None if example is None else example.kind,
                    "reason": ev.payload.get("reason"),
                    "decided_by": ev.payload.get("decided_by"),
                    "by_example": ev.payload.get("by_example"),
                    "retired_at": ev.created_at,
                    "retired": example is not None and example.retired,
                    "comment": None if example is None else (example.comment or "")[:200],
                }
            )
            if len(out) >= p.limit:
                break
        return {"retired": out}

    async def examples_forget(self, p: ForgetParams) -> dict[str, Any]:
        if self._forget is None:
            raise RpcError(UNAVAILABLE, "the optimizer is not running in this daemon")
        if not p.rule.strip():
            raise RpcError(INVALID_PARAMS, "invalid params: 'rule': must not be blank")
        self._prompts.current(p.component)  # unknown component: -32001
        try:
            if not p.apply:
                return await self._forget.candidates(p.component, p.rule, p.ids)
            if p.ids is None:
                raise RpcError(
                    INVALID_PARAMS, "invalid params: 'ids': apply needs the ids to retire"
                )
            return await self._forget.apply(p.component, p.rule, p.ids)
        except RpcError:
            raise
        except Exception as exc:
            kind = getattr(exc, "kind", None)
            if kind == "invalid":
                raise RpcError(INVALID_PARAMS, str(exc)) from None
            if kind == "not_found":
                raise RpcError(NOT_FOUND, str(exc)) from None
            if kind == "unavailable":
                raise RpcError(UNAVAILABLE, str(exc)) from None
            raise


def review_methods(
    store: Store, prompts: PromptService, sync: ExampleSync | None
) -> list[MethodSpec]:
    r = _Review(store, prompts, sync)
    return [
        MethodSpec("prompt.reject", ApproveParams.model_validate, r.prompt_reject),
        MethodSpec("examples.retire", RetireParams.model_validate, r.examples_retire),
        MethodSpec("examples.unretire", RetireParams.model_validate, r.examples_unretire),
        MethodSpec("examples.retired", RetiredParams.model_validate, r.examples_retired),
        MethodSpec("examples.forget", ForgetParams.model_validate, r.examples_forget),
    ]
