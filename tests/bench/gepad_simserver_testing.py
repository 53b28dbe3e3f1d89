"""Helpers for driving bench/simserver.py as a real subprocess over real HTTP."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SIMSERVER = ROOT / "bench" / "simserver.py"
PYTHON_STYLE = ROOT / "bench" / "scenarios" / "python-style.toml"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def content(self) -> str:
        """The assistant message of a chat completion."""
        body = self.json()
        assert self.status == 200, body
        return body["choices"][0]["message"]["content"]


@dataclass
class SimProc:
    proc: subprocess.Popen[str]
    port: int

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def request(
        self, method: str, path: str, body: object = None, *, raw: bytes | None = None,
        timeout: float = 10.0,
    ) -> Reply:  # fmt: skip
        """One request on its own connection (closed afterwards, whatever happens)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            headers = {"content-type": "application/json"} if data is not None else {}
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8")
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, text)
        finally:
            conn.close()

    def chat(
        self, model: str, user: str | list[dict[str, str]], system: str | None = None,
        timeout: float = 10.0, **extra: object,
    ) -> Reply:  # fmt: skip
        messages: list[dict[str, object]] = []
        if system is not None:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": user})
        return self.request(
            "POST", "/v1/chat/completions", {"model": model, "messages": messages, **extra},
            timeout=timeout,
        )  # fmt: skip

    def stats(self) -> dict[str, Any]:
        reply = self.request("GET", "/stats")
        assert reply.status == 200, reply.text
        return reply.json()

    def control(self, **body: object) -> Reply:
        return self.request("POST", "/control", body)

    def reset(self, seed: int) -> None:
        reply = self.request("POST", "/reset", {"seed": seed})
        assert reply.status == 200, reply.text


class LocalRoles:
    """What the server answers, computed in-process: the same `SimRoles`, fed the same messages
    (a request's randomness comes from the request, so equal requests give equal answers)."""

    def __init__(self, seed: int, scenario: Path = PYTHON_STYLE) -> None:
        from gepad_sim import load_scenario
        from gepad_sim._server_roles import SimRoles

        self.roles = SimRoles(load_scenario(scenario), seed)

    def answer(
        self, model: str, user: str, system: str | None = None, temperature: float = 0.0
    ) -> str:
        from gepad_sim._server_roles import role_for_model

        role = role_for_model(model)
        assert role is not None, model
        messages = ([("system", system)] if system is not None else []) + [("user", user)]
        return self.roles.answer(
            role, system or "", user, messages=messages, temperature=temperature
        ).text


def start_simserver(
    folder: Path, *args: str, seed: int = 0, scenario: Path = PYTHON_STYLE
) -> SimProc:
    """Start the command on port 0 and wait for its port file."""
    port_file = folder / f"port-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [
            sys.executable, str(SIMSERVER), "--scenario", str(scenario), "--seed", str(seed),
            "--port", "0", "--port-file", str(port_file), *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S
    while not port_file.exists():
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"simserver exited with {proc.returncode}: {err}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            raise AssertionError("simserver did not write its port file in time")
        time.sleep(0.02)
    return SimProc(proc=proc, port=int(port_file.read_text(encoding="ascii")))


def stop_simserver(server: SimProc, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    """Signal the server and return (exit status, stdout, stderr)."""
    if server.proc.poll() is None:
        server.proc.send_signal(sig)
    try:
        out, err = server.proc.communicate(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        out, err = server.proc.communicate()
        raise AssertionError(f"simserver ignored signal {sig}: {err}") from None
    return server.proc.returncode, out, err


def run_simserver(*args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    """Run the command to completion (for arguments it must refuse)."""
    return subprocess.run(
        [sys.executable, str(SIMSERVER), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
