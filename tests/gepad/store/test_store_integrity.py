"""A damaged database is found before anything is written, and a full disk is reported as
"disk full" with the path (issue 12, items 9 and 10): the attack is random bytes written
inside the file."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import sqlite3
from pathlib import Path

import pytest

from gepad.errors import CorruptDatabaseError, DiskFullError, StoreError
from gepad.store import NewExample, Store, quick_check, storage_error


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def make_db(path: Path, rows: int = 400) -> None:
    store = await Store.open(path)
    try:
        for i in range(rows):
            text = f"row {i} " + "x" * 300
            await store.add_example(NewExample(kind="thumbs_up", context=text, output=text))
    finally:
        await store.close()
    # Closing checkpoints the WAL into the file: everything is in gepad.db now.


def damage(path: Path, seed: int = 12) -> None:
    """Random bytes over the middle pages, the header left intact."""
    size = path.stat().st_size
    page = 4096
    assert size > 8 * page
    rnd = random.Random(seed)
    with path.open("r+b") as fh:
        for start in range(2 * page, size - page, 3 * page):
            fh.seek(start + 100)
            fh.write(rnd.randbytes(page // 2))


async def test_a_corrupt_page_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "gepad.db"
    await make_db(db)
    assert quick_check(db) == []
    damage(db)
    before = _digest(db)
    assert quick_check(db)
    with pytest.raises(CorruptDatabaseError) as caught:
        await Store.open(db)
    message = str(caught.value)
    assert str(db) in message and "corrupt" in message
    assert f"cd {tmp_path} && mkdir -p corrupt && mv gepad.db* corrupt/" in message
    assert _digest(db) == before  # never written
    wal = tmp_path / "gepad.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # nothing written beside it either


def test_disk_full_errors_say_so_with_the_path(tmp_path: Path) -> None:
    db = tmp_path / "gepad.db"
    full = storage_error(sqlite3.OperationalError("database or disk is full"), db)
    assert isinstance(full, DiskFullError) and isinstance(full, StoreError)
    assert str(full).startswith("disk full: no space left on device for ") and str(db) in str(full)
    wal = str(db) + "-wal"
    os_full = storage_error(OSError(errno.ENOSPC, "No space left on device", wal), db)
    assert isinstance(os_full, DiskFullError) and wal in str(os_full)
    corrupt = storage_error(sqlite3.DatabaseError("database disk image is malformed"), db)
    assert isinstance(corrupt, CorruptDatabaseError) and "mkdir -p corrupt" in str(corrupt)
    other = storage_error(sqlite3.OperationalError("no such table: x"), db)
    assert type(other) is StoreError and "no such table" in str(other)


async def test_a_real_full_disk_is_reported_by_the_store(tmp_path: Path) -> None:
    """sqlite's own SQLITE_FULL, through a page limit (what ENOSPC gives sqlite)."""
    db = tmp_path / "gepad.db"
    store = await Store.open(db)
    try:
        async with store.transaction() as tx:
            await tx._conn.execute_fetchall("PRAGMA max_page_count = 40")
        with pytest.raises(DiskFullError) as caught:
            for i in range(200):
                text = f"{i} " + "y" * 4000
                await store.add_example(NewExample(kind="thumbs_up", context=text, output=text))
        assert "disk full" in str(caught.value) and str(db) in str(caught.value)
    finally:
        await store.close()
    assert os.path.exists(db)
