"""Shared pieces of the learning tests: a live stack (simulated server + real daemon), feeding
feedback over the real websocket, waiting for optimizer runs, and reading the daemon's database.

Everything runs as real processes on 127.0.0.1: the daemon reaches the simulated models through
litellm's HTTP path, and the tests talk to the daemon only through `gepad_client`.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import sqlite3
import string
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gepad_client import GepadClient
from gepad_sim import Scenario, Task, load_scenario
from gepad_sim._live import BENCH, LiveDaemon, LiveSimServer, sim_config
from gepad_sim._server_roles import parse_judge_sections

__all__ = [
    "SCENARIO_PATH",
    "Stack",
    "db_rows",
    "engine_state",
    "fake_secrets",
    "feed_thumbs_down",
    "judge_prompts",
    "live_stack",
    "llm_outcomes",
    "run_optimizer",
    "scenario",
    "secret_thumbs_down",
    "seed_output",
    "server_text",
    "stop_daemon",
    "thumbs_down_comment",
    "wait_until",
]

SCENARIO_PATH = BENCH / "scenarios" / "python-style.toml"


def scenario() -> Scenario:
    return load_scenario(SCENARIO_PATH)


@dataclass
class Stack:
    """A simulated server and a daemon pointed at it, in `work`."""

    server: LiveSimServer
    daemon: LiveDaemon
    work: Path

    @property
    def home(self) -> Path:
        return self.daemon.home

    @property
    def db_path(self) -> Path:
        return self.daemon.home / "data" / "gepad.db"

    @property
    def log_path(self) -> Path:
        return self.daemon.home / "logs" / "gepad.log"

    def connect(self, timeout: float = 20) -> Any:
        return GepadClient.connect(home=self.home, timeout=timeout)

    def stop_daemon(self) -> None:
        stop_daemon(self.daemon)

    def restart(self) -> None:
        stop_daemon(self.daemon)
        self.daemon.start()


@contextmanager
def live_stack(
    tmp_path: Path, *, seed: int = 0, latency_ms: int = 0, **config: Any
) -> Iterator[Stack]:
    """Start the simulated server and a daemon configured by `sim_config(**config)`."""
    server = LiveSimServer(SCENARIO_PATH, seed, tmp_path, latency_ms=latency_ms).start()
    daemon = LiveDaemon(tmp_path / "home", sim_config(server.api_base, **config))
    try:
        daemon.start()
        yield Stack(server, daemon, tmp_path)
    finally:
        try:
            stop_daemon(daemon)
        finally:
            server.stop()


_STOPPED = "gepad.daemon._main: stopped"


def stop_daemon(daemon: LiveDaemon, timeout: float = 20) -> None:
    """SIGTERM the daemon, wait for its clean shutdown to finish, then reap the process.

    Once the daemon logs "stopped" its store is closed, daemon.json removed and the lock
    released; what is left is the interpreter's own finalization, which takes seconds with
    litellm loaded and does nothing a test can observe, so the process is killed then.
    """
    proc = daemon.proc
    if proc is None or proc.poll() is not None:
        return
    log = daemon.home / "logs" / "gepad.log"
    offset = log.stat().st_size if log.exists() else 0
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        with log.open("rb") as fh:
            fh.seek(offset)
            if _STOPPED.encode() in fh.read():
                break
        time.sleep(0.02)
    else:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise AssertionError(f"the daemon did not stop within {timeout} s of SIGTERM")
    if proc.poll() is None:
        proc.kill()
    proc.wait()


# ---------------------------------------------------------------- feedback


def seed_output(task: Task, followed: tuple[str, ...] = ()) -> str:
    """The sim task model's output for `task` under a prompt that states only `followed`."""
    missed = [r for r in task.rules if r not in followed]
    return f"followed: {', '.join(followed) or 'none'}; missed: {', '.join(missed) or 'none'}"


def thumbs_down_comment(sc: Scenario, task: Task) -> str:
    """The simulated user's complaint about `task`'s output when every rule was missed."""
    feedback = {r.id: r.feedback for r in sc.rules}
    return " ".join(feedback[r] for r in task.rules)


async def feed_thumbs_down(client: Any, sc: Scenario, tasks: list[Task]) -> list[int]:
    """Submit one thumbs-down per task, as the e2e benchmark does; returns the example ids."""
    ids = []
    for task in tasks:
        result = await client.submit_feedback(
            "thumbs_down",
            context=task.input,
            output=seed_output(task),
            comment=thumbs_down_comment(sc, task),
        )
        ids.append(result["example_id"])
    return ids


def fake_secrets(seed: int) -> dict[str, str]:
    """Realistic fake secrets, built at run time (the repository holds none), by kind."""
    rng = random.Random(seed)
    upper_digits = string.ascii_uppercase + string.digits
    base62 = string.ascii_letters + string.digits
    return {
        "aws-access-key-id": "AKIA" + "".join(rng.choice(upper_digits) for _ in range(16)),
        "github-token": "ghp_" + "".join(rng.choice(base62) for _ in range(36)),
        "url-password": "".join(rng.choice(base62) for _ in range(20)),
    }


def secret_thumbs_down(sc: Scenario, task: Task, secrets: dict[str, str]) -> dict[str, str]:
    """A thumbs-down whose context and comment carry the secrets, as a user might paste them."""
    feedback = {r.id: r.feedback for r in sc.rules}
    return {
        "context": (
            f"{task.input}\n\n# .env of the project\nGITHUB_TOKEN={secrets['github-token']}\n"
            f"DATABASE_URL=postgres://app:{secrets['url-password']}@db.internal:5432/app\n"
        ),
        "output": seed_output(task),
        "comment": (
            f"{feedback[task.rules[0]]} And you pasted my AWS key "
            f"{secrets['aws-access-key-id']} into the snippet!"
        ),
    }


# ---------------------------------------------------------------- waiting


async def wait_until(
    check: Callable[[], Awaitable[Any]], *, timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


async def run_optimizer(
    client: Any, budget: int | None = None, *, timeout: float = 30
) -> dict[str, Any]:
    """`optimizer.run` and wait until that run has ended; returns `optimizer.status`."""
    before = (await client.call("optimizer.status"))["last_run_at"]
    await client.call("optimizer.run", {} if budget is None else {"budget": budget})

    async def ended() -> dict[str, Any] | None:
        status = await client.call("optimizer.status")
        started = status["last_run_at"] not in (None, before)
        return status if started and status["state"] != "running" else None

    return await wait_until(ended, timeout=timeout, what="the optimizer run to end")


# ---------------------------------------------------------------- the daemon's database


def db_rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    """Rows of a read-only query on the daemon's database (fine while the daemon runs)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def engine_state(db_path: Path, component: str = "general") -> dict[str, Any]:
    rows = db_rows(db_path, "SELECT state_json FROM engine_state WHERE component = ?", (component,))
    assert rows, f"no engine state for {component!r} in {db_path}"
    state: dict[str, Any] = json.loads(rows[0]["state_json"])
    return state


def llm_outcomes(db_path: Path, purpose: str | None = None) -> Counter[str]:
    """How many recorded LLM calls ended with each outcome (optionally for one purpose)."""
    sql = "SELECT outcome, COUNT(*) AS n FROM llm_calls"
    params: tuple[Any, ...] = ()
    if purpose is not None:
        sql += " WHERE purpose = ?"
        params = (purpose,)
    return Counter(
        {r["outcome"]: r["n"] for r in db_rows(db_path, sql + " GROUP BY outcome", params)}
    )


# ---------------------------------------------------------------- what the server received


def server_text(server: LiveSimServer) -> str:
    """Every request body the server kept, whole, as one string (it keeps the last 256)."""
    entries = server.received(limit=1000)["requests"]
    assert not any(e["body_truncated"] for e in entries), "a request body was kept only in part"
    return "\n".join(entry["body"] for entry in entries)


def judge_prompts(server: LiveSimServer) -> list[dict[str, str]]:
    """The judge requests the server received, each parsed into its `## ` sections."""
    out = []
    for entry in server.received(limit=1000)["requests"]:
        if (entry["model"] or "").removeprefix("openai/") != "sim-judge" or not entry["messages"]:
            continue
        user = [m["content"] for m in entry["messages"] if m["role"] == "user"]
        out.append(parse_judge_sections(user[-1]))
    return out
