"""`Store`: gepad's database, one aiosqlite connection, durable acknowledged writes.

Transactions
    Writes are serialised by one `asyncio.Lock`; each write transaction is `BEGIN IMMEDIATE`
    ... `COMMIT` on the single connection, and a write method returns only after its COMMIT, so
    a returned value is an acknowledgement that survives `kill -9` (WAL, synchronous=FULL).

    Every write method works both ways:
      * standalone (`tx` is None): it runs in a transaction of its own;
      * inside `async with store.transaction() as tx:` when given that `tx`: it joins it, and
        everything commits or rolls back together (the optimizer persists engine state, LLM
        calls and results of a step this way).
    Methods whose brief fixed a positional `tx_or_none` (`insert_prompt_version`,
    `set_component_state`, `set_prompt_version_status`, `save_engine_state`, `record_llm_call`,
    `cache_put`, `log_event`) take it first; the others take `tx=` as a keyword.

    Calling a write method with `tx=None` from the task that holds an open transaction raises
    `StoreError` rather than deadlocking or silently joining it: where a write lands should be
    explicit. Read methods called that way read through the open transaction. Ownership is per
    task: a task spawned inside the block must be handed `tx` (for reads too), otherwise it
    waits for the transaction to end.

Reads
    Reads share the connection, so they also take the lock: a read never sees another task's
    uncommitted writes. Reads are short; hot paths (the current prompt) are served from memory by
    `gepad.prompts`, not from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import aiosqlite

from gepad.errors import InvalidFieldError, StoreClosedError, StoreError

from . import _capture_queries as cq
from . import _prequential_queries as pq
from . import _queries as q
from ._integrity import require_intact, storage_error
from ._migrations import check_before_writing, migrate, preflight
from ._models import (
    EXAMPLE_KINDS,
    SPLITS,
    AddResult,
    CaptureMark,
    ComponentState,
    Event,
    Example,
    Generation,
    LlmCall,
    LlmCallRecord,
    LlmUsage,
    NewExample,
    NewGeneration,
    PromptVersion,
)
from ._tx import Tx
from ._validate import (
    PreparedExample,
    check_choice,
    check_component,
    check_generation,
    check_id,
    check_limit,
    check_llm_call,
    check_nonempty,
    check_number,
    check_payload,
    check_prompt_fields,
    check_text,
    prepare_example,
)

logger = logging.getLogger(__name__)

DEFAULT_DEDUPE_WINDOW_S = 5.0


@contextlib.contextmanager
def _translated(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from exc


class Store:
    """Open with `await Store.open(path)`; close with `await store.close()` (or `async with`)."""

    def __init__(
        self,
        path: Path,
        conn: aiosqlite.Connection,
        *,
        clock: Callable[[], float],
        dedupe_window_s: float,
        schema_version: int,
    ) -> None:
        self._path = path
        self._conn = conn
        self._clock = clock
        self._dedupe_window_s = dedupe_window_s
        self._schema_version = schema_version
        self._lock = asyncio.Lock()
        self._active: Tx | None = None
        self._token = object()
        self._closing = False
        self._closed = asyncio.Event()

    # lifecycle ----------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        clock: Callable[[], float] = time.time,
        dedupe_window_s: float = DEFAULT_DEDUPE_WINDOW_S,
        busy_timeout_ms: int = 5000,
    ) -> Store:
        """Open (creating if needed) and migrate the database at `path`.

        Raises `SchemaTooNewError` for a database written by a newer gepad, `StoreError`
        for a file that is not gepad's, `CorruptDatabaseError` when `PRAGMA quick_check`
        finds damage, and `DiskFullError` when the disk is full; none writes to the file.
        """
        path = Path(path)
        check_number("dedupe_window_s", dedupe_window_s, minimum=0.0)
        if (
            isinstance(busy_timeout_ms, bool)
            or not isinstance(busy_timeout_ms, int)
            or busy_timeout_ms < 0
        ):
            raise InvalidFieldError(
                "busy_timeout_ms", f"must be a non-negative integer, got {busy_timeout_ms!r}"
            )
        await asyncio.to_thread(preflight, path)
        await asyncio.to_thread(require_intact, path)  # quick_check: never write a damaged file
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create its directory ({exc})") from exc
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the database ({exc})") from exc
        try:
            with _translated(path):
                await conn.execute_fetchall(f"PRAGMA busy_timeout = {busy_timeout_ms:d}")
                await check_before_writing(conn, path)
                mode = next(iter(await conn.execute_fetchall("PRAGMA journal_mode = WAL")))[0]
                if str(mode).lower() != "wal":
                    raise StoreError(
                        f"{path}: sqlite refused WAL mode (journal_mode is {mode}); "
                        "is the file on a network filesystem?"
                    )
                # FULL: the WAL is fsynced at every commit, so an acknowledgement survives
                # power loss too, not only a killed process.
                await conn.execute_fetchall("PRAGMA synchronous = FULL")
                await conn.execute_fetchall("PRAGMA foreign_keys = ON")
                version = await migrate(conn, path)
        except BaseException:
            await conn.close()
            raise
        logger.info("store open: %s (schema v%d)", path, version)
        return cls(
            path, conn, clock=clock, dedupe_window_s=float(dedupe_window_s), schema_version=version
        )

    async def close(self) -> None:
        """Let queued operations finish, then close the connection. Idempotent."""
        if self._closing:
            await self._closed.wait()
            return
        if self._own_tx() is not None:
            raise StoreError("close() called from inside store.transaction()")
        self._closing = True
        try:
            async with self._lock:
                await self._conn.close()
        finally:
            self._closed.set()
            logger.info("store closed: %s", self._path)

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def schema_version(self) -> int:
        return self._schema_version

    @property
    def dedupe_window_s(self) -> float:
        return self._dedupe_window_s

    @property
    def closed(self) -> bool:
        return self._closing

    async def diagnostics(self, *, tx: Tx | None = None) -> dict[str, Any]:
        """The settings in force on the live connection (for `doctor` and the tests)."""
        names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "user_version")
        out: dict[str, Any] = {"path": str(self._path)}
        async with self._reading(tx) as conn:
            for name in names:
                out[name] = next(iter(await conn.execute_fetchall(f"PRAGMA {name}")))[0]
        return out

    # transactions -------------------------------------------------------------------------------

    def in_transaction(self) -> bool:
        """True when the calling task is inside `store.transaction()` (its writes must pass tx)."""
        return self._own_tx() is not None

    def _own_tx(self) -> Tx | None:
        active = self._active
        if active is not None and active._task is asyncio.current_task():
            return active
        return None

    def _ensure_open(self) -> None:
        if self._closing:
            raise StoreClosedError(f"{self._path}: the store is closed")

    def _check_tx(self, tx: Tx) -> None:
        if not isinstance(tx, Tx) or tx._store_token is not self._token:
            raise StoreError("tx does not belong to this store")
        if not tx._open:
            raise StoreError("tx is finished; it can only be used inside its `async with` block")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One `BEGIN IMMEDIATE ... COMMIT`; any exception from the block rolls everything back."""
        if self._own_tx() is not None:
            raise StoreError("store.transaction() does not nest; pass the open Tx instead")
        self._ensure_open()
        async with self._lock:
            # close() may have been called while this task waited; it queues behind us, but a
            # closed connection can also be reached by a caller that raced the flag.
            if self._closed.is_set():
                raise StoreClosedError(f"{self._path}: the store is closed")
            conn = self._conn
            with _translated(self._path):
                await conn.execute_fetchall("BEGIN IMMEDIATE")
            tx = Tx(self._token, conn, asyncio.current_task())
            self._active = tx
            try:
                yield tx
                tx._open = False
                with _translated(self._path):
                    await conn.execute_fetchall("COMMIT")
            except BaseException:
                tx._open = False
                await self._rollback(conn)
                raise
            finally:
                tx._open = False
                self._active = None

    async def _rollback(self, conn: aiosqlite.Connection) -> None:
        try:
            await conn.execute_fetchall("ROLLBACK")
        except sqlite3.Error as exc:
            # A COMMIT that was already queued when the caller got cancelled may have landed.
            logger.debug("rollback not needed (%s)", exc)

    @contextlib.asynccontextmanager
    async def _writing(self, tx: Tx | None) -> AsyncIterator[aiosqlite.Connection]:
        if tx is not None:
            self._check_tx(tx)
            with _translated(self._path):
                yield tx._conn
            return
        if self._own_tx() is not None:
            raise StoreError(
                "this task holds an open store.transaction(); pass its Tx to write inside it"
            )
        async with self.transaction() as own:
            with _translated(self._path):
                yield own._conn

    @contextlib.asynccontextmanager
    async def _reading(self, tx: Tx | None) -> AsyncIterator[aiosqlite.Connection]:
        own = tx if tx is not None else self._own_tx()
        if own is not None:
            self._check_tx(own)
            with _translated(self._path):
                yield own._conn
            return
        self._ensure_open()
        async with self._lock:
            if self._closed.is_set():
                raise StoreClosedError(f"{self._path}: the store is closed")
            with _translated(self._path):
                yield self._conn

    # examples -----------------------------------------------------------------------------------

    async def _add(self, conn: aiosqlite.Connection, prep: PreparedExample) -> AddResult:
        now = self._clock()
        if self._dedupe_window_s > 0:
            # Same transaction as the insert, under the write lock: two racing identical
            # submissions cannot both miss each other.
            dup = await q.find_duplicate(conn, prep.content_hash, now - self._dedupe_window_s)
            if dup is not None:
                return AddResult(example_id=dup, created=False)
        gid = prep.ex.generation_id
        if gid is not None and not await q.generation_exists(conn, gid):
            raise InvalidFieldError("generation_id", f"no generation with id {gid}")
        if gid is not None and prep.ex.kind in cq.IMPLICIT_KINDS:
            # The same verdict on the same generation, seen by another capture path (the LSP
            # on save, the file tracker), at any time: one example (docs/store.md).
            ex = prep.ex
            same = await cq.find_same_verdict(conn, ex.kind, gid, ex.corrected, ex.comment)
            if same is not None:
                return AddResult(example_id=same, created=False)
        return AddResult(example_id=await q.insert_example(conn, prep, now), created=True)

    async def add_example(self, ex: NewExample, *, tx: Tx | None = None) -> AddResult:
        """Store one example; returns only after it is committed (or found as a duplicate)."""
        prep = prepare_example(ex)
        async with self._writing(tx) as conn:
            result = await self._add(conn, prep)
        return result

    async def add_examples(
        self, exs: Sequence[NewExample], *, tx: Tx | None = None
    ) -> list[AddResult]:
        """Store a batch in one transaction: all of it, or (on any error) none of it."""
        prepared: list[PreparedExample] = []
        for i, ex in enumerate(exs):
            try:
                prepared.append(prepare_example(ex))
            except InvalidFieldError as exc:
                raise InvalidFieldError(exc.field, f"item {i}: {exc.reason}") from None
        if not prepared:
            return []
        results: list[AddResult] = []
        async with self._writing(tx) as conn:
            for i, prep in enumerate(prepared):
                try:
                    results.append(await self._add(conn, prep))
                except InvalidFieldError as exc:
                    raise InvalidFieldError(exc.field, f"item {i}: {exc.reason}") from None
        return results

    async def get_example(self, example_id: int, *, tx: Tx | None = None) -> Example | None:
        check_id("example_id", example_id)
        async with self._reading(tx) as conn:
            return await q.get_example(conn, example_id)

    async def list_examples(
        self,
        *,
        limit: int = 50,
        kind: str | None = None,
        include_retired: bool = False,
        after_id: int | None = None,
        tx: Tx | None = None,
    ) -> list[Example]:
        """Newest first; with `after_id`, the examples after it in ascending id order."""
        check_limit(limit)
        if kind is not None:
            check_choice("kind", kind, EXAMPLE_KINDS)
        if after_id is not None and (
            isinstance(after_id, bool) or not isinstance(after_id, int) or after_id < 0
        ):
            raise InvalidFieldError("after_id", f"must be a non-negative integer, got {after_id!r}")
        async with self._reading(tx) as conn:
            return await q.list_examples(
                conn, limit=limit, kind=kind, include_retired=include_retired, after_id=after_id
            )

    async def list_example_previews(
        self,
        *,
        limit: int,
        kind: str | None = None,
        before_id: int | None = None,
        preview_chars: int = 4096,
    ) -> list[tuple[Example, bool]]:
        """Unretired examples newest first, below `before_id`, text fields cut to
        `preview_chars`; each with True when something was cut (`examples.list` pages)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_001:
            raise InvalidFieldError("limit", f"must be an integer from 1 to 10001, got {limit!r}")
        if kind is not None:
            check_choice("kind", kind, EXAMPLE_KINDS)
        if before_id is not None:
            check_id("before_id", before_id)
        if (
            isinstance(preview_chars, bool)
            or not isinstance(preview_chars, int)
            or preview_chars < 1
        ):
            raise InvalidFieldError(
                "preview_chars", f"must be a positive integer, got {preview_chars!r}"
            )
        async with self._reading(None) as conn:
            return await q.list_example_previews(
                conn, limit=limit, kind=kind, before_id=before_id, preview_chars=preview_chars
            )

    async def count_examples_by_kind(
        self, *, include_retired: bool = False, tx: Tx | None = None
    ) -> dict[str, int]:
        """Every kind, zero included, in a stable order."""
        async with self._reading(tx) as conn:
            return await q.count_examples_by_kind(conn, include_retired=include_retired)

    async def retire_example(self, example_id: int, *, tx: Tx | None = None) -> bool:
        """True when the example existed and was not retired yet."""
        check_id("example_id", example_id)
        async with self._writing(tx) as conn:
            changed = await q.retire_example(conn, example_id)
        return changed

    async def unretire_example(self, example_id: int, *, tx: Tx | None = None) -> bool:
        """True when the example existed and was retired (the optimizer sees it again)."""
        check_id("example_id", example_id)
        async with self._writing(tx) as conn:
            return await q.unretire_example(conn, example_id)

    async def set_example_split(self, example_id: int, split: str, *, tx: Tx | None = None) -> None:
        """Raises `NotFoundError` when there is no such example."""
        check_id("example_id", example_id)
        check_choice("split", split, SPLITS)
        async with self._writing(tx) as conn:
            await q.set_example_split(conn, example_id, split)

    # generations --------------------------------------------------------------------------------

    async def record_generation(self, gen: NewGeneration, *, tx: Tx | None = None) -> int:
        check_generation(gen)
        async with self._writing(tx) as conn:
            gid = await q.insert_generation(conn, gen, self._clock())
        return gid

    async def get_generation(
        self, generation_id: int, *, tx: Tx | None = None
    ) -> Generation | None:
        check_id("generation_id", generation_id)
        async with self._reading(tx) as conn:
            return await q.get_generation(conn, generation_id)

    async def generations_since(
        self, since: float, *, limit: int = 500, tx: Tx | None = None
    ) -> list[Generation]:
        """Generations recorded at or after `since` (epoch seconds), newest first."""
        check_limit(limit)
        async with self._reading(tx) as conn:
            return await q.generations_since(conn, float(since), limit)

    # prompt versions ----------------------------------------------------------------------------

    async def insert_prompt_version(
        self,
        tx: Tx | None,
        component: str,
        text: str,
        *,
        score: float | None,
        source: str,
        candidate_id: str | None,
        status: str,
        created_at: float | None = None,
    ) -> PromptVersion:
        """Append the component's next version (1, 2, 3, ...).

        Only the rows are written; keeping `status` and the component state consistent (at most
        one current, one pending) is the prompt service's job, and the database's unique indexes
        refuse a second current or pending version.
        """
        check_prompt_fields(component, text, source, status)
        check_number("score", score, optional=True)
        check_text("candidate_id", candidate_id, optional=True)
        if created_at is not None:
            check_number("created_at", created_at)
        now = self._clock() if created_at is None else float(created_at)
        async with self._writing(tx) as conn:
            version = await q.insert_prompt_version(
                conn,
                component,
                text,
                score=None if score is None else float(score),
                source=source,
                candidate_id=candidate_id,
                status=status,
                now=now,
            )
        return version

    async def set_prompt_version_status(
        self, tx: Tx | None, component: str, version: int, status: str
    ) -> None:
        """Raises `NotFoundError` when the version does not exist."""
        check_component(component)
        check_id("version", version)
        check_prompt_fields(component, "", "seed", status)
        async with self._writing(tx) as conn:
            await q.set_prompt_version_status(conn, component, version, status)

    async def prompt_versions(
        self, component: str, *, limit: int = 20, tx: Tx | None = None
    ) -> list[PromptVersion]:
        """Newest first."""
        check_component(component)
        check_limit(limit)
        async with self._reading(tx) as conn:
            return await q.prompt_versions(conn, component, limit)

    async def get_prompt_version(
        self, component: str, version: int, *, tx: Tx | None = None
    ) -> PromptVersion | None:
        check_component(component)
        check_id("version", version)
        async with self._reading(tx) as conn:
            return await q.get_prompt_version(conn, component, version)

    async def component_state(
        self, component: str, *, tx: Tx | None = None
    ) -> ComponentState | None:
        check_component(component)
        async with self._reading(tx) as conn:
            return await q.component_state(conn, component)

    async def component_states(self, *, tx: Tx | None = None) -> list[ComponentState]:
        async with self._reading(tx) as conn:
            return await q.component_states(conn)

    async def set_component_state(
        self,
        tx: Tx | None,
        component: str,
        *,
        current_version: int | None,
        pending_version: int | None,
        pinned: bool,
    ) -> ComponentState:
        """Create or replace the component's state; the versions named must exist."""
        check_component(component)
        check_id("current_version", current_version, optional=True)
        check_id("pending_version", pending_version, optional=True)
        if not isinstance(pinned, bool):
            raise InvalidFieldError("pinned", f"must be a boolean, got {pinned!r}")
        async with self._writing(tx) as conn:
            state = await q.upsert_component_state(
                conn,
                component,
                current_version=current_version,
                pending_version=pending_version,
                pinned=pinned,
                now=self._clock(),
            )
        return state

    # capture marks (issue 14) -------------------------------------------------------------------

    async def capture_mark(
        self, source: str, key: str, *, tx: Tx | None = None
    ) -> CaptureMark | None:
        async with self._reading(tx) as conn:
            return await cq.get_mark(conn, source, key)

    async def capture_marks(
        self, source: str, prefix: str = "", *, limit: int = 10_000, tx: Tx | None = None
    ) -> list[CaptureMark]:
        """The marks of `source` whose key starts with `prefix`, oldest first."""
        check_limit(limit)
        async with self._reading(tx) as conn:
            return await cq.list_marks(conn, source, prefix, limit)

    async def put_capture_mark(
        self, tx: Tx | None, source: str, key: str, value: Mapping[str, Any]
    ) -> None:
        check_nonempty("source", source, max_len=64)
        check_nonempty("key", key, max_len=4096)
        value_json = check_payload(value)
        async with self._writing(tx) as conn:
            await cq.put_mark(conn, source, key, value_json, self._clock())

    async def delete_capture_mark(self, tx: Tx | None, source: str, key: str) -> bool:
        async with self._writing(tx) as conn:
            return await cq.delete_mark(conn, source, key)

    async def count_examples_by_source(
        self, since: float, *, tx: Tx | None = None
    ) -> dict[str, int]:
        """Examples created at or after `since`, by source ('' for those without one)."""
        check_number("since", since)
        async with self._reading(tx) as conn:
            return await cq.count_by_source_since(conn, float(since))

    # the prequential measure (issue 11) ---------------------------------------------------------

    async def record_prequential(self, tx: Tx | None, rec: pq.PrequentialRecord) -> bool:
        """Record an example's test-before-train score (or why it has none); False when it
        already has one (the first stands). `rec.created_at` 0 means now."""
        check_component(rec.component)
        check_choice("status", rec.status, pq.PREQUENTIAL_STATUSES)
        check_number("score", rec.score, optional=True)
        if rec.created_at <= 0:
            rec = replace(rec, created_at=self._clock())
        async with self._writing(tx) as conn:
            return await pq.insert(conn, rec)

    async def prequential(
        self, component: str, *, limit: int = 1000, tx: Tx | None = None
    ) -> list[pq.PrequentialRecord]:
        """The newest `limit` prequential rows of `component`, oldest first."""
        check_component(component)
        check_limit(limit)
        async with self._reading(tx) as conn:
            return await pq.list_for(conn, component, limit)

    async def prequential_ids(self, component: str, *, tx: Tx | None = None) -> set[int]:
        """The examples of `component` with a prequential row (scored or skipped)."""
        check_component(component)
        async with self._reading(tx) as conn:
            return await pq.ids_for(conn, component)

    # engine state, llm calls, cache, events -----------------------------------------------------

    async def save_engine_state(self, tx: Tx | None, component: str, state_json: str) -> None:
        check_component(component)
        check_text("state_json", state_json)
        async with self._writing(tx) as conn:
            await q.save_engine_state(conn, component, state_json, self._clock())

    async def load_engine_state(self, component: str, *, tx: Tx | None = None) -> str | None:
        check_component(component)
        async with self._reading(tx) as conn:
            return await q.load_engine_state(conn, component)

    async def record_llm_call(self, tx: Tx | None, call: LlmCall) -> int:
        check_llm_call(call)
        if call.created_at is not None:
            check_number("created_at", call.created_at)
        when = self._clock() if call.created_at is None else float(call.created_at)
        async with self._writing(tx) as conn:
            call_id = await q.insert_llm_call(conn, call, when)
        return call_id

    async def llm_calls(
        self, *, limit: int = 100, since: float | None = None, tx: Tx | None = None
    ) -> list[LlmCallRecord]:
        """Newest first."""
        check_limit(limit)
        check_number("since", since, optional=True)
        async with self._reading(tx) as conn:
            return await q.llm_calls(conn, limit=limit, since=since)

    async def llm_usage_since(self, since: float, *, tx: Tx | None = None) -> LlmUsage:
        """Calls, tokens and cost recorded at or after `since` (for daily budgets)."""
        check_number("since", since)
        async with self._reading(tx) as conn:
            return await q.llm_usage_since(conn, since)

    async def cache_get(self, key: str, *, tx: Tx | None = None) -> str | None:
        check_nonempty("key", key, max_len=1024)
        async with self._reading(tx) as conn:
            return await q.cache_get(conn, key)

    async def cache_put(self, tx: Tx | None, key: str, value: str) -> None:
        check_nonempty("key", key, max_len=1024)
        check_text("value", value)
        async with self._writing(tx) as conn:
            await q.cache_put(conn, key, value, self._clock())

    async def log_event(self, tx: Tx | None, kind: str, payload: Mapping[str, Any]) -> None:
        check_nonempty("kind", kind, max_len=64)
        payload_json = check_payload(payload)
        async with self._writing(tx) as conn:
            await q.insert_event(conn, kind, payload_json, self._clock())

    async def events(
        self, *, limit: int = 100, kind: str | None = None, tx: Tx | None = None
    ) -> list[Event]:
        """Newest first."""
        check_limit(limit)
        if kind is not None:
            check_nonempty("kind", kind, max_len=64)
        async with self._reading(tx) as conn:
            return await q.events(conn, limit=limit, kind=kind)
