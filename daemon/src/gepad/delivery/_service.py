"""`DeliveryService`: keeps every enabled delivery file in step with the current prompt.

It subscribes to `PromptService`; a change marks its component dirty and one background task
re-renders every delivery of the dirty components (file I/O in one worker thread, so the event
loop never blocks on disk). Changes that arrive during a render coalesce into the next one.

Hand edits: a prompt-bearing file whose gepad part differs from what gepad last wrote, and
whose text differs from the prompt about to be written, was edited by the user (or by a
`git pull`, or an agent). It is not overwritten, and it does not become the prompt of every
workspace: the text becomes a *proposal*, a pending `user-edit` version
(`PromptService.propose_edit`) that `gepad prompt approve` makes current. With
`delivery_edits = "adopt"` it becomes current at once (`set_text`), unless the component is
pinned. The delivery shows the conflict until it is settled: the proposal approved (the file
then matches the prompt), rejected (the file is re-delivered), the file put back, or the
delivery enabled again (which re-delivers the current prompt over the edit).

Limits: each target's documented limit (`_limits`) is checked on every write;
`max_prompt_chars` / `max_prompt_lines` give the smallest room among a component's deliveries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from gepad.errors import DeliveryConflictError, DeliveryError, GepadError
from gepad.prompts import PromptService, PromptState

from ._jobs import Job, check_enable, remove_all, write_all
from ._registry import Conflict, Delivery, load_registry, save_registry
from ._targets import TARGET_NAMES, TARGETS
from ._types import RenderContext, WriteResult, sha256

__all__ = ["DeliveryEdits", "DeliveryService"]

log = logging.getLogger(__name__)

DeliveryEdits = Literal["propose", "adopt"]


class DeliveryService:
    def __init__(
        self,
        prompts: PromptService,
        registry_file: Path,
        *,
        home: Path,
        gepad_home: str | None,
        edits: DeliveryEdits = "propose",
        python: str = sys.executable,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if edits not in ("propose", "adopt"):
            raise DeliveryError(f"delivery_edits: must be 'propose' or 'adopt', got {edits!r}")
        self._prompts = prompts
        self._file = registry_file
        self._home = Path(os.path.realpath(home))  # `continue` files are confined to it
        self._gepad_home = gepad_home
        self._edits = edits
        self._python = python
        self._clock = clock
        self._deliveries: dict[tuple[str, str], Delivery] = {}
        self._lock = asyncio.Lock()
        self._dirty: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        loaded = await asyncio.to_thread(load_registry, self._file)
        self._deliveries = {d.key: d for d in loaded}
        self._unsubscribe = self._prompts.subscribe(self._on_change)
        # Catch up with edits made while the daemon was down.
        self._mark({d.component for d in loaded})
        log.info("delivery: %d enabled (%s)", len(loaded), self._file)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.wait_idle()

    async def wait_idle(self) -> None:
        """Return once every change seen so far is on disk (tests and the benchmark use it)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    # the JSON-RPC surface ----------------------------------------------------------------------

    async def enable(
        self, workspace: str, target: str, component: str = "general"
    ) -> dict[str, Any]:
        """Start delivering; on a delivery already enabled, re-deliver the current prompt
        (over a hand edit: the edit stays proposed, see the module doc)."""
        ws = _workspace(workspace)
        if target not in TARGETS:
            raise DeliveryError(f"unknown target {target!r}; one of {', '.join(TARGET_NAMES)}")
        self._prompts.current(component)  # UnknownComponentError for a name not known
        key = (ws, target)
        async with self._lock:
            files = TARGETS[target].paths(Path(ws), self._home)
            existing = self._deliveries.get(key)
            for place, _ in files:
                for other in self._deliveries.values():
                    clash = other.component != component and other.record(str(place))
                    if other.key != key and clash:
                        raise DeliveryConflictError(
                            f"{place} already carries component {other.component!r} "
                            f"(for {other.workspace}); disable that first"
                        )
            records = {r.path: r for d in self._deliveries.values() for r in d.files}
            await asyncio.to_thread(check_enable, files, records)
            delivery = existing or Delivery(ws, target, component, self._clock())
            if existing is not None and existing.component != component:
                delivery = replace(existing, component=component)
            self._deliveries[key] = delivery
            edits = await self._sync_locked([delivery], force=existing is not None)
            await self._save()
        await self._settle(edits)
        return self._status_of(self._deliveries[key])

    async def disable(self, workspace: str, target: str) -> dict[str, Any]:
        ws = _workspace(workspace, must_exist=False)
        key = (ws, target)
        async with self._lock:
            delivery = self._deliveries.get(key)
            if delivery is None:
                raise DeliveryError(f"{target} is not enabled for {ws}")
            shared = {r.path for d in self._deliveries.values() if d.key != key for r in d.files}
            kinds = {str(p): (p, k) for p, k in TARGETS[target].paths(Path(ws), self._home)}
            outcome = await asyncio.to_thread(remove_all, delivery, kinds, shared)
            del self._deliveries[key]
            await self._save()
        return {"workspace": ws, "target": target, "files": outcome}

    def status(self, workspace: str | None = None) -> dict[str, Any]:
        ws = None if workspace is None else _workspace(workspace, must_exist=False)
        rows = [
            self._status_of(d)
            for d in sorted(self._deliveries.values(), key=lambda d: d.key)
            if ws is None or d.workspace == ws
        ]
        return {"deliveries": rows, "targets": list(TARGET_NAMES)}

    # the optimizer's length budget -------------------------------------------------------------

    def max_prompt_chars(self, component: str) -> int | None:
        """The longest prompt (in characters) that fits every target `component` is delivered
        to, or None when none of them documents a character or byte limit. AGENTS.md's room
        leaves out the user's own text in it, as of the last write. A byte limit counts as
        that many characters: exact for ASCII; text with multi-byte characters can still go
        over, and then the write refuses it (state `over-limit`)."""
        return self._min_room(component, ("chars", "bytes"))

    def max_prompt_lines(self, component: str) -> int | None:
        """Likewise for the targets whose limit counts lines (claude, cursor)."""
        return self._min_room(component, ("lines",))

    def _min_room(self, component: str, units: tuple[str, ...]) -> int | None:
        rooms = [
            d.room
            for d in self._deliveries.values()
            if d.component == component and d.room is not None and d.room_unit in units
        ]
        return min(rooms) if rooms else None

    # re-rendering on prompt changes ------------------------------------------------------------

    def _on_change(self, state: PromptState) -> None:
        self._mark({state.component})

    def _mark(self, components: Iterable[str]) -> None:
        self._dirty.update(components)
        if self._dirty and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._render_loop())

    async def _render_loop(self) -> None:
        while self._dirty:
            components, self._dirty = self._dirty, set()
            try:
                async with self._lock:
                    todo = [d for d in self._deliveries.values() if d.component in components]
                    edits = await self._sync_locked(todo)
                    if todo:
                        await self._save()
                await self._settle(edits)
            except Exception:  # a long-running loop: log and wait for the next change
                log.exception("delivery: re-rendering %s failed", ", ".join(sorted(components)))

    async def _save(self) -> None:
        await asyncio.to_thread(save_registry, self._file, list(self._deliveries.values()))

    async def _sync_locked(
        self, deliveries: list[Delivery], *, force: bool = False
    ) -> list[tuple[Delivery, str, str]]:
        """Write `deliveries`; returns (delivery, path, user text) for every hand edit."""
        jobs = []
        # A path two deliveries share (continue) has one record, whoever wrote it first.
        known = {r.path: r for d in self._deliveries.values() for r in d.files}
        for d in deliveries:
            try:
                state = self._prompts.current(d.component)
            except GepadError as exc:
                self._deliveries[d.key] = replace(d, error=str(exc))
                continue
            ctx = RenderContext(
                d.component, state.version, state.text, self._python, self._gepad_home
            )
            files = TARGETS[d.target].paths(Path(d.workspace), self._home)
            records = tuple(d.record(str(p)) or known.get(str(p)) for p, _ in files)
            jobs.append(Job(d.key, ctx, files, records, force))
        done = await asyncio.to_thread(write_all, jobs)
        now = self._clock()
        edits: list[tuple[Delivery, str, str]] = []
        for item in done:
            d = self._deliveries[item.key]
            if item.error is not None:
                log.error("delivery %s for %s: %s", d.target, d.workspace, item.error)
                self._deliveries[d.key] = replace(d, error=item.error)
                continue
            d = self._with_results(d, item.results, now)
            for result in item.results:
                if result.conflict and result.user_text is not None and result.record is not None:
                    edits.append((d, result.record.path, result.user_text))
            self._deliveries[d.key] = d
        return edits

    def _with_results(self, d: Delivery, results: tuple[WriteResult, ...], now: float) -> Delivery:
        kept = {r.path: r for r in d.files}
        written = tuple(r.record for r in results if r.record is not None)
        rooms = [(r.room, r.room_unit) for r in results if r.room is not None]
        d = replace(
            d,
            files=written or tuple(kept.values()),
            error=None,
            written_at=now
            if any(r.written for r in results) or d.written_at is None
            else d.written_at,
            over_limit=next((r.refusal for r in results if r.refusal), None),
            warnings=tuple(r.warning for r in results if r.warning),
            room=rooms[0][0] if rooms else None,
            room_unit=rooms[0][1] if rooms else None,
        )
        for result in results:
            path = result.record.path if result.record else None
            if path is None:
                continue
            if not result.conflict:
                d = d.without_conflict(path)  # written, or equal to the prompt: settled
            elif result.user_text is None and d.conflict_at(path) is None:
                d = d.with_conflict(Conflict(path, now, None, "edited by hand; left as is"))
        return d

    async def _settle(self, edits: list[tuple[Delivery, str, str]]) -> None:
        """Turn hand edits into proposals (or, with `delivery_edits = "adopt"`, into the current
        prompt); re-deliver a file whose proposal was rejected."""
        rejected: set[tuple[str, str]] = set()
        for d, path, text in edits:
            digest = sha256(text.replace("\r\n", "\n").strip().encode())
            open_conflict = d.conflict_at(path)
            if open_conflict is not None and open_conflict.text_sha == digest:
                if open_conflict.version is not None:
                    version = await self._prompts.version(d.component, open_conflict.version)
                    if version is not None and version.status == "rejected":
                        rejected.add(d.key)
                continue  # the same edit as before: proposed once, waiting for the user
            conflict = await self._propose(d, path, text, digest)
            current = self._deliveries.get(d.key)
            if current is not None:
                self._deliveries[d.key] = (
                    current.with_conflict(conflict) if conflict else current.without_conflict(path)
                )
        if rejected:
            async with self._lock:
                todo = [self._deliveries[k] for k in rejected if k in self._deliveries]
                await self._sync_locked(todo, force=True)
                for d in todo:
                    log.info("delivery: proposal rejected; %s re-delivered", d.workspace)
        if edits:
            async with self._lock:
                await self._save()

    async def _propose(self, d: Delivery, path: str, text: str, digest: str) -> Conflict | None:
        now = self._clock()
        try:
            if self._edits == "adopt" and not self._prompts.current(d.component).pinned:
                state = await self._prompts.set_text(d.component, text)
                log.warning(
                    "delivery: %s edited by hand; adopted as %s v%d",
                    path,
                    d.component,
                    state.version,
                )
                return None
            state = await self._prompts.propose_edit(d.component, text)
        except GepadError as exc:
            log.error("delivery: %s was edited by hand and could not be kept: %s", path, exc)
            return Conflict(path, now, None, f"could not keep the edit: {exc}", digest)
        assert state.pending is not None
        log.warning(
            "delivery: %s edited by hand; proposed as %s v%d (gepad prompt approve %d)",
            path, d.component, state.pending.version, state.pending.version,
        )  # fmt: skip
        return Conflict(path, now, state.pending.version, None, digest)

    def _status_of(self, d: Delivery) -> dict[str, Any]:
        versions = [r.version for r in d.files if r.version is not None]
        limit = next((k.limit for _, k in TARGETS[d.target].files if k.limit), None)
        state = "ok"
        if d.error:
            state = "error"
        elif d.over_limit:
            state = "over-limit"
        elif d.conflicts:
            state = "conflict"
        return {
            "workspace": d.workspace,
            "target": d.target,
            "component": d.component,
            "enabled_at": d.enabled_at,
            "files": [r.path for r in d.files],
            "version": max(versions) if versions else None,
            "written_at": d.written_at,
            "state": state,
            "error": d.error or d.over_limit,
            "warnings": list(d.warnings),
            "limit": limit.as_json() if limit else None,
            "room": d.room,
            "conflicts": [c.as_json() for c in d.conflicts],
        }


def _workspace(raw: str, *, must_exist: bool = True) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise DeliveryError("workspace: must be a folder path")
    text = raw.removeprefix("file://") if raw.startswith("file:///") else raw
    path = Path(text).expanduser()
    if not path.is_absolute():
        raise DeliveryError(f"workspace: {raw!r} is not an absolute path")
    if must_exist and not path.is_dir():
        raise DeliveryError(f"workspace: {raw} is not an existing folder")
    return str(path.resolve() if path.exists() else path)
