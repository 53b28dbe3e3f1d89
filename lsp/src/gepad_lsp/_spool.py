"""Feedback that could not reach the daemon: fsync'd JSON lines, replayed in order.

One file, `<spool_dir>/feedback.jsonl`, shared by every language server of the user: each
append and each replay holds an exclusive `flock` on `<spool_dir>/feedback.lock`, so two
editors never interleave half lines or replay the same entry twice, and no append lands while
a replay rewrites the file. A replay that finds the lock taken leaves the work to the server
holding it. Reads take no lock (appends are whole lines; a rewrite is an atomic rename). An
entry leaves the file only after the daemon acknowledged it (committed); a crash in between
replays it again, which the daemon's dedupe window absorbs.

A crash mid-append can leave a torn last line (no newline, partial JSON). Every append checks
the file's last byte and starts on a fresh line, and a read recovers a whole entry glued onto a
torn fragment (as an older gepad wrote them). What is not an entry is never deleted: when the
spool is rewritten, such lines are first appended (fsync'd) to `feedback.rejected.jsonl`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["Spool"]

log = logging.getLogger(__name__)

_FILE = "feedback.jsonl"
_LOCK = "feedback.lock"
_REJECTED = "feedback.rejected.jsonl"


class Spool:
    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._file = directory / _FILE
        self._lock = directory / _LOCK

    @property
    def path(self) -> Path:
        return self._file

    @contextlib.contextmanager
    def _locked(self, *, wait: bool = True) -> Iterator[bool]:
        """Holds the lock inside; yields False (lock not taken) when `wait` is off and another
        process holds it."""
        self._dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # releases the lock

    def append(self, params: dict[str, Any]) -> None:
        """Write one `feedback.submit` params object durably (fsync) before returning."""
        line = json.dumps(params, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._locked():
            created = not self._file.exists()
            fd = os.open(self._file, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                data = line.encode("utf-8")
                if _ends_torn(fd):
                    data = b"\n" + data  # a torn last line: never glue an entry onto it
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self._dir)

    def set_aside(self, params: dict[str, Any], reason: str) -> None:
        """Keep an entry the daemon refused (it would block the queue forever) in a side file
        instead of dropping it; call only from inside `replay`."""
        self._reject([{"reason": reason, "params": params}])
        log.error("the daemon refused spooled feedback (%s); kept in %s", reason, _REJECTED)

    @property
    def rejected_path(self) -> Path:
        return self._dir / _REJECTED

    def _reject(self, records: list[dict[str, Any]]) -> None:
        """Append records to the side file, fsync'd (file and, when created, directory)."""
        path = self._dir / _REJECTED
        created = not path.exists()
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            data = text.encode("utf-8")
            if _ends_torn(fd):
                data = b"\n" + data
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self._dir)

    def pending(self) -> bool:
        """Cheap: whether anything waits (the file is removed once empty)."""
        try:
            return self._file.stat().st_size > 0
        except FileNotFoundError:
            return False

    def entries(self) -> list[dict[str, Any]]:
        return self._read()[0]

    def __len__(self) -> int:
        return len(self.entries()) if self._file.exists() else 0

    def _read(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The entries in order, and the lines (or torn fragments) that are not entries."""
        try:
            raw = self._file.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return [], []
        out: list[dict[str, Any]] = []
        bad: list[str] = []
        for number, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            item, junk = _parse_line(line)
            if junk:
                log.warning("%s:%d is not a whole JSON entry; set aside", self._file, number)
                bad.append(junk)
            if item is not None:
                out.append(item)
        return out, bad

    def _rewrite(self, remaining: list[dict[str, Any]], bad: list[str]) -> None:
        """Replace the file with `remaining`; `bad` lines go to the rejected file first, so
        nothing is lost even if the rename below never happens."""
        if bad:
            self._reject([{"reason": "not a JSON object", "line": b} for b in bad])
            log.error("%d corrupt spool line(s) moved to %s", len(bad), self.rejected_path)
        if not remaining:
            self._file.unlink(missing_ok=True)
            _fsync_dir(self._dir)
            return
        tmp = self._file.with_suffix(".tmp")
        text = "".join(
            json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n" for e in remaining
        )
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._file)
        _fsync_dir(self._dir)

    async def replay(self, submit: Callable[[dict[str, Any]], Awaitable[object]]) -> int:
        """Submit every entry in order; stop at the first failure (it propagates) and keep
        that entry and the ones after it. Returns how many were delivered (0 as well when
        another process is replaying right now).

        The lock is held across the awaits, so other processes' appends wait (call `append`
        off the event loop). flock is per open file: within one process the caller must
        serialize `append` and `replay` itself.
        """
        with self._locked(wait=False) as taken:
            if not taken:
                return 0
            entries, bad = self._read()
            done = 0
            try:
                for entry in entries:
                    await submit(entry)
                    done += 1
            finally:
                if done or bad:
                    self._rewrite(entries[done:], bad)
                    log.info("replayed %d spooled feedback item(s)", done)
        return done


def _parse_line(line: str) -> tuple[dict[str, Any] | None, str]:
    """(entry, junk): a whole JSON object, or the object at the end of a line whose start is a
    torn fragment (found by decoding from each `{`); junk is what is not an entry ("" if none)."""
    try:
        item = json.loads(line)
    except ValueError:
        item = None
    else:
        return (item, "") if isinstance(item, dict) else (None, line)
    decoder = json.JSONDecoder()
    start = line.find("{", 1)
    while start != -1:
        try:
            found, end = decoder.raw_decode(line, start)
        except ValueError:
            found, end = None, -1
        if isinstance(found, dict) and not line[end:].strip():
            return found, line[:start]
        start = line.find("{", start + 1)
    return None, line


def _ends_torn(fd: int) -> bool:
    """Whether the open file is non-empty and its last byte is not a newline."""
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
