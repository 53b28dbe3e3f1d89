"""Logging for the daemon process: a rotating file under the logs dir, warnings to stderr.

Only the process entry (`gepad.daemon`) calls `configure_logging`; library code just uses
`logging.getLogger(__name__)`.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["LOG_BACKUPS", "LOG_MAX_BYTES", "configure_logging"]

LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)-7s %(process)d %(name)s: %(message)s"


def configure_logging(log_file: Path, *, level: str, verbose: bool) -> Callable[[], None]:
    """Attach the handlers to the root logger; returns a function that detaches them.

    `verbose` forces DEBUG in the file and copies everything to stderr (useful with
    `--foreground`); otherwise stderr only gets warnings, so a detached daemon whose
    stderr goes nowhere loses nothing that the file does not also have.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    file_level = logging.DEBUG if verbose else logging.getLevelName(level)
    formatter = logging.Formatter(_FORMAT)

    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    file_handler.setLevel(file_level)
    file_handler.setFormatter(formatter)

    stderr_handler = logging.StreamHandler(sys.stderr)
    stderr_handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    stderr_handler.setFormatter(formatter)

    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(min(file_level, stderr_handler.level))
    root.addHandler(file_handler)
    root.addHandler(stderr_handler)
    # websockets logs request headers (the bearer token) at DEBUG and every handshake at
    # INFO; aiosqlite logs every statement with its parameters (the user's feedback) at DEBUG.
    # Neither belongs in a log file, verbose or not.
    logging.getLogger("websockets").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.INFO)

    def detach() -> None:
        for handler in (file_handler, stderr_handler):
            root.removeHandler(handler)
            handler.close()
        root.setLevel(previous_level)

    return detach
