"""Feedback is never lost: with the daemon down it is spooled (fsync'd JSON lines) and replayed
in order once the daemon is back. And `gepad lsp` starts a daemon when none is running."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gepad_lsp_testing import (
    PROFILES,
    Stack,
    live_stack,
    lsp_env,
    rng,
    run_command,
    spool_lines,
    start_lsp,
    stop_lsp,
    wait_examples,
)

from gepad_client import pid_alive

SOURCE = "".join(f"row {i} = {i}\n" for i in range(10))


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Not the shared stack: these tests stop and restart its daemon."""
    with live_stack(tmp_path_factory.mktemp("spool")) as stack:
        yield stack


@pytest.mark.parametrize("profile", PROFILES)
async def test_feedback_is_spooled_and_replayed_in_order(
    profile: str, tmp_path: Path, own_stack: Stack
) -> None:
    stack = own_stack
    client, editor, _ = await start_lsp(profile, lsp_env(stack.home))
    try:
        uri = (tmp_path / "spooled.py").as_uri()
        editor.open(uri, SOURCE)
        await run_command(client, "gepad.status", {})  # connected once before the stop
        stack.daemon.stop()

        given = [
            ("gepad.thumbsDown", {"range": rng(0, 0, 0, 9), "comment": "first"}),
            ("gepad.thumbsUp", {"range": rng(1, 0, 1, 9)}),
            ("gepad.correct", {"range": rng(2, 0, 2, 9), "corrected": "third"}),
        ]
        for command, arg in given:
            result = await run_command(client, command, {"uri": uri, **arg})
            assert result == {"spooled": True}
        # An automatic correction (tracked range, edited, saved) is spooled too.
        tracked = await run_command(client, "gepad.correct", {"uri": uri, "range": rng(3, 0, 4, 0)})
        assert tracked == {"tracking": True}
        editor.edit(uri, rng(3, 0, 3, 3), "fourth")
        editor.save(uri)
        deadline = time.monotonic() + 10
        while len(spool_lines(stack.home)) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        lines = spool_lines(stack.home)
        assert [line["kind"] for line in lines] == [
            "thumbs_down",
            "thumbs_up",
            "correction",
            "correction",
        ]
        status = await run_command(client, "gepad.status", {})
        assert status["daemon"] == "unreachable"
        assert status["lsp"]["spooled"] == 4

        stack.restart_daemon()
        found = await wait_examples(stack.home, uri, 4, timeout=20)
        assert [(e["kind"], e["comment"], e["corrected"], e["output"]) for e in found] == [
            ("thumbs_down", "first", None, "row 0 = 0"),
            ("thumbs_up", None, None, "row 1 = 1"),
            ("correction", None, "third", "row 2 = 2"),
            ("correction", None, "fourth 3 = 3\n", "row 3 = 3\n"),
        ]
        assert spool_lines(stack.home) == []
        # Delivered directly again once the daemon is back.
        after = await run_command(client, "gepad.thumbsUp", {"uri": uri, "range": rng(5, 0, 5, 3)})
        assert isinstance(after["example_id"], int)
    finally:
        await stop_lsp(client)


# The profile does not matter to how the daemon is found or started; Neovim's is the one whose
# plugin starts the server as `cmd = {"gepad", "lsp"}`.
async def test_gepad_lsp_starts_the_daemon(tmp_path: Path) -> None:
    profile = "neovim"
    home = tmp_path / "home"
    env = lsp_env(home, GEPAD_LSP_AUTOSTART="true", GEPAD_PORT="0", GEPAD_OPTIMIZER_ENABLED="false")
    gepad = str(Path(sys.executable).with_name("gepad"))
    client, _, result = await start_lsp(profile, env, command=[gepad, "lsp"])
    pid = 0
    try:
        assert result.server_info is not None and result.server_info.name == "gepad-lsp"
        deadline = time.monotonic() + 30
        status: dict[str, object] = {}
        while time.monotonic() < deadline:
            status = await run_command(client, "gepad.status", {})
            if status["daemon"] == "connected":
                break
            await asyncio.sleep(0.2)
        assert status["daemon"] == "connected", status
        pid = json.loads((home / "run" / "daemon.json").read_text())["pid"]
        assert status["pid"] == pid
    finally:
        await stop_lsp(client)
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while pid_alive(pid) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert not pid_alive(pid)
