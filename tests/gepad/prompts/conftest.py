"""Fixtures for the prompt service tests: a real store file and a service factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gepad_prompts_testing import SEEDS, MakeService

from gepad.prompts import PromptService
from gepad.store import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "gepad.db"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(db_path)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def make_service(store: Store) -> MakeService:
    async def make(swap_policy: str = "auto", seeds: dict[str, str] | None = None) -> PromptService:
        service = PromptService(
            store,
            swap_policy=swap_policy,  # type: ignore[arg-type]
            seeds=SEEDS if seeds is None else seeds,
        )
        await service.start()
        return service

    return make
