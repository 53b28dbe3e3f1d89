"""Helpers for the outcome tests: fast settings, waiting with a deadline, tiny projects."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from gepad.config import Config
from gepad.outcomes import IngestSettings

T = TypeVar("T")

FAST_SETTINGS = IngestSettings(
    globs=Config().watch_globs,
    link_window_s=600.0,
    debounce_s=0.1,
    settle_s=1.0,
    rescan_s=0.1,
)

CALC_BROKEN = "def add(a, b):\n    return a - b\n"
CALC_FIXED = "def add(a, b):\n    return a + b\n"
TEST_CALC = (
    "from calc import add\n\n\n"
    "def test_add():\n"
    "    assert add(2, 2) == 4, 'add(2, 2) must be 4'\n\n\n"
    "def test_zero():\n"
    "    assert add(0, 0) == 0\n"
)


async def wait_for(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def write_project(root: Path, calc: str = CALC_BROKEN, test: str = TEST_CALC) -> None:
    (root / "calc.py").write_text(calc)
    (root / "test_calc.py").write_text(test)


def run_pytest(root: Path, report: Path) -> subprocess.CompletedProcess[str]:
    """A real `python -m pytest --junitxml` in `root` (plugins off: half a second, not two)."""
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            f"--junitxml={report}", "--rootdir", str(root), str(root),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
