"""`gepad start [--foreground] [--verbose]` and `gepad stop`."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gepad.cli._errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from gepad.cli._output import err, out
from gepad.cli._rpc import with_client
from gepad.paths import Paths, ensure_private_dir, resolve_paths
from gepad_client import DaemonInfo, GepadClientError, pid_alive, read_daemon_file

__all__ = ["STDERR_FILE_NAME", "run"]

# `gepad start` waits while the new daemon is alive and making progress (CPU time or log
# output growing): a loaded machine can take well over 10 s to import the stack. It gives up
# after START_STALL_S without progress, or START_TIMEOUT_S in all (`--timeout S` sets a
# fixed limit instead).
START_TIMEOUT_S = 60.0
START_STALL_S = 10.0
_POLL_S = 0.05
# The detached daemon's stderr: start-up errors (a bad config) and warnings land here.
STDERR_FILE_NAME = "daemon.stderr"
# `python -m gepad.daemon` exits with these (see gepad.daemon).
_DAEMON_CONFIG_ERROR = 2
_DAEMON_ALREADY_RUNNING = 3


def run(args: argparse.Namespace) -> int:
    paths = resolve_paths()
    if args.lifecycle == "stop":
        return _stop(paths, timeout=args.timeout)
    return _start(
        paths,
        foreground=args.foreground,
        verbose=args.verbose,
        timeout=getattr(args, "timeout", None),
    )


def _live_daemon(paths: Paths) -> DaemonInfo | None:
    try:
        info = read_daemon_file(paths.runtime_dir)
    except GepadClientError:
        return None  # a damaged discovery file; the daemon replaces it when it starts
    return info if info is not None and pid_alive(info.pid) else None


def _already_running(info: DaemonInfo) -> int:
    out(f"gepad is already running (pid {info.pid}, {info.ws_url})")
    return EXIT_OK


def _start(paths: Paths, *, foreground: bool, verbose: bool, timeout: float | None) -> int:
    running = _live_daemon(paths)
    if running is not None:
        return _already_running(running)
    if foreground:
        # The only place the CLI loads the daemon itself.
        from gepad.daemon import run_foreground

        return run_foreground(verbose=verbose)

    from gepad.config import unknown_env_vars  # pydantic: paid by `start` only

    for name in unknown_env_vars(os.environ):
        err(f"warning: {name} is not a gepad setting; ignored (see `gepad doctor`)")
    ensure_private_dir(paths.logs_dir)
    stderr_path = paths.logs_dir / STDERR_FILE_NAME
    command = [sys.executable, "-m", "gepad.daemon", *(["--verbose"] if verbose else [])]
    with stderr_path.open("wb") as stderr_file:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            start_new_session=True,  # survives the terminal closing; no SIGINT from Ctrl-C here
            close_fds=True,
        )
    started = time.monotonic()
    limit = START_TIMEOUT_S if timeout is None else timeout
    progress = _Progress(child.pid, (paths.log_file, stderr_path))
    while True:
        code = child.poll()
        if code is not None:
            return _early_exit(code, paths, stderr_path)
        info = _live_daemon(paths)
        if info is not None and info.pid == child.pid and _answers():
            out(f"gepad started (pid {info.pid}, {info.ws_url})")
            return EXIT_OK
        now = time.monotonic()
        stalled = timeout is None and now - progress.last_change() > START_STALL_S
        if now - started > limit or stalled:
            why = f"for {START_STALL_S:.0f} s without progress" if stalled else "in time"
            err(
                f"the daemon (pid {child.pid}) did not become ready {why} "
                f"({now - started:.0f} s); see {paths.log_file} and {stderr_path}, "
                "wait and run `gepad status`, or stop it with `gepad stop`"
            )
            return EXIT_FAILURE
        time.sleep(_POLL_S)


class _Progress:
    """When the starting daemon last showed signs of work: CPU time used, log files grown."""

    def __init__(self, pid: int, files: tuple[Path, ...]) -> None:
        self._pid = pid
        self._files = files
        self._seen: tuple[object, ...] = ()
        self._changed = time.monotonic()

    def last_change(self) -> float:
        current = (self._cpu_ticks(), *(self._size(f) for f in self._files))
        if current != self._seen:
            self._seen = current
            self._changed = time.monotonic()
        return self._changed

    def _cpu_ticks(self) -> int | None:
        try:  # utime + stime, fields 14 and 15 of /proc/PID/stat (Linux only)
            fields = Path(f"/proc/{self._pid}/stat").read_text().rpartition(")")[2].split()
            return int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            return None

    @staticmethod
    def _size(path: Path) -> int | None:
        try:
            return path.stat().st_size
        except OSError:
            return None


def _answers() -> bool:
    try:
        with_client(lambda c: c.get_status(), timeout=2.0)
    except GepadClientError:
        return False
    return True


def _early_exit(code: int, paths: Paths, stderr_path: Path) -> int:
    if code == _DAEMON_ALREADY_RUNNING:
        # Another start won the race for the lock.
        running = _live_daemon(paths)
        if running is not None:
            return _already_running(running)
    # The daemon's own stderr line already names the problem ("gepad: configuration error: ...").
    message = _read_tail(stderr_path)
    if code == _DAEMON_CONFIG_ERROR:
        err(message or "gepad: the daemon refused its configuration", prefix=False)
        return EXIT_USAGE
    if message:
        err(message, prefix=False)
    err(f"the daemon exited during start-up (code {code}); see {paths.log_file}")
    return EXIT_FAILURE


def _read_tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-limit:].strip()


def _stop(paths: Paths, *, timeout: float) -> int:
    try:
        info = read_daemon_file(paths.runtime_dir)
    except GepadClientError as exc:
        err(f"{exc}; nothing stopped")
        return EXIT_FAILURE
    if info is None:
        out(f"gepad is not running (no daemon.json in {paths.runtime_dir}); nothing to stop")
        return EXIT_OK
    if not pid_alive(info.pid) or not _is_gepad(info.pid):
        out(
            f"gepad is not running (daemon.json names pid {info.pid}, "
            "which is not a running gepad daemon)"
        )
        return EXIT_OK
    try:
        os.kill(info.pid, signal.SIGTERM)
    except ProcessLookupError:
        out(f"gepad is not running (pid {info.pid} exited)")
        return EXIT_OK
    except PermissionError:
        err(f"not allowed to signal pid {info.pid} (another user's daemon?)")
        return EXIT_FAILURE
    deadline = time.monotonic() + timeout
    while pid_alive(info.pid):
        if time.monotonic() > deadline:
            err(
                f"gepad (pid {info.pid}) did not exit within {timeout:g} s; "
                f"`kill -9 {info.pid}` forces it (acknowledged feedback is safe)"
            )
            return EXIT_FAILURE
        time.sleep(_POLL_S)
    out(f"gepad stopped (pid {info.pid})")
    return EXIT_OK


def _is_gepad(pid: int) -> bool:
    """Guards against signalling an unrelated process that reused a stale pid."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS): trust the pid
    return b"gepad" in cmdline
