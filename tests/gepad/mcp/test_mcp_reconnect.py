"""`gepad mcp` outlives daemons: the next tool call after a daemon restart reconnects; an
oversized argument is refused before sending, naming the limit, and breaks nothing; and
`gepad mcp --home DIR` finds a daemon the MCP client's environment does not name (issue 12,
items 8 and 21). Real daemons, the `mcp` package's in-process client, a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gepad_daemon_harness import Daemon, start
from mcp import Client

from gepad.mcp_server import DaemonLink, GepadMcp
from gepad_client import GepadClient

pytestmark = pytest.mark.filterwarnings("ignore::mcp.MCPDeprecationWarning")

GEPAD = str(Path(sys.executable).with_name("gepad"))


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    d = start(tmp_path / "gepad")
    try:
        yield d
    finally:
        d.stop()


async def _corrections(home: Path) -> list[dict[str, Any]]:
    async with GepadClient.connect(home=home) as c:
        page = await c.list_examples(kind="correction")
    return list(page["examples"])


@pytest.mark.timeout(90)
async def test_the_next_call_after_a_daemon_restart_reconnects(daemon: Daemon) -> None:
    link = DaemonLink(daemon.home, attempts=40, delay_s=0.25)
    app = GepadMcp(link)
    try:
        async with Client(app.server, mode="legacy") as client:
            first = await client.call_tool("get_prompt", {})
            assert not first.is_error, first.content
            old_url = daemon.ws_url
            daemon.stop()
            again = start(daemon.home)  # GEPAD_PORT=0: a new port and a new token
            try:
                assert again.ws_url != old_url
                fb = await client.call_tool(
                    "record_feedback",
                    {"kind": "correction", "output": "x=1", "corrected": "x = 1"},
                )
                assert not fb.is_error, fb.content
                ids = [e["id"] for e in await _corrections(daemon.home)]
                assert ids == [fb.structured_content["example_id"]]
                assert link.connects == 2
            finally:
                again.stop()
    finally:
        await link.close()


@pytest.mark.timeout(90)
async def test_a_stopped_daemon_gives_a_clear_error_then_the_restart_is_found(
    daemon: Daemon,
) -> None:
    link = DaemonLink(daemon.home, attempts=3, delay_s=0.05)
    app = GepadMcp(link)
    try:
        async with Client(app.server, mode="legacy") as client:
            assert not (await client.call_tool("get_prompt", {})).is_error
            daemon.stop()
            down = await client.call_tool("get_prompt", {})
            assert down.is_error
            assert "gepad is not running" in down.content[0].text
            again = start(daemon.home)
            try:
                up = await client.call_tool("get_prompt", {})
                assert not up.is_error, up.content
            finally:
                again.stop()
    finally:
        await link.close()


@pytest.mark.timeout(60)
async def test_an_oversized_argument_is_refused_before_sending(daemon: Daemon) -> None:
    link = DaemonLink(daemon.home)
    app = GepadMcp(link)
    try:
        async with Client(app.server, mode="legacy") as client:
            big = await client.call_tool(
                "record_feedback", {"kind": "comment", "comment": "z" * (2 * 1024 * 1024)}
            )
            assert big.is_error
            text = big.content[0].text
            assert "over the daemon's limit of 1.0 MiB (1048576 bytes)" in text, text
            assert "max_message_bytes" in text
            # Nothing was sent, so nothing was closed: the next call works at once.
            ok = await client.call_tool("record_feedback", {"kind": "comment", "comment": "ok"})
            assert not ok.is_error, ok.content
            assert link.connects == 1
    finally:
        await link.close()


async def test_the_limit_defaults_to_1_mib_when_daemon_json_does_not_say(daemon: Daemon) -> None:
    info_file = daemon.run_dir / "daemon.json"
    info = json.loads(info_file.read_text())
    info.pop("max_message_bytes", None)
    info_file.write_text(json.dumps(info))
    link = DaemonLink(daemon.home)
    try:
        assert (await link.client()).max_message_bytes == 1_048_576
    finally:
        await link.close()


def _rpc(proc: subprocess.Popen[bytes], message: dict[str, Any]) -> dict[str, Any] | None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()
    if "id" not in message:
        return None
    while True:
        line = proc.stdout.readline()
        assert line, "gepad mcp closed stdout"
        reply: dict[str, Any] = json.loads(line)
        if reply.get("id") == message["id"]:
            return reply


@pytest.mark.timeout(60)
def test_gepad_mcp_home_finds_the_daemon_without_gepad_home(daemon: Daemon, tmp_path: Path) -> None:
    # What an MCP client passes on: no GEPAD_* variables, a HOME where no daemon runs.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEPAD_", "XDG_"))}
    env["HOME"] = str(tmp_path / "elsewhere")
    proc = subprocess.Popen(
        [GEPAD, "mcp", "--home", str(daemon.home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        init = _rpc(
            proc,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "probe", "version": "0"},
                },
            },
        )
        assert init is not None and init["result"]["serverInfo"]["name"] == "gepad"
        _rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        got = _rpc(
            proc,
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "tools/call",
                "params": {"name": "get_prompt", "arguments": {}},
            },
        )
        assert got is not None and not got["result"].get("isError"), got
        assert "careful coding assistant" in got["result"]["content"][0]["text"]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(60)
async def test_after_a_1009_close_the_next_call_reconnects(tmp_path: Path) -> None:
    """daemon.json overstates the limit, so the daemon itself closes the connection (1009)."""
    d = start(tmp_path / "gepad", config="max_message_bytes = 4096\n")
    try:
        info_file = d.run_dir / "daemon.json"
        info = json.loads(info_file.read_text())
        info["max_message_bytes"] = 64 * 1024 * 1024
        info_file.write_text(json.dumps(info))
        link = DaemonLink(d.home, attempts=5, delay_s=0.1)
        app = GepadMcp(link)
        try:
            async with Client(app.server, mode="legacy") as client:
                big = await client.call_tool(
                    "record_feedback", {"kind": "comment", "comment": "w" * 20_000}
                )
                assert big.is_error and "gepad daemon:" in big.content[0].text
                ok = await client.call_tool("record_feedback", {"kind": "comment", "comment": "k"})
                assert not ok.is_error, ok.content
                assert link.connects >= 2
        finally:
            await link.close()
    finally:
        d.stop()
