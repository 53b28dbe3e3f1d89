"""`Subscription`: `prompt.changed` notifications for some components, as an async iterator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Self

from gepad_client._errors import CallTimeout, ConnectionLost
from gepad_client._types import PromptState

if TYPE_CHECKING:
    from gepad_client._client import GepadClient

__all__ = ["Subscription"]


class Subscription:
    """`prompt.changed` notifications for some components, as an async iterator of dicts.

    Iteration ends when the subscription or its connection is closed. Notifications are
    queued without bound: prompt changes are rare and each is small.
    """

    def __init__(self, client: GepadClient, components: frozenset[str] | None) -> None:
        self._client = client
        self._components = components
        self._queue: asyncio.Queue[PromptState | None] = asyncio.Queue()
        self._ended = False
        self.subscribed: list[str] = []

    def _matches(self, component: str) -> bool:
        return self._components is None or component in self._components

    def _deliver(self, state: PromptState) -> None:
        if not self._ended and self._matches(state.get("component", "")):
            self._queue.put_nowait(state)

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[PromptState]:
        return self

    async def __anext__(self) -> PromptState:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # later readers end too
            raise StopAsyncIteration
        return item

    async def get(self, timeout: float | None = None) -> PromptState:
        """The next notification; `CallTimeout` after `timeout` s, `ConnectionLost` at the end."""
        try:
            async with asyncio.timeout(timeout):
                return await self.__anext__()
        except StopAsyncIteration:
            raise ConnectionLost("the subscription is closed") from None
        except TimeoutError:
            raise CallTimeout(f"no prompt.changed notification within {timeout} s") from None

    def close(self) -> None:
        """Stop receiving; the daemon keeps sending until the connection closes (no unsubscribe)."""
        self._client._drop_subscription(self)
        self._end()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
