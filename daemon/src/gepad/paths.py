"""Where gepad keeps its files.

`GEPAD_HOME` overrides every location; without it platformdirs decides (XDG on Linux).
The runtime-dir rule is owned by the client library (`gepad_client.runtime_dir`) so that
clients and the daemon can never disagree about where `daemon.json` lives.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from gepad_client import runtime_dir

__all__ = [
    "APP_NAME",
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "Paths",
    "ensure_private_dir",
    "private_file",
    "resolve_paths",
    "secure_paths",
]

APP_NAME = "gepad"
# The database, the spool and the logs hold the user's code and feedback: owner only.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Paths:
    """Every file location the daemon uses, resolved once at start-up."""

    home: Path | None
    config_file: Path
    data_dir: Path
    db_file: Path
    logs_dir: Path
    log_file: Path
    runtime_dir: Path
    discovery_file: Path
    token_file: Path
    lock_file: Path
    spool_dir: Path

    @property
    def home_display(self) -> str:
        """What `status.get` reports as `home`: GEPAD_HOME, or the data dir without it."""
        return str(self.home if self.home is not None else self.data_dir)


def resolve_paths(environ: Mapping[str, str] | None = None) -> Paths:
    """Compute the paths from `environ` (default: `os.environ`); creates nothing."""
    env = os.environ if environ is None else environ
    run = Path(runtime_dir(env))
    raw_home = env.get("GEPAD_HOME", "").strip()
    home = Path(raw_home).expanduser().absolute() if raw_home else None
    if home is not None:
        config_dir, data_dir, logs_dir = home, home / "data", home / "logs"
        spool_dir = home / "spool"
    else:
        config_dir = Path(platformdirs.user_config_dir(APP_NAME))
        data_dir = Path(platformdirs.user_data_dir(APP_NAME))
        logs_dir = Path(platformdirs.user_log_dir(APP_NAME))
        spool_dir = data_dir / "spool"
    return Paths(
        home=home,
        config_file=config_dir / "config.toml",
        data_dir=data_dir,
        db_file=data_dir / "gepad.db",
        logs_dir=logs_dir,
        log_file=logs_dir / "gepad.log",
        runtime_dir=run,
        discovery_file=run / "daemon.json",
        token_file=run / "token",
        lock_file=run / "daemon.lock",
        spool_dir=spool_dir,
    )


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and its parents) with mode 0700; tighten it if it is looser.

    Raises `PermissionError` when the directory belongs to another user: its owner could
    read or replace anything gepad puts there.
    """
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to uid {info.st_uid}, not to this user")
    mode = stat.S_IMODE(info.st_mode)
    if mode != PRIVATE_DIR_MODE:
        log.warning("%s had mode %o; setting %o", path, mode, PRIVATE_DIR_MODE)
        path.chmod(PRIVATE_DIR_MODE)


def private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if it does not exist; tighten it if it does."""
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
        os.close(fd)
    _tighten(path)


def _tighten(path: Path) -> None:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        return  # never chmod through a link
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        log.warning("%s had mode %o; setting %o", path, mode, PRIVATE_FILE_MODE)
        path.chmod(PRIVATE_FILE_MODE)


def secure_paths(paths: Paths) -> None:
    """Make the data, log, spool and runtime dirs 0700 and the files in them 0600.

    The database is created empty at 0600 before SQLite opens it, so its `-wal` and `-shm`
    (which SQLite creates with the database's mode) are 0600 from their first byte too.
    Files left looser by an older gepad are tightened.
    """
    for directory in (paths.data_dir, paths.logs_dir, paths.spool_dir, paths.runtime_dir):
        ensure_private_dir(directory)
    private_file(paths.db_file)
    for suffix in ("-wal", "-shm", "-journal"):
        _tighten(paths.db_file.with_name(paths.db_file.name + suffix))
    for directory in (paths.logs_dir, paths.spool_dir, paths.runtime_dir):
        for entry in directory.iterdir():
            _tighten(entry)
