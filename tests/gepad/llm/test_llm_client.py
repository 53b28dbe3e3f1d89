"""LlmClient against a real OpenAI-compatible HTTP server on this machine.

litellm is not mocked: every call below goes through litellm's own HTTP path to
`_fake_openai.FakeOpenAI`, which records what it received.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import _fake_secrets as fake
import pytest
from _fake_openai import FakeOpenAI, Reply

from gepad.errors import ConfigError
from gepad.llm import (
    CircuitOpenError,
    LlmAuthError,
    LlmCallRecord,
    LlmClient,
    LlmInputError,
    LlmRequestError,
    LlmSettings,
    LlmUnavailableError,
    ResponseCache,
    cache_key,
)

FAKE_ENV_KEY = fake.openai_project(random.Random("env-key"))


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The key reaches litellm only through the environment, as in the daemon.
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_ENV_KEY)
    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL", "OLLAMA_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as s:
        yield s


class Records:
    def __init__(self) -> None:
        self.items: list[LlmCallRecord] = []

    async def __call__(self, record: LlmCallRecord) -> None:
        self.items.append(record)

    @property
    def outcomes(self) -> list[str]:
        return [r.outcome for r in self.items]


class DictCache:
    """The ResponseCache protocol over a dict (the daemon passes the store's cache table)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.gets = 0

    async def get(self, key: str) -> str | None:
        self.gets += 1
        return self.data.get(key)

    async def put(self, key: str, value: str) -> None:
        self.data[key] = value


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def settings_for(api_base: str, **overrides: Any) -> LlmSettings:
    values: dict[str, Any] = {
        "task_model": "openai/sim-task",
        "reflection_model": "openai/sim-reflect",
        "api_base": api_base,
        "timeout_s": 2.0,
        "max_retries": 2,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.05,
        "breaker_threshold": 50,
        "breaker_cooldown_s": 30.0,
    }
    values.update(overrides)
    return LlmSettings(**values)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def non_loopback_ip() -> str | None:
    """An address of this machine that is not loopback (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.123", 9))
            ip = s.getsockname()[0]
    except OSError:
        return None
    if ip.startswith("127.") or ip == "0.0.0.0":
        return None
    try:
        with socket.socket() as probe:
            probe.bind((ip, 0))
    except OSError:
        return None
    return str(ip)


# ------------------------------------------------------------------ success and accounting


async def test_success_returns_text_and_records_usage(server: FakeOpenAI) -> None:
    server.script(Reply(text="use a dataclass here"))
    records = Records()
    client = LlmClient(settings_for(server.api_base), records)
    result = await client.complete("task", user("how should I model this record"))

    assert result.text == "use a dataclass here"
    assert not result.cached and result.attempts == 1
    assert result.model == "openai/sim-task" and result.purpose == "task"
    # The fake server counts words (+3): "Be brief." (2) + 6 words.
    assert (result.usage.input_tokens, result.usage.output_tokens) == (11, 4)
    assert result.cost_usd == 0.0  # an unknown model has no price

    [received] = server.received
    assert received.path == "/v1/chat/completions"
    assert received.body["model"] == "sim-task"
    assert received.body["temperature"] == 0.0
    assert received.body["messages"][1]["content"] == "how should I model this record"
    assert received.headers["authorization"] == f"Bearer {FAKE_ENV_KEY}"

    [record] = records.items
    assert record.outcome == "ok" and record.error is None
    assert (record.model, record.purpose) == ("openai/sim-task", "task")
    assert (record.input_tokens, record.output_tokens, record.cost_usd) == (11, 4, 0.0)
    assert record.latency_ms > 0
    assert abs(record.created_at - time.time()) < 60


async def test_purposes_pick_their_models(server: FakeOpenAI) -> None:
    client = LlmClient(settings_for(server.api_base, judge_model="openai/sim-judge"), Records())
    for purpose in ("task", "reflection", "merge", "judge", "assist"):
        await client.complete(purpose, user("x"))
    models = [r.body["model"] for r in server.received]
    assert models == ["sim-task", "sim-reflect", "sim-reflect", "sim-judge", "sim-task"]


async def test_cost_comes_from_litellms_price_table(server: FakeOpenAI) -> None:
    import litellm

    records = Records()
    client = LlmClient(settings_for(server.api_base, task_model="openai/gpt-4o-mini"), records)
    result = await client.complete("task", user("price this answer please"))
    price = litellm.model_cost["gpt-4o-mini"]
    expected = (
        result.usage.input_tokens * price["input_cost_per_token"]
        + result.usage.output_tokens * price["output_cost_per_token"]
    )
    assert result.cost_usd == pytest.approx(expected) and expected > 0
    assert records.items[0].cost_usd == pytest.approx(expected)


async def test_model_params_reach_the_server_and_can_move_one_model(server: FakeOpenAI) -> None:
    with FakeOpenAI() as other:
        settings = settings_for(
            server.api_base,
            model_params={
                "openai/sim-task": {"top_p": 0.25, "max_tokens": 7},
                "openai/sim-reflect": {"api_base": other.api_base},
            },
        )
        client = LlmClient(settings, Records())
        await client.complete("task", user("a"), max_tokens=100)
        await client.complete("reflection", user("b"))
        [task_call] = server.received
        assert task_call.body["top_p"] == 0.25
        assert task_call.body["max_tokens"] == 7  # the per-model setting wins
        assert [r.body["model"] for r in other.received] == ["sim-reflect"]


async def test_a_failing_recorder_does_not_lose_the_answer(
    server: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(record: LlmCallRecord) -> None:
        raise RuntimeError("disk full")

    client = LlmClient(settings_for(server.api_base), broken)
    with caplog.at_level(logging.ERROR, logger="gepad.llm._client"):
        result = await client.complete("task", user("still answer"))
    assert result.text.startswith("answer 1")
    assert "could not record an LLM call" in caplog.text


# ------------------------------------------------------------------ redaction on the wire


def planted_messages(rng: random.Random) -> tuple[list[dict[str, Any]], list[str]]:
    secrets = [
        fake.github_pat_classic(rng),
        fake.aws_access_key_id(rng),
        fake.password(rng),
        fake.jwt(rng),
    ]
    messages = [
        {"role": "system", "content": "You review code."},
        {
            "role": "user",
            "content": (
                f"The deploy failed. Our CI uses GITHUB_TOKEN={secrets[0]} and\n"
                f"aws key {secrets[1]}; db at postgres://app:{secrets[2]}@db:5432/x.\n"
                f"Session: {secrets[3]}"
            ),
        },
    ]
    return messages, secrets


async def test_redact_always_masks_secrets_before_they_reach_the_server(
    server: FakeOpenAI,
) -> None:
    messages, secrets = planted_messages(random.Random(21))
    raw_copy = json.dumps(messages)
    client = LlmClient(settings_for(server.api_base, redact="always"), Records())
    result = await client.complete("judge", messages)

    wire = json.dumps(server.received[0].body)
    for secret in secrets:
        assert secret not in wire
    assert "[REDACTED:github-token]" in wire and "postgres://app:[REDACTED:url-password]@db" in wire
    assert set(result.redacted) == {"github-token", "aws-access-key-id", "url-password", "jwt"}
    assert json.dumps(messages) == raw_copy  # the caller keeps the raw text


async def test_a_large_context_is_masked_too(server: FakeOpenAI) -> None:
    """Big contexts are redacted off the event loop; the result must be the same."""
    rng = random.Random(24)
    secret = fake.anthropic(rng)
    filler = "def f(x):\n    return x + 1\n" * 4000  # ~100 KB of code
    messages = user(f"{filler}\nANTHROPIC_API_KEY={secret}\n{filler}")
    client = LlmClient(settings_for(server.api_base, redact="always"), Records())
    result = await client.complete("task", messages)
    body = server.received[0].body
    assert secret not in json.dumps(body)
    assert len(body["messages"][1]["content"]) > 200_000
    assert result.redacted == ("anthropic-key",)


async def test_auto_mode_sends_raw_text_to_a_local_model(server: FakeOpenAI) -> None:
    messages, secrets = planted_messages(random.Random(22))
    client = LlmClient(settings_for(server.api_base, redact="auto"), Records())
    assert not client.redacts("task")
    result = await client.complete("task", messages)
    wire = json.dumps(server.received[0].body)
    assert all(secret in wire for secret in secrets)
    assert result.redacted == ()


async def test_auto_mode_masks_for_a_server_that_is_not_on_loopback() -> None:
    ip = non_loopback_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to serve on")
    messages, secrets = planted_messages(random.Random(23))
    with FakeOpenAI(host=ip) as remote:
        client = LlmClient(settings_for(remote.api_base, redact="auto"), Records())
        assert client.redacts("task")
        await client.complete("task", messages)
        wire = json.dumps(remote.received[0].body)
        assert not any(secret in wire for secret in secrets)
        never = LlmClient(settings_for(remote.api_base, redact="never"), Records())
        await never.complete("task", messages)
        assert all(secret in json.dumps(remote.received[1].body) for secret in secrets)


# ------------------------------------------------------------------ retries


async def test_rate_limit_then_success_is_retried_and_both_attempts_recorded(
    server: FakeOpenAI,
) -> None:
    server.script(Reply(status=429), Reply(text="ok now"))
    records = Records()
    client = LlmClient(settings_for(server.api_base), records)
    result = await client.complete("reflection", user("reflect"))
    assert result.text == "ok now" and result.attempts == 2
    assert server.calls == 2
    assert records.outcomes == ["rate_limited", "ok"]
    assert "RateLimitError" in (records.items[0].error or "")
    assert records.items[0].input_tokens == 0 and records.items[0].cost_usd == 0.0


async def test_retry_after_header_is_honoured(server: FakeOpenAI) -> None:
    server.script(Reply(status=429, headers=(("Retry-After", "0.4"),)), Reply(text="ok"))
    client = LlmClient(
        settings_for(server.api_base, backoff_base_s=0.001, backoff_max_s=5.0), Records()
    )
    started = time.perf_counter()
    await client.complete("task", user("x"))
    assert time.perf_counter() - started >= 0.4


async def test_server_errors_are_retried_until_they_clear(server: FakeOpenAI) -> None:
    server.script(Reply(status=500), Reply(status=502), Reply(status=503), Reply(text="fine"))
    records = Records()
    client = LlmClient(settings_for(server.api_base, max_retries=3), records)
    result = await client.complete("task", user("x"))
    assert result.text == "fine" and result.attempts == 4
    assert records.outcomes == ["unavailable"] * 3 + ["ok"]


async def test_persistent_server_errors_exhaust_the_retries(server: FakeOpenAI) -> None:
    server.set_default(Reply(status=500))
    records = Records()
    client = LlmClient(settings_for(server.api_base, max_retries=2), records)
    with pytest.raises(LlmUnavailableError) as info:
        await client.complete("task", user("x"))
    assert info.value.attempts == 3 and info.value.outcome == "unavailable"
    assert info.value.model == "openai/sim-task"
    assert server.calls == 3
    assert records.outcomes == ["unavailable"] * 3


async def test_slow_responses_time_out_and_are_retried(server: FakeOpenAI) -> None:
    server.set_default(Reply(delay_s=1.5))
    records = Records()
    client = LlmClient(settings_for(server.api_base, timeout_s=0.2, max_retries=1), records)
    started = time.perf_counter()
    with pytest.raises(LlmUnavailableError) as info:
        await client.complete("task", user("x"))
    elapsed = time.perf_counter() - started
    assert info.value.outcome == "timeout"
    assert records.outcomes == ["timeout", "timeout"]
    assert all(150 <= r.latency_ms < 1200 for r in records.items)
    assert elapsed < 1.4  # did not wait for the server


async def test_connection_refused_is_unavailable_and_retried() -> None:
    records = Records()
    client = LlmClient(settings_for(f"http://127.0.0.1:{closed_port()}/v1", max_retries=1), records)
    with pytest.raises(LlmUnavailableError) as info:
        await client.complete("task", user("x"))
    assert info.value.attempts == 2
    assert records.outcomes == ["unavailable", "unavailable"]


async def test_a_bad_request_is_not_retried(server: FakeOpenAI) -> None:
    server.script(Reply(status=400))
    records = Records()
    client = LlmClient(settings_for(server.api_base), records)
    with pytest.raises(LlmRequestError, match="malformed"):
        await client.complete("task", user("x"))
    assert server.calls == 1 and records.outcomes == ["error"]


# ------------------------------------------------------------------ authentication


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_errors_are_not_retried_and_never_leak_the_key(
    server: FakeOpenAI, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    server.set_default(Reply(status=status, echo_auth=True))
    records = Records()
    client = LlmClient(settings_for(server.api_base), records)
    with caplog.at_level(logging.DEBUG), pytest.raises(LlmAuthError) as info:
        await client.complete("task", user("x"))
    assert server.calls == 1
    assert records.outcomes == ["auth"]
    assert FAKE_ENV_KEY not in str(info.value)
    assert FAKE_ENV_KEY not in (records.items[0].error or "")
    assert "REDACTED" in (records.items[0].error or "")  # the server did echo it
    assert FAKE_ENV_KEY not in caplog.text
    assert "OPENAI_API_KEY" in str(info.value)  # says how to fix it
    # An auth failure pauses calls at once; nothing more is sent.
    state = client.breaker_state()
    assert state["state"] == "open" and state["reason"].startswith("auth")
    assert FAKE_ENV_KEY not in json.dumps(state)
    with pytest.raises(CircuitOpenError):
        await client.complete("task", user("y"))
    assert server.calls == 1


# ------------------------------------------------------------------ circuit breaker


async def test_breaker_opens_after_consecutive_failures_and_half_opens_after_cooldown(
    server: FakeOpenAI,
) -> None:
    clock = Clock()
    records = Records()
    settings = settings_for(
        server.api_base, max_retries=0, breaker_threshold=3, breaker_cooldown_s=60.0
    )
    client = LlmClient(settings, records, clock=clock)
    server.set_default(Reply(status=503))
    for _ in range(3):
        with pytest.raises(LlmUnavailableError):
            await client.complete("task", user("x"))
    state = client.breaker_state()
    assert state["state"] == "open" and state["until"] == clock.now + 60.0
    assert "unavailable" in state["reason"]

    with pytest.raises(CircuitOpenError) as info:
        await client.complete("task", user("x"))
    assert info.value.until == clock.now + 60.0
    assert server.calls == 3 and len(records.items) == 3  # refused without a call

    clock.now += 61
    assert client.breaker_state()["state"] == "half-open"
    with pytest.raises(LlmUnavailableError):  # the probe fails: open again
        await client.complete("task", user("x"))
    assert client.breaker_state()["state"] == "open" and server.calls == 4

    clock.now += 61
    server.set_default(Reply(text="back"))
    result = await client.complete("task", user("x"))  # the probe succeeds
    assert result.text == "back"
    assert client.breaker_state() == {
        "state": "closed",
        "reason": None,
        "until": None,
        "failures": 0,
    }


async def test_only_one_probe_is_in_flight_while_half_open(server: FakeOpenAI) -> None:
    clock = Clock()
    client = LlmClient(
        settings_for(server.api_base, max_retries=0, breaker_threshold=1, breaker_cooldown_s=5),
        Records(),
        clock=clock,
    )
    server.script(Reply(status=500))
    with pytest.raises(LlmUnavailableError):
        await client.complete("task", user("x"))
    clock.now += 6
    server.set_default(Reply(text="slow ok", delay_s=0.3))
    probe = asyncio.create_task(client.complete("task", user("probe")))
    await asyncio.sleep(0.1)
    with pytest.raises(CircuitOpenError, match="probe"):
        await client.complete("task", user("second"))
    assert (await asyncio.wait_for(probe, 5)).text == "slow ok"
    assert server.calls == 2
    await client.complete("task", user("after"))
    assert server.calls == 3


async def test_retries_stop_when_the_breaker_opens(server: FakeOpenAI) -> None:
    server.set_default(Reply(status=500))
    client = LlmClient(settings_for(server.api_base, max_retries=5, breaker_threshold=2), Records())
    with pytest.raises(CircuitOpenError):
        await client.complete("task", user("x"))
    assert server.calls == 2


# ------------------------------------------------------------------ cache


async def test_cache_hit_makes_no_http_call(server: FakeOpenAI) -> None:
    cache = DictCache()
    records = Records()
    client = LlmClient(settings_for(server.api_base), records, cache=cache)
    first = await client.complete("judge", user("is this better?"))
    second = await client.complete("judge", user("is this better?"))
    assert server.calls == 1
    assert second.text == first.text and second.cached and not first.cached
    assert second.cost_usd == 0.0 and second.attempts == 0
    assert records.outcomes == ["ok", "cached"]
    assert records.items[1].cost_usd == 0.0 and records.items[1].input_tokens == 0
    assert isinstance(cache, ResponseCache)


async def test_cache_depends_on_temperature_and_mode(server: FakeOpenAI) -> None:
    cache = DictCache()
    warm = LlmClient(settings_for(server.api_base, cache="auto"), Records(), cache=cache)
    await warm.complete("task", user("q"), temperature=0.7)
    await warm.complete("task", user("q"), temperature=0.7)
    assert server.calls == 2 and cache.data == {}

    always = LlmClient(settings_for(server.api_base, cache="always"), Records(), cache=cache)
    await always.complete("task", user("q"), temperature=0.7)
    await always.complete("task", user("q"), temperature=0.7)
    assert server.calls == 3

    never = LlmClient(settings_for(server.api_base, cache="never"), Records(), cache=cache)
    await never.complete("task", user("z"))
    await never.complete("task", user("z"))
    assert server.calls == 5


async def test_use_cache_false_refreshes_the_entry(server: FakeOpenAI) -> None:
    cache = DictCache()
    client = LlmClient(settings_for(server.api_base), Records(), cache=cache)
    server.script(Reply(text="{not json"), Reply(text='{"verdict": "yes"}'))
    assert (await client.complete("judge", user("judge it"))).text == "{not json"
    fresh = await client.complete("judge", user("judge it"), use_cache=False)
    assert fresh.text == '{"verdict": "yes"}' and not fresh.cached
    again = await client.complete("judge", user("judge it"))
    assert again.cached and again.text == '{"verdict": "yes"}'
    assert server.calls == 2


async def test_cache_key_is_over_the_redacted_messages(server: FakeOpenAI) -> None:
    cache = DictCache()
    client = LlmClient(settings_for(server.api_base, redact="always"), Records(), cache=cache)
    rng = random.Random(31)
    one, two = fake.github_pat_classic(rng), fake.github_pat_classic(rng)
    await client.complete("task", user(f"token {one}"))
    second = await client.complete("task", user(f"token {two}"))
    assert second.cached and server.calls == 1  # the model would have seen the same text
    stored = json.dumps(cache.data)
    assert one not in stored and two not in stored
    masked = user("token [REDACTED:github-token]")
    assert list(cache.data) == [
        cache_key(
            "openai/sim-task", server.api_base, masked, {"temperature": 0.0, "max_tokens": 1024}
        )
    ]


async def test_a_broken_cache_falls_back_to_the_model(server: FakeOpenAI) -> None:
    class Broken:
        async def get(self, key: str) -> str | None:
            raise OSError("database is locked")

        async def put(self, key: str, value: str) -> None:
            raise OSError("database is locked")

    client = LlmClient(settings_for(server.api_base), Records(), cache=Broken())
    result = await client.complete("task", user("x"))
    assert result.text.startswith("answer") and server.calls == 1


async def test_cache_hits_are_served_while_the_breaker_is_open(server: FakeOpenAI) -> None:
    cache = DictCache()
    client = LlmClient(
        settings_for(server.api_base, max_retries=0, breaker_threshold=1), Records(), cache=cache
    )
    await client.complete("task", user("seen before"))
    server.script(Reply(status=500))
    with pytest.raises(LlmUnavailableError):
        await client.complete("task", user("new"))
    assert client.breaker_state()["state"] == "open"
    assert (await client.complete("task", user("seen before"))).cached


# ------------------------------------------------------------------ concurrency


@pytest.mark.parametrize("limit", [2, 4])
async def test_concurrency_limit_is_respected(server: FakeOpenAI, limit: int) -> None:
    server.set_default(Reply(text="ok", delay_s=0.15))
    client = LlmClient(settings_for(server.api_base, concurrency=limit), Records())
    results = await asyncio.wait_for(
        asyncio.gather(*(client.complete("task", user(f"q{i}")) for i in range(8))), 10
    )
    assert [r.text for r in results] == ["ok"] * 8
    assert server.max_in_flight == limit


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"purpose": "chat"}, "purpose must be one of task, reflection"),
        ({"messages": []}, "non-empty list"),
        ({"messages": "hello"}, "non-empty list"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, r"messages\[0\].role"),
        ({"messages": [{"role": "user", "content": 3}]}, r"messages\[0\].content"),
        ({"messages": [{"role": "user", "content": {"a": object()}}]}, r"messages\[0\].content"),
        ({"temperature": 3}, "temperature must be between 0 and 2"),
        ({"temperature": float("nan")}, "temperature"),
        ({"max_tokens": 0}, "max_tokens must be a positive integer"),
        ({"response_format": "json"}, "response_format must be an object"),
    ],
)
async def test_bad_arguments_are_refused_before_any_call(
    server: FakeOpenAI, kwargs: dict[str, Any], message: str
) -> None:
    records = Records()
    client = LlmClient(settings_for(server.api_base), records)
    call: dict[str, Any] = {"purpose": "task", "messages": user("x"), **kwargs}
    with pytest.raises(LlmInputError, match=message):
        await client.complete(call.pop("purpose"), call.pop("messages"), **call)
    assert server.calls == 0 and records.items == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model_params": {"openai/x": {"api_key": "k"}}}, "api_key' is not allowed.*environment"),
        ({"model_params": {"openai/x": {"client_secret": "k"}}}, "client_secret' is not allowed"),
        ({"model_params": {"openai/x": {"timeout": 5}}}, "gepad sets it itself"),
        ({"model_params": {"openai/x": 3}}, "must be a table"),
        ({"redact": "sometimes"}, "'redact' must be one of auto, always, never"),
        ({"cache": "maybe"}, "'cache' must be one of"),
        ({"timeout_s": 0}, "'timeout_s' must be >="),
        ({"concurrency": 0}, "'concurrency' must be >= 1"),
        ({"max_retries": 1.5}, "'max_retries' must be an integer"),
        ({"task_model": ""}, "'task_model' must be a non-empty model name"),
        ({"backoff_base_s": 5, "backoff_max_s": 1}, "must not exceed"),
    ],
)
def test_settings_validation_names_the_key(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LlmSettings(**overrides)


def test_settings_from_config_and_defaults() -> None:
    defaults = LlmSettings()
    assert defaults.task_model == "ollama/qwen2.5-coder:7b"
    assert defaults.model_for("judge") == defaults.reflection_model
    assert defaults.is_local("ollama/qwen2.5-coder:7b")

    config = SimpleNamespace(
        task_model="openai/gpt-4o-mini",
        reflection_model="anthropic/claude-sonnet-4",
        judge_model=None,
        api_base=None,
        model_params={"openai/gpt-4o-mini": {"api_base": "http://127.0.0.1:4000/v1"}},
        redact="always",
        llm_timeout_s=12,
        llm_concurrency=2,
        cache="never",
    )
    s = LlmSettings.from_config(config, max_retries=1)
    assert (s.task_model, s.model_for("judge")) == (
        "openai/gpt-4o-mini",
        "anthropic/claude-sonnet-4",
    )
    assert (s.timeout_s, s.concurrency, s.redact, s.cache, s.max_retries) == (
        12,
        2,
        "always",
        "never",
        1,
    )
    assert s.api_base_for("openai/gpt-4o-mini") == "http://127.0.0.1:4000/v1"
    assert s.is_local("openai/gpt-4o-mini") and not s.is_local("anthropic/claude-sonnet-4")
    assert LlmSettings.from_config({"task_model": "openai/a"}).task_model == "openai/a"
    with pytest.raises(TypeError):
        s.model_params["x"] = {}  # type: ignore[index]


def test_settings_from_the_daemon_config_model() -> None:
    from gepad.config import Config

    config = Config(task_model="openai/gpt-4o-mini", redact="always", llm_concurrency=3)
    s = LlmSettings.from_config(config)
    assert s.task_model == "openai/gpt-4o-mini"
    assert s.model_for("judge") == config.effective_judge_model
    assert (s.redact, s.concurrency, s.timeout_s, s.cache) == ("always", 3, 60.0, "auto")


def test_backoff_is_exponential_with_full_jitter() -> None:
    from gepad.llm._retry import backoff_delay

    rng = random.Random(0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (6, 8.0), (40, 8.0)]:
        delays = [
            backoff_delay(attempt, base_s=0.5, max_s=8.0, rng=rng, retry_after_s=None)
            for _ in range(300)
        ]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling and min(delays) < 0.2 * ceiling  # spread, not fixed
    # A Retry-After is a floor, capped by the maximum backoff.
    assert backoff_delay(1, base_s=0.5, max_s=8.0, rng=rng, retry_after_s=3.0) >= 3.0
    assert backoff_delay(1, base_s=0.5, max_s=8.0, rng=rng, retry_after_s=60.0) == 8.0
