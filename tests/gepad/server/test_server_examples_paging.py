"""Issue 12, item 16: `examples.list` over big examples pages under a byte cap.

A real daemon; the examples go in through `feedback.submit` over the real websocket.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gepad_daemon_harness import daemon_env, rpc, start

FIELD = 5000  # a listing cuts each text field to 4096 characters
HUGE = 250_000


async def _list(peer: Any, **params: Any) -> tuple[dict[str, Any], int]:
    """One `examples.list` call; returns the result and the reply's size in bytes."""
    request = {"jsonrpc": "2.0", "id": 99, "method": "examples.list", "params": params}
    await peer.ws.send(json.dumps(request))
    raw = await asyncio.wait_for(peer.ws.recv(), 30)
    reply = json.loads(raw)
    assert "result" in reply, reply
    return reply["result"], len(raw.encode() if isinstance(raw, str) else raw)


@pytest.mark.timeout(120)
def test_examples_list_pages_big_examples_under_a_cap(tmp_path: Path) -> None:
    home = tmp_path / "home"
    daemon = start(home, env={"GEPAD_MAX_MESSAGE_BYTES": str(4 * 1024 * 1024)})
    try:

        async def go() -> tuple[list[int], int]:
            async with rpc(daemon) as peer:
                ids = []
                for i in range(40):
                    fields = {k: f"{k} {i} " + "x" * FIELD for k in ("context", "output")}
                    reply = await peer.call(
                        "feedback.submit",
                        {
                            "kind": "correction",
                            **fields,
                            "corrected": f"fixed {i} " + "y" * FIELD,
                            "comment": f"note {i} " + "z" * FIELD,
                        },
                    )
                    ids.append(reply["example_id"])
                huge = await peer.call(
                    "feedback.submit",
                    {
                        "kind": "correction",
                        "context": "c" * HUGE,
                        "output": "o" * HUGE,
                        "corrected": "k" * HUGE,
                        "comment": "m" * HUGE,
                    },
                )
                ids.append(huge["example_id"])

                seen: list[int] = []
                cursor = None
                pages = 0
                while True:
                    params: dict[str, Any] = {"limit": 1000, "kind": "correction"}
                    if cursor is not None:
                        params["cursor"] = cursor
                    page, size = await _list(peer, **params)
                    pages += 1
                    assert size < 600 * 1024, size  # capped at 512 KiB of examples
                    for example in page["examples"]:
                        assert example["truncated"] is True
                        for field in ("context", "output", "corrected", "comment"):
                            assert len(example[field]) == 4096
                    seen += [e["id"] for e in page["examples"]]
                    cursor = page["next_cursor"]
                    if cursor is None:
                        break
                assert seen == sorted(ids, reverse=True)  # each once, newest first
                assert pages >= 2

                whole = await peer.call("examples.get", {"id": huge["example_id"]})
                assert len(whole["comment"]) == HUGE and whole["truncated"] is False
                bad = await peer.error("examples.list", {"cursor": "not-a-cursor"})
                assert bad["code"] == -32602 and "cursor" in bad["message"]
                missing = await peer.error("examples.get", {"id": 10**6})
                assert missing["code"] == -32001
                return ids, pages

        ids, _ = asyncio.run(go())
        # `gepad examples` follows the cursor: it shows all of them, not one page.
        listed = subprocess.run(
            [sys.executable, "-m", "gepad.cli", "examples", "--json", "--limit", "100"],
            env=daemon_env(home),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert [e["id"] for e in json.loads(listed.stdout)["examples"]] == sorted(ids)[::-1]
        one = subprocess.run(
            [sys.executable, "-m", "gepad.cli", "examples", "--id", str(ids[-1])],
            env=daemon_env(home),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert one.returncode == 0, one.stderr
        assert "m" * HUGE in one.stdout
    finally:
        daemon.stop()
