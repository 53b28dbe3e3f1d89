"""The schema, its versioned migrations, and the checks that keep a newer database untouched.

The schema version lives in `PRAGMA user_version`; `PRAGMA application_id` marks the file as
gepad's. Migrations only ever move forward, each in its own write transaction together with
the version bump, so a crash mid-migration leaves the previous version intact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import aiosqlite

from gepad.errors import SchemaTooNewError, StoreError

APPLICATION_ID: Final = 0x67657064  # "gepd"
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    statements: tuple[str, ...]


_V1: Final = (
    """
    CREATE TABLE generations (
        id             INTEGER PRIMARY KEY,
        component      TEXT NOT NULL,
        workspace      TEXT,
        file           TEXT,
        language       TEXT,
        instruction    TEXT NOT NULL,
        context        TEXT NOT NULL,
        output         TEXT NOT NULL,
        prompt_version INTEGER,
        model          TEXT,
        created_at     REAL NOT NULL
    )
    """,
    """
    CREATE TABLE examples (
        id             INTEGER PRIMARY KEY,
        kind           TEXT NOT NULL CHECK (kind IN ('thumbs_down', 'thumbs_up', 'correction',
                           'comment', 'test_result', 'compile_result', 'kernel')),
        component      TEXT NOT NULL,
        workspace      TEXT,
        file           TEXT,
        language       TEXT,
        context        TEXT NOT NULL,
        output         TEXT NOT NULL,
        corrected      TEXT,
        comment        TEXT,
        outcome        TEXT,
        generation_id  INTEGER REFERENCES generations(id),
        prompt_version INTEGER,
        split          TEXT NOT NULL DEFAULT 'unassigned'
                           CHECK (split IN ('unassigned', 'train', 'val', 'holdout')),
        retired        INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
        created_at     REAL NOT NULL,
        content_hash   TEXT NOT NULL
    )
    """,
    "CREATE INDEX examples_by_hash ON examples (content_hash, created_at)",
    "CREATE INDEX examples_by_kind ON examples (kind, id)",
    "CREATE INDEX examples_by_generation ON examples (generation_id)",
    """
    CREATE TABLE prompt_versions (
        id           INTEGER PRIMARY KEY,
        component    TEXT NOT NULL,
        version      INTEGER NOT NULL CHECK (version >= 1),
        text         TEXT NOT NULL,
        score        REAL,
        source       TEXT NOT NULL CHECK (source IN ('seed', 'optimizer', 'user-edit', 'rollback')),
        candidate_id TEXT,
        status       TEXT NOT NULL
                         CHECK (status IN ('current', 'pending', 'superseded', 'rejected', 'held')),
        created_at   REAL NOT NULL,
        UNIQUE (component, version)
    )
    """,
    # The database itself refuses a second current or pending version of one component.
    """
    CREATE UNIQUE INDEX prompt_versions_one_current ON prompt_versions (component)
        WHERE status = 'current'
    """,
    """
    CREATE UNIQUE INDEX prompt_versions_one_pending ON prompt_versions (component)
        WHERE status = 'pending'
    """,
    """
    CREATE TABLE components (
        component       TEXT PRIMARY KEY,
        current_version INTEGER,
        pending_version INTEGER,
        pinned          INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
        updated_at      REAL NOT NULL,
        FOREIGN KEY (component, current_version) REFERENCES prompt_versions (component, version),
        FOREIGN KEY (component, pending_version) REFERENCES prompt_versions (component, version)
    )
    """,
    """
    CREATE TABLE engine_state (
        component  TEXT PRIMARY KEY,
        state_json TEXT NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE llm_calls (
        id            INTEGER PRIMARY KEY,
        model         TEXT NOT NULL,
        purpose       TEXT NOT NULL
                          CHECK (purpose IN ('task', 'reflection', 'merge', 'judge', 'assist')),
        input_tokens  INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cost_usd      REAL NOT NULL,
        latency_ms    REAL NOT NULL,
        outcome       TEXT NOT NULL,
        error         TEXT,
        component     TEXT,
        created_at    REAL NOT NULL
    )
    """,
    "CREATE INDEX llm_calls_by_time ON llm_calls (created_at)",
    """
    CREATE TABLE cache (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        created_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY,
        kind       TEXT NOT NULL,
        payload    TEXT NOT NULL,
        created_at REAL NOT NULL
    )
    """,
    "CREATE INDEX events_by_kind ON events (kind, id)",
)

# Capture (issue 14): where an example came from, and the capture sources' durable marks
# (file offsets, processed commits, hunks seen, tracked generations), one row per key.
_V2: Final = (
    "ALTER TABLE examples ADD COLUMN source TEXT",
    "CREATE INDEX examples_by_source ON examples (source, created_at)",
    """
    CREATE TABLE capture_marks (
        source     TEXT NOT NULL,
        key        TEXT NOT NULL,
        value      TEXT NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (source, key)
    )
    """,
)

# The prequential measure (issue 11): each new example scored with the component's current
# prompt before the optimizer learns from it, with the version that earned the score. A row
# with `status` 'skipped' records why no score could be had (`reason`), so it is never retried.
_V3: Final = (
    """
    CREATE TABLE prequential (
        example_id     INTEGER PRIMARY KEY REFERENCES examples(id),
        component      TEXT NOT NULL,
        prompt_version INTEGER,
        status         TEXT NOT NULL CHECK (status IN ('scored', 'skipped')),
        score          REAL,
        handled        INTEGER,
        reason         TEXT,
        created_at     REAL NOT NULL
    )
    """,
    "CREATE INDEX prequential_by_component ON prequential (component, created_at)",
)

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, _V1),
    Migration(2, _V2),
    Migration(3, _V3),
)
SCHEMA_VERSION: Final = MIGRATIONS[-1].version


def _too_new(path: Path, found: int, ours: int) -> SchemaTooNewError:
    return SchemaTooNewError(
        f"{path}: database schema version {found} is newer than this gepad supports "
        f"(version {ours}); it was left untouched. Upgrade gepad, or point GEPAD_HOME elsewhere."
    )


def _check_identity(path: Path, user_version: int, application_id: int, ours: int) -> None:
    if application_id not in (0, APPLICATION_ID):
        raise StoreError(
            f"{path}: not a gepad database (application_id {application_id:#x}); left untouched"
        )
    if user_version > ours:
        raise _too_new(path, user_version, ours)


def preflight(path: Path, ours: int = SCHEMA_VERSION) -> None:
    """Refuse a file we must not write, before any read-write connection exists.

    The header is read as raw bytes first so that a too-new database is refused without even a
    read-only sqlite connection (which could create -shm/-wal side files). A read-only
    connection then covers a header that is stale because the newest commits still sit in a WAL.
    """
    try:
        if not path.exists() or path.stat().st_size == 0:
            return
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the database file ({exc})") from exc
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise StoreError(f"{path}: not an SQLite database; left untouched")
    _check_identity(
        path,
        int.from_bytes(header[60:64], "big", signed=True),
        int.from_bytes(header[68:72], "big", signed=True),
        ours,
    )
    try:
        ro = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            user_version = ro.execute("PRAGMA user_version").fetchone()[0]
            application_id = ro.execute("PRAGMA application_id").fetchone()[0]
        finally:
            ro.close()
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot read the database ({exc}); left untouched") from exc
    _check_identity(path, user_version, application_id, ours)


async def _scalar(conn: aiosqlite.Connection, sql: str) -> int:
    rows = list(await conn.execute_fetchall(sql))
    return int(rows[0][0])


async def check_before_writing(
    conn: aiosqlite.Connection, path: Path, ours: int = SCHEMA_VERSION
) -> int:
    """Repeat the refusal on the read-write connection, still writing nothing.

    Returns the file's user_version.
    """
    user_version = await _scalar(conn, "PRAGMA user_version")
    application_id = await _scalar(conn, "PRAGMA application_id")
    _check_identity(path, user_version, application_id, ours)
    if user_version == 0 and application_id == 0:
        tables = await _scalar(conn, "SELECT count(*) FROM sqlite_master")
        if tables:
            raise StoreError(
                f"{path}: holds {tables} schema objects but no gepad schema version; "
                "not a gepad database, left untouched"
            )
    return user_version


async def migrate(
    conn: aiosqlite.Connection, path: Path, migrations: Sequence[Migration] = MIGRATIONS
) -> int:
    """Apply every migration newer than the file; returns the resulting schema version."""
    expected = list(range(1, len(migrations) + 1))
    if [m.version for m in migrations] != expected:
        raise StoreError("migrations must be numbered 1, 2, 3, ... without gaps")
    ours = len(migrations)
    for migration in migrations:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            current = await _scalar(conn, "PRAGMA user_version")
            if current > ours:
                raise _too_new(path, current, ours)
            if current >= migration.version:
                await conn.execute("ROLLBACK")
                continue
            for statement in migration.statements:
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {migration.version:d}")
            await conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
            await conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
    return await _scalar(conn, "PRAGMA user_version")
