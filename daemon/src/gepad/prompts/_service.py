"""`PromptService`: the versions of every prompt component, and swapping them safely.

Order of every change: write in one store transaction, COMMIT, replace the in-memory snapshot
(one reference assignment), then notify subscribers. A reader of `current()` therefore sees either
the old state or the new one, never a mix, and never a state that is not yet durable.

Decisions (see docs/store.md):
* Components are born from `seeds` at `start()` or from a user edit (`set_text`) naming a
  valid new name (`^[a-z][a-z0-9_-]{0,31}$`). The optimizer can only `propose` for a component
  that exists; an unknown one raises `UnknownComponentError`.
* Pinning stops automatic swaps only: a proposal for a pinned component is recorded with status
  `held` and changes nothing. Explicit user actions (`set_text`, `rollback`, `approve`, `reject`)
  still apply to a pinned component, and the pin stays.
* `auto`: a proposal becomes current at once (the optimizer decides what is a new best); any
  version still pending from an earlier review-mode run is superseded by it, except a user's
  own proposal (`propose_edit`, a hand edit of a delivered file), which waits for them.
  `review`: a proposal becomes the pending version, superseding an older pending one.
* A user edit and a rollback leave a pending version pending.
* Mutations run to completion even if the caller is cancelled, so the snapshot never falls
  behind the database.
* A mutation commits on its own; calling one from inside `store.transaction()` raises
  `PromptError` (the optimizer persists its step, commits, then proposes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from gepad.errors import PromptError, PromptVersionError, UnknownComponentError
from gepad.store import ComponentState, PromptVersion, Store, Tx

from ._state import PromptState, ProposeAction, ProposeOutcome
from ._subscribers import Callback, Subscribers
from ._validate import (
    check_candidate_id,
    check_component,
    check_limit,
    check_score,
    check_swap_policy,
    check_text,
    check_version,
)

logger = logging.getLogger(__name__)

SwapPolicy = Literal["auto", "review"]


@dataclass(frozen=True, slots=True)
class _Change:
    state: PromptState
    changed: bool  # False: nothing visible changed, so no swap and no notification
    version: PromptVersion | None = None
    action: ProposeAction | None = None


class PromptService:
    def __init__(
        self,
        store: Store,
        *,
        swap_policy: SwapPolicy,
        seeds: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._policy = check_swap_policy(swap_policy)
        self._seeds = {check_component(c): check_text(t) for c, t in seeds.items()}
        self._clock = clock
        self._snapshot: Mapping[str, PromptState] = MappingProxyType({})
        self._locks: dict[str, asyncio.Lock] = {}
        self._subscribers = Subscribers()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._started = False

    @property
    def swap_policy(self) -> str:
        return self._policy

    # start and reads ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Load every component into memory; give each seed without versions its version 1."""
        store = self._store
        async with store.transaction() as tx:
            states = {cs.component: cs for cs in await store.component_states(tx=tx)}
            for component, text in self._seeds.items():
                if component in states:
                    continue
                seed = await store.insert_prompt_version(
                    tx,
                    component,
                    text,
                    score=None,
                    source="seed",
                    candidate_id=None,
                    status="current",
                    created_at=self._clock(),
                )
                states[component] = await store.set_component_state(
                    tx, component, current_version=seed.version, pending_version=None, pinned=False
                )
                await store.log_event(tx, "prompt.seed", {"component": component, "version": 1})
            snapshot: dict[str, PromptState] = {}
            for cs in states.values():
                state = await self._state_from_db(tx, cs)
                if state is not None:
                    snapshot[cs.component] = state
        self._snapshot = MappingProxyType(snapshot)
        self._started = True
        logger.info(
            "prompts loaded: %s (swap policy %s)", ", ".join(sorted(snapshot)), self._policy
        )

    def current(self, component: str) -> PromptState:
        """The current state, from memory: no I/O, safe from any thread."""
        state = self._snapshot.get(component)
        if state is None:
            raise UnknownComponentError(component)
        return state

    def components(self) -> list[str]:
        return sorted(self._snapshot)

    def states(self) -> Mapping[str, PromptState]:
        """An immutable view of every component's state at one instant."""
        return self._snapshot

    async def history(self, component: str, *, limit: int = 20) -> list[PromptVersion]:
        """Every recorded version, newest first (including held, rejected and superseded)."""
        self._known(component)
        return await self._store.prompt_versions(component, limit=check_limit(limit))

    def subscribe(self, callback: Callback) -> Callable[[], None]:
        """Call `callback(state)` after every committed visible change; returns `unsubscribe`.

        Callbacks run in the event loop in subscription order; one that raises is logged and the
        rest still run. A callback returning an awaitable has it scheduled as a task.
        """
        return self._subscribers.add(callback)

    async def drain(self) -> None:
        """Wait for mutations still running after their callers were cancelled (for shutdown)."""
        while self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)

    # mutations --------------------------------------------------------------------------------

    async def set_text(self, component: str, text: str) -> PromptState:
        """A user edit: a new `user-edit` version that becomes current, pinned or not.

        A name not known yet creates the component.
        """
        self._require_started()
        check_component(component)
        check_text(text)

        async def op(tx: Tx) -> _Change:
            cs = await self._store.component_state(component, tx=tx)
            if cs is not None and cs.current_version is not None:
                await self._store.set_prompt_version_status(
                    tx, component, cs.current_version, "superseded"
                )
            new = await self._insert(tx, component, text, None, "user-edit", None, "current")
            pending = cs.pending_version if cs is not None else None
            pinned = cs.pinned if cs is not None else False
            return await self._commit_state(tx, component, new, pending, pinned, "prompt.set")

        return (await self._mutate(component, op)).state

    async def propose(
        self,
        component: str,
        text: str,
        *,
        score: float | None,
        candidate_id: str | None,
    ) -> ProposeOutcome:
        """The optimizer's way in; pin and swap policy decide what happens (see ProposeOutcome)."""
        self._known(component)
        check_text(text)
        score = check_score(score)
        candidate_id = check_candidate_id(candidate_id)

        async def op(tx: Tx) -> _Change:
            cs = await self._require_state(tx, component)
            assert cs.current_version is not None
            if cs.pinned:
                held = await self._insert(
                    tx, component, text, score, "optimizer", candidate_id, "held"
                )
                await self._event(tx, "prompt.held", held)
                return _Change(self.current(component), False, held, "held")
            if self._policy == "review":
                if cs.pending_version is not None:
                    await self._store.set_prompt_version_status(
                        tx, component, cs.pending_version, "superseded"
                    )
                new = await self._insert(
                    tx, component, text, score, "optimizer", candidate_id, "pending"
                )
                change = await self._commit_state(
                    tx,
                    component,
                    await self._current_row(tx, cs),
                    new.version,
                    cs.pinned,
                    "prompt.pending",
                )
                return _Change(change.state, True, new, "pending")
            await self._store.set_prompt_version_status(
                tx, component, cs.current_version, "superseded"
            )
            pending = cs.pending_version
            if pending is not None and not await self._is_user_edit(tx, component, pending):
                await self._store.set_prompt_version_status(tx, component, pending, "superseded")
                pending = None  # a user's proposal (propose_edit) waits for them instead
            new = await self._insert(
                tx, component, text, score, "optimizer", candidate_id, "current"
            )
            change = await self._commit_state(tx, component, new, pending, cs.pinned, "prompt.swap")
            return _Change(change.state, True, new, "swapped")

        change = await self._mutate(component, op)
        assert change.version is not None and change.action is not None
        return ProposeOutcome(action=change.action, version=change.version, state=change.state)

    async def propose_edit(self, component: str, text: str) -> PromptState:
        """A user edit made somewhere else (a delivered file): a `user-edit` version that waits
        as the pending version for `approve` or `reject` (superseding an older pending one),
        pinned or not, whatever the swap policy. The current version stays current."""
        self._known(component)
        check_text(text)

        async def op(tx: Tx) -> _Change:
            cs = await self._require_state(tx, component)
            if cs.pending_version is not None:
                await self._store.set_prompt_version_status(
                    tx, component, cs.pending_version, "superseded"
                )
            new = await self._insert(tx, component, text, None, "user-edit", None, "pending")
            current = await self._current_row(tx, cs)
            return await self._commit_state(
                tx, component, current, new.version, cs.pinned, "prompt.pending"
            )

        return (await self._mutate(component, op)).state

    async def version(self, component: str, version: int) -> PromptVersion | None:
        """One recorded version (any status), or None."""
        self._known(component)
        return await self._store.get_prompt_version(component, check_version(version))

    async def approve(self, component: str, version: int) -> PromptState:
        """Make the pending version current; any other version is refused."""
        self._known(component)
        check_version(version)

        async def op(tx: Tx) -> _Change:
            cs = await self._require_state(tx, component)
            if cs.pending_version != version:
                waiting = "nothing is pending"
                if cs.pending_version is not None:
                    waiting = f"the pending version is {cs.pending_version}"
                raise PromptVersionError(component, version, f"is not pending ({waiting})")
            assert cs.current_version is not None
            await self._store.set_prompt_version_status(
                tx, component, cs.current_version, "superseded"
            )
            await self._store.set_prompt_version_status(tx, component, version, "current")
            approved = await self._store.get_prompt_version(component, version, tx=tx)
            assert approved is not None
            return await self._commit_state(
                tx, component, approved, None, cs.pinned, "prompt.approve"
            )

        return (await self._mutate(component, op)).state

    async def reject(self, component: str, version: int) -> PromptState:
        """Turn the pending version down (status `rejected`); the current one stays."""
        self._known(component)
        check_version(version)

        async def op(tx: Tx) -> _Change:
            cs = await self._require_state(tx, component)
            if cs.pending_version != version:
                raise PromptVersionError(component, version, "is not pending")
            await self._store.set_prompt_version_status(tx, component, version, "rejected")
            current = await self._current_row(tx, cs)
            return await self._commit_state(
                tx, component, current, None, cs.pinned, "prompt.reject"
            )

        return (await self._mutate(component, op)).state

    async def rollback(self, component: str, version: int) -> PromptState:
        """Make an earlier version's text current again, as a new version with source `rollback`."""
        self._known(component)
        check_version(version)

        async def op(tx: Tx) -> _Change:
            cs = await self._require_state(tx, component)
            target = await self._store.get_prompt_version(component, version, tx=tx)
            if target is None:
                raise PromptVersionError(component, version, "does not exist")
            if version == cs.current_version:
                raise PromptVersionError(component, version, "is already the current version")
            if version == cs.pending_version:
                raise PromptVersionError(
                    component, version, "is the pending version; approve it instead"
                )
            assert cs.current_version is not None
            await self._store.set_prompt_version_status(
                tx, component, cs.current_version, "superseded"
            )
            new = await self._insert(
                tx, component, target.text, target.score, "rollback", target.candidate_id, "current"
            )
            return await self._commit_state(
                tx, component, new, cs.pending_version, cs.pinned, "prompt.rollback"
            )

        return (await self._mutate(component, op)).state

    async def pin(self, component: str, pinned: bool) -> PromptState:
        """Pin (no automatic swaps) or unpin; re-pinning a pinned component changes nothing."""
        self._known(component)
        if not isinstance(pinned, bool):
            raise PromptError(f"pinned: must be a boolean, got {pinned!r}")

        async def op(tx: Tx) -> _Change:
            cs = await self._require_state(tx, component)
            if cs.pinned == pinned:
                return _Change(self.current(component), False)
            current = await self._current_row(tx, cs)
            return await self._commit_state(
                tx,
                component,
                current,
                cs.pending_version,
                pinned,
                "prompt.pin" if pinned else "prompt.unpin",
            )

        return (await self._mutate(component, op)).state

    # internals --------------------------------------------------------------------------------

    def _require_started(self) -> None:
        if not self._started:
            raise PromptError("the prompt service is not started; call start() first")

    def _known(self, component: str) -> None:
        self._require_started()
        self.current(component)

    async def _mutate(self, component: str, op: Callable[[Tx], Awaitable[_Change]]) -> _Change:
        self._require_started()
        if self._store.in_transaction():
            # The change needs its own commit before it may become visible; waiting for the
            # caller's transaction from inside it would deadlock.
            raise PromptError(
                "prompt changes cannot run inside store.transaction(); make them after it commits"
            )
        task = asyncio.ensure_future(self._locked(component, op))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        # Shielded: once started, a change commits and is published even if our caller goes away.
        return await asyncio.shield(task)

    async def _locked(self, component: str, op: Callable[[Tx], Awaitable[_Change]]) -> _Change:
        lock = self._locks.setdefault(component, asyncio.Lock())
        async with lock:
            async with self._store.transaction() as tx:
                change = await op(tx)
            # Committed. Publish while still holding the component lock so that notifications
            # for one component go out in commit order.
            if change.changed:
                self._snapshot = MappingProxyType({**self._snapshot, component: change.state})
                self._subscribers.notify(change.state)
            return change

    async def _require_state(self, tx: Tx, component: str) -> ComponentState:
        cs = await self._store.component_state(component, tx=tx)
        if cs is None or cs.current_version is None:
            raise UnknownComponentError(component)
        return cs

    async def _is_user_edit(self, tx: Tx, component: str, version: int) -> bool:
        row = await self._store.get_prompt_version(component, version, tx=tx)
        return row is not None and row.source == "user-edit"

    async def _current_row(self, tx: Tx, cs: ComponentState) -> PromptVersion:
        assert cs.current_version is not None
        row = await self._store.get_prompt_version(cs.component, cs.current_version, tx=tx)
        assert row is not None, "components.current_version is a foreign key"
        return row

    async def _insert(
        self,
        tx: Tx,
        component: str,
        text: str,
        score: float | None,
        source: str,
        candidate_id: str | None,
        status: str,
    ) -> PromptVersion:
        return await self._store.insert_prompt_version(
            tx,
            component,
            text,
            score=score,
            source=source,
            candidate_id=candidate_id,
            status=status,
            created_at=self._clock(),
        )

    async def _commit_state(
        self,
        tx: Tx,
        component: str,
        current: PromptVersion,
        pending_version: int | None,
        pinned: bool,
        event: str,
    ) -> _Change:
        await self._store.set_component_state(
            tx,
            component,
            current_version=current.version,
            pending_version=pending_version,
            pinned=pinned,
        )
        pending = None
        if pending_version is not None:
            pending = await self._store.get_prompt_version(component, pending_version, tx=tx)
        await self._store.log_event(
            tx,
            event,
            {
                "component": component,
                "version": current.version,
                "pending": pending_version,
                "pinned": pinned,
            },
        )
        return _Change(PromptState.of(current, pinned=pinned, pending=pending), True)

    async def _event(self, tx: Tx, kind: str, version: PromptVersion) -> None:
        await self._store.log_event(
            tx,
            kind,
            {"component": version.component, "version": version.version, "score": version.score},
        )

    async def _state_from_db(self, tx: Tx, cs: ComponentState) -> PromptState | None:
        if cs.current_version is None:
            logger.warning("component %s has no current version; skipped", cs.component)
            return None
        current = await self._current_row(tx, cs)
        pending = None
        if cs.pending_version is not None:
            pending = await self._store.get_prompt_version(cs.component, cs.pending_version, tx=tx)
        return PromptState.of(current, pinned=cs.pinned, pending=pending)
