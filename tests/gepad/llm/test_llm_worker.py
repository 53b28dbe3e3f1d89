"""LlmClient through a real worker subprocess (`LlmWorker`) against a real local HTTP server.

Every call below crosses two real boundaries: the length-prefixed pipe to `python -m
gepad.llm._worker_main`, and litellm's own HTTP path from there to `_fake_openai.FakeOpenAI`.
Crashes are real (SIGKILL of the worker), idle exits are real process exits.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import _fake_secrets as fake
import pytest
import pytest_asyncio
from _fake_openai import FakeOpenAI, Reply

from gepad.llm import (
    LlmAuthError,
    LlmCallRecord,
    LlmClient,
    LlmRequestError,
    LlmSettings,
    LlmUnavailableError,
    LlmWorker,
    WorkerSettings,
)

pytestmark = pytest.mark.timeout(180)

FAKE_ENV_KEY = fake.openai_project(random.Random("worker-env-key"))


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_ENV_KEY)
    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as s:
        yield s


# One worker (and event loop) for the tests marked `shared`: each start loads litellm anew.
shared = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def worker() -> AsyncIterator[LlmWorker]:
    w = LlmWorker(WorkerSettings(idle_s=60))
    try:
        yield w
    finally:
        pid = w.pid
        await w.aclose()
        assert pid is None or not _alive(pid)


class Records:
    def __init__(self) -> None:
        self.items: list[LlmCallRecord] = []

    async def __call__(self, record: LlmCallRecord) -> None:
        self.items.append(record)

    @property
    def outcomes(self) -> list[str]:
        return [r.outcome for r in self.items]


def settings_for(api_base: str, **overrides: Any) -> LlmSettings:
    values: dict[str, Any] = {
        "task_model": "openai/sim-task",
        "reflection_model": "openai/sim-reflect",
        "api_base": api_base,
        "timeout_s": 5.0,
        "max_retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "breaker_threshold": 50,
    }
    values.update(overrides)
    return LlmSettings(**values)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------ same behaviour


@shared
async def test_calls_through_the_worker_behave_as_in_process(
    server: FakeOpenAI, worker: LlmWorker
) -> None:
    records = Records()
    settings = settings_for(server.api_base, redact="always", max_tokens={"judge": 17})
    client = LlmClient(settings, records, attempts=worker)

    server.script(Reply(text="use a dataclass here"))
    secret = fake.github_pat_classic(random.Random("worker-secret"))
    result = await client.complete("task", user(f"token = {secret}; model this record"))
    assert result.text == "use a dataclass here"
    assert result.usage.output_tokens == 4 and result.usage.input_tokens > 0
    assert result.attempts == 1 and result.redacted
    assert worker.pid is not None and worker.pid != os.getpid()
    sent = server.received[-1]
    assert secret not in str(sent.body)  # masked in the daemon, before the pipe
    assert sent.headers["authorization"] == f"Bearer {FAKE_ENV_KEY}"
    assert sent.body["max_tokens"] == settings.max_tokens_for("task")

    # Per-purpose caps, the retry of a 5xx, the auth and the request errors: as in-process.
    server.script(Reply(status=503), Reply(text="ok now"))
    judged = await client.complete("judge", user("grade it"))
    assert judged.text == "ok now" and judged.attempts == 2
    assert server.received[-1].body["max_tokens"] == 17
    server.script(Reply(status=400))
    with pytest.raises(LlmRequestError, match="rejected"):
        await client.complete("task", user("bad"))
    server.script(Reply(status=401, echo_auth=True))
    with pytest.raises(LlmAuthError) as auth:
        await client.complete("task", user("who am I"))
    assert FAKE_ENV_KEY not in str(auth.value)  # the echoed key was redacted in the worker
    assert records.outcomes == ["ok", "unavailable", "ok", "error", "auth"]
    assert all(FAKE_ENV_KEY not in (r.error or "") for r in records.items)


@shared
async def test_concurrent_calls_multiplex_over_one_worker(
    server: FakeOpenAI, worker: LlmWorker
) -> None:
    client = LlmClient(settings_for(server.api_base, concurrency=4), Records(), attempts=worker)
    await client.complete("task", user("warm up"))  # a worker start is not timed below
    starts = worker.starts
    server.set_default(Reply(delay_s=0.5))
    started = time.perf_counter()
    results = await asyncio.gather(*(client.complete("task", user(f"q{i}")) for i in range(8)))
    elapsed = time.perf_counter() - started
    assert sorted(r.text for r in results) == sorted({r.text for r in results})  # 8 distinct
    assert server.max_in_flight == 4  # the client's limit, not a serial pipe
    assert elapsed < 8 * 0.5 * 0.75, elapsed
    assert worker.starts == starts


@shared
async def test_streaming_stall_is_told_and_counted_through_the_worker(
    server: FakeOpenAI, worker: LlmWorker
) -> None:
    records = Records()
    settings = settings_for(server.api_base, stream=True, stall_timeout_s=0.5, max_retries=1)
    client = LlmClient(settings, records, attempts=worker)
    words = " ".join(f"w{i}" for i in range(10))
    server.script(Reply(text=words, stall_after=3, stall_s=3.0), Reply(text="fine answer"))
    result = await client.complete("task", user("stream it"))
    assert result.text == "fine answer"
    assert records.outcomes == ["stalled", "ok"]
    assert records.items[0].output_tokens == 3  # streamed before the stall, counted
    assert "stalled" in (records.items[0].error or "")


# ------------------------------------------------------------------ cancellation


@shared
async def test_a_cancelled_call_is_cancelled_in_the_worker_and_recorded(
    server: FakeOpenAI, worker: LlmWorker
) -> None:
    records = Records()
    client = LlmClient(settings_for(server.api_base, stream=True), records, attempts=worker)
    await client.complete("task", user("warm up"))
    starts = worker.starts
    words = " ".join(f"w{i}" for i in range(40))
    server.script(Reply(text=words, chunk_delay_s=0.1))  # 4 s of streaming
    call = asyncio.create_task(client.complete("task", user("long one")))
    await _until(lambda: server.calls == 2, 10, "the streamed request")
    await asyncio.sleep(1.0)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert records.outcomes == ["ok", "cancelled"]
    assert records.items[-1].output_tokens > 0  # the worker said how far it had got
    # The worker closed the connection: the server stops streaming long before 4 s.
    await _until(lambda: server._state.in_flight == 0, 2.5, "the server to see the close")
    assert (await client.complete("task", user("next"))).text  # the worker still serves
    assert worker.starts == starts


# ------------------------------------------------------------------ crash, idle, close


@shared
async def test_a_worker_crash_fails_the_calls_in_flight_and_the_next_call_restarts_it(
    server: FakeOpenAI, worker: LlmWorker
) -> None:
    records = Records()
    client = LlmClient(settings_for(server.api_base, max_retries=0), records, attempts=worker)
    await client.complete("task", user("warm up"))
    starts = worker.starts
    first_pid = worker.pid
    assert first_pid is not None
    server.set_default(Reply(delay_s=3.0))
    calls = [asyncio.create_task(client.complete("task", user(f"slow {i}"))) for i in range(3)]
    await _until(lambda: server.calls == 4, 10, "the slow requests")
    os.kill(first_pid, signal.SIGKILL)
    started = time.monotonic()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert time.monotonic() - started < 2.5  # failed at once, not after the server's delay
    for outcome in outcomes:
        assert isinstance(outcome, LlmUnavailableError), outcome
        assert "model worker" in str(outcome) and "signal 9" in str(outcome)
    assert records.outcomes[1:] == ["unavailable"] * 3
    server.set_default(Reply())
    assert (await client.complete("task", user("after the crash"))).text
    assert worker.starts == starts + 1 and worker.pid not in (None, first_pid)


async def test_a_crash_mid_call_is_retried_on_a_new_worker(server: FakeOpenAI) -> None:
    worker = LlmWorker(WorkerSettings(idle_s=60))
    records = Records()
    client = LlmClient(settings_for(server.api_base, max_retries=2), records, attempts=worker)
    try:
        server.script(Reply(delay_s=3.0), Reply(text="second worker"))
        call = asyncio.create_task(client.complete("task", user("survive a crash")))
        await _until(lambda: server.calls == 1, 60, "the first request")
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
        assert (await call).text == "second worker"
        assert records.outcomes == ["unavailable", "ok"]
        assert worker.starts == 2
    finally:
        await worker.aclose()


async def test_an_idle_worker_exits_and_the_next_call_starts_a_new_one(
    server: FakeOpenAI,
) -> None:
    worker = LlmWorker(WorkerSettings(idle_s=0.5))
    client = LlmClient(settings_for(server.api_base), Records(), attempts=worker)
    try:
        await client.complete("task", user("one"))
        pid = worker.pid
        assert pid is not None
        await _until(lambda: not _alive(pid), 10, "the idle worker to exit")
        assert worker.pid is None
        assert (await client.complete("task", user("two"))).text
        assert worker.starts == 2 and worker.pid not in (None, pid)
    finally:
        last = worker.pid
        await worker.aclose()
    assert last is not None and not _alive(last)
    with pytest.raises(LlmUnavailableError, match="shut down"):
        await LlmClient(
            settings_for(server.api_base, max_retries=0), Records(), attempts=worker
        ).complete("task", user("after close"))


async def test_a_worker_that_cannot_start_fails_the_call_clearly(server: FakeOpenAI) -> None:
    worker = LlmWorker(python="/nonexistent/python3")
    client = LlmClient(settings_for(server.api_base, max_retries=0), Records(), attempts=worker)
    with pytest.raises(LlmUnavailableError, match="could not start the model worker"):
        await client.complete("task", user("hi"))
    await worker.aclose()
    assert server.calls == 0


def test_worker_settings_are_validated() -> None:
    for bad in (0, -1.0, float("nan"), True, "60"):
        with pytest.raises(ValueError, match="idle_s"):
            WorkerSettings(idle_s=bad)  # type: ignore[arg-type]
