"""Real daemons and the real `gepad` command for the client and CLI tests.

Shared by tests/gepad_client and tests/gepad/cli (whose conftest puts this folder on
sys.path). Every wait is bounded: a broken daemon fails a test, it never hangs one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0
CLI_TIMEOUT_S = 30.0


def clean_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the developer's GEPAD_*, plus a temp home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env["GEPAD_HOME"] = str(home)
    env["GEPAD_PORT"] = "0"
    # These tests are about the daemon's API, not learning: an optimizer run (it would start
    # after a few examples) would load the LLM stack and try to reach a model.
    env["GEPAD_OPTIMIZER_ENABLED"] = "false"
    env.update(extra or {})
    return env


@dataclass
class RunningDaemon:
    home: Path
    proc: subprocess.Popen[bytes] | None
    pid: int
    ws_url: str
    token: str

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return pid_running(self.pid)


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def read_ready(home: Path, *, pid: int | None = None) -> RunningDaemon | None:
    """The daemon that daemon.json names, once it and the token exist (pid must match if given)."""
    try:
        info = json.loads((home / "run" / "daemon.json").read_text())
        token = (home / "run" / "token").read_text().strip()
    except (OSError, ValueError):
        return None
    if pid is not None and info.get("pid") != pid:
        return None
    return RunningDaemon(home, None, int(info["pid"]), str(info["ws_url"]), token)


def start_daemon(
    home: Path, *, env: Mapping[str, str] | None = None, config: str | None = None
) -> RunningDaemon:
    """`python -m gepad.daemon` in `home`, waited for until daemon.json names it."""
    home.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (home / "config.toml").write_text(config)
    with (home / "daemon-test-stderr.txt").open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gepad.daemon"],
            env=clean_env(home, env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stderr = (home / "daemon-test-stderr.txt").read_text(errors="replace")
            raise RuntimeError(f"daemon exited with {proc.returncode}:\n{stderr}")
        ready = read_ready(home, pid=proc.pid)
        if ready is not None:
            ready.proc = proc
            return ready
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=STOP_TIMEOUT_S)
    raise TimeoutError(f"daemon in {home} not ready after {START_TIMEOUT_S} s")


def stop_daemon(daemon: RunningDaemon) -> None:
    """SIGTERM and wait; SIGKILL as a last resort so no test leaves a process behind."""
    if daemon.proc is not None:
        if daemon.proc.poll() is None:
            daemon.proc.send_signal(signal.SIGTERM)
            try:
                daemon.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                daemon.proc.kill()
                daemon.proc.wait(timeout=STOP_TIMEOUT_S)
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(daemon.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while pid_running(daemon.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if pid_running(daemon.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(daemon.pid, signal.SIGKILL)


def gepad_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m gepad.cli`."""
    script = shutil.which("gepad", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "gepad.cli"]


def gepad(
    home: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = CLI_TIMEOUT_S,
    command: Sequence[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real `gepad` command with GEPAD_HOME=home; never raises on a non-zero exit."""
    return subprocess.run(
        [*(command or gepad_command()), *args],
        env=clean_env(home, env),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def prepare_pending(home: Path, text: str, *, score: float = 0.9) -> int:
    """Put a pending (review-mode) version in home's database, in-process; returns its number."""
    from gepad.daemon import DEFAULT_SEEDS
    from gepad.prompts import PromptService
    from gepad.store import Store

    async def go() -> int:
        store = await Store.open(home / "data" / "gepad.db")
        try:
            service = PromptService(store, swap_policy="review", seeds=DEFAULT_SEEDS)
            await service.start()
            await service.propose("general", text, score=score, candidate_id="test-candidate")
            pending = service.current("general").pending
            assert pending is not None
            return pending.version
        finally:
            await store.close()

    (home / "data").mkdir(parents=True, exist_ok=True)
    return asyncio.run(go())
