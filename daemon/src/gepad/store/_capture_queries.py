"""SQL for capture (issue 14): durable marks per source, and the cross-source duplicate rule."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiosqlite

from ._models import CaptureMark

__all__ = [
    "IMPLICIT_KINDS",
    "count_by_source_since",
    "delete_mark",
    "find_same_verdict",
    "get_mark",
    "list_marks",
    "put_mark",
]

# Verdicts that several capture paths can see for one generation (the LSP on save, the file
# tracker, git): the second sighting of the same verdict is the same example.
IMPLICIT_KINDS = ("correction", "thumbs_down", "thumbs_up")


def _mark(row: Sequence[Any]) -> CaptureMark:
    return CaptureMark(row[0], row[1], json.loads(row[2]), row[3])


async def get_mark(conn: aiosqlite.Connection, source: str, key: str) -> CaptureMark | None:
    rows = list(
        await conn.execute_fetchall(
            "SELECT source, key, value, updated_at FROM capture_marks WHERE source = ? AND key = ?",
            (source, key),
        )
    )
    return _mark(rows[0]) if rows else None


async def list_marks(
    conn: aiosqlite.Connection, source: str, prefix: str, limit: int
) -> list[CaptureMark]:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await conn.execute_fetchall(
        "SELECT source, key, value, updated_at FROM capture_marks "
        "WHERE source = ? AND key LIKE ? ESCAPE '\\' ORDER BY updated_at, key LIMIT ?",
        (source, escaped + "%", limit),
    )
    return [_mark(r) for r in rows]


async def put_mark(
    conn: aiosqlite.Connection, source: str, key: str, value_json: str, now: float
) -> None:
    await conn.execute_fetchall(
        "INSERT INTO capture_marks (source, key, value, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (source, key) DO UPDATE SET value = excluded.value, "
        "updated_at = excluded.updated_at",
        (source, key, value_json, now),
    )


async def delete_mark(conn: aiosqlite.Connection, source: str, key: str) -> bool:
    rows = await conn.execute_fetchall(
        "DELETE FROM capture_marks WHERE source = ? AND key = ? RETURNING key", (source, key)
    )
    return bool(list(rows))


async def find_same_verdict(
    conn: aiosqlite.Connection,
    kind: str,
    generation_id: int,
    corrected: str | None,
    comment: str | None,
) -> int | None:
    rows = list(
        await conn.execute_fetchall(
            "SELECT id FROM examples WHERE generation_id = ? AND kind = ? AND retired = 0 "
            "AND corrected IS ? AND comment IS ? ORDER BY id LIMIT 1",
            (generation_id, kind, corrected, comment),
        )
    )
    return int(rows[0][0]) if rows else None


async def count_by_source_since(conn: aiosqlite.Connection, since: float) -> dict[str, int]:
    rows = await conn.execute_fetchall(
        "SELECT coalesce(source, ''), count(*) FROM examples WHERE created_at >= ? GROUP BY source",
        (since,),
    )
    return {str(r[0]): int(r[1]) for r in rows}
