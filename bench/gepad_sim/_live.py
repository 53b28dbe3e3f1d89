"""A live stack for end-to-end runs: the simulated server and a real daemon, as processes.

Used by `bench/daemon_e2e.py` and by the daemon's learning tests. Everything runs on
127.0.0.1 in a temporary GEPAD_HOME; the daemon reaches the simulated models through litellm's
real HTTP path, exactly as it would reach Ollama or any OpenAI-compatible server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

__all__ = ["LiveDaemon", "LiveSimServer", "sim_config"]

BENCH = Path(__file__).resolve().parents[1]


def _wait_for(path: Path, proc: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 0:
            return
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"{what} exited with {proc.returncode} while starting:\n{err}")
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout} s")


@dataclass
class LiveSimServer:
    """`bench/simserver.py` as a subprocess on a free loopback port."""

    scenario: Path
    seed: int
    workdir: Path
    latency_ms: int = 0
    fault: str | None = None
    extra_args: tuple[str, ...] = ()  # more simserver.py flags (the judge's biases, say)
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0

    def start(self) -> LiveSimServer:
        port_file = self.workdir / "simserver.port"
        port_file.unlink(missing_ok=True)
        cmd = [
            sys.executable, str(BENCH / "simserver.py"), "--scenario", str(self.scenario),
            "--seed", str(self.seed), "--port", "0", "--port-file", str(port_file),
            "--latency-ms", str(self.latency_ms),
        ]  # fmt: skip
        if self.fault:
            cmd += ["--fault", self.fault]
        cmd += list(self.extra_args)
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        _wait_for(port_file, self.proc, "simserver", 30)
        self.port = int(port_file.read_text().strip())
        return self

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _http(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        req.add_header("Content-Type", "application/json")
        with urlopen(req, timeout=10) as resp:
            return json.loads(resp.read().decode())

    def stats(self) -> Any:
        return self._http("GET", "/stats")

    def received(self, limit: int = 1000) -> Any:
        return self._http("GET", f"/received?limit={limit}")

    def control(self, **body: Any) -> Any:
        return self._http("POST", "/control", body)

    def reset(self, seed: int | None = None) -> Any:
        """A fresh random stream, cleared counts, request log and fault (`POST /reset`)."""
        return self._http("POST", "/reset", {} if seed is None else {"seed": seed})

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def sim_config(api_base: str, **overrides: Any) -> dict[str, Any]:
    """A daemon config that uses the simulated models for every role."""
    config: dict[str, Any] = {
        "port": 0,
        "task_model": "openai/sim-task",
        "reflection_model": "openai/sim-reflect",
        "judge_model": "openai/sim-judge",
        "merge_model": "openai/sim-merge",
        "api_base": api_base,
        # Optimization runs only when asked for, so a benchmark controls its budget.
        "optimize_after_examples": 1_000_000,
        "daily_budget_usd": 0,
        "daily_budget_tokens": 0,
        "llm_timeout_s": 20,
    }
    config.update(overrides)
    return config


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


@dataclass
class LiveDaemon:
    """`python -m gepad.daemon` in its own GEPAD_HOME."""

    home: Path
    config: Mapping[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        lines = [f"{k} = {_toml_value(v)}" for k, v in self.config.items() if v is not None]
        (self.home / "config.toml").write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 30) -> LiveDaemon:
        self.write_config()
        discovery = self.home / "run" / "daemon.json"
        discovery.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
        env.update(GEPAD_HOME=str(self.home), OPENAI_API_KEY="sk-sim-not-a-secret")
        env.update(self.env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gepad.daemon"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        _wait_for(discovery, self.proc, "gepad daemon", timeout)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid
