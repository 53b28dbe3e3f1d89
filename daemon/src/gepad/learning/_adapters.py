"""Glue between the LLM client and the store: the response cache and the call recorder."""

from __future__ import annotations

from gepad.llm import LlmCallRecord
from gepad.store import LlmCall, Store

__all__ = ["BufferedRecorder", "StoreCache", "to_store_call"]


class StoreCache:
    """The LLM response cache, kept in the store so it survives restarts."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, key: str) -> str | None:
        return await self._store.cache_get(key)

    async def put(self, key: str, value: str) -> None:
        await self._store.cache_put(None, key, value)


def to_store_call(record: LlmCallRecord, component: str | None) -> LlmCall:
    return LlmCall(
        model=record.model,
        purpose=record.purpose,
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        cost_usd=record.cost_usd,
        latency_ms=record.latency_ms,
        outcome=record.outcome,
        error=record.error,
        component=component,
        created_at=record.created_at,
    )


class BufferedRecorder:
    """Holds a step's call records until the step's transaction writes them with the state."""

    def __init__(self) -> None:
        self._records: list[LlmCallRecord] = []

    async def __call__(self, record: LlmCallRecord) -> None:
        self._records.append(record)

    def take(self) -> list[LlmCallRecord]:
        records, self._records = self._records, []
        return records
