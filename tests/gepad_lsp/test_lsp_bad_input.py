"""Bad input gets an LSP error reply naming the problem, and the server keeps serving."""

from __future__ import annotations

from typing import Any

import pytest
from gepad_lsp_testing import SIM_ANSWER, Editor, Stack, rng, run_command
from pygls.exceptions import JsonRpcException

pytestmark = pytest.mark.asyncio(loop_scope="module")

SOURCE = "first line\nsecond line\n"
BIG = "x" * 1000 + "\n"  # 300 lines of 1001 bytes: over 256 KiB in all


def uri_for(stack: Stack, name: str) -> str:
    return (stack.home / "ws" / "bad" / name).as_uri()


CASES: list[tuple[str, str, Any, str]] = [
    # (id, command, argument or "@uri" placeholders, expected message part)
    (
        "unknown-document",
        "gepad.thumbsDown",
        {"uri": "file:///nowhere/x.py", "range": rng(0, 0, 0, 1)},
        "unknown document 'file:///nowhere/x.py'",
    ),
    (
        "line-out-of-bounds",
        "gepad.thumbsUp",
        {"uri": "@", "range": rng(7, 0, 7, 1)},
        "'range.start' is out of bounds: line 7",
    ),
    (
        "character-out-of-bounds",
        "gepad.thumbsDown",
        {"uri": "@", "range": rng(0, 0, 0, 99)},
        "'range.end' is out of bounds: character 99",
    ),
    (
        "end-before-start",
        "gepad.thumbsDown",
        {"uri": "@", "range": rng(1, 0, 0, 0)},
        "is before start",
    ),
    ("missing-uri", "gepad.thumbsDown", {"range": rng(0, 0, 0, 1)}, "'uri' is required"),
    ("missing-range", "gepad.correct", {"uri": "@"}, "'range' is required"),
    (
        "ill-typed-range",
        "gepad.thumbsUp",
        {
            "uri": "@",
            "range": {"start": {"line": "0", "character": 0}, "end": {"line": 0, "character": 1}},
        },
        "'range.start.line' must be a non-negative integer (got str)",
    ),
    (
        "negative-position",
        "gepad.thumbsUp",
        {"uri": "@", "range": rng(0, -1, 0, 1)},
        "'range.start.character' must be a non-negative integer",
    ),
    (
        "ill-typed-comment",
        "gepad.thumbsDown",
        {"uri": "@", "range": rng(0, 0, 0, 1), "comment": 5},
        "'comment' must be a string, got int",
    ),
    (
        "ill-typed-corrected",
        "gepad.correct",
        {"uri": "@", "range": rng(0, 0, 0, 1), "corrected": ["x"]},
        "'corrected' must be a string, got list",
    ),
    (
        "missing-instruction",
        "gepad.assist",
        {"uri": "@", "range": rng(0, 0, 0, 1)},
        "'instruction' is required",
    ),
    (
        "empty-instruction",
        "gepad.assist",
        {"uri": "@", "range": rng(0, 0, 0, 1), "instruction": " "},
        "'instruction' must not be empty",
    ),
    (
        "unknown-field",
        "gepad.thumbsUp",
        {"uri": "@", "range": rng(0, 0, 0, 1), "comment": "x"},
        "unknown field(s) 'comment'",
    ),
    ("not-an-object", "gepad.thumbsDown", "file:///x.py", "takes one object argument"),
    ("bad-component", "gepad.prompt", {"component": "Not A Name"}, "is not a component name"),
    (
        "ill-typed-component",
        "gepad.prompt",
        {"component": 3},
        "'component' must be a string, got int",
    ),
]


def _fill(arg: Any, uri: str) -> Any:
    if isinstance(arg, dict) and arg.get("uri") == "@":
        return {**arg, "uri": uri}
    return arg


@pytest.mark.parametrize(
    ("command", "arg", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_bad_arguments_are_refused(
    lsp: Editor, stack: Stack, command: str, arg: Any, message: str
) -> None:
    uri = uri_for(stack, "doc.py")
    if uri not in lsp.docs:
        lsp.open(uri, SOURCE)
    with pytest.raises(JsonRpcException) as caught:
        await run_command(lsp.client, command, _fill(arg, uri))
    assert caught.value.code == -32602, caught.value.message
    assert message in caught.value.message
    assert command in caught.value.message


async def test_wrong_argument_counts_are_refused(lsp: Editor, stack: Stack) -> None:
    uri = uri_for(stack, "count.py")
    lsp.open(uri, SOURCE)
    args = {"uri": uri, "range": rng(0, 0, 0, 1)}
    for extra in ([], [args, args]):
        with pytest.raises(JsonRpcException) as caught:
            await run_command(lsp.client, "gepad.thumbsUp", *extra)
        assert caught.value.code == -32602
        assert f"got {len(extra)} argument(s)" in caught.value.message


async def test_a_selection_over_256_kib_is_refused(lsp: Editor, stack: Stack) -> None:
    uri = uri_for(stack, "big.py")
    lsp.open(uri, BIG * 300)
    for command, extra in (
        ("gepad.thumbsDown", {}),
        ("gepad.assist", {"instruction": "shorter"}),
        ("gepad.correct", {}),
    ):
        with pytest.raises(JsonRpcException) as caught:
            await run_command(
                lsp.client, command, {"uri": uri, "range": rng(0, 0, 300, 0), **extra}
            )
        assert caught.value.code == -32602
        assert "the selection is 300300 bytes; the limit is 262144 (256 KiB)" in (
            caught.value.message
        )
    # Just under the limit is fine.
    ok = await run_command(lsp.client, "gepad.thumbsDown", {"uri": uri, "range": rng(0, 0, 261, 0)})
    assert set(ok) == {"example_id"}
    # The assistant too: the selection and its surroundings are cut to the daemon's limits.
    generation = await run_command(
        lsp.client,
        "gepad.assist",
        {"uri": uri, "range": rng(0, 0, 261, 0), "instruction": "summarize"},
    )
    assert isinstance(generation["generation_id"], int)
    assert lsp.docs[uri].text.startswith(SIM_ANSWER + BIG)


async def test_an_unknown_command_is_refused(lsp: Editor) -> None:
    with pytest.raises(JsonRpcException) as caught:
        await run_command(lsp.client, "gepad.explode", {})
    assert caught.value.code == -32602
    assert "'gepad.explode' is not defined" in caught.value.message


async def test_the_server_still_serves_after_bad_input(lsp: Editor, stack: Stack) -> None:
    status = await run_command(lsp.client, "gepad.status", {})
    assert status["daemon"] == "connected"
    uri = uri_for(stack, "after.py")
    lsp.open(uri, SOURCE)
    result = await run_command(lsp.client, "gepad.thumbsUp", {"uri": uri, "range": rng(1, 0, 1, 6)})
    assert isinstance(result["example_id"], int)
