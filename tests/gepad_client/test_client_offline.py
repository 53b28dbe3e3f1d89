"""Client behaviour that needs no gepad daemon: the runtime-dir rule, timeouts, dispatch."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import platformdirs
import pytest
from websockets.asyncio.server import ServerConnection, serve

from gepad_client import CallTimeout, ConnectionLost, GepadClient, runtime_dir


def test_runtime_dir_under_gepad_home(tmp_path: Path) -> None:
    assert runtime_dir({"GEPAD_HOME": str(tmp_path)}) == tmp_path / "run"
    assert runtime_dir({"GEPAD_HOME": "~/g"}) == Path("~/g").expanduser() / "run"


def test_runtime_dir_uses_xdg_runtime_dir(tmp_path: Path) -> None:
    assert runtime_dir({"XDG_RUNTIME_DIR": str(tmp_path)}) == tmp_path / "gepad"


def test_runtime_dir_falls_back_to_the_cache_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    found = runtime_dir({"XDG_RUNTIME_DIR": str(missing)})
    if Path(f"/run/user/{os.getuid()}").is_dir():
        assert found == Path(f"/run/user/{os.getuid()}") / "gepad"
    else:
        assert found == Path(platformdirs.user_cache_dir("gepad")) / "run"


def test_the_daemon_paths_use_the_same_rule(tmp_path: Path) -> None:
    from gepad.paths import resolve_paths

    env = {"GEPAD_HOME": str(tmp_path)}
    assert resolve_paths(env).runtime_dir == runtime_dir(env)


async def _serve(handler) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


@pytest.fixture
async def silent_url() -> AsyncIterator[str]:
    """A websocket peer that accepts calls and never answers them."""

    async def handler(ws: ServerConnection) -> None:
        async for _ in ws:
            pass

    async for url in _serve(handler):
        yield url


@pytest.fixture
async def chatty_url() -> AsyncIterator[str]:
    """Answers every call with a notification first, then a batch-style list reply."""

    async def handler(ws: ServerConnection) -> None:
        async for raw in ws:
            request = json.loads(raw)
            note = {"jsonrpc": "2.0", "method": "prompt.changed", "params": {"component": "x"}}
            await ws.send(json.dumps(note))
            await ws.send("not json at all")
            reply = {"jsonrpc": "2.0", "id": request["id"], "result": {"subscribed": ["x"]}}
            await ws.send(json.dumps([reply]))

    async for url in _serve(handler):
        yield url


async def test_a_call_without_reply_times_out(silent_url: str) -> None:
    async with GepadClient.connect(url=silent_url, token="t", timeout=5) as client:
        with pytest.raises(CallTimeout, match=r"status\.get: no reply within 0\.2 s"):
            await client.call("status.get", timeout=0.2)
        with pytest.raises(TimeoutError):  # CallTimeout is a TimeoutError too
            await client.call("status.get", timeout=0.05)


async def test_notification_racing_the_subscribe_reply_is_kept(chatty_url: str) -> None:
    async with GepadClient.connect(url=chatty_url, token="t") as client:
        sub = await client.subscribe(["x"])
        assert sub.subscribed == ["x"]
        assert (await sub.get(timeout=2))["component"] == "x"
        other = await client.subscribe(["y"])  # filters by component locally
        with pytest.raises(CallTimeout):
            await other.get(timeout=0.1)
        sub.close()
        # The note sent before the second reply was queued; after it, iteration ends.
        assert [s["component"] async for s in sub] == ["x"]
        with pytest.raises(ConnectionLost, match="closed"):
            await sub.get(timeout=0.1)
