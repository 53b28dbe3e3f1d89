"""A watchdog observer on single folders (not recursive): the folders of tracked files.

Watching only the folder a tracked file is in keeps the cost to one inotify watch per
folder, whatever the size of the project (Claude Code may run in a home directory). Editors
that save by writing a temporary file and renaming it over the original still show up: the
rename's destination is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

__all__ = ["FolderWatch"]

log = logging.getLogger(__name__)


class _Handler(FileSystemEventHandler):
    def __init__(self, deliver: Callable[[Path], None]) -> None:
        self._deliver = deliver

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                self._deliver(Path(os.fsdecode(raw)))


class FolderWatch:
    def __init__(self, loop: asyncio.AbstractEventLoop, on_path: Callable[[Path], None]) -> None:
        self._loop = loop
        self._on_path = on_path
        self._observer = Observer()
        self._observer.daemon = True
        self._watches: dict[Path, ObservedWatch] = {}

    def start(self) -> None:
        self._observer.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._observer.stop()
        self._observer.join(timeout)

    def add(self, folder: Path) -> bool:
        """Blocking (schedules an inotify watch); False when the folder cannot be watched."""
        if folder in self._watches:
            return True
        try:
            watch = self._observer.schedule(_Handler(self._deliver), str(folder), recursive=False)
        except OSError as exc:
            log.info("capture: cannot watch %s: %s", folder, exc)
            return False
        self._watches[folder] = watch
        return True

    def remove(self, folder: Path) -> None:
        watch = self._watches.pop(folder, None)
        if watch is not None:
            with contextlib.suppress(KeyError, OSError, ValueError):
                self._observer.unschedule(watch)

    def _deliver(self, path: Path) -> None:
        # The observer's thread; a closed loop means the daemon is stopping.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._on_path, path)
