"""`gepad mcp`: connect to the daemon, serve MCP on stdin/stdout, forward prompt changes."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from mcp.server.stdio import stdio_server

from gepad_client import GepadClientError

from ._link import DaemonLink
from ._server import GepadMcp

__all__ = ["serve_stdio"]

log = logging.getLogger(__name__)

_RESUBSCRIBE_S = 2.0


async def serve_stdio(home: Path | None = None) -> None:
    """Run until the client closes stdin; raises DaemonNotRunning/ConnectError up front.
    Afterwards a lost daemon connection is reopened on the next call (see `DaemonLink`)."""
    link = DaemonLink(home)
    await link.client(attempts=1)
    app = GepadMcp(link)
    try:
        async with stdio_server() as (read, write):
            follower = asyncio.create_task(follow_changes(link, app))
            try:
                await app.server.run(read, write, app.server.create_initialization_options())
            finally:
                follower.cancel()
    finally:
        await link.close()


async def follow_changes(link: DaemonLink, app: GepadMcp) -> None:
    """Forward `prompt.changed` for as long as the server runs, subscribing again after every
    reconnect (a restarted daemon may have swapped the prompt: clients are told once more)."""
    first = True
    while True:
        try:
            client = await link.client()
            changes = await client.subscribe(None)
        except GepadClientError as exc:
            log.warning("mcp: cannot follow prompt changes yet (%s); retrying", exc)
            await asyncio.sleep(_RESUBSCRIBE_S)
            continue
        try:
            if not first:
                await app.prompt_changed("general")
            first = False
            await app.follow(changes)  # returns when the connection is lost
        finally:
            changes.close()
        await asyncio.sleep(_RESUBSCRIBE_S / 4)
