"""Property-based fuzzing of raw messages against one running daemon.

Whatever arrives (random JSON values, random method names and params, random text, random
bytes), the daemon stays up and every reply is a well-formed JSON-RPC response carrying the
id it should. The expected id is derived from the request by the JSON-RPC 2.0 rules.
"""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from gepad_daemon_harness import Daemon, start
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

METHODS = [
    "status.get", "prompt.get", "prompt.history", "prompt.subscribe", "prompt.set",
    "prompt.rollback", "prompt.pin", "prompt.approve", "feedback.submit", "examples.list",
    "generation.record",
]  # fmt: skip
FIELDS = [
    "component", "text", "version", "pinned", "limit", "kind", "components", "comment",
    "corrected", "test", "passed", "tool", "ok", "output", "context", "generation_id",
    "prompt_version", "instruction", "file", "diagnostics",
]  # fmt: skip
SENTINEL = "fuzz-sentinel"

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["general", "thumbs_down", "correction", "t-fuzz", "", "2.0"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
params = (
    st.none()
    | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), json_values, max_size=5)
    | json_values
)
requests = st.fixed_dictionaries(
    {
        "jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0"]) | json_scalars,
        "method": st.sampled_from(METHODS) | st.text(max_size=15) | json_scalars,
    },
    optional={
        "params": params,
        "id": st.none() | st.integers(-1000, 10**6) | st.text(max_size=10) | json_values,
        "junk": json_values,
    },
)
messages = requests | st.lists(requests | json_values, max_size=5) | json_values


@dataclass
class Peer:
    daemon: Daemon
    ws: ClientConnection


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    daemon = start(tmp_path_factory.mktemp("fuzz") / "home")
    with connect(daemon.ws_url, additional_headers=daemon.headers(), open_timeout=10) as ws:
        # Two small frames back to back would otherwise wait on Nagle + delayed ACK (40 ms).
        ws.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        yield Peer(daemon, ws)
    assert daemon.alive(), daemon.stderr()
    assert daemon.stop() == 0, daemon.stderr()


# -- the oracle -----------------------------------------------------------------------------


def _no_constants(name: str) -> Any:
    raise ValueError(name)


def decode(payload: str | bytes) -> tuple[bool, Any]:
    """(parsed as JSON, value) the way the daemon must see it."""
    if isinstance(payload, bytes):
        return False, None
    try:
        return True, json.loads(payload, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return False, None


def valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


def owed(item: Any) -> tuple[bool, Any]:
    """(a reply is owed, the id it must carry) for one element, per JSON-RPC 2.0."""
    if not isinstance(item, dict) or ("id" in item and not valid_id(item["id"])):
        return True, None
    if "id" in item:
        return True, item["id"]
    well_formed = (
        set(item) <= {"jsonrpc", "method", "params"}
        and item.get("jsonrpc") == "2.0"
        and isinstance(item.get("method"), str)
        and (item.get("params") is None or isinstance(item["params"], dict | list))
    )
    # A well-formed notification never gets a reply, even when the call fails.
    return not well_formed, None


def expected(payload: str | bytes) -> list[Any] | Any | None:
    """None: no reply; a list of ids: a batch reply; otherwise the single reply's id."""
    is_json, value = decode(payload)
    if not is_json:
        return ("single", None)
    if isinstance(value, list) and value:
        ids = [rid for owes, rid in map(owed, value) if owes]
        return ("batch", ids) if ids else None
    if isinstance(value, list):
        return ("single", None)
    owes, rid = owed(value)
    return ("single", rid) if owes else None


def check_response(reply: Any, want_id: Any) -> None:
    assert isinstance(reply, dict) and reply.get("jsonrpc") == "2.0", reply
    assert ("result" in reply) != ("error" in reply), reply
    assert set(reply) == {"jsonrpc", "id", "result" if "result" in reply else "error"}, reply
    assert reply["id"] == want_id, (reply, want_id)
    if "error" in reply:
        error = reply["error"]
        assert isinstance(error["code"], int) and isinstance(error["message"], str), error
        assert error["code"] != -32603, f"internal error: {reply}"
        assert "Traceback" not in error["message"]


# -- exchanging messages --------------------------------------------------------------------


def exchange(peer: Peer, payload: str | bytes) -> None:
    """Send the payload, then a sentinel call; check everything that comes back."""
    want = expected(payload)
    peer.ws.send(payload)
    peer.ws.send(json.dumps({"jsonrpc": "2.0", "method": "prompt.get", "id": SENTINEL}))
    replies: list[Any] = []
    sentinel = False
    # Calls on one connection run concurrently, so the payload's reply may come after the
    # sentinel's. Read until both are in; each recv is bounded.
    while not (sentinel and (want is None or replies)):
        reply = json.loads(peer.ws.recv(timeout=10))
        if isinstance(reply, dict) and reply.get("method") == "prompt.changed":
            continue
        if isinstance(reply, dict) and reply.get("id") == SENTINEL and "result" in reply:
            sentinel = True
        else:
            replies.append(reply)
    if want is None:
        assert replies == [], (payload, replies)
        return
    assert len(replies) == 1, (payload, replies)
    shape, ids = want
    if shape == "batch":
        assert isinstance(replies[0], list) and len(replies[0]) == len(ids), (payload, replies)
        for item, rid in zip(replies[0], ids, strict=True):
            check_response(item, rid)
    else:
        check_response(replies[0], ids)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(message=messages)
def test_random_json_messages(peer: Peer, message: Any) -> None:
    exchange(peer, json.dumps(message))


@FUZZ
# A websocket text frame is UTF-8: lone surrogates cannot be sent at all.
@given(text=st.text(st.characters(exclude_categories=("Cs",)), max_size=200))
def test_random_text(peer: Peer, text: str) -> None:
    exchange(peer, text)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes(peer: Peer, data: bytes) -> None:
    exchange(peer, data)


def test_daemon_survived_the_fuzzing(peer: Peer) -> None:
    daemon = peer.daemon
    assert daemon.alive(), daemon.stderr()
    with connect(daemon.ws_url, additional_headers=daemon.headers(), open_timeout=10) as ws:
        ws.send(json.dumps({"jsonrpc": "2.0", "method": "status.get", "id": 1}))
        reply = json.loads(ws.recv(timeout=10))
    assert reply["result"]["pid"] == daemon.pid
    log = (daemon.home / "logs" / "gepad.log").read_text()
    assert "internal error" not in log and "Traceback" not in log
