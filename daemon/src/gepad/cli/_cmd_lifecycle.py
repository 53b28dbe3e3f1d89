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
from gepad.paths import Paths, resolve_paths
from gepad_client import DaemonInfo, GepadClientError, pid_alive, read_daemon_file

__all__ = ["STDERR_FILE_NAME", "run"]

START_TIMEOUT_S = 10.0
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
    return _start(paths, foreground=args.foreground, verbose=args.verbose)


def _live_daemon(paths: Paths) -> DaemonInfo | None:
    try:
        info = read_daemon_file(paths.runtime_dir)
    except GepadClientError:
        return None  # a damaged discovery file; the daemon replaces it when it starts
    return info if info is not None and pid_alive(info.pid) else None


def _already_running(info: DaemonInfo) -> int:
    out(f"gepad is already running (pid {info.pid}, {info.ws_url})")
    return EXIT_OK


def _start(paths: Paths, *, foreground: bool, verbose: bool) -> int:
    running = _live_daemon(paths)
    if running is not None:
        return _already_running(running)
    if foreground:
        # The only place the CLI loads the daemon itself.
        from gepad.daemon import run_foreground

        return run_foreground(verbose=verbose)

    paths.logs_dir.mkdir(parents=True, exist_ok=True)
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
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        code = child.poll()
        if code is not None:
            return _early_exit(code, paths, stderr_path)
        info = _live_daemon(paths)
        if info is not None and info.pid == child.pid and _answers():
            out(f"gepad started (pid {info.pid}, {info.ws_url})")
            return EXIT_OK
        if time.monotonic() > deadline:
            err(
                f"the daemon (pid {child.pid}) did not become ready within "
                f"{START_TIMEOUT_S:.0f} s; see {paths.log_file} and {stderr_path}, "
                "or stop it with `gepad stop`"
            )
            return EXIT_FAILURE
        time.sleep(_POLL_S)


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
