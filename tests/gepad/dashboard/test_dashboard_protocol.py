"""prompt.reject, examples.retire/unretire, prompt.provenance and the CLI over a real daemon,
and the documented prompt.reject example replayed (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gepad_daemon_harness import Daemon, rpc, start

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from test_server_protocol_doc import prepare, same_shape, sections

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    asyncio.run(prepare(tmp_path / "home" / "data" / "gepad.db"))  # pending v2 ("c-1")
    d = start(tmp_path / "home", env={"GEPAD_SWAP_POLICY": "review"})
    try:
        yield d
    finally:
        d.stop()


def _cli(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env["GEPAD_HOME"] = str(daemon.home)
    return subprocess.run(
        [sys.executable, "-m", "gepad.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_documented_reject_replays_and_the_version_never_becomes_current(daemon: Daemon) -> None:
    request, documented = sections()["prompt.reject"]

    async def go() -> None:
        async with rpc(daemon) as c:
            await c.ws.send(json.dumps(request))
            reply = json.loads(await asyncio.wait_for(c.ws.recv(), 10))
            assert "error" not in reply, reply
            same_shape(documented, reply)
            assert reply["result"]["version"] == 1 and reply["result"]["pending"] is None
            again = await c.error("prompt.approve", {"component": "general", "version": 2})
            assert again["code"] == -32002
            assert (await c.error("prompt.reject", {"component": "general", "version": 2}))[
                "code"
            ] == -32002
            assert (await c.error("prompt.reject", {"component": "general", "version": 9}))[
                "code"
            ] == -32001
            assert (await c.error("prompt.reject", {"component": "nope", "version": 2}))[
                "code"
            ] == -32001
            assert (await c.error("prompt.reject", {"component": "general", "version": "2"}))[
                "code"
            ] == -32602
            history = await c.call("prompt.history", {"component": "general"})
            assert {v["version"]: v["status"] for v in history["versions"]}[2] == "rejected"
            assert (await c.call("prompt.get"))["version"] == 1

    asyncio.run(go())
    db = sqlite3.connect(f"file:{daemon.db_file}?mode=ro", uri=True)
    kinds = [r[0] for r in db.execute("SELECT kind FROM events ORDER BY id")]
    db.close()
    assert kinds[-1] == "prompt.reject"


def test_cli_reject_and_why(daemon: Daemon) -> None:
    done = _cli(daemon, "prompt", "reject", "2")
    assert done.returncode == 0, done.stderr
    assert "v2 rejected; v1 stays current" in done.stdout
    assert _cli(daemon, "prompt", "reject", "2").returncode == 1  # nothing pending now
    why = _cli(daemon, "prompt", "why", "--line", "1")
    assert why.returncode == 0, why.stderr
    assert why.stdout.startswith("  1  You are a careful coding assistant")
    assert "seed" in why.stdout
    as_json = json.loads(_cli(daemon, "prompt", "why", "--json").stdout)
    assert as_json["version"] == 1 and len(as_json["lines"]) >= 3
    out_of_range = _cli(daemon, "prompt", "why", "--line", "999")
    assert out_of_range.returncode == 1 and "not 999" in out_of_range.stderr
    url = _cli(daemon, "dashboard", "--print-url")
    assert url.returncode == 0 and url.stdout.startswith("http://127.0.0.1:")


def test_retire_and_unretire(daemon: Daemon) -> None:
    async def go() -> None:
        async with rpc(daemon) as c:
            ex = await c.call("feedback.submit", {"kind": "comment", "comment": "use pathlib"})
            ex_id = ex["example_id"]
            assert await c.call("examples.retire", {"id": ex_id}) == {
                "id": ex_id,
                "retired": True,
                "changed": True,
            }
            assert (await c.call("examples.retire", {"id": ex_id}))["changed"] is False
            assert (await c.call("examples.list"))["examples"] == []
            listed = (await c.call("dashboard.examples"))["examples"]
            assert [(e["id"], e["retired"]) for e in listed] == [(ex_id, True)]
            assert (await c.call("examples.unretire", {"id": ex_id}))["changed"] is True
            assert [e["id"] for e in (await c.call("examples.list"))["examples"]] == [ex_id]
            assert (await c.error("examples.retire", {"id": 999}))["code"] == -32001
            assert (await c.error("examples.retire", {"id": 0}))["code"] == -32602
            assert (await c.error("examples.retire", {}))["code"] == -32602

    asyncio.run(go())


def test_views_answer_without_an_optimizer(daemon: Daemon) -> None:
    async def go() -> None:
        async with rpc(daemon) as c:
            curve = await c.call("dashboard.curve", {"component": "general"})
            assert curve["points"] == [] and curve["now"] is None
            lineage = await c.call("dashboard.lineage", {"component": "general"})
            assert lineage["candidates"] == []
            review = await c.call("dashboard.review", {"component": "general"})
            assert review["pending"]["version"] == 2 and review["fixes"] == []
            spend = await c.call("dashboard.spend", {"days": 3})
            assert spend["days"] == [] and spend["truncated"] is False
            assert (await c.error("dashboard.curve", {"component": "nope"}))["code"] == -32001
            assert (await c.error("dashboard.spend", {"days": 0}))["code"] == -32602
            prov = await c.call("prompt.provenance", {"component": "general", "version": 2})
            assert prov["lines"][0]["introduced_by"] == {
                "kind": "version",
                "version": 2,
                "source": "optimizer",
            }
            assert (await c.error("prompt.provenance", {"version": 7}))["code"] == -32001

    asyncio.run(go())
