"""The MCP server against a real daemon, through the `mcp` package's in-process client."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from gepad_daemon_harness import Daemon, daemon_env, start
from mcp import Client

from gepad.mcp_server import GepadMcp
from gepad_client import GepadClient

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = start(tmp_path / "gepad")
    try:
        yield d
    finally:
        d.stop()


@pytest.fixture
async def app(daemon: Daemon) -> AsyncIterator[tuple[GepadMcp, GepadClient]]:
    async with GepadClient.connect(home=daemon.home) as client:
        changes = await client.subscribe(None)
        gepad_mcp = GepadMcp(client)
        follower = asyncio.create_task(gepad_mcp.follow(changes))
        try:
            yield gepad_mcp, client
        finally:
            follower.cancel()
            changes.close()


async def test_tools_resource_and_prompt(app: tuple[GepadMcp, GepadClient]) -> None:
    gepad_mcp, daemon_client = app
    async with Client(gepad_mcp.server, mode="legacy") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {"get_prompt", "record_feedback"}
        kinds = tools["record_feedback"].input_schema["properties"]["kind"]["enum"]
        assert set(kinds) == {
            "thumbs_down", "thumbs_up", "correction", "comment", "test_result", "compile_result"
        }  # fmt: skip

        got = await client.call_tool("get_prompt", {})
        assert not got.is_error
        assert "careful coding assistant" in got.content[0].text
        assert got.structured_content["version"] == 1

        fb = await client.call_tool(
            "record_feedback",
            {"kind": "correction", "output": "x=1", "corrected": "x = 1", "comment": "spacing"},
        )
        assert not fb.is_error, fb.content
        example_id = fb.structured_content["example_id"]
        examples = await daemon_client.list_examples(kind="correction")
        assert [e["id"] for e in examples["examples"]] == [example_id]
        test_fb = await client.call_tool(
            "record_feedback",
            {"kind": "test_result", "test": "test_x", "passed": False, "message": "boom"},
        )
        assert not test_fb.is_error, test_fb.content

        bad = await client.call_tool("record_feedback", {"kind": "correction"})
        assert bad.is_error and "corrected" in bad.content[0].text
        unknown = await client.call_tool("record_feedback", {"kind": "shrug"})
        assert unknown.is_error and "must be one of" in unknown.content[0].text

        resources = (await client.list_resources()).resources
        status = await daemon_client.get_status()
        assert [r.uri for r in resources] == [
            f"gepad://prompt/{c['component']}" for c in status["components"]
        ]
        assert "gepad://prompt/general" in [r.uri for r in resources]
        templates = (await client.list_resource_templates()).resource_templates
        assert templates[0].uri_template == "gepad://prompt/{component}"
        read = await client.read_resource("gepad://prompt/general")
        assert "careful coding assistant" in read.contents[0].text

        prompts = (await client.list_prompts()).prompts
        assert [p.name for p in prompts] == ["gepad"]
        prompt = await client.get_prompt("gepad", {"component": "general"})
        assert "careful coding assistant" in prompt.messages[0].content.text
        assert client.server_capabilities.prompts.list_changed is True


async def test_notifications_on_swap_legacy_session(app: tuple[GepadMcp, GepadClient]) -> None:
    gepad_mcp, daemon_client = app
    seen: list[str] = []
    arrived = asyncio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ServerNotification):
            seen.append(message.method)
            if message.method == "notifications/prompts/list_changed":
                arrived.set()

    async with Client(gepad_mcp.server, mode="legacy", message_handler=on_message) as client:
        await client.session.subscribe_resource("gepad://prompt/general")
        await client.list_resources()
        await daemon_client.set_prompt("Swapped for MCP.\n")
        await asyncio.wait_for(arrived.wait(), 10)
        assert "notifications/resources/updated" in seen
        read = await client.read_resource("gepad://prompt/general")
        assert read.contents[0].text == "Swapped for MCP.\n"


async def test_notifications_on_swap_listen_stream(app: tuple[GepadMcp, GepadClient]) -> None:
    gepad_mcp, daemon_client = app
    async with Client(gepad_mcp.server) as client:
        uri = "gepad://prompt/general"
        async with client.listen(prompts_list_changed=True, resource_subscriptions=[uri]) as sub:
            await daemon_client.set_prompt("Swapped for listeners.\n")
            events: list[str] = []
            async with asyncio.timeout(10):
                async for event in sub:
                    events.append(type(event).__name__)
                    if {"ResourceUpdated", "PromptsListChanged"} <= set(events):
                        break
        got = await client.call_tool("get_prompt", {"component": "general"})
        assert got.content[0].text == "Swapped for listeners.\n"


@pytest.mark.timeout(60)
def test_gepad_mcp_over_stdio(daemon: Daemon) -> None:
    """The real `gepad mcp` process: initialize, then read the prompt over stdin/stdout."""
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "resources/read",
            "params": {"uri": "gepad://prompt/general"},
        },
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gepad.cli", "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=daemon_env(daemon.home),
        text=True,
    )
    replies: dict[int, Any] = {}
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
        proc.stdin.flush()
        # Bounded: pytest-timeout ends the test if the server never answers.
        while 2 not in replies:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            reply = json.loads(line)
            if "id" in reply:
                replies[reply["id"]] = reply
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert replies[1]["result"]["serverInfo"]["name"] == "gepad"
    assert "careful coding assistant" in replies[2]["result"]["contents"][0]["text"]
