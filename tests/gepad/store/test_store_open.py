"""Opening a database: settings in force, migrations, and files we must refuse untouched."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from gepad.errors import SchemaTooNewError, StoreError
from gepad.store import SCHEMA_VERSION, NewExample, Store
from gepad.store._migrations import APPLICATION_ID, MIGRATIONS, Migration, migrate

TABLES = {
    "examples",
    "generations",
    "prompt_versions",
    "components",
    "engine_state",
    "llm_calls",
    "cache",
    "events",
}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_settings_in_force_on_the_live_connection(store: Store) -> None:
    d = await store.diagnostics()
    assert d["journal_mode"] == "wal"
    assert d["synchronous"] == 2  # FULL
    assert d["foreign_keys"] == 1
    assert d["busy_timeout"] == 5000
    assert d["user_version"] == SCHEMA_VERSION == store.schema_version


async def test_migrates_an_empty_file_to_the_full_schema(db_path: Path) -> None:
    db_path.touch()  # an empty file is a new database, not a foreign one
    store = await Store.open(db_path)
    await store.close()
    con = sqlite3.connect(db_path)
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert names >= TABLES
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent
    finally:
        con.close()


async def test_creates_missing_parent_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "gepad.db"
    store = await Store.open(path)
    await store.close()
    assert path.is_file()


async def test_reopen_keeps_data_and_does_not_remigrate(db_path: Path) -> None:
    store = await Store.open(db_path)
    added = await store.add_example(NewExample(kind="thumbs_up", context="c", output="o"))
    await store.close()
    store = await Store.open(db_path)
    try:
        got = await store.get_example(added.example_id)
        assert got is not None and got.output == "o"
        assert store.schema_version == SCHEMA_VERSION
    finally:
        await store.close()


def _make_newer(path: Path, *, wal: bool) -> None:
    con = sqlite3.connect(path)
    try:
        if wal:
            con.execute("PRAGMA journal_mode = WAL")
        con.execute("CREATE TABLE from_the_future (x)")
        con.execute("INSERT INTO from_the_future VALUES (1)")
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 41}")
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.commit()
    finally:
        con.close()


@pytest.mark.parametrize("wal", [False, True], ids=["rollback-journal", "wal"])
async def test_newer_schema_is_refused_and_left_byte_for_byte(db_path: Path, wal: bool) -> None:
    _make_newer(db_path, wal=wal)
    before = _digest(db_path)
    listing = sorted(p.name for p in db_path.parent.iterdir())
    with pytest.raises(SchemaTooNewError) as info:
        await Store.open(db_path)
    message = str(info.value)
    assert str(db_path) in message
    assert f"version {SCHEMA_VERSION + 41}" in message
    assert f"version {SCHEMA_VERSION})" in message
    assert _digest(db_path) == before
    assert sorted(p.name for p in db_path.parent.iterdir()) == listing  # no -wal/-shm created


async def test_newer_version_hidden_in_an_uncheckpointed_wal_is_refused(db_path: Path) -> None:
    # The version bump sits only in the WAL, so the main file's header still says v1: the
    # raw-header check passes and the read-only connection has to catch it.
    store = await Store.open(db_path)
    await store.close()
    holder = sqlite3.connect(db_path)
    holder.execute("PRAGMA wal_autocheckpoint = 0")
    holder.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    try:
        assert int.from_bytes(db_path.read_bytes()[60:64], "big") == SCHEMA_VERSION
        before = _digest(db_path)
        with pytest.raises(SchemaTooNewError):
            await Store.open(db_path)
        assert _digest(db_path) == before
    finally:
        holder.close()


async def test_a_file_that_is_not_sqlite_is_refused_untouched(db_path: Path) -> None:
    db_path.write_bytes(b"these are my notes, not a database\n" * 10)
    before = _digest(db_path)
    with pytest.raises(StoreError, match="not an SQLite database"):
        await Store.open(db_path)
    assert _digest(db_path) == before


async def test_another_applications_database_is_refused_untouched(db_path: Path) -> None:
    con = sqlite3.connect(db_path)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.commit()
    con.close()
    before = _digest(db_path)
    with pytest.raises(StoreError, match="not a gepad database"):
        await Store.open(db_path)
    assert _digest(db_path) == before


async def test_bad_open_arguments_name_the_field(db_path: Path) -> None:
    with pytest.raises(StoreError, match="dedupe_window_s"):
        await Store.open(db_path, dedupe_window_s=-1)
    assert not db_path.exists()


async def test_migration_upgrades_an_older_file_in_order(db_path: Path) -> None:
    conn = await aiosqlite.connect(str(db_path), isolation_level=None)
    try:
        ours = len(MIGRATIONS)
        assert await migrate(conn, db_path, MIGRATIONS) == ours
        v2 = Migration(ours + 1, ("ALTER TABLE examples ADD COLUMN extra TEXT",))
        assert await migrate(conn, db_path, (*MIGRATIONS, v2)) == ours + 1
        cols = [r[1] for r in await conn.execute_fetchall("PRAGMA table_info(examples)")]
        assert "extra" in cols
        # Running again is a no-op: each step re-reads the version under the write lock.
        assert await migrate(conn, db_path, (*MIGRATIONS, v2)) == ours + 1
    finally:
        await conn.close()


async def test_a_failing_migration_rolls_back_to_the_previous_version(db_path: Path) -> None:
    conn = await aiosqlite.connect(str(db_path), isolation_level=None)
    try:
        await migrate(conn, db_path, MIGRATIONS)
        ours = len(MIGRATIONS)
        broken = Migration(ours + 1, ("CREATE TABLE half_done (x)", "THIS IS NOT SQL"))
        with pytest.raises(sqlite3.OperationalError):
            await migrate(conn, db_path, (*MIGRATIONS, broken))
        rows = await conn.execute_fetchall("PRAGMA user_version")
        assert next(iter(rows))[0] == ours
        tables = await conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE name = 'half_done'"
        )
        assert list(tables) == []
    finally:
        await conn.close()


async def test_migrations_must_be_numbered_without_gaps(db_path: Path) -> None:
    conn = await aiosqlite.connect(str(db_path), isolation_level=None)
    try:
        with pytest.raises(StoreError, match="without gaps"):
            await migrate(conn, db_path, (Migration(1, ()), Migration(3, ())))
    finally:
        await conn.close()
