"""`gepad mcp`: connect to the daemon, serve MCP on stdin/stdout, forward prompt changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mcp.server.stdio import stdio_server

from gepad_client import GepadClient

from ._server import GepadMcp

__all__ = ["serve_stdio"]


async def serve_stdio(home: Path | None = None) -> None:
    """Run until the client closes stdin; raises DaemonNotRunning/ConnectError up front."""
    async with GepadClient.connect(home=home, timeout=10.0) as client:
        changes = await client.subscribe(None)
        app = GepadMcp(client)
        async with stdio_server() as (read, write):
            follower = asyncio.create_task(app.follow(changes))
            try:
                await app.server.run(read, write, app.server.create_initialization_options())
            finally:
                follower.cancel()
                changes.close()
