"""Automatic feedback from what the user does with the assistant's text: edit and save,
delete, or leave it alone; tracked ranges follow edits above them (incremental and full).
Text Claude Code wrote (recorded by the `claude-capture` hook) is tracked the same way."""

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
from gepad_lsp_testing import (
    SIM_ANSWER,
    THUMBS_UP_AFTER_S,
    Editor,
    Stack,
    assist,
    daemon_client,
    rng,
    run_command,
    wait_examples,
)
from lsprotocol import types

from gepad.delivery import RenderContext
from gepad.delivery._claude_capture import render_capture_script

pytestmark = pytest.mark.asyncio(loop_scope="module")

_names = itertools.count(1)
SOURCE = "".join(f"line {i}: value = {i} * 2\n" for i in range(12))
LINE7 = "line 7: value = 7 * 2"


def new_uri(stack: Stack) -> str:
    return (stack.home / "ws" / f"capture{next(_names)}.py").as_uri()


async def test_edit_and_save_becomes_a_correction_after_lines_inserted_above(
    lsp: Editor, stack: Stack
) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    gen = await assist(lsp, stack, uri, rng(7, 0, 7, len(LINE7)))
    assert lsp.docs[uri].text.splitlines()[7] == SIM_ANSWER
    lsp.edit(uri, rng(1, 0, 1, 0), "inserted a\ninserted b\n")  # the generation moves to line 9
    lsp.edit(uri, rng(9, 10, 9, 14), "all")  # "followed: none;" -> "followed: all;"
    lsp.edit(uri, rng(2, 0, 2, 8), "")  # an edit on a line above, not in the generation
    lsp.save(uri)
    [ex] = await wait_examples(stack.home, uri, 1, weak=False)
    assert ex["kind"] == "correction"
    assert ex["output"] == SIM_ANSWER
    assert ex["corrected"] == "followed: all; missed: none"
    assert ex["generation_id"] == gen["generation_id"]
    assert ex["prompt_version"] == gen["prompt_version"]
    assert ex["context"].startswith("Instruction: make it shorter")
    assert LINE7 in ex["context"]  # the selection the assistant was given


async def test_full_document_changes_are_followed_too(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    gen = await assist(lsp, stack, uri, rng(7, 0, 7, len(LINE7)))
    doc = lsp.docs[uri]
    doc.text = "# header\n" + doc.text.replace(SIM_ANSWER, "followed: style; missed: none")
    doc.version += 1
    lsp.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=doc.text)],
        )
    )
    lsp.save(uri)
    [ex] = await wait_examples(stack.home, uri, 1, weak=False)
    assert (ex["kind"], ex["output"], ex["corrected"], ex["generation_id"]) == (
        "correction",
        SIM_ANSWER,
        "followed: style; missed: none",
        gen["generation_id"],
    )


async def test_a_deleted_generation_is_a_thumbs_down(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    gen = await assist(lsp, stack, uri, rng(7, 0, 7, len(LINE7)))
    lsp.edit(uri, rng(7, 0, 8, 0), "")  # the generation and its line break
    lsp.save(uri)
    [ex] = await wait_examples(stack.home, uri, 1, weak=False)
    assert (ex["kind"], ex["comment"], ex["output"], ex["generation_id"]) == (
        "thumbs_down",
        "deleted by the user",
        SIM_ANSWER,
        gen["generation_id"],
    )
    assert ex["prompt_version"] == gen["prompt_version"]


async def test_an_untouched_generation_becomes_a_weak_thumbs_up(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    gen = await assist(lsp, stack, uri, rng(3, 0, 3, 21))
    lsp.save(uri)  # a save with the text unchanged records nothing
    assert await wait_examples(stack.home, uri, 1, timeout=THUMBS_UP_AFTER_S * 0.5) == []
    [ex] = await wait_examples(stack.home, uri, 1, timeout=THUMBS_UP_AFTER_S + 8)
    assert (ex["kind"], ex["output"], ex["generation_id"], ex["prompt_version"]) == (
        "thumbs_up",
        SIM_ANSWER,
        gen["generation_id"],
        gen["prompt_version"],
    )


async def test_feedback_on_a_generation_is_about_the_generation(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    gen = await assist(lsp, stack, uri, rng(5, 0, 5, 21))
    # A selection that only overlaps the generated text still rates the whole generation.
    result = await run_command(
        lsp.client, "gepad.thumbsDown", {"uri": uri, "range": rng(4, 3, 5, 4), "comment": "no"}
    )
    [ex] = await wait_examples(stack.home, uri, 1)
    assert ex["id"] == result["example_id"]
    assert (ex["kind"], ex["output"], ex["generation_id"], ex["prompt_version"]) == (
        "thumbs_down",
        SIM_ANSWER,
        gen["generation_id"],
        gen["prompt_version"],
    )
    assert ex["context"].startswith("Instruction: make it shorter")
    # Rated by the user: no weak thumbs-up follows.
    later = await wait_examples(stack.home, uri, 2, timeout=THUMBS_UP_AFTER_S + 0.5)
    assert len(later) == 1


async def test_closing_a_document_drops_its_tracking(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    await assist(lsp, stack, uri, rng(2, 0, 2, 21))
    lsp.client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    status = await run_command(lsp.client, "gepad.status", {})
    assert status["daemon"] == "connected"
    assert await wait_examples(stack.home, uri, 1, timeout=THUMBS_UP_AFTER_S + 0.5) == []


async def test_the_assistants_edit_lands_where_the_selection_moved_to(
    lsp: Editor, stack: Stack
) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    stack.sim.control(latency_ms=600)
    try:
        call = asyncio.ensure_future(assist(lsp, stack, uri, rng(7, 0, 7, len(LINE7))))
        await asyncio.sleep(0.2)  # the model is still answering: the user types above
        lsp.edit(uri, rng(0, 0, 0, 0), "# new first line\n")
        gen = await asyncio.wait_for(call, 30)
    finally:
        stack.sim.control(latency_ms=0)
    lines = lsp.docs[uri].text.splitlines()
    assert lines[0] == "# new first line"
    assert lines[8] == SIM_ANSWER and LINE7 not in lines
    lsp.edit(uri, rng(8, 0, 8, 8), "obeyed")
    lsp.save(uri)
    [ex] = await wait_examples(stack.home, uri, 1, weak=False)
    assert (ex["kind"], ex["corrected"], ex["generation_id"]) == (
        "correction",
        "obeyed: none; missed: none",
        gen["generation_id"],
    )


# What Claude Code wrote (the claude-capture hook, issue 14): tracked on open like an assist
# answer; the daemon's file tracker seeing the same edit on disk makes no second example.

_claude_names = itertools.count(1)
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
    file = ws / f"claude{next(_claude_names)}_{lsp.profile}.py"  # type: ignore[attr-defined]
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
