"""SQL for the prequential measure (issue 11, schema version 3): one row per example, its
test-before-train score with the prompt version that earned it, or why it has none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import aiosqlite

__all__ = [
    "PREQUENTIAL_STATUSES",
    "PrequentialRecord",
    "PrequentialStatus",
    "ids_for",
    "insert",
    "list_for",
]

PrequentialStatus = Literal["scored", "skipped"]
PREQUENTIAL_STATUSES: Final[tuple[str, ...]] = ("scored", "skipped")

_COLUMNS = "example_id, component, prompt_version, status, score, handled, reason, created_at"


@dataclass(frozen=True, slots=True)
class PrequentialRecord:
    """An example's score under the prompt that was current when it arrived (`scored`), or
    why it has none (`skipped`, with `reason`; score, handled and maybe version are None)."""

    example_id: int
    component: str
    prompt_version: int | None
    status: str
    score: float | None
    handled: bool | None
    reason: str | None
    created_at: float


def _record(row: Sequence[Any]) -> PrequentialRecord:
    handled = None if row[5] is None else bool(row[5])
    return PrequentialRecord(
        int(row[0]), row[1], row[2], row[3], row[4], handled, row[6], float(row[7])
    )


async def insert(conn: aiosqlite.Connection, rec: PrequentialRecord) -> bool:
    """False when the example already has a row (the first one stands)."""
    cur = await conn.execute(
        f"INSERT OR IGNORE INTO prequential ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rec.example_id,
            rec.component,
            rec.prompt_version,
            rec.status,
            rec.score,
            None if rec.handled is None else int(rec.handled),
            rec.reason,
            rec.created_at,
        ),
    )
    inserted = cur.rowcount == 1
    await cur.close()
    return inserted


async def list_for(
    conn: aiosqlite.Connection, component: str, limit: int
) -> list[PrequentialRecord]:
    """The newest `limit` rows of `component`, oldest first."""
    rows = await conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM (SELECT {_COLUMNS} FROM prequential WHERE component = ? "
        "ORDER BY created_at DESC, example_id DESC LIMIT ?) ORDER BY created_at, example_id",
        (component, limit),
    )
    return [_record(r) for r in rows]


async def ids_for(conn: aiosqlite.Connection, component: str) -> set[int]:
    """Every example of `component` that has a row, scored or skipped."""
    rows = await conn.execute_fetchall(
        "SELECT example_id FROM prequential WHERE component = ?", (component,)
    )
    return {int(r[0]) for r in rows}
