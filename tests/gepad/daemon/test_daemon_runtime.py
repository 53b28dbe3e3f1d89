"""The runtime files in-process: the instance lock, the token, daemon.json, the bind rule."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gepad.daemon._network import bind_listener, is_loopback, ws_url_for
from gepad.daemon._runtime import (
    acquire_lock,
    clean_stale,
    ensure_token,
    remove_discovery,
    write_discovery,
)
from gepad.errors import AlreadyRunningError, ConfigError


def test_second_lock_names_the_holder(tmp_path: Path) -> None:
    lock, discovery = tmp_path / "run" / "daemon.lock", tmp_path / "run" / "daemon.json"
    held = acquire_lock(lock, discovery)
    try:
        write_discovery(discovery, {"pid": os.getpid(), "ws_url": "ws://127.0.0.1:1"})
        with pytest.raises(AlreadyRunningError) as err:
            acquire_lock(lock, discovery)
        assert err.value.pid == os.getpid() and err.value.ws_url == "ws://127.0.0.1:1"
    finally:
        held.release()
    assert not lock.exists()
    acquire_lock(lock, discovery).release()


def test_lock_held_by_another_process_without_daemon_json(tmp_path: Path) -> None:
    lock, discovery = tmp_path / "daemon.lock", tmp_path / "daemon.json"
    code = (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.write(fd, f'{os.getpid()}\\n'.encode())\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunningError) as err:
            acquire_lock(lock, discovery)
        assert err.value.pid == holder.pid and err.value.ws_url is None
    finally:
        holder.communicate("", timeout=10)
    # The kernel released the dead holder's lock: taking it now works.
    acquire_lock(lock, discovery).release()


def test_clean_stale_removes_a_leftover_daemon_json(tmp_path: Path) -> None:
    discovery = tmp_path / "daemon.json"
    write_discovery(discovery, {"pid": 2**22 + 12345, "ws_url": "ws://127.0.0.1:9"})
    clean_stale(discovery)
    assert not discovery.exists()
    clean_stale(discovery)  # nothing there: no error


def test_token_is_created_private_and_reused(tmp_path: Path) -> None:
    token_file = tmp_path / "run" / "token"
    first = ensure_token(token_file)
    assert len(first) >= 40
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert ensure_token(token_file) == first
    token_file.chmod(0o644)
    assert ensure_token(token_file) == first
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token_file.write_text("   \n")
    replaced = ensure_token(token_file)
    assert replaced.strip() and replaced != first


def test_discovery_is_only_removed_by_its_owner(tmp_path: Path) -> None:
    discovery = tmp_path / "daemon.json"
    write_discovery(discovery, {"pid": 42, "ws_url": "ws://127.0.0.1:1"})
    assert json.loads(discovery.read_text())["pid"] == 42
    remove_discovery(discovery, pid=43)
    assert discovery.exists()
    remove_discovery(discovery, pid=42)
    assert not discovery.exists()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.4", False),
        ("example.org", False),
    ],
)
def test_loopback_rule(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_non_loopback_bind_is_refused_unless_allowed(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError, match="allow_non_loopback"):
        bind_listener("0.0.0.0", 0, allow_non_loopback=False)
    with caplog.at_level("WARNING"):
        sock = bind_listener("0.0.0.0", 0, allow_non_loopback=True)
    try:
        assert "non-loopback" in caplog.text
        assert ws_url_for(sock).startswith("ws://127.0.0.1:")
    finally:
        sock.close()


def test_bind_port_zero_picks_a_free_port() -> None:
    sock = bind_listener("localhost", 0, allow_non_loopback=False)
    try:
        port = sock.getsockname()[1]
        assert port > 0 and ws_url_for(sock) == f"ws://127.0.0.1:{port}"
        probe = socket.create_connection(("127.0.0.1", port), timeout=5)
        probe.close()
    finally:
        sock.close()
