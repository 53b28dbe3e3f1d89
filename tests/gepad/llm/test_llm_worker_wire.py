"""The model worker's pipe protocol: frames, a worker speaking it badly, and the worker process
itself driven by hand (`python -m gepad.llm._worker_main`, no daemon)."""

from __future__ import annotations

import asyncio
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

from gepad.llm import LlmClient, LlmSettings, LlmUnavailableError, LlmWorker, WorkerSettings
from gepad.llm._worker_wire import (
    MAX_FRAME_BYTES,
    WireError,
    answer_from_wire,
    encode_frame,
    failure_from_wire,
    read_frame,
)


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def test_frames_round_trip_and_end_cleanly_between_frames() -> None:
    messages = [{"op": "call", "id": 1, "text": "naïve\nline"}, {"id": 2, "ok": {}}]
    reader = _reader(b"".join(encode_frame(m) for m in messages))
    assert [await read_frame(reader), await read_frame(reader)] == messages
    assert await read_frame(reader) is None


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x00\x00", "header"),
        (struct.pack(">I", 10) + b"{}", "inside a frame"),
        (struct.pack(">I", MAX_FRAME_BYTES + 1), "over the"),
        (struct.pack(">I", 3) + b"{x}", "not JSON"),
        (struct.pack(">I", 2) + b"[]", "not an object"),
    ],
)
async def test_bad_frames_are_refused_with_the_reason(data: bytes, why: str) -> None:
    with pytest.raises(WireError, match=why):
        await read_frame(_reader(data))


def test_answers_and_failures_are_checked_when_read() -> None:
    with pytest.raises(WireError):
        answer_from_wire({"text": 3, "finish": "stop"})
    with pytest.raises(WireError):
        answer_from_wire({"text": "x", "finish": "exploded"})
    with pytest.raises(WireError):
        failure_from_wire({"outcome": "on-fire", "text": "x"})
    answer = answer_from_wire({"text": "x", "finish": "length", "output_tokens": -4})
    assert answer.usage.output_tokens == 0 and answer.finish == "length"
    failure, tokens = failure_from_wire(
        {"outcome": "rate_limited", "retryable": True, "text": "slow", "retry_after_s": 2}
    )
    assert (failure.outcome, failure.retryable, failure.retry_after_s, tokens) == (
        "rate_limited",
        True,
        2.0,
        0,
    )
    with pytest.raises(WireError, match="limit"):
        encode_frame({"blob": "x" * (MAX_FRAME_BYTES + 1)})


def _settings() -> LlmSettings:
    return LlmSettings(
        task_model="openai/sim-task", api_base="http://127.0.0.1:9/v1", max_retries=0
    )


@pytest.mark.timeout(60)
async def test_a_worker_that_writes_garbage_fails_the_call_and_is_killed(tmp_path: Path) -> None:
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\nprintf 'this is not a frame'\nexec sleep 60\n")
    fake.chmod(0o755)
    worker = LlmWorker(WorkerSettings(start_timeout_s=20), python=str(fake))
    client = LlmClient(_settings(), _discard, attempts=worker)
    with pytest.raises(LlmUnavailableError, match="model worker"):
        await asyncio.wait_for(client.complete("task", [{"role": "user", "content": "hi"}]), 30)
    assert worker.pid is None
    await worker.aclose()


@pytest.mark.timeout(60)
async def test_a_worker_that_never_gets_ready_fails_the_call_after_the_start_timeout(
    tmp_path: Path,
) -> None:
    fake = tmp_path / "fake-python"
    fake.write_text("#!/bin/sh\necho 'loading forever' >&2\nexec sleep 60\n")
    fake.chmod(0o755)
    worker = LlmWorker(WorkerSettings(start_timeout_s=1.0, stop_timeout_s=0.5), python=str(fake))
    client = LlmClient(_settings(), _discard, attempts=worker)
    with pytest.raises(LlmUnavailableError, match=r"did not start within 1 s.*loading forever"):
        await asyncio.wait_for(client.complete("task", [{"role": "user", "content": "hi"}]), 30)
    await worker.aclose()
    assert worker.pid is None


async def _discard(_: Any) -> None:
    return None


# The worker with a litellm that prints while it loads, three ways (as banners do).
NOISY_WORKER = """
import os, sys
from gepad.llm import _attempt
loaded = _attempt.InProcessAttempts.litellm
def noisy(self):
    print("stray print")
    sys.stdout.flush()
    sys.__stdout__.write("stray dunder\\n")
    sys.__stdout__.flush()
    os.write(1, b"stray fd1\\n")
    return loaded(self)
_attempt.InProcessAttempts.litellm = noisy
from gepad.llm._worker_main import main
sys.exit(main())
"""


@pytest.mark.timeout(120)
async def test_the_worker_process_speaks_only_frames_on_stdout() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        NOISY_WORKER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    ready = await asyncio.wait_for(read_frame(proc.stdout), 90)
    assert ready is not None and ready["op"] == "ready" and ready["pid"] == proc.pid
    proc.stdin.write(encode_frame({"op": "call", "id": 7, "kwargs": "nonsense"}))
    proc.stdin.write(encode_frame({"op": "cancel", "id": 99}))  # unknown: ignored
    await proc.stdin.drain()
    reply = await asyncio.wait_for(read_frame(proc.stdout), 30)
    assert reply is not None and reply["id"] == 7
    assert reply["failed"]["outcome"] == "error" and not reply["failed"]["retryable"]
    proc.stdin.write(b"\xff\xff\xff\xff")  # a frame far over the limit
    await proc.stdin.drain()
    assert await asyncio.wait_for(proc.wait(), 30) == 2
    assert await proc.stdout.read() == b""
    err = await proc.stderr.read()
    assert b"bad frame" in err
    assert all(s in err for s in (b"stray print", b"stray dunder", b"stray fd1"))
