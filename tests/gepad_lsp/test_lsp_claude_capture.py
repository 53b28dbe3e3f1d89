"""What Claude Code wrote (recorded by the `claude-capture` hook) is tracked by `gepad lsp`
when the file is opened, exactly like a `gepad.assist` answer: the user's edit becomes a
correction on save. The daemon's file tracker sees the same edit on disk; the two paths make
one example (issue 14)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from gepad_lsp_testing import Editor, Stack, daemon_client, rng, run_command

from gepad.delivery import RenderContext
from gepad.delivery._claude_capture import render_capture_script

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(60)]

_names = itertools.count(1)
GENERATED = "def get_user_name(user):\n    return user['name']\n"
BEFORE = "import os\n\n\n"
AFTER = "\n\nPORT = 8080\n"


def _hook(stack: Stack, ws: Path, file: Path) -> None:
    script = stack.home / "gepad-capture-test.py"
    if not script.exists():
        ctx = RenderContext("general", 1, "", sys.executable, str(stack.home))
        script.write_text(render_capture_script(ctx))
    payload = {
        "session_id": "s-1",
        "transcript_path": "",
        "cwd": str(ws),
        "hook_event_name": "PostToolUse",
        "tool_name": "Edit",
        "tool_input": {"file_path": str(file), "old_string": "x", "new_string": GENERATED},
        "tool_response": {"filePath": str(file), "success": True},
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    done = subprocess.run(
        [sys.executable, str(script)],
        input=json.dumps(payload).encode(),
        capture_output=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


async def _call(stack: Stack, method: str, params: dict[str, Any]) -> Any:
    async with daemon_client(stack.home) as c:
        return await c.call(method, params)


async def _until(probe: Any, what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_a_claude_generation_is_tracked_on_open_and_corrected_once(
    lsp: Editor, stack: Stack
) -> None:
    ws = stack.home / "ws"
    ws.mkdir(exist_ok=True)
    file = ws / f"claude{next(_names)}_{lsp.profile}.py"  # type: ignore[attr-defined]
    file.write_text(BEFORE + GENERATED + AFTER)
    _hook(stack, ws, file)

    async def recorded() -> list[dict[str, Any]]:
        found = await _call(stack, "capture.generations", {"file": file.as_uri()})
        return list(found["generations"])

    [gen] = await _until(recorded, "the generation from the hook")
    before = (await run_command(lsp.client, "gepad.status"))["lsp"]["tracked"]
    lsp.open(file.as_uri(), file.read_text())

    async def tracked() -> bool:
        status = await run_command(lsp.client, "gepad.status")
        return bool(status["lsp"]["tracked"] > before)

    await _until(tracked, "the language server to track the generation")
    # The user renames the function by hand, and saves (the editor writes the file).
    lsp.edit(file.as_uri(), rng(3, 4, 3, 17), "user_name")
    lsp.save(file.as_uri())
    file.write_text(lsp.docs[file.as_uri()].text)
    corrected = GENERATED.replace("get_user_name", "user_name")

    async def about_it() -> list[dict[str, Any]]:
        async with daemon_client(stack.home) as c:
            page = await c.list_examples(limit=1000)
        return [e for e in page["examples"] if e["generation_id"] == gen["generation_id"]]

    [example] = await _until(about_it, "the correction")
    assert example["kind"] == "correction"
    assert example["output"] == GENERATED
    assert example["corrected"] == corrected
    assert example["source"] == "lsp"  # on save, before the file tracker's settle time
    # The daemon's own tracker sees the same edit on disk: the same example, not a second.
    await _until(lambda: _gone(stack, file), "the file tracker to finish with it")
    assert len(await about_it()) == 1


async def _gone(stack: Stack, file: Path) -> bool:
    found = await _call(stack, "capture.generations", {"file": str(file)})
    return not found["generations"]
