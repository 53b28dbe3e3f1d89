"""`CaptureService`: learning from the assistants people already use (issue 14).

Three sources, each an opt-in, each turning what it sees into ordinary examples with a
`source`:

* `claude-code`: the `claude-capture` hook spools every Edit/Write/MultiEdit to
  `<spool>/claude-code.jsonl`; the service ingests new lines (watchdog, and a rescan) into
  generations and tracks them (`GenerationTracker`) until the user's hand edit becomes a
  correction. The offset, the lines seen, the generation and its tracking commit together.
* `continue`: new lines of Continue's dev-data files, the same way (`gepad capture enable
  continue`).
* `git`: new commits of enabled workspaces, polled (`gepad capture enable git --workspace`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from gepad.errors import CaptureError
from gepad.outcomes import WorkspaceWatcher, to_path
from gepad.store import Store

from ._claude_ingest import ClaudeIngest
from ._continue import event_name
from ._continue_ingest import continue_files, ingest_continue_file
from ._git import DEFAULT_GIT_PATTERNS
from ._git_source import GitSource
from ._tracker import GenerationTracker

__all__ = ["CAPTURE_SOURCES", "SPOOL_FILE", "CaptureService", "CaptureSettings"]

log = logging.getLogger(__name__)

CAPTURE_SOURCES: Final = ("claude-code", "continue", "git")
SPOOL_FILE: Final = "claude-code.jsonl"
_EVENT_DELAY_S: Final = 0.05


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    spool_dir: Path
    continue_dir: Path
    git_patterns: tuple[str, ...] = DEFAULT_GIT_PATTERNS
    git_poll_s: float = 30.0
    settle_s: float = 2.0
    rescan_s: float = 2.0

    @classmethod
    def from_config(cls, config: Any, spool_dir: Path) -> CaptureSettings:
        raw = config.capture_continue_dir
        continue_dir = Path(raw).expanduser() if raw else Path.home() / ".continue" / "dev_data"
        return cls(
            spool_dir=spool_dir,
            continue_dir=continue_dir,
            git_patterns=tuple(config.capture_git_patterns),
            git_poll_s=config.capture_git_poll_s,
            settle_s=config.capture_settle_s,
        )


@dataclass
class _Stats:
    last_error: str | None = None
    last_at: float | None = None
    seen: int = 0


class CaptureService:
    def __init__(
        self,
        store: Store,
        settings: CaptureSettings,
        *,
        on_examples: Callable[[int], None] | None = None,
        register_workspace: Callable[[str], Awaitable[Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self.settings = settings
        self._on_examples = on_examples
        self._register = register_workspace
        self._clock = clock
        self._stats = {s: _Stats() for s in CAPTURE_SOURCES}
        self._tracker = GenerationTracker(
            store,
            source="claude-code",
            settle_s=settings.settle_s,
            on_example=lambda: self._examples(1),
            before_check=self.drain_claude,
        )
        self._claude = ClaudeIngest(store, self._tracker)
        self._git = GitSource(store, settings.git_patterns, self._examples, clock)
        self._continue: Path | None = None
        self._git_ws: dict[Path, tuple[str | None, int]] = {}
        self._watcher: WorkspaceWatcher | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[str] = set()
        self._kick: asyncio.Event | None = None
        self._claude_lock = asyncio.Lock()
        self._continue_lock = asyncio.Lock()
        self._registered: set[str] = set()

    # lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        for mark in await self._store.capture_marks("enabled"):
            if mark.key == "continue":
                self._continue = Path(str(mark.value["path"]))
            elif mark.key.startswith("git:"):
                base = mark.value.get("base")
                since = int(mark.value.get("since", 0))
                self._git_ws[Path(str(mark.value["workspace"]))] = (base and str(base), since)
        await self._tracker.start()
        self._kick = asyncio.Event()
        self._watcher = WorkspaceWatcher(asyncio.get_running_loop(), self._on_path)
        await asyncio.to_thread(self._watcher.start)
        await asyncio.to_thread(self.settings.spool_dir.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(self._watcher.add, self.settings.spool_dir)
        if self._continue is not None:
            await asyncio.to_thread(self._watcher.add, self._continue)
        await self._run_all()
        self._tasks = [
            asyncio.create_task(self._loop(), name="gepad-capture"),
            asyncio.create_task(self._git_loop(), name="gepad-capture-git"),
        ]
        log.info(
            "capture: claude-code spool %s, continue %s, git %d workspace(s)",
            self.settings.spool_dir,
            self._continue or "off",
            len(self._git_ws),
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._tracker.stop()
        if self._watcher is not None:
            watcher, self._watcher = self._watcher, None
            await asyncio.to_thread(watcher.stop)

    def _examples(self, n: int) -> None:
        if n and self._on_examples is not None:
            self._on_examples(n)

    # events -------------------------------------------------------------------------------------

    def _on_path(self, root: Path, path: Path) -> None:
        if root == self.settings.spool_dir and path.name == SPOOL_FILE:
            self._pending.add("claude-code")
        elif root == self._continue and event_name(path) is not None:
            self._pending.add("continue")
        else:
            return
        if self._kick is not None:
            self._kick.set()

    async def _loop(self) -> None:
        assert self._kick is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.settings.rescan_s)
                await asyncio.sleep(_EVENT_DELAY_S)  # let a burst of appends land
            self._kick.clear()
            self._pending.clear()
            try:
                watcher = self._watcher
                if watcher is not None:
                    await asyncio.to_thread(watcher.check)
                await self._run_all()
            except Exception:
                log.exception("capture: a pass failed; the next one retries")

    async def _git_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.git_poll_s)
            await self.scan_git()

    async def _run_all(self) -> None:
        await self.drain_claude()
        await self.drain_continue()

    async def idle(self, timeout: float = 20.0) -> None:
        """Ingest what is there now and wait for the tracker to settle (tests and tools)."""
        deadline = asyncio.get_running_loop().time() + timeout
        await self._run_all()
        while self._tracker.busy():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("capture did not go idle")
            await asyncio.sleep(0.02)

    # claude code --------------------------------------------------------------------------------

    async def drain_claude(self) -> int:
        path = self.settings.spool_dir / SPOOL_FILE
        recorded = 0
        async with self._claude_lock:
            while True:
                try:
                    done, more = await self._claude_chunk(path)
                except Exception as exc:
                    self._error("claude-code", f"{path}: {exc}")
                    return recorded
                recorded += done
                if not more:
                    break
            try:
                await self._claude.compact(path)
            except OSError as exc:
                self._error("claude-code", f"{path}: cannot compact: {exc}")
        return recorded

    async def _claude_chunk(self, path: Path) -> tuple[int, bool]:
        result = await self._claude.chunk(path)
        if result.lines:
            self._seen("claude-code", result.lines)
        for ws in result.workspaces - self._registered:
            await self._register_ws(ws)
        return result.tracked, result.more

    def generations_for(self, file: str) -> list[dict[str, Any]]:
        return self._claude.generations_for(file)

    async def last(self, workspace: str) -> dict[str, Any] | None:
        return await self._claude.last(workspace)

    async def _register_ws(self, ws: str) -> None:
        """Outcomes watch the project, so failing tests link to these generations."""
        self._registered.add(ws)
        if self._register is None:
            return
        try:
            await self._register(ws)
        except Exception as exc:  # WorkspaceError: gone since; not capture's failure
            log.info("capture: not watching %s for test reports: %s", ws, exc)

    # continue -----------------------------------------------------------------------------------

    async def drain_continue(self) -> int:
        root = self._continue
        if root is None:
            return 0
        created = 0
        async with self._continue_lock:
            files = await asyncio.to_thread(continue_files, root)
            for path in files:
                try:
                    made, lines = await ingest_continue_file(self._store, path)
                except Exception as exc:
                    self._error("continue", f"{path}: {exc}")
                    continue
                created += made
                if lines:
                    self._seen("continue", lines)
        self._examples(created)
        return created

    # git ----------------------------------------------------------------------------------------

    async def scan_git(self) -> int:
        created = 0
        for ws, (base, since) in list(self._git_ws.items()):
            try:
                n = await self._git.scan(ws, base, since)
            except CaptureError as exc:
                self._error("git", str(exc))
                continue
            except Exception as exc:
                self._error("git", f"{ws}: {exc}")
                log.exception("git capture of %s failed", ws)
                continue
            created += n
            self._seen("git", 0)
        return created

    # enable, disable, status --------------------------------------------------------------------

    async def enable(
        self, source: str, *, workspace: str | None = None, path: str | None = None
    ) -> dict[str, Any]:
        if source == "continue":
            root = Path(path).expanduser() if path else self.settings.continue_dir
            if not root.is_absolute():
                raise CaptureError(f"path: {path!r} is not an absolute path")
            await self._store.put_capture_mark(None, "enabled", "continue", {"path": str(root)})
            self._continue = root
            if self._watcher is not None:
                await asyncio.to_thread(self._watcher.add, root)
            await self.drain_continue()
        elif source == "git":
            ws = _workspace(workspace)
            async with self._store.transaction() as tx:
                value = await self._git.enable(ws, tx)
            self._git_ws[ws] = (value["base"], value["since"])
        else:
            raise CaptureError(_unknown(source))
        return await self.status()

    async def disable(self, source: str, *, workspace: str | None = None) -> dict[str, Any]:
        if source == "continue":
            await self._store.delete_capture_mark(None, "enabled", "continue")
            if self._continue is not None and self._watcher is not None:
                await asyncio.to_thread(self._watcher.remove, self._continue)
            self._continue = None
        elif source == "git":
            ws = _workspace(workspace, must_exist=False)
            if ws not in self._git_ws:
                raise CaptureError(f"git capture is not enabled for {ws}")
            await self._store.delete_capture_mark(None, "enabled", f"git:{ws}")
            del self._git_ws[ws]
        else:
            raise CaptureError(_unknown(source))
        return await self.status()

    async def status(self) -> dict[str, Any]:
        midnight = datetime.fromtimestamp(self._clock()).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        today = await self._store.count_examples_by_source(midnight.timestamp())
        details: dict[str, dict[str, Any]] = {
            "claude-code": {
                "enabled": True,
                "spool": str(self.settings.spool_dir / SPOOL_FILE),
                "tracked": self._tracker.tracked,
                "how": "gepad deliver enable --target claude-capture",
            },
            "continue": {
                "enabled": self._continue is not None,
                "path": str(self._continue or self.settings.continue_dir),
            },
            "git": {
                "enabled": bool(self._git_ws),
                "workspaces": sorted(str(w) for w in self._git_ws),
            },
        }
        tracker_error = self._tracker.last_error
        sources = []
        for name in CAPTURE_SOURCES:
            stats = self._stats[name]
            error = stats.last_error
            if name == "claude-code" and tracker_error and not error:
                error = tracker_error
            sources.append(
                {
                    "source": name,
                    **details[name],
                    "captured_today": today.get(name, 0),
                    "events_seen": stats.seen,
                    "last_at": stats.last_at,
                    "last_error": error,
                }
            )
        return {"sources": sources}

    def _seen(self, source: str, n: int) -> None:
        stats = self._stats[source]
        stats.seen += n
        stats.last_at = self._clock()

    def _error(self, source: str, message: str) -> None:
        self._stats[source].last_error = message
        log.warning("capture %s: %s", source, message)


def _unknown(source: str) -> str:
    return (
        f"source: unknown capture source {source!r}; `continue` or `git` "
        "(Claude Code: gepad deliver enable --target claude-capture)"
    )


def _workspace(raw: str | None, *, must_exist: bool = True) -> Path:
    path = to_path(raw) if raw else None
    if path is None:
        raise CaptureError(f"workspace: {raw!r} is not an absolute path")
    if must_exist and not path.is_dir():
        raise CaptureError(f"workspace: {raw} is not an existing folder")
    return path.resolve() if path.exists() else path
