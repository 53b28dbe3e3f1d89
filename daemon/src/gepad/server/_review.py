"""Review actions: reject a pending prompt version, retire or restore a feedback example."""

from __future__ import annotations

from typing import Any, Protocol

from gepad.prompts import PromptService
from gepad.server._dispatch import MethodSpec
from gepad.server._encode import prompt_state_to_wire
from gepad.server._protocol import NOT_FOUND, RpcError
from gepad.server._wire import ApproveParams, RowId, _Params
from gepad.store import Store

__all__ = ["ExampleSync", "RetireParams", "review_methods"]


class ExampleSync(Protocol):
    """The optimizer, told that examples were retired or restored."""

    async def examples_changed(self) -> None: ...


class RetireParams(_Params):
    id: RowId


class _Review:
    def __init__(self, store: Store, prompts: PromptService, sync: ExampleSync | None) -> None:
        self._store = store
        self._prompts = prompts
        self._sync = sync

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
        if await self._store.get_example(example_id) is None:
            raise RpcError(NOT_FOUND, f"example {example_id} not found")
        if retired:
            changed = await self._store.retire_example(example_id)
        else:
            changed = await self._store.unretire_example(example_id)
        if changed and self._sync is not None:
            await self._sync.examples_changed()
        return {"id": example_id, "retired": retired, "changed": changed}


def review_methods(
    store: Store, prompts: PromptService, sync: ExampleSync | None
) -> list[MethodSpec]:
    r = _Review(store, prompts, sync)
    return [
        MethodSpec("prompt.reject", ApproveParams.model_validate, r.prompt_reject),
        MethodSpec("examples.retire", RetireParams.model_validate, r.examples_retire),
        MethodSpec("examples.unretire", RetireParams.model_validate, r.examples_unretire),
    ]
