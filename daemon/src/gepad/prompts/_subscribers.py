"""The list of `prompt.changed` listeners, copied on write so notifying never races a change."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from ._state import PromptState

logger = logging.getLogger(__name__)

Callback = Callable[[PromptState], Any]


class Subscribers:
    def __init__(self) -> None:
        self._entries: tuple[tuple[object, Callback], ...] = ()
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, callback: Callback) -> Callable[[], None]:
        if not callable(callback):
            raise TypeError(f"subscriber must be callable, got {type(callback).__name__}")
        token = object()
        self._entries = (*self._entries, (token, callback))

        def unsubscribe() -> None:
            self._entries = tuple(e for e in self._entries if e[0] is not token)

        return unsubscribe

    def __len__(self) -> int:
        return len(self._entries)

    def notify(self, state: PromptState) -> None:
        """Call every subscriber in subscription order; one failing never stops the others."""
        for _, callback in self._entries:
            try:
                result = callback(state)
            except Exception:
                logger.exception(
                    "prompt subscriber %r failed on %s v%d",
                    callback,
                    state.component,
                    state.version,
                )
                continue
            if inspect.isawaitable(result):
                # An async subscriber gets its own task so a slow one cannot delay the rest.
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("async prompt subscriber failed", exc_info=task.exception())
