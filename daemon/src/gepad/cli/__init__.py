"""The `gepad` command line.

Talks to the daemon only through `gepad_client`. Kept light on purpose: command modules
are imported only when their command runs, and nothing here imports the daemon's server,
store or LLM stack at import time (`gepad status` must start in well under 300 ms).
"""

from gepad.cli._main import main

__all__ = ["main"]
