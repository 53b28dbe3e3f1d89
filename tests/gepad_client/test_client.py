"""GepadClient against a REAL daemon process over a real websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gepad_client_harness import RunningDaemon, start_daemon, stop_daemon

from gepad_client import (
    ConnectError,
    ConnectionLost,
    DaemonNotRunning,
    GepadClient,
    RequestTooLarge,
    RpcError,
)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    running = start_daemon(
        tmp_path_factory.mktemp("client-home"),
        config='allowed_origins = ["http://trusted.example"]\n',
    )
    yield running
    stop_daemon(running)


async def test_connect_by_home_reads_discovery_and_token(daemon: RunningDaemon) -> None:
    async with GepadClient.connect(daemon.home) as client:
        status = await client.get_status()
    assert status["pid"] == daemon.pid
    assert status["ws_url"] == daemon.ws_url == client.ws_url
    assert status["home"] == str(daemon.home)
    assert {c["component"] for c in status["components"]} >= {"general"}


async def test_connect_uses_gepad_home_from_environment(
    daemon: RunningDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEPAD_HOME", str(daemon.home))
    client = await GepadClient.connect()  # the awaitable form
    try:
        state = await client.get_prompt()
    finally:
        await client.close()
    assert state["component"] == "general"
    assert state["version"] >= 1
    assert client.closed


async def test_not_running_when_there_is_no_discovery_file(tmp_path: Path) -> None:
    with pytest.raises(DaemonNotRunning, match="gepad is not running") as info:
        async with GepadClient.connect(tmp_path):
            pass
    assert str(tmp_path / "run") in str(info.value)
    assert "gepad start" in str(info.value)


async def test_not_running_when_the_pid_is_dead(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec("true")
    await proc.wait()  # reaped: its pid names no process now
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "daemon.json").write_text(
        json.dumps({"pid": proc.pid, "ws_url": "ws://127.0.0.1:9", "started_at": 0, "version": "x"})
    )
    with pytest.raises(DaemonNotRunning, match=f"pid {proc.pid}"):
        await GepadClient.open(tmp_path)


async def test_a_damaged_discovery_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    from gepad_client import GepadClientError

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "daemon.json").write_text("{not json")
    with pytest.raises(GepadClientError, match="not a valid discovery file") as info:
        await GepadClient.open(tmp_path)
    assert not isinstance(info.value, DaemonNotRunning)


async def test_wrong_token_is_refused_with_401(daemon: RunningDaemon) -> None:
    with pytest.raises(ConnectError, match="401"):
        await GepadClient.open(url=daemon.ws_url, token="not-the-token")
    with pytest.raises(ConnectError, match="401"):
        await GepadClient.open(url=daemon.ws_url, token=None)


async def test_origin_outside_the_allow_list_is_refused_with_403(daemon: RunningDaemon) -> None:
    with pytest.raises(ConnectError, match="403"):
        await GepadClient.open(daemon.home, origin="http://evil.example")
    async with GepadClient.connect(daemon.home, origin="http://trusted.example") as client:
        assert (await client.get_prompt())["component"] == "general"


async def test_nothing_listening_is_a_connect_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectError, match="cannot connect"):
        await GepadClient.open(url="ws://127.0.0.1:9", token="x", timeout=2)


async def test_concurrent_calls_are_matched_by_id(daemon: RunningDaemon) -> None:
    async with GepadClient.connect(daemon.home) as client:
        comments = [f"concurrent comment {i}" for i in range(40)]
        submits = [client.submit_feedback("comment", comment=c) for c in comments]
        failures = [client.get_prompt(f"missing-{i}") for i in range(10)]
        reads = [client.get_prompt() for _ in range(10)]
        results = await asyncio.gather(*submits, *failures, *reads, return_exceptions=True)
        ids = [r["example_id"] for r in results[:40]]
        assert len(set(ids)) == 40
        for i, error in enumerate(results[40:50]):
            assert isinstance(error, RpcError)
            assert f"missing-{i}" in error.message
        assert all(r["component"] == "general" for r in results[50:])
        listed = await client.list_examples(limit=1000, kind="comment")
    by_id = {e["id"]: e["comment"] for e in listed["examples"]}
    assert [by_id[i] for i in ids] == comments


async def test_server_errors_become_rpc_errors(daemon: RunningDaemon) -> None:
    async with GepadClient.connect(daemon.home) as client:
        with pytest.raises(RpcError) as missing:
            await client.rollback(9999)
        assert missing.value.code == -32001
        with pytest.raises(RpcError) as invalid:
            await client.submit_feedback("correction", output="x")  # no `corrected`
        assert invalid.value.code == -32602
        assert "corrected" in invalid.value.message
        assert any(e["field"] == "corrected" for e in invalid.value.data["errors"])
        with pytest.raises(RpcError) as unknown:
            await client.call("no.such.method")
        assert unknown.value.code == -32601
        assert "no.such.method" in unknown.value.message
        # The connection is still usable after errors.
        assert (await client.get_status())["pid"] == daemon.pid


async def test_feedback_generation_and_examples_round_trip(daemon: RunningDaemon) -> None:
    async with GepadClient.connect(daemon.home) as client:
        gen = await client.record_generation("def f(): pass", language="python", model="m")
        first = await client.submit_feedback(
            "thumbs-down",
            comment="wrong indentation",
            output="def f(): pass",
            generation_id=gen["generation_id"],
            language=None,  # None fields are left out
        )
        again = await client.submit_feedback(
            "thumbs_down",
            comment="wrong indentation",
            output="def f(): pass",
            generation_id=gen["generation_id"],
        )
        page = await client.list_examples(kind="thumbs_down", limit=5)
    assert first["duplicate"] is False
    assert again == {"example_id": first["example_id"], "duplicate": True}
    newest = page["examples"][0]
    assert newest["id"] == first["example_id"]
    assert newest["generation_id"] == gen["generation_id"]
    assert newest["comment"] == "wrong indentation"


async def test_subscribers_receive_prompt_changed(daemon: RunningDaemon) -> None:
    async with (
        GepadClient.connect(daemon.home) as a,
        GepadClient.connect(daemon.home) as b,
        GepadClient.connect(daemon.home) as editor,
    ):
        sub_a = await a.subscribe(["general"])
        sub_b = await b.subscribe(None)
        assert sub_a.subscribed == ["general"]
        new = await editor.set_prompt("Prefer early returns.\n")
        got_a = await sub_a.get(timeout=5)
        got_b = await sub_b.get(timeout=5)
        assert got_a == got_b
        assert got_a["version"] == new["version"]
        assert got_a["text"] == "Prefer early returns.\n"
        assert got_a["source"] == "user-edit"
        pinned = await editor.pin(True)
        assert (await sub_a.get(timeout=5))["pinned"] is True
        assert pinned["pinned"] is True
        await editor.pin(False)
        assert (await sub_a.get(timeout=5))["pinned"] is False


async def test_a_subscription_ends_when_the_connection_is_lost(tmp_path: Path) -> None:
    own = start_daemon(tmp_path)
    try:
        client = await GepadClient.open(tmp_path)
        sub = await client.subscribe()
        await asyncio.to_thread(stop_daemon, own)  # the loop must keep serving the close
        received = [state async for state in sub]  # must end, not hang
        assert received == []
        with pytest.raises(ConnectionLost):
            await client.get_prompt()
        await client.close()
    finally:
        stop_daemon(own)


async def test_an_oversized_message_loses_the_connection_clearly(daemon: RunningDaemon) -> None:
    # A client that found the daemon through daemon.json knows its limit: it refuses the
    # request before sending it, names the limit, and keeps the connection (issue 12, 22).
    async with GepadClient.connect(daemon.home) as client:
        with pytest.raises(RequestTooLarge, match=r"max_message_bytes") as refused:
            await client.set_prompt("x" * (2 * 1024 * 1024))
        assert refused.value.limit == 1_048_576 and "1.0 MiB" in str(refused.value)
        assert (await client.get_status())["pid"] == daemon.pid
    # Without that (an explicit url), the daemon's own limit still closes with 1009.
    async with GepadClient.connect(url=daemon.ws_url, token=daemon.token) as client:
        with pytest.raises(ConnectionLost, match="1009"):
            await client.set_prompt("x" * (2 * 1024 * 1024))
    async with GepadClient.connect(daemon.home) as client:
        assert (await client.get_status())["pid"] == daemon.pid
