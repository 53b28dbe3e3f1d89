"""Logging for the daemon process: a rotating file under the logs dir, warnings to stderr.

Only the process entry (`gepad.daemon`) calls `configure_logging`; library code just uses
`logging.getLogger(__name__)`. The log files are created 0600 (they name the user's files
and errors). gepad's own messages never carry message bodies; third-party libraries do at
DEBUG (the openai client logs every request body, websockets the headers with the token,
aiosqlite every statement's parameters), so their loggers stay at WARNING unless
`log_third_party` asks for them.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["LOG_BACKUPS", "LOG_MAX_BYTES", "THIRD_PARTY_LOGGERS", "configure_logging"]

LOG_MAX_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)-7s %(process)d %(name)s: %(message)s"
_FILE_MODE = 0o600

# The libraries the daemon loads that log on their own. Their children (`httpx._client`,
# `litellm.utils`, `websockets.server`) inherit the level set here.
THIRD_PARTY_LOGGERS = (
    "openai",
    "httpx",
    "httpcore",
    "litellm",
    "LiteLLM",
    "LiteLLM Proxy",
    "LiteLLM Router",
    "websockets",
    "aiosqlite",
    "watchdog",
    "urllib3",
    "asyncio",
    "pygls",
    "hpack",
    "h11",
    "h2",
)


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files (the first and every rotated one) are 0600."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(
            self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE
        )
        os.fchmod(fd, _FILE_MODE)  # an older gepad may have left it 0644
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


def configure_logging(
    log_file: Path, *, level: str, verbose: bool, third_party: bool = False
) -> Callable[[], None]:
    """Attach the handlers to the root logger; returns a function that detaches them.

    `verbose` forces DEBUG in the file and copies everything to stderr (useful with
    `--foreground`); otherwise stderr only gets warnings, so a detached daemon whose
    stderr goes nowhere loses nothing that the file does not also have. `third_party`
    lets the libraries in `THIRD_PARTY_LOGGERS` log at that level too.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    file_level = logging.DEBUG if verbose else logging.getLevelName(level)
    formatter = logging.Formatter(_FORMAT)

    file_handler = _PrivateRotatingFileHandler(
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
    previous_levels = {name: logging.getLogger(name).level for name in THIRD_PARTY_LOGGERS}
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if third_party else logging.WARNING)

    def detach() -> None:
        for handler in (file_handler, stderr_handler):
            root.removeHandler(handler)
            handler.close()
        root.setLevel(previous_level)
        for name, old in previous_levels.items():
            logging.getLogger(name).setLevel(old)

    return detach
