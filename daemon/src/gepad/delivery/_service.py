"""`DeliveryService`: keeps every enabled delivery file in step with the current prompt.

It subscribes to `PromptService`; a change marks its component dirty and one background task
re-renders every delivery of the dirty components (file I/O in one worker thread, so the event
loop never blocks on disk). Changes that arrive during a render coalesce into the next one.

Conflicts: a prompt-bearing file whose gepad part differs from what gepad last wrote, and
whose text differs from the prompt about to be written, was edited by the user. It is not
overwritten: the user's text becomes a `user-edit` version (`PromptService.set_text`), which
makes it current, seeds the optimizer, and re-renders every delivery with it. Each conflict is
kept on the delivery and shown by `deliver.status`.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gepad.errors import DeliveryConflictError, DeliveryError, GepadError
from gepad.prompts import PromptService, PromptState

from ._registry import Conflict, Delivery, load_registry, save_registry
from ._targets import TARGET_NAMES, TARGETS
from ._types import FileRecord, RenderContext, WriteResult

__all__ = ["DeliveryService"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Job:
    key: tuple[str, str]
    ctx: RenderContext
    files: tuple[tuple[Path, Any], ...]
    records: tuple[FileRecord | None, ...]


@dataclass(frozen=True, slots=True)
class _Done:
    key: tuple[str, str]
    results: tuple[WriteResult, ...]
    error: str | None


class DeliveryService:
    def __init__(
        self,
        prompts: PromptService,
        registry_file: Path,
        *,
        home: Path,
        gepad_home: str | None,
        python: str = sys.executable,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._prompts = prompts
        self._file = registry_file
        self._home = home
        self._gepad_home = gepad_home
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
        ws = _workspace(workspace)
        if target not in TARGETS:
            raise DeliveryError(f"unknown target {target!r}; one of {', '.join(TARGET_NAMES)}")
        self._prompts.current(component)  # UnknownComponentError for a name not known
        key = (ws, target)
        async with self._lock:
            files = TARGETS[target].paths(Path(ws), self._home)
            existing = self._deliveries.get(key)
            for path, _ in files:
                for other in self._deliveries.values():
                    clash = other.component != component and other.record(str(path))
                    if other.key != key and clash:
                        raise DeliveryConflictError(
                            f"{path} already carries component {other.component!r} "
                            f"(for {other.workspace}); disable that first"
                        )
            records = {r.path: r for d in self._deliveries.values() for r in d.files}
            await asyncio.to_thread(_check_enable, files, records)
            delivery = existing or Delivery(ws, target, component, self._clock())
            if existing is not None and existing.component != component:
                delivery = replace(existing, component=component)
            self._deliveries[key] = delivery
            adopted = await self._sync_locked([delivery])
            await asyncio.to_thread(save_registry, self._file, list(self._deliveries.values()))
        await self._adopt(adopted)
        return self._status_of(self._deliveries[key])

    async def disable(self, workspace: str, target: str) -> dict[str, Any]:
        ws = _workspace(workspace, must_exist=False)
        key = (ws, target)
        async with self._lock:
            delivery = self._deliveries.get(key)
            if delivery is None:
                raise DeliveryError(f"{target} is not enabled for {ws}")
            shared = {r.path for d in self._deliveries.values() if d.key != key for r in d.files}
            kinds = dict(TARGETS[target].paths(Path(ws), self._home))
            outcome = await asyncio.to_thread(_remove_all, delivery, kinds, shared)
            del self._deliveries[key]
            await asyncio.to_thread(save_registry, self._file, list(self._deliveries.values()))
        return {"workspace": ws, "target": target, "files": outcome}

    def status(self, workspace: str | None = None) -> dict[str, Any]:
        ws = None if workspace is None else _workspace(workspace, must_exist=False)
        rows = [
            self._status_of(d)
            for d in sorted(self._deliveries.values(), key=lambda d: d.key)
            if ws is None or d.workspace == ws
        ]
        return {"deliveries": rows, "targets": list(TARGET_NAMES)}

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
                    adopted = await self._sync_locked(todo)
                    if todo:
                        await asyncio.to_thread(
                            save_registry, self._file, list(self._deliveries.values())
                        )
                await self._adopt(adopted)
            except Exception:  # a long-running loop: log and wait for the next change
                log.exception("delivery: re-rendering %s failed", ", ".join(sorted(components)))

    async def _sync_locked(self, deliveries: list[Delivery]) -> list[tuple[Delivery, str, str]]:
        """Write `deliveries`; returns (delivery, path, user text) for every conflict."""
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
            jobs.append(_Job(d.key, ctx, files, records))
        done = await asyncio.to_thread(_write_all, jobs)
        now = self._clock()
        conflicts: list[tuple[Delivery, str, str]] = []
        for item in done:
            d = self._deliveries[item.key]
            if item.error is not None:
                log.error("delivery %s for %s: %s", d.target, d.workspace, item.error)
                self._deliveries[d.key] = replace(d, error=item.error)
                continue
            written = tuple(r.record for r in item.results if r.record is not None)
            d = replace(d, files=written, error=None, written_at=now)
            for result in item.results:
                if result.conflict and result.user_text is not None and result.record is not None:
                    conflicts.append((d, result.record.path, result.user_text))
                elif result.conflict:
                    path = result.record.path if result.record else "?"
                    d = d.with_conflict(Conflict(path, now, None, "edited by hand; left as is"))
            self._deliveries[d.key] = d
        return conflicts

    async def _adopt(self, conflicts: list[tuple[Delivery, str, str]]) -> None:
        for d, path, text in conflicts:
            try:
                state = await self._prompts.set_text(d.component, text)
                conflict = Conflict(path, self._clock(), state.version)
                log.warning(
                    "delivery: %s edited by hand; kept as %s v%d", path, d.component, state.version
                )
            except GepadError as exc:
                conflict = Conflict(path, self._clock(), None, f"could not keep the edit: {exc}")
                log.error("delivery: %s was edited by hand and could not be kept: %s", path, exc)
            current = self._deliveries.get(d.key)
            if current is not None:
                self._deliveries[d.key] = current.with_conflict(conflict)
        if conflicts:
            async with self._lock:
                await asyncio.to_thread(save_registry, self._file, list(self._deliveries.values()))

    def _status_of(self, d: Delivery) -> dict[str, Any]:
        versions = [r.version for r in d.files if r.version is not None]
        return {
            "workspace": d.workspace,
            "target": d.target,
            "component": d.component,
            "enabled_at": d.enabled_at,
            "files": [r.path for r in d.files],
            "version": max(versions) if versions else None,
            "written_at": d.written_at,
            "state": "error" if d.error else ("conflict" if d.conflicts else "ok"),
            "error": d.error,
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


def _check_enable(files: tuple[tuple[Path, Any], ...], records: dict[str, FileRecord]) -> None:
    for path, kind in files:
        kind.check_enable(path, records.get(str(path)))


def _write_all(jobs: list[_Job]) -> list[_Done]:
    """Runs in a worker thread. A path shared by two deliveries (continue) is written once."""
    done: list[_Done] = []
    by_path: dict[str, WriteResult] = {}
    for job in jobs:
        results: list[WriteResult] = []
        try:
            for (path, kind), record in zip(job.files, job.records, strict=True):
                shared = by_path.get(str(path))
                if shared is not None and not shared.conflict:
                    results.append(replace(shared, written=False))
                    continue
                result = kind.write(path, record, job.ctx)
                by_path[str(path)] = result
                results.append(result)
        except (OSError, GepadError) as exc:
            done.append(_Done(job.key, (), str(exc)))
            continue
        done.append(_Done(job.key, tuple(results), None))
    return done


def _remove_all(
    delivery: Delivery, kinds: dict[Path, Any], shared: set[str]
) -> list[dict[str, str]]:
    out = []
    for record in delivery.files:
        if record.path in shared:
            out.append({"path": record.path, "result": "kept: another workspace uses it"})
            continue
        kind = kinds.get(Path(record.path))
        try:
            result = kind.remove(Path(record.path), record) if kind else "absent"
        except (OSError, GepadError) as exc:
            result = f"kept: {exc}"
        out.append({"path": record.path, "result": result})
    return out
