"""Claude Code's spool into generations: one chunk of new lines, in one transaction."""

from __future__ import annotations

import asyncio
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gepad.outcomes import to_path
from gepad.store import NewGeneration, Store

from ._claude import Captured, from_spooled
from ._jsonl import parse_lines, read_new
from ._tracker import GenerationTracker

__all__ = ["COMPACT_BYTES", "ChunkResult", "ClaudeIngest", "component_for"]

COMPACT_BYTES = 1024 * 1024


def _truncate_if_read(path: Path, offset: int) -> bool:
    lock = path.with_suffix(".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            out = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            if os.fstat(out).st_size != offset:
                return False  # appended since the read: next time
            os.ftruncate(out, 0)
            os.fsync(out)
        finally:
            os.close(out)
        return True
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class ChunkResult:
    tracked: int
    lines: int
    workspaces: frozenset[str]
    more: bool


def component_for(file: str) -> str:
    return "kernel" if file.endswith((".cu", ".cuh")) else "general"


class ClaudeIngest:
    def __init__(self, store: Store, tracker: GenerationTracker) -> None:
        self._store = store
        self._tracker = tracker

    async def compact(self, path: Path) -> bool:
        """Empty the spool once every line of it is recorded and it has grown past
        `COMPACT_BYTES`, under the hooks' lock so that no append is lost; True when done."""
        mark = await self._store.capture_mark("claude-code", "offset")
        if mark is None or int(mark.value.get("offset", 0)) < COMPACT_BYTES:
            return False
        done = await asyncio.to_thread(_truncate_if_read, path, int(mark.value["offset"]))
        if done:
            # A crash before this line: the next read sees a shorter file and starts over,
            # and the lines' marks keep anything from counting twice.
            await self._store.put_capture_mark(None, "claude-code", "offset", {})
        return done

    async def chunk(self, path: Path) -> ChunkResult:
        """Record the generations of the spool's new lines; the offset, the lines seen, the
        generations and their tracking commit together."""
        mark = await self._store.capture_mark("claude-code", "offset")
        chunk = await asyncio.to_thread(read_new, path, None if mark is None else mark.value)
        if chunk is None or (not chunk.lines and mark is not None and not chunk.restarted):
            return ChunkResult(0, 0, frozenset(), False)
        tracked: list[tuple[int, dict[str, Any]]] = []
        workspaces: set[str] = set()
        async with self._store.transaction() as tx:
            for key, entry in parse_lines(chunk.lines, str(path)):
                if await self._store.capture_mark("claude-code", f"ev:{key}", tx=tx):
                    continue
                for cap in from_spooled(entry, component_for):
                    version = await self.version_at(cap.component, cap.at)
                    gid = await self._store.record_generation(_generation(cap, version), tx=tx)
                    workspaces.add(cap.workspace)
                    if cap.before is not None and cap.after is not None:
                        fields = _tracked(cap, version)
                        await self._tracker.track(tx, gid, fields)
                        tracked.append((gid, fields))
                await self._store.put_capture_mark(tx, "claude-code", f"ev:{key}", {"at": 0})
            await self._store.put_capture_mark(tx, "claude-code", "offset", chunk.position)
        for gid, fields in tracked:
            await self._tracker.tracked_committed(gid, fields)
        return ChunkResult(len(tracked), len(chunk.lines), frozenset(workspaces), chunk.more)

    async def version_at(self, component: str, at: float) -> int | None:
        """The prompt version that was current at `at` (what Claude had been given)."""
        try:
            versions = await self._store.prompt_versions(component, limit=100)
        except Exception:
            return None
        for v in versions:
            if v.status in ("current", "superseded") and v.created_at <= at:
                return v.version
        return versions[-1].version if versions else None

    def generations_for(self, file: str) -> list[dict[str, Any]]:
        path = to_path(file)
        if path is None:
            return []
        return [
            {
                "generation_id": gid,
                "output": v["output"],
                "instruction": v.get("instruction", ""),
                "context": v.get("context", ""),
                "component": v.get("component", "general"),
                "prompt_version": v.get("prompt_version"),
            }
            for gid, v in self._tracker.open_for(path)
        ]

    async def last(self, workspace: str) -> dict[str, Any] | None:
        """The newest generation recorded from Claude Code in `workspace`."""
        ws = to_path(workspace)
        rows = await self._store.generations_since(0.0, limit=200)
        for gen in rows:
            if gen.model == "claude-code" and ws is not None and to_path(gen.workspace) == ws:
                return {
                    "generation_id": gen.id,
                    "file": gen.file,
                    "workspace": gen.workspace,
                    "component": gen.component,
                    "prompt_version": gen.prompt_version,
                    "output": gen.output[:2000],
                }
        return None


def _generation(cap: Captured, version: int | None) -> NewGeneration:
    return NewGeneration(
        component=cap.component,
        workspace=cap.workspace,
        file=cap.file,
        instruction=cap.instruction,
        context=cap.context,
        output=cap.output,
        prompt_version=version,
        model="claude-code",
    )


def _tracked(cap: Captured, version: int | None) -> dict[str, Any]:
    return {
        "workspace": cap.workspace,
        "file": cap.file,
        "output": cap.output,
        "before": cap.before,
        "after": cap.after,
        "instruction": cap.instruction,
        "context": cap.context,
        "component": cap.component,
        "prompt_version": version,
        "at": cap.at,
    }
