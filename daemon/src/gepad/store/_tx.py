"""The handle a caller holds while it owns the store's single write transaction."""

from __future__ import annotations

import asyncio

import aiosqlite


class Tx:
    """Proof of being inside `async with store.transaction() as tx`.

    Pass it to the store's write (and, optionally, read) methods to make them part of the
    transaction. It is dead once the block ends; using it afterwards raises `StoreError`.
    """

    __slots__ = ("_conn", "_open", "_store_token", "_task")

    def __init__(
        self, store_token: object, conn: aiosqlite.Connection, task: asyncio.Task[object] | None
    ) -> None:
        self._store_token = store_token
        self._conn = conn
        self._task = task
        self._open = True

    @property
    def active(self) -> bool:
        return self._open

    def __repr__(self) -> str:
        return f"<Tx {'open' if self._open else 'finished'}>"
