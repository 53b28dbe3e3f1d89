"""Fixtures for outcome ingestion: a real store in a temp dir and a real watchdog observer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gepad_outcomes_testing import FAST_SETTINGS

from gepad.outcomes import OutcomeIngester
from gepad.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "gepad.db", dedupe_window_s=0)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest.fixture
async def ingester(store: Store, workspace: Path, tmp_path: Path) -> AsyncIterator[OutcomeIngester]:
    ing = OutcomeIngester(
        store,
        FAST_SETTINGS,
        config_workspaces=[str(workspace)],
        registry_file=tmp_path / "workspaces.json",
    )
    await ing.start()
    try:
        yield ing
    finally:
        await ing.stop()
