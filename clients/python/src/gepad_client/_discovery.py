"""Where the daemon's runtime files live, and reading them.

The runtime-dir rule lives here and only here: the daemon (`gepad.paths`) imports it from
this module, so a client and the daemon can never disagree about where `daemon.json` is.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gepad_client._errors import DaemonNotRunning, GepadClientError

__all__ = [
    "APP_NAME",
    "DaemonInfo",
    "discover",
    "pid_alive",
    "read_daemon_file",
    "runtime_dir",
]

APP_NAME = "gepad"
DISCOVERY_FILE = "daemon.json"
TOKEN_FILE = "token"


@dataclass(frozen=True, slots=True)
class DaemonInfo:
    """What `daemon.json` says about a running daemon, plus its token."""

    pid: int
    ws_url: str
    started_at: float
    version: str
    runtime_dir: Path
    token: str | None = None
    # The daemon's inbound limit per message (None: a daemon too old to say).
    max_message_bytes: int | None = None


def runtime_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory holding `daemon.json`, `token` and `daemon.lock`.

    `GEPAD_HOME=H` gives `H/run`. Otherwise the user runtime dir (`$XDG_RUNTIME_DIR/gepad`
    on Linux), falling back to `<user cache dir>/run` when there is no usable one: a
    predictable name under /tmp could be pre-created by another user, so it is never used.
    """
    env = os.environ if environ is None else environ
    home = env.get("GEPAD_HOME", "").strip()
    if home:
        return Path(home).expanduser().absolute() / "run"
    import platformdirs  # deferred: only needed without GEPAD_HOME

    if sys.platform == "darwin" or sys.platform == "win32":
        try:
            return Path(platformdirs.user_runtime_dir(APP_NAME))
        except OSError:
            return Path(platformdirs.user_cache_dir(APP_NAME)) / "run"
    xdg = env.get("XDG_RUNTIME_DIR", "").strip()
    if xdg and _usable_dir(Path(xdg)):
        return Path(xdg) / APP_NAME
    default = Path(f"/run/user/{os.getuid()}")
    if _usable_dir(default):
        return default / APP_NAME
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "run"


def _usable_dir(path: Path) -> bool:
    return path.is_absolute() and path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed daemon whose parent has not reaped it yet still answers kill(0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    state = stat.rpartition(")")[2].split()[:1]
    return state != ["Z"]


def read_daemon_file(run_dir: Path) -> DaemonInfo | None:
    """Parse `<run_dir>/daemon.json`; None when it does not exist.

    Raises `GepadClientError` when the file exists but is not what the daemon writes.
    Does not check that the pid is alive (see `discover`).
    """
    path = run_dir / DISCOVERY_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GepadClientError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw)
        pid, ws_url = data["pid"], data["ws_url"]
        if not isinstance(pid, int) or not isinstance(ws_url, str):
            raise TypeError("pid must be an int and ws_url a string")
        limit = data.get("max_message_bytes")
        return DaemonInfo(
            pid=pid,
            ws_url=ws_url,
            started_at=float(data.get("started_at", 0.0)),
            version=str(data.get("version", "")),
            runtime_dir=run_dir,
            max_message_bytes=limit if isinstance(limit, int) and limit > 0 else None,
        )
    except (ValueError, KeyError, TypeError) as exc:
        # The daemon writes the file atomically, so a bad one is damage, not a race.
        raise GepadClientError(f"{path} is not a valid discovery file: {exc}") from None


def discover(home: Path | None = None, environ: Mapping[str, str] | None = None) -> DaemonInfo:
    """Find the running daemon and read its token.

    `home` plays the role of `GEPAD_HOME`; without it the environment decides. Raises
    `DaemonNotRunning` (with a message fit for a user) when there is no live daemon.
    """
    run_dir = home.expanduser().absolute() / "run" if home is not None else runtime_dir(environ)
    info = read_daemon_file(run_dir)
    if info is None:
        raise DaemonNotRunning(
            f"gepad is not running (no {DISCOVERY_FILE} in {run_dir}); start it with `gepad start`"
        )
    if not pid_alive(info.pid):
        raise DaemonNotRunning(
            f"gepad is not running (its pid {info.pid} in {run_dir / DISCOVERY_FILE} is gone); "
            "start it with `gepad start`"
        )
    token_path = run_dir / TOKEN_FILE
    try:
        token = token_path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise DaemonNotRunning(
            f"gepad is not running properly: {token_path} is missing; restart it with "
            "`gepad stop && gepad start`"
        ) from None
    except OSError as exc:
        raise GepadClientError(f"cannot read the token {token_path}: {exc.strerror}") from None
    return DaemonInfo(
        pid=info.pid,
        ws_url=info.ws_url,
        started_at=info.started_at,
        version=info.version,
        runtime_dir=run_dir,
        token=token,
        max_message_bytes=info.max_message_bytes,
    )
