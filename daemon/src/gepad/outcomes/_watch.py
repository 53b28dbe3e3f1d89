"""Watchdog's observer thread feeding the asyncio loop, one recursive watch per workspace.

The observer calls back in its own thread; `call_soon_threadsafe` hands each path to the
loop, where the ingester debounces it. A watch dies with its folder (inotify drops it when the
folder is deleted), so `check()` compares every workspace's (device, inode) with the one it
watches and re-schedules when the folder is gone, back, or replaced; the caller runs it
periodically.

`add`, `remove` and `check` block (a recursive watch adds one inotify watch per folder): the
ingester calls them in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

__all__ = ["GlobSet", "WorkspaceWatcher"]

log = logging.getLogger(__name__)

# Never descend into these: they are huge, and no report the user cares about lives there.
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__"})


def _glob_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


class GlobSet:
    """Matches workspace-relative POSIX paths against globs (`**/` spans folders, `*` does not)."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        joined = "|".join(f"(?:{_glob_regex(p)})" for p in patterns) or "(?!)"
        self._regex = re.compile(f"^(?:{joined})$")

    def matches(self, relative: str) -> bool:
        return self._regex.match(relative) is not None

    def walk(self, root: Path, *, limit: int = 10_000) -> Iterator[Path]:
        """Matching files under `root`, skipping VCS and dependency folders; at most `limit`."""
        count = 0
        for folder, dirs, files in os.walk(root, onerror=lambda _: None):
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
            for name in files:
                path = Path(folder, name)
                if self.matches(path.relative_to(root).as_posix()):
                    yield path
                    count += 1
                    if count >= limit:
                        return


@dataclass
class _Watched:
    root: Path
    identity: tuple[int, int] | None = None
    watch: ObservedWatch | None = None


class _Handler(FileSystemEventHandler):
    def __init__(self, deliver: Callable[[Path, Path], None], root: Path) -> None:
        self._deliver = deliver
        self._root = root

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write", "deleted"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                path = Path(os.fsdecode(raw))
                self._deliver(self._root, path)


def _identity(root: Path) -> tuple[int, int] | None:
    try:
        st = root.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


class WorkspaceWatcher:
    """One observer, one recursive watch per workspace folder.

    `on_path(root, path)` is called on the event loop for every created, modified, closed or
    moved-in file under a watched folder. `check()` returns the folders whose watch was
    re-established after they were missing, so the caller can scan what is already there.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_path: Callable[[Path, Path], None],
        *,
        observer_factory: Callable[[], BaseObserver] = Observer,
    ) -> None:
        self._loop = loop
        self._on_path = on_path
        self._observer = observer_factory()
        self._observer.daemon = True
        self._watched: dict[Path, _Watched] = {}
        self._started = False

    def start(self) -> None:
        self._observer.start()
        self._started = True

    def stop(self, timeout: float = 5.0) -> None:
        if not self._started:
            return
        self._started = False
        self._observer.stop()
        self._observer.join(timeout)
        if self._observer.is_alive():
            log.warning("the file watcher thread did not stop within %.0f s", timeout)

    def roots(self) -> list[Path]:
        return list(self._watched)

    def is_watching(self, root: Path) -> bool:
        entry = self._watched.get(root)
        return entry is not None and entry.watch is not None

    def add(self, root: Path) -> bool:
        """Watch `root` (no effect when already watched); False when it does not exist yet."""
        if root not in self._watched:
            self._watched[root] = _Watched(root)
            self._refresh(self._watched[root], initial=True)
        return self.is_watching(root)

    def remove(self, root: Path) -> None:
        entry = self._watched.pop(root, None)
        if entry is not None:
            self._unschedule(entry)

    def check(self) -> list[Path]:
        """Re-schedule every workspace whose folder vanished, came back or was replaced;
        returns the folders watched again."""
        return [e.root for e in list(self._watched.values()) if self._refresh(e, initial=False)]

    def _refresh(self, entry: _Watched, *, initial: bool) -> bool:
        identity = _identity(entry.root)
        if identity == entry.identity and (identity is None or entry.watch is not None):
            return False
        self._unschedule(entry)
        entry.identity = identity
        if identity is None:
            if not initial:
                log.info("workspace %s is gone; watching for it to come back", entry.root)
            return False
        handler = _Handler(self._deliver, entry.root)
        try:
            entry.watch = self._observer.schedule(handler, str(entry.root), recursive=True)
        except OSError as exc:
            # Gone again between the stat and the schedule, or out of inotify watches.
            log.warning("cannot watch %s: %s", entry.root, exc)
            entry.identity = None
            return False
        if not initial:
            log.info("watching workspace %s again", entry.root)
        return not initial

    def _unschedule(self, entry: _Watched) -> None:
        if entry.watch is None:
            return
        # Its emitter may already have stopped with the deleted folder.
        with contextlib.suppress(KeyError, OSError, ValueError):
            self._observer.unschedule(entry.watch)
        entry.watch = None

    def _deliver(self, root: Path, path: Path) -> None:
        # Runs in the observer thread.
        # A closed loop means the daemon is shutting down.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._on_path, root, path)
