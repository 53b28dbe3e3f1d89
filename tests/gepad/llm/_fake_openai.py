"""A tiny OpenAI-compatible chat-completions server for the LLM client's tests.

It runs a real HTTP server on 127.0.0.1 in a background thread (stdlib only), so litellm's
own HTTP stack does the work. Tests script its behaviour per request and read back what it
received.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer. status 200 answers with `text`; other statuses answer an error."""

    status: int = 200
    text: str | None = None
    delay_s: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    echo_auth: bool = False  # put the Authorization header into the error text, as some APIs do
    # Streaming (a request with "stream": true): one SSE chunk per word of `text`, this far
    # apart; after `stall_after` chunks the server goes silent for `stall_s` (then ends).
    chunk_delay_s: float = 0.0
    stall_after: int | None = None
    stall_s: float = 0.0
    finish_reason: str = "stop"


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    script: collections.deque[Reply] = field(default_factory=collections.deque)
    default: Reply = field(default_factory=Reply)
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    served: int = 0


def _words(value: Any) -> int:
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, list):
        return sum(_words(part.get("text", "")) for part in value if isinstance(part, dict))
    return 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_unparsable": raw.decode("utf-8", "replace")}
        with state.lock:
            state.received.append(
                Received(self.path, body, {k.lower(): v for k, v in self.headers.items()})
            )
            reply = state.script.popleft() if state.script else state.default
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            state.served += 1
            serial = state.served
        try:
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if not self.path.endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "nf"}})
            elif reply.status != 200:
                payload = _error_body(reply.status)
                if reply.echo_auth:
                    payload["error"]["message"] += f" Got: {self.headers.get('Authorization')}"
                self._send(reply.status, payload, reply.headers)
            elif body.get("stream"):
                self._stream(body, reply, serial)
            else:
                self._send(
                    200, _completion(body, reply.text, serial, reply.finish_reason), reply.headers
                )
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer
        finally:
            with state.lock:
                state.in_flight -= 1

    def _stream(self, body: dict[str, Any], reply: Reply, serial: int) -> None:
        full = _completion(body, reply.text, serial, reply.finish_reason)
        words = full["choices"][0]["message"]["content"].split(" ")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()

        def event(payload: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            self.wfile.flush()

        base = {"id": full["id"], "object": "chat.completion.chunk", "model": full["model"]}
        for i, word in enumerate(words):
            if reply.stall_after is not None and i == reply.stall_after:
                time.sleep(reply.stall_s)
                return
            piece = word if i == 0 else " " + word
            event({**base, "choices": [{"index": 0, "delta": {"content": piece}}]})
            if reply.chunk_delay_s:
                time.sleep(reply.chunk_delay_s)
        event(
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]}
        )
        event({**base, "choices": [], "usage": full["usage"]})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def _send(self, status: int, payload: dict[str, Any], headers=()) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _error_body(status: int) -> dict[str, Any]:
    kinds = {
        401: ("invalid_api_key", "Incorrect API key provided."),
        403: ("permission_denied", "You are not allowed to use this model."),
        429: ("rate_limit_exceeded", "Rate limit reached, slow down."),
        400: ("invalid_request_error", "The request is malformed."),
    }
    code, message = kinds.get(status, ("server_error", f"The server had an error ({status})."))
    return {"error": {"message": message, "type": code, "param": None, "code": code}}


def _completion(
    body: dict[str, Any], text: str | None, serial: int, finish_reason: str = "stop"
) -> dict[str, Any]:
    messages = body.get("messages") or []
    model = str(body.get("model", "?"))
    answer = text if text is not None else f"answer {serial} from {model}"
    prompt_tokens = sum(_words(m.get("content")) for m in messages if isinstance(m, dict)) + 3
    completion_tokens = len(answer.split())
    return {
        "id": f"chatcmpl-{serial}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: _State, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.state = state


class FakeOpenAI:
    """Start with `start()`, stop with `stop()`; or use as a context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._state = _State()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeOpenAI:
        self._server = _Server(self._state, self._host)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def api_base(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    def script(self, *replies: Reply) -> None:
        with self._state.lock:
            self._state.script.extend(replies)

    def set_default(self, reply: Reply) -> None:
        with self._state.lock:
            self._state.default = reply

    @property
    def received(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.received)

    @property
    def max_in_flight(self) -> int:
        with self._state.lock:
            return self._state.max_in_flight

    @property
    def calls(self) -> int:
        return len(self.received)
