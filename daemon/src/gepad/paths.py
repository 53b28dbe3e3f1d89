"""Where gepad keeps its files.

`GEPAD_HOME` overrides every location; without it platformdirs decides (XDG on Linux).
The runtime-dir rule is owned by the client library (`gepad_client.runtime_dir`) so that
clients and the daemon can never disagree about where `daemon.json` lives.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from gepad_client import runtime_dir

__all__ = ["APP_NAME", "Paths", "resolve_paths"]

APP_NAME = "gepad"


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
