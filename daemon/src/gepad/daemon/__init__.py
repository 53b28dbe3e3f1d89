"""The gepad daemon process: lifecycle, runtime files and the asyncio main.

`python -m gepad.daemon [--verbose]` runs it in the foreground; `gepad start` detaches it.
"""

from gepad.daemon._entry import (
    EXIT_ALREADY_RUNNING,
    EXIT_CONFIG,
    EXIT_FAILURE,
    EXIT_OK,
    main,
    run_foreground,
)
from gepad.daemon._main import serve
from gepad.daemon._seeds import DEFAULT_SEEDS

__all__ = [
    "DEFAULT_SEEDS",
    "EXIT_ALREADY_RUNNING",
    "EXIT_CONFIG",
    "EXIT_FAILURE",
    "EXIT_OK",
    "main",
    "run_foreground",
    "serve",
]
