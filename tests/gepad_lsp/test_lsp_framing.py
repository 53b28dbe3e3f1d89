"""Absurd `Content-Length` headers are refused, logged and skipped; the server keeps running
and answers the next message (issue 12, item 17). The subprocess test is the attack itself:
raw bytes on a real `gepad lsp`'s stdin."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from gepad_lsp_testing import lsp_env

from gepad_lsp._framing import FrameGuard

GEPAD = str(Path(sys.executable).with_name("gepad"))


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def request(id_: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


def read_frame(stdout: Any) -> dict[str, Any]:
    length = 0
    while True:
        line = stdout.readline()
        if not line:
            raise EOFError("the server closed stdout")
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
        elif line in (b"\r\n", b"\n") and length:
            reply: dict[str, Any] = json.loads(stdout.read(length))
            return reply


def reply_to(stdout: Any, id_: int) -> dict[str, Any]:
    while True:
        message = read_frame(stdout)
        if message.get("id") == id_ and "method" not in message:
            return message


@pytest.mark.timeout(60)
def test_absurd_lengths_do_not_kill_the_server(tmp_path: Path) -> None:
    env = lsp_env(tmp_path / "home")
    proc = subprocess.Popen(
        [GEPAD, "lsp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    errors: list[bytes] = []
    drain = threading.Thread(target=lambda: errors.extend(proc.stderr or []), daemon=True)
    drain.start()
    try:
        # A lying header: a huge length, then a short body and the next message right after.
        attack = b"Content-Length: 99999999999\r\n\r\n" + b'{"jsonrpc":"2.0","id":0,"method":"x"}'
        proc.stdin.write(attack)
        proc.stdin.write(frame(request(1, "initialize", {"capabilities": {}, "processId": None})))
        proc.stdin.flush()
        init = reply_to(proc.stdout, 1)
        assert init["result"]["serverInfo"]["name"] == "gepad-lsp"
        # Just over the default limit (64 MiB), with a second header, then a valid request.
        proc.stdin.write(b"Content-Length: 67108865\r\nContent-Type: x\r\n\r\n{}")
        proc.stdin.write(b"Content-Length: 1" + b"0" * 40 + b"\r\n\r\n")
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        proc.stdin.write(frame(request(2, "shutdown", {})))
        proc.stdin.flush()
        assert reply_to(proc.stdout, 2) == {"jsonrpc": "2.0", "id": 2, "result": None}
        proc.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
        proc.stdin.close()
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    drain.join(timeout=5)
    log = b"".join(errors).decode(errors="replace")
    assert "MemoryError" not in log
    assert "refused an LSP frame of Content-Length 99999999999" in log
    assert "refused an LSP frame of Content-Length 67108865" in log


def test_an_honest_oversized_frame_is_skipped_exactly() -> None:
    big = b'{"pad":"' + b"y" * 5000 + b'"}'
    raw = io.BufferedReader(
        io.BytesIO(
            b"Content-Length: %d\r\n\r\n%s" % (len(big), big)
            + frame({"id": 7})
            + b"Content-Length: 4\r\n\r\n{\n}\n"  # a body with newlines, under the limit
        )
    )
    guard = FrameGuard(raw, max_frame_bytes=1000)
    assert guard.readline().startswith(b"X-Gepad-Refused")
    assert guard.refused == 1
    assert guard.readline() == b"Content-Length: 9\r\n"
    assert guard.readline() == b"\r\n"
    assert json.loads(guard.read(9)) == {"id": 7}
    assert guard.readline() == b"Content-Length: 4\r\n"
    assert guard.readline() == b"\r\n"
    assert guard.read(4) == b"{\n}\n"
    assert guard.readline() == b""


def test_a_header_line_is_read_in_bounded_pieces() -> None:
    raw = io.BufferedReader(io.BytesIO(b"x" * 200_000 + b"\r\n"))
    guard = FrameGuard(raw)
    pieces = []
    while piece := guard.readline():
        pieces.append(len(piece))
    assert max(pieces) <= 64 * 1024 and sum(pieces) == 200_002
