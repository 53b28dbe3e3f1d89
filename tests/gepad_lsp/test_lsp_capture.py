"""Automatic feedback from what the user does with the assistant's text: edit and save,
delete, or leave it alone; tracked ranges follow edits above them (incremental and full)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from gepad_lsp_testing import (
    SIM_ANSWER,
    THUMBS_UP_AFTER_S,
    Editor,
    Stack,
    assist,
    rng,
    run_command,
    wait_examples,
)
from lsprotocol import types

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
