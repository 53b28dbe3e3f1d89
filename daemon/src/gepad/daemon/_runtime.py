"""The runtime files: the single-instance lock, the token and the discovery file.

The lock (`fcntl.flock` on daemon.lock) is the only source of truth for "a daemon is
running": the kernel drops it when the process dies, however it dies. So a daemon.json
found while we hold the lock is by definition stale and is removed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gepad.errors import AlreadyRunningError, DaemonError
from gepad.paths import ensure_private_dir

__all__ = [
    "InstanceLock",
    "acquire_lock",
    "clean_stale",
    "ensure_runtime_dir",
    "ensure_token",
    "read_discovery",
    "remove_discovery",
    "write_discovery",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InstanceLock:
    """The held lock; `release` removes the lock file and then drops the lock."""

    path: Path
    fd: int

    def release(self) -> None:
        # Unlink while still holding the lock, so nobody can lock this inode after we leave;
        # `acquire_lock` re-checks the inode for the same reason.
        with contextlib.suppress(FileNotFoundError):
            if _same_file(self.path, self.fd):
                self.path.unlink()
        os.close(self.fd)


# `secrets.token_urlsafe(32)`: 32 random bytes, 43 characters. A token file holding fewer
# characters than this was not written by gepad (or was cut short) and is replaced.
TOKEN_BYTES = 32
MIN_TOKEN_CHARS = 32


def ensure_runtime_dir(run_dir: Path) -> None:
    """Create the runtime dir at 0700, tighten a looser one, refuse another user's."""
    try:
        ensure_private_dir(run_dir)
    except PermissionError as exc:
        raise DaemonError(f"unsafe runtime directory: {exc}") from None


def acquire_lock(lock_path: Path, discovery_path: Path) -> InstanceLock:
    """Take the instance lock or raise AlreadyRunningError naming the holder."""
    ensure_runtime_dir(lock_path.parent)
    for _ in range(10):
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise DaemonError(f"cannot lock {lock_path}: {exc.strerror}") from None
            raise _already_running(lock_path, discovery_path) from None
        if not _same_file(lock_path, fd):
            # The previous holder unlinked the file between our open and our flock.
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return InstanceLock(lock_path, fd)
    raise DaemonError(f"cannot lock {lock_path}: it keeps being replaced")


def _same_file(path: Path, fd: int) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _already_running(lock_path: Path, discovery_path: Path) -> AlreadyRunningError:
    info = read_discovery(discovery_path)
    if info is not None:
        return AlreadyRunningError(info.get("pid"), info.get("ws_url"))
    try:
        pid: int | None = int(lock_path.read_text().strip())
    except (OSError, ValueError):
        pid = None
    return AlreadyRunningError(pid, None)


def clean_stale(discovery_path: Path) -> None:
    """With the lock held, remove a daemon.json that a crashed daemon left behind."""
    info = read_discovery(discovery_path)
    if not discovery_path.exists():
        return
    pid = info.get("pid") if info else None
    alive = isinstance(pid, int) and _pid_alive(pid)
    log.warning(
        "removing stale %s (pid %s, %s)",
        discovery_path,
        pid,
        "alive but not holding the lock" if alive else "not running",
    )
    with contextlib.suppress(FileNotFoundError):
        discovery_path.unlink()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_token(token_path: Path) -> str:
    """Reuse the token file if it holds a token (fixing its mode), else create one."""
    ensure_runtime_dir(token_path.parent)
    try:
        existing = token_path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        existing = ""
    if len(existing) >= MIN_TOKEN_CHARS and not any(c.isspace() for c in existing):
        mode = stat.S_IMODE(token_path.stat().st_mode)
        if mode != 0o600:
            log.warning("%s had mode %o; setting 0600", token_path, mode)
            token_path.chmod(0o600)
        return existing
    if existing:
        log.warning(
            "%s held a token shorter than %d characters; replacing it", token_path, MIN_TOKEN_CHARS
        )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    _write_private(token_path, token + "\n", mode=0o600)
    log.info("created a new token in %s", token_path)
    return token


def write_discovery(path: Path, info: dict[str, Any]) -> None:
    _write_private(path, json.dumps(info, indent=2) + "\n", mode=0o644)


def read_discovery(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def remove_discovery(path: Path, *, pid: int) -> None:
    """Remove daemon.json if it is ours (never a file some other process wrote)."""
    info = read_discovery(path)
    if info is not None and info.get("pid") != pid:
        log.warning("%s belongs to pid %s; leaving it", path, info.get("pid"))
        return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _write_private(path: Path, text: str, *, mode: int) -> None:
    """Write atomically (temp file + rename) with `mode` from the first byte."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, mode)  # umask may have narrowed it
    os.replace(tmp, path)
