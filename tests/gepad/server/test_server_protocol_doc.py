"""docs/protocol.md's examples are real: replay every request, compare the shapes.

The doc's examples run in order against a review-mode daemon whose database holds one
pending proposal (prepared in-process, before the daemon starts)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from gepad_daemon_harness import rpc, start

from gepad.daemon import DEFAULT_SEEDS
from gepad.prompts import PromptService
from gepad.store import Store

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"
METHODS = [
    "status.get", "prompt.get", "prompt.history", "prompt.subscribe", "prompt.set",
    "prompt.rollback", "prompt.pin", "prompt.approve", "feedback.submit", "examples.list",
    "examples.get", "generation.record", "prompt.provenance", "examples.retire",
    "examples.unretire", "examples.retired", "dashboard.open",
]  # fmt: skip


def sections() -> dict[str, list[Any]]:
    """Method name -> the JSON blocks under its `### `name`` heading."""
    text = DOC.read_text()
    found: dict[str, list[Any]] = {}
    for match in re.finditer(r"^### `([a-z.]+)`.*?$(.*?)(?=^### |^## |\Z)", text, re.M | re.S):
        blocks = re.findall(r"```json\n(.*?)```", match.group(2), re.S)
        found[match.group(1)] = [json.loads(b) for b in blocks]
    return found


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively; lists by their first element."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def same_shape(documented: Any, actual: Any, path: str = "") -> None:
    if isinstance(documented, dict):
        assert isinstance(actual, dict), path
        assert set(documented) == set(actual), (path, sorted(documented), sorted(actual))
        for key in documented:
            same_shape(documented[key], actual[key], f"{path}.{key}")
    elif isinstance(documented, list):
        assert isinstance(actual, list) and (not documented or actual), path
        if documented:
            same_shape(documented[0], actual[0], f"{path}[0]")
    elif documented is not None and actual is not None:
        # null in the doc stands for "may be null" (e.g. a pending score); types must match.
        assert shape(documented) == shape(actual), (path, documented, actual)


async def prepare(db_file: Path) -> None:
    store = await Store.open(db_file)
    try:
        prompts = PromptService(store, swap_policy="review", seeds=DEFAULT_SEEDS)
        await prompts.start()
        await prompts.propose(
            "general", "a better prompt from the optimizer", score=0.8, candidate_id="c-1"
        )
    finally:
        await store.close()


def test_every_method_is_documented_with_a_request_and_a_response() -> None:
    found = sections()
    for name in METHODS:
        assert len(found.get(name, [])) == 2, f"{name}: expected one request and one response"
    assert len(found["prompt.changed"]) == 1


def test_documented_examples_replay(tmp_path: Path) -> None:
    asyncio.run(prepare(tmp_path / "data" / "gepad.db"))
    daemon = start(tmp_path, env={"GEPAD_SWAP_POLICY": "review"})
    found = sections()

    async def replay() -> None:
        async with rpc(daemon) as c:
            # feedback.submit's example links generation 1: record it first.
            await c.call("generation.record", {"output": "def read(p):\n    return open(p).read()"})
            for name in METHODS:
                request, documented = found[name]
                assert request["method"] == name
                await c.ws.send(json.dumps(request))
                while True:
                    reply = json.loads(await asyncio.wait_for(c.ws.recv(), 10))
                    if reply.get("method") == "prompt.changed":
                        c.notifications.append(reply)
                        continue
                    break
                assert reply["id"] == request["id"] == documented["id"]
                assert "error" not in reply, (name, reply)
                same_shape(documented, reply)
            # The doc's notification is the one prompt.set sends (pending still waiting).
            first = c.notifications[0]
            assert first["params"]["source"] == "user-edit"
            same_shape(found["prompt.changed"][0], first)
            documented_keys = set(found["prompt.changed"][0]["params"])
            assert all(set(n["params"]) == documented_keys for n in c.notifications)

    try:
        asyncio.run(replay())
    finally:
        assert daemon.stop() == 0
