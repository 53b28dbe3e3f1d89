"""The CLI's own error: a message for the user and the exit code to leave with."""

from __future__ import annotations

from gepad.errors import GepadError

__all__ = ["EXIT_FAILURE", "EXIT_NOT_RUNNING", "EXIT_OK", "EXIT_USAGE", "CliError"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # bad arguments, bad input files, invalid config
EXIT_NOT_RUNNING = 3  # the command needs the daemon and it is not running


class CliError(GepadError):
    """Ends the command with `message` on stderr and exit code `code`."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code
