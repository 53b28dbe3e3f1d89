"""`prompt.changed` fan-out: one encoded message per change, one bounded queue per connection.

A subscriber that does not read its socket fills only its own queue; when that overflows the
connection is dropped, so a slow client can never delay the others or grow memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from gepad.server._dispatch import Effect, Subscribe
from gepad.server._protocol import encode, notification

__all__ = ["NotificationHub", "Session"]

log = logging.getLogger(__name__)

PROMPT_CHANGED = "prompt.changed"


class Session:
    """One connection's subscriptions and its outbound notification queue.

    The queue is bounded in messages and in characters: prompt states can be 64 KiB each, so
    a count alone would let one stuck client pin many megabytes.
    """

    def __init__(
        self,
        name: str,
        *,
        queue_limit: int,
        queue_chars: int,
        on_overflow: Callable[[Session], None],
    ) -> None:
        self.name = name
        self._queue: deque[str] = deque()
        self._queued_chars = 0
        self._queue_limit = queue_limit
        self._queue_chars = queue_chars
        self._ready = asyncio.Event()
        self._components: set[str] = set()
        self._all = False
        self._overflowed = False
        self._on_overflow = on_overflow

    @property
    def subscribed_all(self) -> bool:
        return self._all

    @property
    def components(self) -> frozenset[str]:
        return frozenset(self._components)

    def apply(self, effects: Iterable[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Subscribe):
                if effect.components is None:
                    self._all = True
                else:
                    self._components.update(effect.components)

    def wants(self, component: str) -> bool:
        return self._all or component in self._components

    @property
    def subscribed_any(self) -> bool:
        return self._all or bool(self._components)

    def offer(self, text: str) -> None:
        """Queue a notification without waiting; an overflow drops the connection once."""
        if self._overflowed:
            return
        full = len(self._queue) >= self._queue_limit or (
            self._queue and self._queued_chars + len(text) > self._queue_chars
        )
        if full:
            self._overflowed = True
            self._queue.clear()
            self._queued_chars = 0
            log.warning(
                "%s: notification queue full; dropping the connection (client too slow)",
                self.name,
            )
            self._on_overflow(self)
            return
        self._queue.append(text)
        self._queued_chars += len(text)
        self._ready.set()

    async def pump(self, send: Callable[[str], Awaitable[None]]) -> None:
        """Send queued notifications in order until cancelled or the send fails."""
        while True:
            await self._ready.wait()
            while self._queue:
                text = self._queue.popleft()
                self._queued_chars -= len(text)
                await send(text)
            self._ready.clear()


class NotificationHub:
    """Routes PromptService changes to the sessions that subscribed to them."""

    def __init__(self, encode_state: Callable[[Any], dict[str, Any]]) -> None:
        self._encode_state = encode_state
        self._sessions: set[Session] = set()

    def add(self, session: Session) -> None:
        self._sessions.add(session)

    def remove(self, session: Session) -> None:
        self._sessions.discard(session)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    def broadcast(self, method: str, params: dict[str, Any]) -> None:
        """Notify every session that subscribed to anything (e.g. `optimizer.progress`)."""
        text = encode(notification(method, params))
        for session in list(self._sessions):
            if session.subscribed_any:
                session.offer(text)

    def on_change(self, state: Any) -> None:
        """PromptService subscriber: called after the change is committed and visible."""
        targets = [s for s in self._sessions if s.wants(state.component)]
        if not targets:
            return
        text = encode(notification(PROMPT_CHANGED, self._encode_state(state)))
        for session in targets:
            session.offer(text)
