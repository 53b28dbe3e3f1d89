"""`gepad mcp`: the MCP server on stdin/stdout (register it with your assistant)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from gepad.cli._errors import EXIT_OK

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    # stdout carries the protocol: logs go to stderr only.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    from gepad.mcp_server import serve_stdio

    home = getattr(args, "home", None)
    asyncio.run(serve_stdio(home.expanduser().resolve() if home is not None else None))
    return EXIT_OK
