"""Running one short conversation with the daemon from synchronous CLI code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gepad_client import GepadClient

__all__ = ["CALL_TIMEOUT_S", "with_client"]

T = TypeVar("T")

CALL_TIMEOUT_S = 10.0


def with_client(
    work: Callable[[GepadClient], Awaitable[T]], *, timeout: float = CALL_TIMEOUT_S
) -> T:
    """Connect (GEPAD_HOME or the user's dirs decide where), run `work`, disconnect."""

    async def session() -> T:
        async with GepadClient.connect(timeout=timeout) as client:
            return await work(client)

    return asyncio.run(session())
