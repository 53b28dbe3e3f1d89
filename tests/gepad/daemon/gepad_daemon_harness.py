"""Start a REAL `python -m gepad.daemon` in a temporary GEPAD_HOME and talk to it.

Shared by tests/gepad/daemon and tests/gepad/server (the latter's conftest puts this folder
on sys.path). Everything here has a timeout: a broken daemon fails a test, never hangs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0
CALL_TIMEOUT_S = 10.0


def daemon_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment minus any GEPAD_* of the developer, plus a temp home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env["GEPAD_HOME"] = str(home)
    env["GEPAD_PORT"] = "0"
    # These tests exercise the daemon's API; no model is reachable, so the optimizer (tested on
    # its own against the simulated server) stays off unless a test turns it on.
    env["GEPAD_OPTIMIZER_ENABLED"] = "false"
    env.update(extra or {})
    return env


@dataclass
class Daemon:
    home: Path
    proc: subprocess.Popen[bytes]
    ws_url: str = ""
    token: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def db_file(self) -> Path:
        return self.home / "data" / "gepad.db"

    @property
    def stderr_file(self) -> Path:
        return self.home / f"stderr-{self.proc.pid}.txt"

    def stderr(self) -> str:
        try:
            return self.stderr_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def connect(self, **kwargs: Any) -> Any:
        kwargs.setdefault("additional_headers", self.headers())
        kwargs.setdefault("open_timeout", CALL_TIMEOUT_S)
        return connect(self.ws_url, **kwargs)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = STOP_TIMEOUT_S) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> int:
        """SIGTERM and wait; kill -9 as a last resort so no test leaves a process behind."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT_S)
                raise
        return self.proc.returncode


def spawn(
    home: Path,
    *,
    env: Mapping[str, str] | None = None,
    config: str | None = None,
    args: tuple[str, ...] = (),
) -> Daemon:
    """Start the daemon process without waiting for it."""
    home.mkdir(parents=True, exist_ok=True)
    if config is not None:
        (home / "config.toml").write_text(config)
    proc_env = daemon_env(home, env)
    # stderr to a file: a pipe nobody reads could fill and block the daemon.
    placeholder = home / "stderr-starting.txt"
    with placeholder.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gepad.daemon", *args],
            env=proc_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    daemon = Daemon(home=home, proc=proc)
    placeholder.rename(daemon.stderr_file)
    return daemon


def wait_ready(daemon: Daemon, timeout: float = START_TIMEOUT_S) -> Daemon:
    """Wait until daemon.json names this process; raise with its stderr if it exits."""
    discovery = daemon.run_dir / "daemon.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.proc.poll() is not None:
            raise RuntimeError(
                f"daemon exited with {daemon.proc.returncode} during start:\n{daemon.stderr()}"
            )
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(discovery.read_text())
            if info.get("pid") == daemon.pid:
                daemon.info = info
                daemon.ws_url = info["ws_url"]
                daemon.token = (daemon.run_dir / "token").read_text().strip()
                return daemon
        time.sleep(0.02)
    daemon.proc.kill()
    raise TimeoutError(f"daemon not ready after {timeout} s:\n{daemon.stderr()}")


def start(
    home: Path,
    *,
    env: Mapping[str, str] | None = None,
    config: str | None = None,
    args: tuple[str, ...] = (),
) -> Daemon:
    return wait_ready(spawn(home, env=env, config=config, args=args))


def run_to_exit(
    home: Path, *, env: Mapping[str, str] | None = None, timeout: float = START_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Run a daemon that is expected to refuse to start; returns its exit code and stderr."""
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "gepad.daemon"],
        env=daemon_env(home, env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Rpc:
    """A minimal JSON-RPC peer over one websocket: ids, replies matched by id."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self.notifications: list[dict[str, Any]] = []

    async def raw(self, text: str | bytes, *, expect_reply: bool = True) -> Any:
        await self.ws.send(text)
        if not expect_reply:
            return None
        return json.loads(await asyncio.wait_for(self.ws.recv(), CALL_TIMEOUT_S))

    async def request(self, method: str, params: Any = None) -> dict[str, Any]:
        """The whole reply object (result or error)."""
        rid = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": rid}
        if params is not None:
            message["params"] = params
        await self.ws.send(json.dumps(message))
        async with asyncio.timeout(CALL_TIMEOUT_S):
            while True:
                reply = json.loads(await self.ws.recv())
                if isinstance(reply, dict) and reply.get("method") == "prompt.changed":
                    self.notifications.append(reply)
                    continue
                assert reply.get("id") == rid, reply
                return reply

    async def call(self, method: str, params: Any = None) -> Any:
        reply = await self.request(method, params)
        assert "error" not in reply, reply
        return reply["result"]

    async def error(self, method: str, params: Any = None) -> dict[str, Any]:
        reply = await self.request(method, params)
        assert "error" in reply, reply
        return reply["error"]

    async def next_notification(self, timeout: float = CALL_TIMEOUT_S) -> dict[str, Any]:
        if self.notifications:
            return self.notifications.pop(0)
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        assert message.get("method") == "prompt.changed", message
        return message


@contextlib.asynccontextmanager
async def rpc(daemon: Daemon, **kwargs: Any) -> AsyncIterator[Rpc]:
    async with daemon.connect(**kwargs) as ws:
        yield Rpc(ws)
