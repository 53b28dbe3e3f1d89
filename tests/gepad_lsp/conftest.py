"""Fixtures: one simulated model server + real daemon per module, and one `gepad lsp` process
per editor profile (Neovim, VS Code) per module; each test opens its own documents."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gepad_lsp_testing import (
    PROFILES,
    Editor,
    Stack,
    live_stack,
    lsp_env,
    start_lsp,
    stop_lsp,
)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with live_stack(tmp_path_factory.mktemp("lsp")) as s:
        yield s


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=PROFILES)
async def lsp(request: pytest.FixtureRequest, stack: Stack) -> AsyncIterator[Editor]:
    client, editor, result = await start_lsp(request.param, lsp_env(stack.home))
    editor.initialize_result = result  # type: ignore[attr-defined]
    editor.profile = request.param  # type: ignore[attr-defined]
    yield editor
    await stop_lsp(client)
