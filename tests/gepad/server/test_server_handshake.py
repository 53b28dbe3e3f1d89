"""Transport rules: token (401), Origin (403), connection cap (503), message size (1009),
and a subscriber too slow to read being dropped without holding up the others."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from gepad_daemon_harness import Daemon, rpc, start
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

MAX_CONNECTIONS = 4
ALLOWED = "vscode-webview://gepad-panel"

CONFIG = f"""
max_connections = {MAX_CONNECTIONS}
allowed_origins = ["{ALLOWED}"]
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = start(tmp_path_factory.mktemp("handshake") / "home", config=CONFIG)
    yield d
    assert d.stop() == 0, d.stderr()


async def refused_status(daemon: Daemon, **kwargs: object) -> int:
    with pytest.raises(InvalidStatus) as err:
        async with connect(daemon.ws_url, open_timeout=10, **kwargs):  # type: ignore[arg-type]
            pass
    return err.value.response.status_code


async def test_missing_token_is_401(daemon: Daemon) -> None:
    assert await refused_status(daemon) == 401


@pytest.mark.parametrize(
    "header",
    ["Bearer wrong-token", "Basic dXNlcjpwYXNz", "Bearer", "bearer  ", "Token {token}"],
)
async def test_wrong_token_is_401(daemon: Daemon, header: str) -> None:
    headers = {"Authorization": header.format(token=daemon.token)}
    assert await refused_status(daemon, additional_headers=headers) == 401


async def test_bad_origin_is_403_even_with_the_token(daemon: Daemon) -> None:
    status = await refused_status(
        daemon, additional_headers=daemon.headers(), origin="https://evil.example"
    )
    assert status == 403
    assert await refused_status(daemon, origin="https://evil.example") == 403


async def test_allowed_origin_and_no_origin_are_accepted(daemon: Daemon) -> None:
    async with rpc(daemon, origin=ALLOWED) as c:
        assert (await c.call("prompt.get"))["component"] == "general"
    async with rpc(daemon) as c:  # no Origin header: a local program
        assert (await c.call("prompt.get"))["component"] == "general"


async def test_connection_cap_is_503_and_frees_up(daemon: Daemon) -> None:
    opened = [await daemon.connect() for _ in range(MAX_CONNECTIONS)]
    try:
        assert await refused_status(daemon, additional_headers=daemon.headers()) == 503
    finally:
        await opened.pop().close()
    try:
        # One slot is free again (the server may need a moment to see the close).
        for _ in range(50):
            try:
                async with rpc(daemon) as c:
                    assert (await c.call("prompt.get"))["version"] >= 1
                break
            except InvalidStatus:
                await asyncio.sleep(0.02)
        else:
            pytest.fail("a slot never became free after closing a connection")
    finally:
        for ws in opened:
            await ws.close()


async def test_message_over_the_limit_closes_with_1009(daemon: Daemon) -> None:
    big = json.dumps(
        {"jsonrpc": "2.0", "method": "prompt.get", "id": 1, "params": {"x": "y" * (1 << 20)}}
    )
    async with daemon.connect(max_size=None) as ws:
        await ws.send(big)
        with pytest.raises(ConnectionClosed) as err:
            await asyncio.wait_for(ws.recv(), 10)
    assert err.value.rcvd is not None and err.value.rcvd.code == 1009
    async with rpc(daemon) as c:  # the daemon is still up
        assert (await c.call("status.get"))["pid"] == daemon.pid


async def test_just_under_the_limit_is_served(daemon: Daemon) -> None:
    text = "z" * (60 * 1024)
    async with rpc(daemon) as c:
        state = await c.call("prompt.set", {"component": "t-big", "text": text})
    assert state["text"] == text


async def test_slow_subscriber_is_dropped_others_keep_receiving(daemon: Daemon) -> None:
    # Big notifications fill socket buffers fast; max_queue=1 makes the slow client stop
    # reading its socket after one message, so the daemon's queue for it must overflow.
    text = "s" * (60 * 1024)
    log_file = daemon.home / "logs" / "gepad.log"
    async with (
        daemon.connect(max_queue=1) as slow,
        rpc(daemon) as fast,
        rpc(daemon) as writer,
    ):
        await writer.call("prompt.set", {"component": "t-slow", "text": text})
        await slow.send(json.dumps({"jsonrpc": "2.0", "method": "prompt.subscribe", "id": 1,
                                    "params": {"components": ["t-slow"]}}))  # fmt: skip
        await fast.call("prompt.subscribe", {"components": ["t-slow"]})
        sent = 0
        dropped = False
        while not dropped and sent < 400:
            sent += 1
            state = await writer.call(
                "prompt.set", {"component": "t-slow", "text": f"{sent}{text}"}
            )
            # The fast subscriber gets every change promptly, whatever the slow one does.
            note = await fast.next_notification(timeout=5)
            assert note["params"]["version"] == state["version"]
            if sent % 10 == 0:
                dropped = "dropping the connection" in log_file.read_text()
        assert dropped, f"slow subscriber not dropped after {sent} changes"
        received = 0
        with pytest.raises(ConnectionClosed) as err:
            async with asyncio.timeout(15):
                while True:
                    message = json.loads(await slow.recv())
                    received += message.get("method") == "prompt.changed"
        assert received < sent
        # 1008 when the close frame got through, 1006 when the daemon had to cut the socket.
        code = err.value.rcvd.code if err.value.rcvd is not None else 1006
        assert code in (1008, 1006), code
        assert (await writer.call("status.get"))["pid"] == daemon.pid
