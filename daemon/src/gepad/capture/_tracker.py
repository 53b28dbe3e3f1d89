"""Following what an assistant wrote into files, for users without the editor bridge.

Each tracked generation is a capture mark (source `track`, key = generation id) holding the
file, the text written and the text just before and after it. A watchdog observer watches the
folders these files are in (`FolderWatch`: one folder each, not the whole project); once a
tracked file has stopped changing for `settle_s`, the text between the anchors is compared
with what was written:

* unchanged: nothing (still tracked);
* gone (the anchors themselves were edited away): tracking stops, no example;
* now holding a newer tracked generation's text: the assistant rewrote it, tracking stops;
* empty: a `thumbs_down` "deleted by the user";
* anything else: a `correction` (output = written, corrected = what is there now).

The example and the end of tracking commit together; the store's same-verdict rule makes a
correction the editor bridge already reported on save the same example.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

from gepad.store import NewExample, Store, Tx

from ._folders import FolderWatch

__all__ = ["DELETED_COMMENT", "TRACK_SOURCE", "GenerationTracker", "locate"]

log = logging.getLogger(__name__)

TRACK_SOURCE: Final = "track"
DELETED_COMMENT: Final = "deleted by the user"  # the editor bridge's words, for one example
_MAX_FILE_BYTES: Final = 4 * 1024 * 1024
_MAX_CANDIDATES: Final = 50


def locate(text: str, before: str, after: str, offset: int = 0) -> str | None:
    """The text between `before` and `after` (nearest to `offset`), or None when lost."""
    starts: list[int] = []
    if not before:
        starts = [0]
    else:
        i = text.find(before)
        while i >= 0 and len(starts) < _MAX_CANDIDATES:
            starts.append(i + len(before))
            i = text.find(before, i + 1)
    for start in sorted(starts, key=lambda s: abs(s - offset)):
        if not after:
            return text[start:]
        end = text.find(after, start)
        if end >= 0:
            return text[start:end]
    return None


def _read(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(_MAX_FILE_BYTES + 1)
    if len(data) > _MAX_FILE_BYTES:
        return None
    return data.decode("utf-8", errors="replace")


class GenerationTracker:
    def __init__(
        self,
        store: Store,
        *,
        source: str,
        settle_s: float,
        on_example: Callable[[], None],
        before_check: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._store = store
        self._source = source
        self._settle_s = settle_s
        self._on_example = on_example
        self._before_check = before_check
        self._open: dict[int, dict[str, Any]] = {}
        self._watcher: FolderWatch | None = None
        self._timers: dict[Path, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self.last_error: str | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._watcher = FolderWatch(loop, self._on_path)
        await asyncio.to_thread(self._watcher.start)
        for mark in await self._store.capture_marks(TRACK_SOURCE):
            with contextlib.suppress(ValueError):
                self._open[int(mark.key)] = dict(mark.value)
        for folder in {Path(v["file"]).parent for v in self._open.values()}:
            await self._watch(folder)
        # Edited while the daemon was down: look once now.
        for file in {Path(v["file"]) for v in self._open.values()}:
            self._arm(file, 0.0)

    async def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._watcher is not None:
            watcher, self._watcher = self._watcher, None
            await asyncio.to_thread(watcher.stop)

    @property
    def tracked(self) -> int:
        return len(self._open)

    def busy(self) -> bool:
        return bool(self._timers or self._tasks)

    async def track(self, tx: Tx, generation_id: int, fields: dict[str, Any]) -> None:
        """Start following a generation (inside the transaction that recorded it)."""
        await self._store.put_capture_mark(tx, TRACK_SOURCE, str(generation_id), fields)

    async def tracked_committed(self, generation_id: int, fields: dict[str, Any]) -> None:
        """Called once the transaction of `track` committed."""
        self._open[generation_id] = fields
        await self._watch(Path(fields["file"]).parent)

    def open_for(self, file: Path) -> list[tuple[int, dict[str, Any]]]:
        return sorted((g, v) for g, v in self._open.items() if Path(v["file"]) == file)

    async def _watch(self, folder: Path) -> None:
        """One watch on the folder of a tracked file (not the whole workspace)."""
        watcher = self._watcher
        if watcher is not None and not await asyncio.to_thread(watcher.add, folder):
            log.info("capture: %s cannot be watched; its generations wait for a rescan", folder)

    def _on_path(self, path: Path) -> None:
        if any(Path(v["file"]) == path for v in self._open.values()):
            self._arm(path, self._settle_s)

    def _arm(self, path: Path, delay: float) -> None:
        old = self._timers.pop(path, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[path] = loop.call_later(delay, self._fire, path)

    def _fire(self, path: Path) -> None:
        self._timers.pop(path, None)
        task = asyncio.get_running_loop().create_task(self._check_logged(path))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check_logged(self, path: Path) -> None:
        try:
            await self.check(path)
        except Exception as exc:
            self.last_error = f"{path}: {exc}"
            log.exception("capture: checking %s failed", path)

    async def check(self, path: Path) -> int:
        """Compare every generation tracked in `path` with the file now; returns examples made."""
        if self._before_check is not None:
            await self._before_check()  # a newer write by the assistant is tracked first
        async with self._lock:
            items = self.open_for(path)
            if not items:
                return 0
            text = await asyncio.to_thread(_read, path)
            created = 0
            for gid, fields in items:
                created += await self._resolve(gid, fields, text, items)
        return created

    async def _resolve(
        self,
        gid: int,
        fields: dict[str, Any],
        text: str | None,
        items: list[tuple[int, dict[str, Any]]],
    ) -> int:
        output = str(fields["output"])
        region = (
            None
            if text is None
            else locate(text, fields["before"], fields["after"], int(fields.get("offset", 0)))
        )
        if region == output:
            return 0
        example: NewExample | None = None
        if region is None:
            why = "deleted or moved beyond recognition"
        elif any(g > gid and str(v["output"]) in region for g, v in items):
            why = "rewritten by the assistant"
        else:
            why = "edited by the user"
            example = self._example(gid, fields, region)
        created = False
        async with self._store.transaction() as tx:
            if example is not None:
                created = (await self._store.add_example(example, tx=tx)).created
            await self._store.delete_capture_mark(tx, TRACK_SOURCE, str(gid))
        self._open.pop(gid, None)
        log.info("capture: generation %d in %s %s", gid, fields["file"], why)
        if created:
            self._on_example()
        return int(created)

    def _example(self, gid: int, fields: dict[str, Any], region: str) -> NewExample:
        # As outcomes link a generation: the request, then its context (the rollout replays it).
        parts = (str(fields.get("instruction", "")), str(fields.get("context", "")))
        context = "\n\n".join(part for part in parts if part.strip())
        deleted = not region.strip()
        return NewExample(
            kind="thumbs_down" if deleted else "correction",
            component=str(fields.get("component", "general")),
            workspace=str(fields["workspace"]),
            file=str(fields["file"]),
            context=context,
            output=str(fields["output"]),
            corrected=None if deleted else region,
            comment=DELETED_COMMENT if deleted else None,
            generation_id=gid,
            prompt_version=fields.get("prompt_version"),
            source=self._source,
        )
