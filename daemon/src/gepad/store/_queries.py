"""SQL against one connection, and the mapping from rows to models.

These functions neither open nor commit transactions; `Store` decides that. Each call is one
round trip to aiosqlite's thread where possible (`execute_fetchall`, `RETURNING`), because every
hop costs tens of microseconds on the acknowledged-write path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

import aiosqlite

from gepad.errors import InvalidFieldError, NotFoundError

from ._models import (
    EXAMPLE_KINDS,
    ComponentState,
    Event,
    Example,
    Generation,
    LlmCall,
    LlmCallRecord,
    LlmUsage,
    NewGeneration,
    PromptVersion,
)
from ._validate import PreparedExample

Row = Sequence[Any]

_EXAMPLE_COLUMNS: Final = (
    "id, kind, component, workspace, file, language, context, output, corrected, comment, "
    "outcome, generation_id, prompt_version, split, retired, created_at, content_hash, source"
)
_GENERATION_COLUMNS: Final = (
    "id, component, workspace, file, language, instruction, context, output, prompt_version, "
    "model, created_at"
)
_PROMPT_COLUMNS: Final = (
    "id, component, version, text, score, source, candidate_id, status, created_at"
)
_LLM_COLUMNS: Final = (
    "id, model, purpose, input_tokens, output_tokens, cost_usd, latency_ms, outcome, error, "
    "component, created_at"
)


async def _rows(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    return list(await conn.execute_fetchall(sql, params))


async def _one(conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> Row | None:
    rows = await _rows(conn, sql, params)
    return rows[0] if rows else None


# examples ---------------------------------------------------------------------------------------


def _example(row: Row) -> Example:
    return Example(
        id=row[0],
        kind=row[1],
        component=row[2],
        workspace=row[3],
        file=row[4],
        language=row[5],
        context=row[6],
        output=row[7],
        corrected=row[8],
        comment=row[9],
        outcome=row[10],
        generation_id=row[11],
        prompt_version=row[12],
        split=row[13],
        retired=bool(row[14]),
        created_at=row[15],
        content_hash=row[16],
        source=row[17],
    )


async def find_duplicate(
    conn: aiosqlite.Connection, content_hash: str, not_before: float
) -> int | None:
    row = await _one(
        conn,
        "SELECT id FROM examples WHERE content_hash = ? AND created_at >= ? AND retired = 0 "
        "ORDER BY id DESC LIMIT 1",
        (content_hash, not_before),
    )
    return None if row is None else int(row[0])


async def generation_exists(conn: aiosqlite.Connection, generation_id: int) -> bool:
    return await _one(conn, "SELECT 1 FROM generations WHERE id = ?", (generation_id,)) is not None


async def insert_example(conn: aiosqlite.Connection, prep: PreparedExample, now: float) -> int:
    ex = prep.ex
    row = await _one(
        conn,
        "INSERT INTO examples (kind, component, workspace, file, language, context, output, "
        "corrected, comment, outcome, generation_id, prompt_version, split, retired, created_at, "
        "content_hash, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?) "
        "RETURNING id",
        (
            ex.kind,
            ex.component,
            ex.workspace,
            ex.file,
            ex.language,
            ex.context,
            ex.output,
            ex.corrected,
            ex.comment,
            prep.outcome,
            ex.generation_id,
            ex.prompt_version,
            ex.split,
            now,
            prep.content_hash,
            ex.source,
        ),
    )
    assert row is not None
    return int(row[0])


async def get_example(conn: aiosqlite.Connection, example_id: int) -> Example | None:
    row = await _one(conn, f"SELECT {_EXAMPLE_COLUMNS} FROM examples WHERE id = ?", (example_id,))
    return None if row is None else _example(row)


async def list_examples(
    conn: aiosqlite.Connection,
    *,
    limit: int,
    kind: str | None,
    include_retired: bool,
    after_id: int | None,
) -> list[Example]:
    where: list[str] = []
    params: list[Any] = []
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    if not include_retired:
        where.append("retired = 0")
    if after_id is not None:
        where.append("id > ?")
        params.append(after_id)
    order = "ASC" if after_id is not None else "DESC"
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    params.append(limit)
    rows = await _rows(
        conn,
        f"SELECT {_EXAMPLE_COLUMNS} FROM examples {clause} ORDER BY id {order} LIMIT ?",
        params,
    )
    return [_example(r) for r in rows]


_PREVIEW_TEXT = ("context", "output", "corrected", "comment")


async def list_example_previews(
    conn: aiosqlite.Connection,
    *,
    limit: int,
    kind: str | None,
    before_id: int | None,
    preview_chars: int,
) -> list[tuple[Example, bool]]:
    """Newest first, below `before_id`; each text field cut to `preview_chars` characters in
    SQL (so a listing never loads a huge example whole), with a flag telling whether any was
    cut."""
    where = ["retired = 0"]
    params: list[Any] = []
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    columns = _EXAMPLE_COLUMNS
    for name in _PREVIEW_TEXT:
        columns = columns.replace(f" {name},", f" substr({name}, 1, {int(preview_chars)}),", 1)
    cut = " OR ".join(f"coalesce(length({n}), 0) > {int(preview_chars)}" for n in _PREVIEW_TEXT)
    rows = await _rows(
        conn,
        f"SELECT {columns}, ({cut}) FROM examples WHERE {' AND '.join(where)} "
        "ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )
    return [(_example(r), bool(r[-1])) for r in rows]


async def count_examples_by_kind(
    conn: aiosqlite.Connection, *, include_retired: bool
) -> dict[str, int]:
    clause = "" if include_retired else "WHERE retired = 0"
    rows = await _rows(conn, f"SELECT kind, count(*) FROM examples {clause} GROUP BY kind")
    found = {str(r[0]): int(r[1]) for r in rows}
    return {kind: found.get(kind, 0) for kind in EXAMPLE_KINDS}


async def retire_example(conn: aiosqlite.Connection, example_id: int) -> bool:
    rows = await _rows(
        conn,
        "UPDATE examples SET retired = 1 WHERE id = ? AND retired = 0 RETURNING id",
        (example_id,),
    )
    return bool(rows)


async def unretire_example(conn: aiosqlite.Connection, example_id: int) -> bool:
    rows = await _rows(
        conn,
        "UPDATE examples SET retired = 0 WHERE id = ? AND retired = 1 RETURNING id",
        (example_id,),
    )
    return bool(rows)


async def set_example_split(conn: aiosqlite.Connection, example_id: int, split: str) -> None:
    rows = await _rows(
        conn, "UPDATE examples SET split = ? WHERE id = ? RETURNING id", (split, example_id)
    )
    if not rows:
        raise NotFoundError(f"no example with id {example_id}")


# generations ------------------------------------------------------------------------------------


async def insert_generation(conn: aiosqlite.Connection, gen: NewGeneration, now: float) -> int:
    row = await _one(
        conn,
        "INSERT INTO generations (component, workspace, file, language, instruction, context, "
        "output, prompt_version, model, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (
            gen.component,
            gen.workspace,
            gen.file,
            gen.language,
            gen.instruction,
            gen.context,
            gen.output,
            gen.prompt_version,
            gen.model,
            now,
        ),
    )
    assert row is not None
    return int(row[0])


async def get_generation(conn: aiosqlite.Connection, generation_id: int) -> Generation | None:
    row = await _one(
        conn, f"SELECT {_GENERATION_COLUMNS} FROM generations WHERE id = ?", (generation_id,)
    )
    return None if row is None else Generation(*row)


async def generations_since(
    conn: aiosqlite.Connection, since: float, limit: int
) -> list[Generation]:
    rows = await _rows(
        conn,
        f"SELECT {_GENERATION_COLUMNS} FROM generations WHERE created_at >= ? "
        "ORDER BY created_at DESC, id DESC LIMIT ?",
        (since, limit),
    )
    return [Generation(*row) for row in rows]


# prompt versions and component state ----------------------------------------------------------


def _real(value: Any) -> Any:
    # sqlite's RETURNING hands back a REAL column's integral value as an int.
    return None if value is None else float(value)


def _prompt(row: Row) -> PromptVersion:
    return PromptVersion(
        id=row[0],
        component=row[1],
        version=row[2],
        text=row[3],
        score=_real(row[4]),
        source=row[5],
        candidate_id=row[6],
        status=row[7],
        created_at=_real(row[8]),
    )


async def insert_prompt_version(
    conn: aiosqlite.Connection,
    component: str,
    text: str,
    *,
    score: float | None,
    source: str,
    candidate_id: str | None,
    status: str,
    now: float,
) -> PromptVersion:
    # The next number is taken inside the caller's write transaction, so two writers never collide.
    row = await _one(
        conn,
        f"INSERT INTO prompt_versions (component, version, text, score, source, candidate_id, "
        f"status, created_at) VALUES (?, (SELECT coalesce(max(version), 0) + 1 FROM "
        f"prompt_versions WHERE component = ?), ?, ?, ?, ?, ?, ?) RETURNING {_PROMPT_COLUMNS}",
        (component, component, text, score, source, candidate_id, status, now),
    )
    assert row is not None
    return _prompt(row)


async def set_prompt_version_status(
    conn: aiosqlite.Connection, component: str, version: int, status: str
) -> None:
    rows = await _rows(
        conn,
        "UPDATE prompt_versions SET status = ? WHERE component = ? AND version = ? RETURNING id",
        (status, component, version),
    )
    if not rows:
        raise NotFoundError(f"no prompt version {component} v{version}")


async def prompt_versions(
    conn: aiosqlite.Connection, component: str, limit: int
) -> list[PromptVersion]:
    rows = await _rows(
        conn,
        f"SELECT {_PROMPT_COLUMNS} FROM prompt_versions WHERE component = ? "
        f"ORDER BY version DESC LIMIT ?",
        (component, limit),
    )
    return [_prompt(r) for r in rows]


async def get_prompt_version(
    conn: aiosqlite.Connection, component: str, version: int
) -> PromptVersion | None:
    row = await _one(
        conn,
        f"SELECT {_PROMPT_COLUMNS} FROM prompt_versions WHERE component = ? AND version = ?",
        (component, version),
    )
    return None if row is None else _prompt(row)


def _component(row: Row) -> ComponentState:
    return ComponentState(
        component=row[0],
        current_version=row[1],
        pending_version=row[2],
        pinned=bool(row[3]),
        updated_at=_real(row[4]),
    )


_COMPONENT_COLUMNS: Final = "component, current_version, pending_version, pinned, updated_at"


async def component_state(conn: aiosqlite.Connection, component: str) -> ComponentState | None:
    row = await _one(
        conn, f"SELECT {_COMPONENT_COLUMNS} FROM components WHERE component = ?", (component,)
    )
    return None if row is None else _component(row)


async def component_states(conn: aiosqlite.Connection) -> list[ComponentState]:
    rows = await _rows(conn, f"SELECT {_COMPONENT_COLUMNS} FROM components ORDER BY component")
    return [_component(r) for r in rows]


async def upsert_component_state(
    conn: aiosqlite.Connection,
    component: str,
    *,
    current_version: int | None,
    pending_version: int | None,
    pinned: bool,
    now: float,
) -> ComponentState:
    for field, version in (
        ("current_version", current_version),
        ("pending_version", pending_version),
    ):
        if version is not None and await get_prompt_version(conn, component, version) is None:
            raise InvalidFieldError(field, f"{component} has no version {version}")
    row = await _one(
        conn,
        "INSERT INTO components (component, current_version, pending_version, pinned, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (component) DO UPDATE SET "
        "current_version = excluded.current_version, pending_version = excluded.pending_version, "
        "pinned = excluded.pinned, updated_at = excluded.updated_at "
        f"RETURNING {_COMPONENT_COLUMNS}",
        (component, current_version, pending_version, int(pinned), now),
    )
    assert row is not None
    return _component(row)


# engine state, llm calls, cache, events ------------------------------------------------------


async def save_engine_state(
    conn: aiosqlite.Connection, component: str, state_json: str, now: float
) -> None:
    await _rows(
        conn,
        "INSERT INTO engine_state (component, state_json, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (component) DO UPDATE SET state_json = excluded.state_json, "
        "updated_at = excluded.updated_at",
        (component, state_json, now),
    )


async def load_engine_state(conn: aiosqlite.Connection, component: str) -> str | None:
    row = await _one(conn, "SELECT state_json FROM engine_state WHERE component = ?", (component,))
    return None if row is None else str(row[0])


async def insert_llm_call(conn: aiosqlite.Connection, call: LlmCall, now: float) -> int:
    row = await _one(
        conn,
        "INSERT INTO llm_calls (model, purpose, input_tokens, output_tokens, cost_usd, "
        "latency_ms, outcome, error, component, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (
            call.model,
            call.purpose,
            call.input_tokens,
            call.output_tokens,
            float(call.cost_usd),
            float(call.latency_ms),
            call.outcome,
            call.error,
            call.component,
            now,
        ),
    )
    assert row is not None
    return int(row[0])


async def llm_calls(
    conn: aiosqlite.Connection, *, limit: int, since: float | None
) -> list[LlmCallRecord]:
    clause, params = ("WHERE created_at >= ?", [since]) if since is not None else ("", [])
    rows = await _rows(
        conn,
        f"SELECT {_LLM_COLUMNS} FROM llm_calls {clause} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )
    return [LlmCallRecord(*r) for r in rows]


async def llm_usage_since(conn: aiosqlite.Connection, since: float) -> LlmUsage:
    row = await _one(
        conn,
        "SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), "
        "coalesce(sum(cost_usd), 0.0) FROM llm_calls WHERE created_at >= ?",
        (since,),
    )
    assert row is not None
    return LlmUsage(
        calls=int(row[0]),
        input_tokens=int(row[1]),
        output_tokens=int(row[2]),
        cost_usd=float(row[3]),
    )


async def cache_get(conn: aiosqlite.Connection, key: str) -> str | None:
    row = await _one(conn, "SELECT value FROM cache WHERE key = ?", (key,))
    return None if row is None else str(row[0])


async def cache_put(conn: aiosqlite.Connection, key: str, value: str, now: float) -> None:
    await _rows(
        conn,
        "INSERT INTO cache (key, value, created_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
        "SET value = excluded.value, created_at = excluded.created_at",
        (key, value, now),
    )


async def insert_event(conn: aiosqlite.Connection, kind: str, payload_json: str, now: float) -> int:
    row = await _one(
        conn,
        "INSERT INTO events (kind, payload, created_at) VALUES (?, ?, ?) RETURNING id",
        (kind, payload_json, now),
    )
    assert row is not None
    return int(row[0])


async def events(conn: aiosqlite.Connection, *, limit: int, kind: str | None) -> list[Event]:
    clause, params = ("WHERE kind = ?", [kind]) if kind is not None else ("", [])
    rows = await _rows(
        conn,
        f"SELECT id, kind, payload, created_at FROM events {clause} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )
    return [Event(id=r[0], kind=r[1], payload=json.loads(r[2]), created_at=r[3]) for r in rows]
