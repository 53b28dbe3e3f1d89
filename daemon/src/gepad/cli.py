"""The `gepad` command line (placeholder until the daemon issue lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    sys.stderr.write("gepad: the daemon is not built yet\n")
    return 2
