"""The daemon process: one per home, stale files, signals, crashes, refused databases, review mode.

Every test runs real `python -m gepad.daemon` processes in a temporary GEPAD_HOME.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gepad_daemon_harness import Daemon, rpc, run_to_exit, spawn, start, wait_ready
from websockets.exceptions import ConnectionClosed

from gepad.daemon import DEFAULT_SEEDS
from gepad.prompts import PromptService
from gepad.store import SCHEMA_VERSION, Store


def runtime_files(home: Path) -> set[str]:
    run = home / "run"
    return {p.name for p in run.iterdir()} if run.exists() else set()


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def example_ids(db_file: Path) -> set[int]:
    with contextlib.closing(sqlite3.connect(db_file)) as db:
        return {row[0] for row in db.execute("SELECT id FROM examples")}


def integrity(db_file: Path) -> str:
    with contextlib.closing(sqlite3.connect(db_file)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


async def submit_burst(daemon: Daemon, tag: str, acked: list[int], *, stop_after: int) -> None:
    """Submit distinct feedback until the connection dies (or stop_after acks); record acks."""
    with contextlib.suppress(ConnectionClosed, OSError):
        async with rpc(daemon) as c:
            for i in range(stop_after):
                reply = await c.request(
                    "feedback.submit", {"kind": "comment", "comment": f"{tag} #{i}"}
                )
                if "error" in reply:
                    # Only a shutting-down daemon may refuse; anything else is a bug.
                    assert reply["error"]["code"] == -32003, reply
                    return
                acked.append(reply["result"]["example_id"])


# -- one daemon per home --------------------------------------------------------------------


def test_second_start_exits_3_and_leaves_the_first_running(tmp_path: Path) -> None:
    first = start(tmp_path)
    try:
        second = run_to_exit(tmp_path)
        assert second.returncode == 3, second.stderr
        assert str(first.pid) in second.stderr and first.ws_url in second.stderr
        assert first.alive()
        assert json.loads((tmp_path / "run" / "daemon.json").read_text())["pid"] == first.pid

        async def still_serving() -> dict[str, Any]:
            async with rpc(first) as c:
                return await c.call("status.get")

        assert asyncio.run(still_serving())["pid"] == first.pid
    finally:
        assert first.stop() == 0


def test_stale_daemon_json_and_lock_are_cleaned_up(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir(parents=True)
    gone = dead_pid()
    (run / "daemon.json").write_text(
        json.dumps({"pid": gone, "ws_url": "ws://127.0.0.1:1", "started_at": 1.0, "version": "0"})
    )
    (run / "daemon.lock").write_text(f"{gone}\n")
    daemon = start(tmp_path)
    try:
        info = json.loads((run / "daemon.json").read_text())
        assert info["pid"] == daemon.pid and info["ws_url"] != "ws://127.0.0.1:1"
        log = (tmp_path / "logs" / "gepad.log").read_text()
        assert "stale" in log and str(gone) in log
    finally:
        assert daemon.stop() == 0
    assert "daemon.json" not in runtime_files(tmp_path)


# -- clean shutdown -------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_gives_a_clean_shutdown(tmp_path: Path, sig: signal.Signals) -> None:
    daemon = start(tmp_path)

    async def use() -> list[int]:
        async with rpc(daemon) as c:
            await c.call("prompt.set", {"component": "general", "text": "edited before stop"})
            return [
                (await c.call("feedback.submit", {"kind": "comment", "comment": f"c{i}"}))[
                    "example_id"
                ]
                for i in range(5)
            ]

    ids = asyncio.run(use())
    assert runtime_files(tmp_path) == {"daemon.json", "daemon.lock", "token"}

    async def connected_while_stopping() -> int | None:
        async with rpc(daemon) as c:
            await c.call("prompt.subscribe")
            daemon.signal(sig)
            async with asyncio.timeout(15):
                await c.ws.wait_closed()
            return c.ws.close_code

    # An open connection is told the daemon is going away.
    assert asyncio.run(connected_while_stopping()) == 1001
    assert daemon.wait() == 0, daemon.stderr()
    # The token stays (clients configured with it keep working); the rest is removed.
    assert runtime_files(tmp_path) == {"token"}
    assert integrity(daemon.db_file) == "ok"
    assert set(ids) <= example_ids(daemon.db_file)
    # A cleanly closed connection checkpoints and removes the WAL.
    assert not (daemon.db_file.parent / "gepad.db-wal").exists()
    log = (tmp_path / "logs" / "gepad.log").read_text()
    assert f"received {sig.name}" in log and "store closed" in log
    assert "Traceback" not in log

    again = start(tmp_path)  # and it starts again on the same home, state intact
    try:

        async def check() -> dict[str, Any]:
            async with rpc(again) as c:
                return await c.call("prompt.get")

        assert asyncio.run(check())["text"] == "edited before stop"
    finally:
        assert again.stop() == 0


def test_sigterm_during_a_burst_finishes_in_flight_writes(tmp_path: Path) -> None:
    daemon = start(tmp_path)
    acked: list[int] = []

    async def burst_then_term() -> None:
        tasks = [
            asyncio.create_task(submit_burst(daemon, f"w{n}", acked, stop_after=2000))
            for n in range(4)
        ]
        while len(acked) < 40:
            await asyncio.sleep(0.005)
        daemon.signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            await asyncio.gather(*tasks)

    asyncio.run(burst_then_term())
    assert daemon.wait() == 0, daemon.stderr()
    assert len(acked) >= 40 and len(set(acked)) == len(acked)
    assert set(acked) <= example_ids(daemon.db_file)
    assert integrity(daemon.db_file) == "ok"
    assert runtime_files(tmp_path) == {"token"}


def test_verbose_logs_debug_but_never_the_token_or_feedback(tmp_path: Path) -> None:
    daemon = start(tmp_path, args=("--verbose",))
    secret_comment = "feedback text that must not be logged 7f3a"

    async def use() -> None:
        async with rpc(daemon) as c:
            await c.call("feedback.submit", {"kind": "comment", "comment": secret_comment})

    try:
        asyncio.run(use())
    finally:
        assert daemon.stop() == 0
    log = (tmp_path / "logs" / "gepad.log").read_text()
    assert " DEBUG " in log and "conn-1 open" in log
    assert daemon.token not in log and daemon.token not in daemon.stderr()
    assert secret_comment not in log
    # --verbose also copies the log to stderr (for `gepad start --foreground --verbose`).
    assert "serving ws://" in daemon.stderr()


# -- crash durability -----------------------------------------------------------------------


def test_kill_9_mid_burst_loses_no_acknowledged_feedback(tmp_path: Path) -> None:
    daemon = start(tmp_path)
    acked: list[int] = []

    async def burst_then_kill() -> None:
        tasks = [
            asyncio.create_task(submit_burst(daemon, f"k{n}", acked, stop_after=2000))
            for n in range(4)
        ]
        while len(acked) < 60:
            await asyncio.sleep(0.005)
        daemon.signal(signal.SIGKILL)
        async with asyncio.timeout(20):
            await asyncio.gather(*tasks)

    asyncio.run(burst_then_kill())
    assert daemon.wait() == -signal.SIGKILL
    # The killed daemon left its runtime files behind; the next start must cope.
    assert "daemon.json" in runtime_files(tmp_path)

    restarted = start(tmp_path)
    try:

        async def listed() -> set[int]:
            async with rpc(restarted) as c:
                rows = (await c.call("examples.list", {"limit": 1000}))["examples"]
            return {r["id"] for r in rows}

        present = asyncio.run(listed())
    finally:
        assert restarted.stop() == 0
    assert len(acked) >= 60 and len(acked) < 1000
    missing = set(acked) - present
    assert not missing, f"{len(missing)} acknowledged examples lost: {sorted(missing)[:10]}"
    assert integrity(restarted.db_file) == "ok"


# -- refusing to start ----------------------------------------------------------------------


def test_newer_schema_database_is_refused_and_untouched(tmp_path: Path) -> None:
    db_file = tmp_path / "data" / "gepad.db"
    db_file.parent.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(db_file)) as db:
        db.execute("CREATE TABLE future (x)")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.commit()
    before = hashlib.sha256(db_file.read_bytes()).hexdigest()
    siblings = sorted(p.name for p in db_file.parent.iterdir())

    result = run_to_exit(tmp_path)
    assert result.returncode == 1, result.stderr
    assert "newer" in result.stderr and str(db_file) in result.stderr
    assert f"version {SCHEMA_VERSION + 1}" in result.stderr
    assert hashlib.sha256(db_file.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in db_file.parent.iterdir()) == siblings
    assert "daemon.json" not in runtime_files(tmp_path)
    assert "daemon.lock" not in runtime_files(tmp_path)


def test_config_error_exits_2_naming_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('swap_policy = "sometimes"\n')
    result = run_to_exit(tmp_path)
    assert result.returncode == 2
    assert "'swap_policy'" in result.stderr and str(tmp_path / "config.toml") in result.stderr
    bad_env = run_to_exit(tmp_path / "env", env={"GEPAD_MAX_CONNECTIONS": "many"})
    assert bad_env.returncode == 2 and "GEPAD_MAX_CONNECTIONS" in bad_env.stderr


def test_non_loopback_host_is_refused_unless_allowed(tmp_path: Path) -> None:
    refused = run_to_exit(tmp_path / "a", env={"GEPAD_HOST": "0.0.0.0"})
    assert refused.returncode == 2 and "allow_non_loopback" in refused.stderr

    allowed = start(
        tmp_path / "b", env={"GEPAD_HOST": "0.0.0.0", "GEPAD_ALLOW_NON_LOOPBACK": "true"}
    )
    try:
        assert allowed.ws_url.startswith("ws://127.0.0.1:")
        log = (tmp_path / "b" / "logs" / "gepad.log").read_text()
        assert "WARNING" in log and "non-loopback" in log
    finally:
        assert allowed.stop() == 0


def test_port_in_use_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = run_to_exit(tmp_path, env={"GEPAD_PORT": str(port)})
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert runtime_files(tmp_path) == {"token"}


def test_two_daemons_racing_for_one_home_one_wins(tmp_path: Path) -> None:
    # Two daemons racing for one home: exactly one serves, the other exits 3.
    a, b = spawn(tmp_path / "h"), spawn(tmp_path / "h")
    winners: list[Daemon] = []
    for d in (a, b):
        try:
            winners.append(wait_ready(d))
        except RuntimeError:
            assert d.proc.returncode == 3, d.stderr()
    try:
        assert len(winners) == 1
    finally:
        for d in winners:
            assert d.stop() == 0


# -- review mode ----------------------------------------------------------------------------


async def prepare_pending(db_file: Path) -> int:
    """In-process, before the daemon starts: a review-mode proposal waiting for approval."""
    store = await Store.open(db_file)
    try:
        prompts = PromptService(store, swap_policy="review", seeds=DEFAULT_SEEDS)
        await prompts.start()
        outcome = await prompts.propose(
            "general", "a better prompt from the optimizer", score=0.8, candidate_id="c-1"
        )
        assert outcome.action == "pending"
        return outcome.version.version
    finally:
        await store.close()


def test_review_mode_pending_and_approve(tmp_path: Path) -> None:
    pending_version = asyncio.run(prepare_pending(tmp_path / "data" / "gepad.db"))
    daemon = start(tmp_path, env={"GEPAD_SWAP_POLICY": "review"})
    try:

        async def review() -> None:
            async with rpc(daemon) as c, rpc(daemon) as watcher:
                status = await c.call("status.get")
                assert status["swap_policy"] == "review"
                state = await c.call("prompt.get")
                assert state["version"] == 1 and state["source"] == "seed"
                pending = state["pending"]
                assert pending is not None and pending["version"] == pending_version
                assert pending["score"] == 0.8
                assert pending["text"] == "a better prompt from the optimizer"
                await watcher.call("prompt.subscribe", {"components": ["general"]})

                wrong = await c.error("prompt.approve", {"component": "general", "version": 1})
                assert wrong["code"] == -32002
                approved = await c.call(
                    "prompt.approve", {"component": "general", "version": pending_version}
                )
                assert approved["version"] == pending_version and approved["pending"] is None
                assert approved["text"] == "a better prompt from the optimizer"
                assert approved["score"] == 0.8
                assert (await watcher.next_notification())["params"] == approved
                again = await c.error(
                    "prompt.approve", {"component": "general", "version": pending_version}
                )
                assert again["code"] == -32002
                history = await c.call("prompt.history", {"component": "general"})
                assert history["versions"][0]["candidate_id"] == "c-1"

        asyncio.run(review())
    finally:
        assert daemon.stop() == 0
