"""Issue 11, memory: a real daemon makes its model calls in a worker subprocess, and leaves none.

Real daemons in a temporary GEPAD_HOME call the simulated OpenAI-compatible server in bench/
through `assist.run`; the worker is found as the daemon's child process in /proc.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from gepad_daemon_harness import Daemon, rpc, start

from gepad.config import load_config
from gepad.errors import ConfigError
from gepad.paths import resolve_paths

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from gepad_simserver_testing import start_simserver, stop_simserver

WORKER_MODULE = "gepad.llm._worker_main"


def _config(api_base: str, **extra: Any) -> str:
    lines = [
        'task_model = "openai/sim-task"',
        f'api_base = "{api_base}"',
        "llm_timeout_s = 20",
        "daily_budget_usd = 0",
        "daily_budget_tokens = 0",
    ]
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _state(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process; None once it is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else (fields[0], int(fields[1]))


def _workers_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        state = _state(int(entry.name))
        if state is None or state[1] != parent:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if WORKER_MODULE.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _state(pid) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _assist(daemon: Daemon, instruction: str = "Rename the variable.") -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with rpc(daemon) as peer:
            request = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "assist.run",
                "params": {"instruction": instruction, "context": "x = 1"},
            }
            await peer.ws.send(json.dumps(request))
            # The first model call starts the worker, which loads litellm: allow for that.
            reply: dict[str, Any] = json.loads(await asyncio.wait_for(peer.ws.recv(), 120))
        return reply

    return asyncio.run(go())


@pytest.mark.timeout(300)
def test_model_calls_run_in_a_worker_that_never_outlives_the_daemon(tmp_path: Path) -> None:
    server = start_simserver(tmp_path)
    home = tmp_path / "home"
    config = _config(server.api_base, llm_worker_idle_s=600)
    env = {"OPENAI_API_KEY": "sk-local-test"}
    try:
        daemon = start(home, config=config, env=env)
        try:
            assert _workers_of(daemon.pid) == []  # started on demand, not with the daemon
            reply = _assist(daemon)
            assert "result" in reply, reply
            workers = _workers_of(daemon.pid)
            assert len(workers) == 1, workers
            # litellm (~150 MB) is in the worker, not in the daemon (~50 MB; the bar).
            assert _rss_mb(daemon.pid) < 100 < _rss_mb(workers[0])
        finally:
            daemon.stop()
        # A clean stop shuts the worker down before the daemon exits.
        assert _wait_gone(workers[0], 2.0), "the worker outlived a clean daemon stop"

        # A daemon killed outright cannot stop it: the worker sees its stdin close and exits.
        daemon = start(home, config=config, env=env)
        try:
            # Another instruction: the first answer is in the response cache now.
            assert "result" in _assist(daemon, "Inline the variable.")
            (worker,) = _workers_of(daemon.pid)
            daemon.signal(signal.SIGKILL)
            daemon.wait()
            assert _wait_gone(worker, 15.0), "the worker outlived a killed daemon"
        finally:
            daemon.stop()
    finally:
        stop_simserver(server)
    log = (home / "logs" / "gepad.log").read_text(encoding="utf-8", errors="replace")
    assert "started the model worker" in log


@pytest.mark.timeout(240)
def test_the_configured_idle_time_stops_the_worker_and_a_later_call_starts_another(
    tmp_path: Path,
) -> None:
    server = start_simserver(tmp_path)
    daemon = start(
        tmp_path / "home",
        config=_config(server.api_base, llm_worker_idle_s=3),
        env={"OPENAI_API_KEY": "sk-local-test"},
    )
    try:
        assert "result" in _assist(daemon)
        (first,) = _workers_of(daemon.pid) or [0]
        assert first, "no worker after a model call"
        assert _wait_gone(first, 20.0), "the worker did not exit after llm_worker_idle_s"
        assert _workers_of(daemon.pid) == []
        assert "result" in _assist(daemon, "Inline the variable.")
        (second,) = _workers_of(daemon.pid) or [0]
        assert second not in (0, first)
    finally:
        daemon.stop()
        stop_simserver(server)


@pytest.mark.timeout(200)
def test_llm_worker_false_keeps_the_calls_in_the_daemon(tmp_path: Path) -> None:
    server = start_simserver(tmp_path)
    daemon = start(
        tmp_path / "home",
        config=_config(server.api_base, llm_worker=False),
        env={"OPENAI_API_KEY": "sk-local-test"},
    )
    try:
        assert "result" in _assist(daemon)
        assert _workers_of(daemon.pid) == []
        assert _rss_mb(daemon.pid) > 100  # litellm loaded in the daemon itself
    finally:
        daemon.stop()
        stop_simserver(server)


@pytest.mark.parametrize(
    "line", ["llm_worker_idle_s = 0", "llm_worker_idle_s = -5", 'llm_worker = "sometimes"']
)
def test_bad_worker_settings_are_refused_with_the_key(tmp_path: Path, line: str) -> None:
    (tmp_path / "config.toml").write_text(line + "\n")
    with pytest.raises(ConfigError, match=line.split(" ")[0]):
        load_config(resolve_paths({"GEPAD_HOME": str(tmp_path)}), {})


def test_the_worker_is_on_by_default_with_a_bounded_idle_time(tmp_path: Path) -> None:
    config = load_config(resolve_paths({"GEPAD_HOME": str(tmp_path)}), {})
    assert config.llm_worker is True
    assert 30 <= config.llm_worker_idle_s <= 300
