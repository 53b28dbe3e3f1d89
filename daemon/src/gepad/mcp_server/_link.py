"""`DaemonLink`: the MCP server's `Backend`, a `GepadClient` reopened when it is lost.

An MCP server lives as long as the assistant that started it, longer than one daemon: a
daemon restart (1001) or a message the daemon refused by closing (1009) must not break
every later tool call. Each call uses the open connection; when it is gone, or goes away
during the call, the link reconnects (rediscovering `daemon.json`, so a new port and token
are found) with a bounded retry and makes the call once more. A repeated `feedback.submit`
is absorbed by the daemon's dedupe window.

Requests over the daemon's `max_message_bytes` are refused before sending (the client's
`RequestTooLarge` names the limit): the limit comes from `daemon.json`, else the documented
default, 1 MiB.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from gepad_client import ConnectError, ConnectionLost, DaemonNotRunning, GepadClient

__all__ = ["DEFAULT_MAX_MESSAGE_BYTES", "DaemonLink"]

log = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 1_048_576  # the daemon's default `max_message_bytes`
_T = TypeVar("_T")


class DaemonLink:
    def __init__(
        self,
        home: Path | None = None,
        *,
        timeout: float = 10.0,
        attempts: int = 10,
        delay_s: float = 0.5,
    ) -> None:
        self._home = home
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._delay = delay_s
        self._client: GepadClient | None = None
        self._lock = asyncio.Lock()
        self.connects = 0

    async def client(self, *, attempts: int | None = None) -> GepadClient:
        """The open connection, reopened (bounded retry) if it is closed; raises the last
        `DaemonNotRunning`/`ConnectError` when the daemon stays unreachable."""
        tries = self._attempts if attempts is None else max(1, attempts)
        async with self._lock:
            if self._client is not None and not self._client.closed:
                return self._client
            if self._client is not None:
                await self._drop(self._client)
            last: Exception | None = None
            for attempt in range(tries):
                if attempt:
                    await asyncio.sleep(self._delay)
                try:
                    client = await GepadClient.open(home=self._home, timeout=self._timeout)
                except (DaemonNotRunning, ConnectError) as exc:
                    last = exc
                    continue
                if client.max_message_bytes is None:
                    client.max_message_bytes = DEFAULT_MAX_MESSAGE_BYTES
                self._client = client
                self.connects += 1
                if self.connects > 1:
                    log.warning("mcp: reconnected to the gepad daemon")
                return client
            assert last is not None
            raise last

    async def _drop(self, client: GepadClient) -> None:
        if self._client is client:
            self._client = None
        try:
            await client.close()
        except Exception:  # already broken: nothing more to release
            log.debug("mcp: closing a lost connection failed", exc_info=True)

    async def _call(self, use: Callable[[GepadClient], Awaitable[_T]]) -> _T:
        client = await self.client()
        try:
            return await use(client)
        except ConnectionLost as exc:
            log.warning("mcp: the daemon connection was lost (%s); reconnecting", exc)
            async with self._lock:
                await self._drop(client)
        return await use(await self.client())

    async def close(self) -> None:
        async with self._lock:
            if self._client is not None:
                await self._drop(self._client)

    # Backend -----------------------------------------------------------------------------------

    async def get_status(self) -> Any:
        return await self._call(lambda c: c.get_status())

    async def get_prompt(self, component: str = "general") -> Any:
        return await self._call(lambda c: c.get_prompt(component))

    async def submit_feedback(self, kind: str, **fields: Any) -> Any:
        return await self._call(lambda c: c.submit_feedback(kind, **fields))
