"""Transactions: all-or-nothing, isolation between tasks, misuse refused, close drains."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gepad.errors import StoreClosedError, StoreError
from gepad.store import LlmCall, NewExample, NewGeneration, Store


class Boom(Exception):
    pass


def _count(db: Path, table: str) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        con.close()


async def test_a_block_that_raises_rolls_back_every_table(store: Store, db_path: Path) -> None:
    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await store.add_example(NewExample(kind="thumbs_up"), tx=tx)
            await store.record_generation(NewGeneration(output="g"), tx=tx)
            await store.insert_prompt_version(
                tx, "general", "t", score=None, source="seed", candidate_id=None, status="current"
            )
            await store.save_engine_state(tx, "general", '{"iteration": 3}')
            await store.record_llm_call(tx, LlmCall(model="m", purpose="task"))
            await store.cache_put(tx, "k", "v")
            await store.log_event(tx, "test", {"a": 1})
            # Inside the block the writes are visible to this transaction's own reads.
            assert len(await store.list_examples()) == 1
            assert await store.load_engine_state("general", tx=tx) == '{"iteration": 3}'
            raise Boom
    for table in (
        "examples",
        "generations",
        "prompt_versions",
        "engine_state",
        "llm_calls",
        "cache",
        "events",
    ):
        assert _count(db_path, table) == 0, table
    assert await store.load_engine_state("general") is None


async def test_a_block_that_completes_commits_everything_at_once(
    store: Store, db_path: Path
) -> None:
    async with store.transaction() as tx:
        await store.add_examples(
            [NewExample(kind="comment", comment=str(i)) for i in range(3)], tx=tx
        )
        await store.save_engine_state(tx, "general", "{}")
        # Another connection (a separate reader) sees none of it before COMMIT.
        assert _count(db_path, "examples") == 0
    assert _count(db_path, "examples") == 3
    assert _count(db_path, "engine_state") == 1


async def test_other_tasks_never_read_uncommitted_writes(store: Store) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        with pytest.raises(Boom):
            async with store.transaction() as tx:
                await store.add_example(NewExample(kind="thumbs_up"), tx=tx)
                inside.set()
                await release.wait()
                raise Boom

    task = asyncio.create_task(writer())
    await inside.wait()
    reader = asyncio.create_task(store.list_examples())
    await asyncio.sleep(0.05)
    assert not reader.done()  # waits for the transaction rather than reading through it
    release.set()
    await task
    assert await asyncio.wait_for(reader, 5) == []


async def test_a_finished_tx_cannot_be_used(store: Store) -> None:
    async with store.transaction() as tx:
        pass
    assert not tx.active
    with pytest.raises(StoreError, match="finished"):
        await store.add_example(NewExample(kind="thumbs_up"), tx=tx)


async def test_a_tx_from_another_store_is_refused(store: Store, tmp_path: Path) -> None:
    other = await Store.open(tmp_path / "other.db")
    try:
        async with other.transaction() as foreign:
            with pytest.raises(StoreError, match="does not belong"):
                await store.cache_put(foreign, "k", "v")
    finally:
        await other.close()


async def test_nesting_and_implicit_writes_inside_a_transaction_are_refused(store: Store) -> None:
    async with store.transaction() as tx:
        with pytest.raises(StoreError, match="does not nest"):
            async with store.transaction():
                pass
        with pytest.raises(StoreError, match="pass its Tx"):
            await store.add_example(NewExample(kind="thumbs_up"))
        with pytest.raises(StoreError, match="pass its Tx"):
            await store.log_event(None, "x", {})
        # Reads without tx go through the open transaction instead of waiting on themselves.
        await store.cache_put(tx, "k", "v")
        assert await store.cache_get("k") == "v"


async def test_sqlite_errors_surface_as_store_errors(store: Store) -> None:
    await store.insert_prompt_version(
        None, "general", "a", score=None, source="seed", candidate_id=None, status="current"
    )
    # The unique index refuses a second current version of one component.
    with pytest.raises(StoreError, match="UNIQUE"):
        await store.insert_prompt_version(
            None, "general", "b", score=None, source="seed", candidate_id=None, status="current"
        )
    assert [v.version for v in await store.prompt_versions("general")] == [1]


async def test_close_waits_for_queued_writes_then_refuses(db_path: Path) -> None:
    store = await Store.open(db_path)
    writes = [
        asyncio.create_task(store.add_example(NewExample(kind="comment", comment=str(i))))
        for i in range(50)
    ]
    await asyncio.sleep(0)  # let them queue on the lock
    await store.close()
    results = await asyncio.gather(*writes, return_exceptions=True)
    acknowledged = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, StoreClosedError) for r in refused)
    assert len(acknowledged) == 50  # all were queued before close() and finished first
    assert _count(db_path, "examples") == 50
    assert store.closed
    with pytest.raises(StoreClosedError):
        await store.add_example(NewExample(kind="thumbs_up"))
    with pytest.raises(StoreClosedError):
        await store.list_examples()
    await store.close()  # idempotent


async def test_async_with_closes(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        await store.add_example(NewExample(kind="thumbs_up"))
    assert store.closed
    assert _count(db_path, "examples") == 1


async def test_cancelled_writer_leaves_the_store_usable(store: Store) -> None:
    started = asyncio.Event()

    async def slow() -> Any:
        async with store.transaction() as tx:
            await store.add_example(NewExample(kind="comment", comment="cancelled"), tx=tx)
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.list_examples() == []
    res = await store.add_example(NewExample(kind="comment", comment="after"))
    assert res.created
