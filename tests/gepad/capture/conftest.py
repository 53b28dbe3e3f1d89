"""Fixtures for capture: a real store in a temp dir, a real CaptureService (watchdog)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gepad.capture import CaptureService, CaptureSettings
from gepad.store import Store

_HARNESS_DIR = str(Path(__file__).resolve().parents[1] / "daemon")
if _HARNESS_DIR not in sys.path:
    sys.path.insert(0, _HARNESS_DIR)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "gepad.db", dedupe_window_s=0)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def settings(tmp_path: Path) -> CaptureSettings:
    return CaptureSettings(
        spool_dir=tmp_path / "home" / "spool",
        continue_dir=tmp_path / "dev_data",
        git_poll_s=3600.0,  # the tests scan by hand
        settle_s=0.2,
        rescan_s=0.2,
    )


@pytest.fixture
async def capture(store: Store, settings: CaptureSettings) -> AsyncIterator[CaptureService]:
    service = CaptureService(store, settings)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()
