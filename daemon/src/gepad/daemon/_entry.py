"""The daemon process entry: `python -m gepad.daemon [--verbose]` and `run_foreground`.

Exit codes: 0 clean stop, 1 other failure, 2 configuration error, 3 already running.
Startup failures are one line on stderr (the CLI relays it); details go to the log.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Final

from gepad._logging import configure_logging
from gepad.config import load_config, unknown_env_vars
from gepad.errors import AlreadyRunningError, ConfigError, GepadError
from gepad.paths import resolve_paths, secure_paths
from gepad.server import DaemonInfo

__all__ = [
    "EXIT_ALREADY_RUNNING",
    "EXIT_CONFIG",
    "EXIT_FAILURE",
    "EXIT_OK",
    "main",
    "run_foreground",
]

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_CONFIG: Final = 2
EXIT_ALREADY_RUNNING: Final = 3

log = logging.getLogger(__name__)


def _say(message: str) -> None:
    sys.stderr.write(f"gepad: {message}\n")
    sys.stderr.flush()


def run_foreground(*, verbose: bool, environ: Mapping[str, str] | None = None) -> int:
    """Run the daemon in this process until SIGTERM/SIGINT; returns the exit code."""
    env = os.environ if environ is None else environ
    try:
        paths = resolve_paths(env)
        config = load_config(paths, env)
    except ConfigError as exc:
        _say(f"configuration error: {exc}")
        return EXIT_CONFIG
    try:
        secure_paths(paths)
    except OSError as exc:
        _say(f"cannot prepare gepad's private directories: {exc}")
        return EXIT_FAILURE
    try:
        detach = configure_logging(
            paths.log_file,
            level=config.log_level,
            verbose=verbose,
            third_party=config.log_third_party,
        )
    except OSError as exc:
        _say(f"cannot write the log file {paths.log_file}: {exc.strerror or exc}")
        return EXIT_FAILURE
    # On a full disk the log file cannot be written either: say so once on stderr (below)
    # instead of a "--- Logging error ---" traceback for every record.
    logging.raiseExceptions = False
    unknown = unknown_env_vars(env)
    if unknown:
        # A typo (GEPAD_LOGLEVEL) would otherwise be ignored without a word.
        log.warning("ignoring unknown environment variable(s): %s", ", ".join(unknown))

    def ready(info: DaemonInfo) -> None:
        if sys.stderr.isatty():
            _say(f"serving {info.ws_url} (pid {info.pid}); Ctrl-C stops it")

    # Imported here: the CLI imports this module for `start --foreground` and must stay light
    # for every other command.
    from gepad.daemon._main import serve

    try:
        asyncio.run(serve(config, paths, ready=ready))
    except AlreadyRunningError as exc:
        _say(str(exc))
        return EXIT_ALREADY_RUNNING
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        _say(f"configuration error: {exc}")
        return EXIT_CONFIG
    except GepadError as exc:
        log.error("cannot start: %s", exc)
        _say(f"cannot start: {exc}")
        return EXIT_FAILURE
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            log.exception("the daemon failed")
            _say(f"the daemon failed ({exc}); see {paths.log_file}")
            return EXIT_FAILURE
        where = exc.filename or paths.home
        log.error("cannot start: disk full: no space left on device for %s", where)
        _say(f"cannot start: disk full: no space left on device for {where}; free some space")
        return EXIT_FAILURE
    except Exception:
        log.exception("the daemon failed")
        _say(f"the daemon failed; see {paths.log_file}")
        return EXIT_FAILURE
    finally:
        detach()
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gepad.daemon",
        description="Run the gepad daemon in the foreground (`gepad start` runs it detached).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG, also to stderr")
    args = parser.parse_args(argv)
    return run_foreground(verbose=args.verbose)
