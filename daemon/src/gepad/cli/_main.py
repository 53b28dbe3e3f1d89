"""`main()`: parse, run the command's module, turn known errors into one line and an exit code."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from gepad.cli._errors import EXIT_FAILURE, EXIT_NOT_RUNNING, EXIT_USAGE, CliError
from gepad.cli._output import err
from gepad.cli._parser import build_parser
from gepad.errors import ConfigError
from gepad_client import DaemonNotRunning, GepadClientError, RequestTooLarge, RpcError

__all__ = ["main"]

# JSON-RPC errors that mean "what you asked for is malformed", as opposed to "it failed".
_USAGE_CODES = frozenset({-32600, -32602})


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `gepad` command; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _dispatch(args)
    except DaemonNotRunning as exc:
        err(str(exc), prefix=False)  # the message already reads "gepad is not running ..."
        return EXIT_NOT_RUNNING
    except RpcError as exc:
        err(exc.message)
        return EXIT_USAGE if exc.code in _USAGE_CODES else EXIT_FAILURE
    except RequestTooLarge as exc:  # an input the user gave is too big: a usage error
        err(str(exc))
        return EXIT_USAGE
    except GepadClientError as exc:
        err(str(exc))
        return EXIT_FAILURE
    except ConfigError as exc:
        err(str(exc))
        return EXIT_USAGE
    except CliError as exc:
        err(str(exc))
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `gepad logs | head`: the reader left; stop quietly, and keep Python's exit flush quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    # Importing only the chosen command keeps `gepad status` from paying for the others.
    module = importlib.import_module(f"gepad.cli._cmd_{args.handler}")
    return int(module.run(args))
