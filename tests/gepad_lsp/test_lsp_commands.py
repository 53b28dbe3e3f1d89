"""Every command and code action of `gepad lsp`, against a real daemon, in both editor profiles."""

from __future__ import annotations

import ast
import asyncio
import itertools
from typing import Any

import pytest
from gepad_lsp_testing import (
    SIM_ANSWER,
    Editor,
    Stack,
    assist,
    daemon_client,
    rng,
    run_command,
    to_range,
    wait_examples,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from gepad_lsp import COMMANDS

pytestmark = pytest.mark.asyncio(loop_scope="module")

_names = itertools.count(1)

SOURCE = "".join(f"line {i}: value = {i} * 2\n" for i in range(20))


def as_action(item: object) -> dict[str, Any]:
    """A code action as the server sent it. pytest-lsp's client structures a CodeAction whose
    `command` is an object into a `Command` holding that object's repr; undo that here."""
    if isinstance(item, types.Command) and isinstance(item.command, str):
        value = ast.literal_eval(item.command)
        assert isinstance(value, dict)
        return {"title": item.title, "kind": "refactor.rewrite", "command": value}
    raise AssertionError(f"unexpected code action {item!r}")


def new_uri(stack: Stack, suffix: str = ".py") -> str:
    return (stack.home / "ws" / f"file{next(_names)}{suffix}").as_uri()


async def test_initialize_advertises_the_commands(lsp: Editor) -> None:
    caps = lsp.initialize_result.capabilities  # type: ignore[attr-defined]
    assert set(caps.execute_command_provider.commands) == set(COMMANDS)
    assert caps.code_action_provider
    assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    assert caps.text_document_sync.save  # editors send didSave only when this is set
    assert caps.text_document_sync.open_close


async def test_thumbs_down_with_comment(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    result = await run_command(
        lsp.client, "gepad.thumbsDown", {"uri": uri, "range": rng(3, 0, 4, 0), "comment": "bad"}
    )
    assert isinstance(result["example_id"], int)
    [ex] = await wait_examples(stack.home, uri, 1)
    assert ex["id"] == result["example_id"]
    assert ex["kind"] == "thumbs_down"
    assert ex["output"] == "line 3: value = 3 * 2\n"
    assert ex["comment"] == "bad"
    assert ex["language"] == "python"
    assert ex["component"] == "general"
    assert ex["generation_id"] is None
    # The context: the file's path and the lines around the selection.
    assert uri.removeprefix("file://") in ex["context"]
    assert "line 0: value" in ex["context"] and "line 14: value" in ex["context"]
    assert "line 15: value" not in ex["context"]


async def test_thumbs_up(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    result = await run_command(lsp.client, "gepad.thumbsUp", {"uri": uri, "range": rng(1, 0, 1, 6)})
    [ex] = await wait_examples(stack.home, uri, 1)
    assert (ex["id"], ex["kind"], ex["output"]) == (result["example_id"], "thumbs_up", "line 1")


async def test_correct_with_corrected_records_at_once(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    args = {"uri": uri, "range": rng(2, 0, 2, 21), "corrected": "x = 4", "comment": "simpler"}
    result = await run_command(lsp.client, "gepad.correct", args)
    [ex] = await wait_examples(stack.home, uri, 1)
    assert ex["id"] == result["example_id"]
    assert (ex["kind"], ex["output"], ex["corrected"], ex["comment"]) == (
        "correction",
        "line 2: value = 2 * 2",
        "x = 4",
        "simpler",
    )


async def test_correct_without_corrected_records_the_saved_edit(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    result = await run_command(lsp.client, "gepad.correct", {"uri": uri, "range": rng(5, 0, 6, 0)})
    assert result == {"tracking": True}
    lsp.edit(uri, rng(5, 8, 5, 13), "total")  # "value" -> "total"
    lsp.save(uri)
    [ex] = await wait_examples(stack.home, uri, 1)
    assert (ex["kind"], ex["output"], ex["corrected"]) == (
        "correction",
        "line 5: value = 5 * 2\n",
        "line 5: total = 5 * 2\n",
    )


async def test_assist_applies_the_edit_and_returns_the_generation(
    lsp: Editor, stack: Stack
) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    result = await assist(lsp, stack, uri, rng(4, 0, 5, 0))
    # The simulated task model answers an unknown task with this line; the selection is gone.
    assert lsp.docs[uri].text == SOURCE.replace("line 4: value = 4 * 2\n", SIM_ANSWER)
    requests = stack.sim.received(5)
    assert "make it shorter" in str(requests)
    async with daemon_client(stack.home) as c:
        status = await c.get_status()
    assert status["examples_total"] >= 0  # the daemon is alive after the assist call
    assert isinstance(result["generation_id"], int)


async def test_code_actions_offer_and_run_every_operation(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    actions = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=to_range(rng(8, 0, 8, 21)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    by_command = {a["command"]["command"]: a for a in map(as_action, actions)}
    assert list(by_command) == [
        "gepad.thumbsDown",
        "gepad.thumbsUp",
        "gepad.correct",
        "gepad.assist",
    ]
    assert "👎" in by_command["gepad.thumbsDown"]["title"]
    assert "👍" in by_command["gepad.thumbsUp"]["title"]
    for action in by_command.values():
        assert action["kind"] == "refactor.rewrite"
        [arg] = action["command"]["arguments"]
        assert arg["uri"] == uri and arg["range"] == rng(8, 0, 8, 21)
    assert "instruction" in by_command["gepad.assist"]["command"]["arguments"][0]

    down = await run_command(
        lsp.client, "gepad.thumbsDown", *by_command["gepad.thumbsDown"]["command"]["arguments"]
    )
    up = await run_command(
        lsp.client, "gepad.thumbsUp", *by_command["gepad.thumbsUp"]["command"]["arguments"]
    )
    tracking = await run_command(
        lsp.client, "gepad.correct", *by_command["gepad.correct"]["command"]["arguments"]
    )
    assert tracking == {"tracking": True}
    generation = await run_command(
        lsp.client, "gepad.assist", *by_command["gepad.assist"]["command"]["arguments"]
    )
    assert isinstance(generation["generation_id"], int)
    assert lsp.docs[uri].text.splitlines()[8] == SIM_ANSWER
    found = {e["id"]: e["kind"] for e in await wait_examples(stack.home, uri, 2)}
    assert found[down["example_id"]] == "thumbs_down"
    assert found[up["example_id"]] == "thumbs_up"


async def test_code_actions_on_an_empty_range_cover_the_line(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    actions = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=to_range(rng(2, 5, 2, 5)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    ends = {as_action(a)["command"]["arguments"][0]["range"]["end"]["character"] for a in actions}
    assert ends == {21}
    only_fixes = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=to_range(rng(2, 0, 2, 5)),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix]),
        )
    )
    assert not only_fixes


async def test_prompt_returns_the_current_prompt(lsp: Editor, stack: Stack) -> None:
    async with daemon_client(stack.home) as c:
        expected = await c.get_prompt("general")
    assert await run_command(lsp.client, "gepad.prompt", {"component": "general"}) == expected
    assert await run_command(lsp.client, "gepad.prompt", {}) == expected
    assert await run_command(lsp.client, "gepad.prompt") == expected


async def test_status_is_the_daemons_status(lsp: Editor, stack: Stack) -> None:
    status = await run_command(lsp.client, "gepad.status", {})
    assert status["daemon"] == "connected"
    assert status["pid"] == stack.daemon.pid
    assert set(status["examples"]) >= {"thumbs_down", "thumbs_up", "correction"}
    assert status["lsp"]["spooled"] == 0


async def test_prompt_changed_is_forwarded(lsp: Editor, stack: Stack) -> None:
    waiting = asyncio.ensure_future(lsp.client.wait_for_notification("gepad/promptChanged"))
    await asyncio.sleep(0)
    async with daemon_client(stack.home) as c:
        state = await c.set_prompt(f"Prefer small functions ({lsp.profile}).")  # type: ignore[attr-defined]
    params = await asyncio.wait_for(waiting, 10)
    # pygls hands an unknown notification's params over as a namedtuple.
    got = params._asdict() if hasattr(params, "_asdict") else dict(params)
    assert got == {"component": "general", "version": state["version"], "score": None}


async def test_assist_reports_an_unreachable_model(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack)
    lsp.open(uri, SOURCE)
    stack.sim.control(fault="500", count=1)
    with pytest.raises(JsonRpcException) as caught:
        await run_command(
            lsp.client,
            "gepad.assist",
            {"uri": uri, "range": rng(1, 0, 1, 21), "instruction": "rewrite"},
        )
    assert caught.value.code == -32003
    assert "gave no answer" in caught.value.message
    assert lsp.docs[uri].text == SOURCE  # nothing applied


async def test_cuda_files_belong_to_the_kernel_component(lsp: Editor, stack: Stack) -> None:
    uri = new_uri(stack, ".cu")
    lsp.open(uri, "__global__ void add(float* a) {\n  a[0] += 1;\n}\n", language="cuda")
    result = await run_command(
        lsp.client, "gepad.thumbsDown", {"uri": uri, "range": rng(1, 0, 1, 12)}
    )
    [ex] = await wait_examples(stack.home, uri, 1)
    assert (ex["id"], ex["component"], ex["output"]) == (
        result["example_id"],
        "kernel",
        "  a[0] += 1;",
    )
    prompt = await run_command(lsp.client, "gepad.prompt", {"uri": uri})
    assert prompt["component"] == "kernel"
