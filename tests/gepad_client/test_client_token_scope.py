"""Issue 12, item 15: the client sends the daemon's token only to a loopback address.

The attack: whoever can write `daemon.json` names a `ws_url` on another host and collects
the bearer token from the handshake. A real listener on a non-loopback address of this
machine stands in for the attacker's host.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
from pathlib import Path

import pytest

from gepad_client import ConnectError, GepadClient


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


class _Listener:
    """Accepts connections on `host` and keeps every byte it is sent."""

    def __init__(self, host: str) -> None:
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            conn.settimeout(1.0)
            with contextlib.suppress(OSError):
                self.received += conn.recv(65536)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def _plant_discovery(home: Path, ws_url: str, token: str) -> None:
    run = home / "run"
    run.mkdir(parents=True)
    (run / "daemon.json").write_text(json.dumps({"pid": os.getpid(), "ws_url": ws_url}))
    (run / "token").write_text(token + "\n")


@pytest.mark.timeout(30)
def test_a_planted_remote_ws_url_never_gets_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GEPAD_ALLOW_NON_LOOPBACK", raising=False)
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    token = "T" * 43
    listener = _Listener(address)
    try:
        _plant_discovery(tmp_path, f"ws://{address}:{listener.port}", token)
        with pytest.raises(ConnectError, match="not a loopback address"):
            asyncio.run(GepadClient.open(tmp_path, timeout=2.0))
    finally:
        listener.close()
    assert token.encode() not in listener.received
    assert listener.received == b""  # not even a connection attempt


@pytest.mark.timeout(30)
def test_non_loopback_is_allowed_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to listen on")
    listener = _Listener(address)
    try:
        _plant_discovery(tmp_path, f"ws://{address}:{listener.port}", "U" * 43)
        monkeypatch.setenv("GEPAD_ALLOW_NON_LOOPBACK", "true")
        with pytest.raises(ConnectError):  # the listener is no websocket server
            asyncio.run(GepadClient.open(tmp_path, timeout=2.0))
    finally:
        listener.close()
    assert b"Authorization: Bearer " + b"U" * 43 in listener.received


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("ws://127.0.0.1:7453", True),
        ("ws://127.9.9.9:1", True),
        ("ws://localhost:1", True),
        ("ws://gepad.localhost:1", True),
        ("ws://[::1]:1", True),
        ("ws://[::ffff:127.0.0.1]:1", True),
        ("ws://0.0.0.0:1", False),
        ("ws://10.0.0.5:1", False),
        ("ws://localhost.evil.example:1", False),
        ("ws://127.0.0.1.nip.io:1", False),
        ("ws://[::ffff:10.0.0.1]:1", False),
        ("ws://user@evil.example:1", False),
        ("not a url", False),
    ],
)
def test_loopback_rule(url: str, loopback: bool) -> None:
    from gepad_client._loopback import is_loopback_ws_url

    assert is_loopback_ws_url(url) is loopback
