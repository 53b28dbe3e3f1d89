"""What a real model broke (issue 13): answer caps, loops, truncation, streaming and stalls,
truthful accounting, and a placeholder key for a local OpenAI-compatible server (issue 12.20).

Every call goes through litellm's own HTTP path to `_fake_openai.FakeOpenAI` (SSE for the
streamed ones); nothing inside litellm or the client is mocked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _fake_openai import FakeOpenAI, Reply

from gepad.errors import ConfigError
from gepad.llm import LlmAuthError, LlmCallRecord, LlmClient, LlmSettings, LlmUnavailableError
from gepad.llm._repeat import find_loop, salvage

pytestmark = pytest.mark.timeout(180)

LOOP_LINE = "- Use a consistent naming convention for the project."
LOOPING = "```\n- Use type hints.\n- Use pathlib.\n" + (LOOP_LINE + "\n") * 60


class Records:
    def __init__(self) -> None:
        self.items: list[LlmCallRecord] = []

    async def __call__(self, record: LlmCallRecord) -> None:
        self.items.append(record)


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-for-the-fake-server-000")
    for name in ("OPENAI_API_BASE", "OPENAI_BASE_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as s:
        yield s


def settings(api_base: str, **overrides: Any) -> LlmSettings:
    values: dict[str, Any] = {
        "task_model": "openai/sim-task",
        "reflection_model": "openai/sim-reflect",
        "api_base": api_base,
        "timeout_s": 60.0,
        "max_retries": 1,
        "backoff_base_s": 0.01,
        "backoff_max_s": 0.02,
        "breaker_threshold": 50,
    }
    values.update(overrides)
    return LlmSettings(**values)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


# ------------------------------------------------------------------ pure parts


def test_find_loop_keeps_one_copy_and_ignores_distinct_lists() -> None:
    cut = find_loop(LOOPING)
    assert cut is not None
    kept = LOOPING[:cut]
    assert kept.count(LOOP_LINE) == 1 and kept.startswith("```\n- Use type hints.")
    assert find_loop("- a rule\n- another rule\n- a third rule\n- a fourth rule\n") is None
    assert find_loop("}\n}\n}\n}\n}\n") is None  # structure, not a loop
    assert find_loop("x = " + "ab" * 80) is not None


def test_salvage_closes_an_open_fence_only() -> None:
    assert salvage("```\n- rule one\n- rule two") == "```\n- rule one\n- rule two\n```\n"
    assert salvage("```\nclosed\n```") == "```\nclosed\n```"


def test_max_tokens_settings_are_validated() -> None:
    assert settings("http://127.0.0.1:1/v1").max_tokens_for("judge") == 256
    assert settings("http://127.0.0.1:1/v1", max_tokens={"judge": 99}).max_tokens_for("judge") == 99
    with pytest.raises(ConfigError, match="unknown purpose 'jduge'"):
        settings("http://127.0.0.1:1/v1", max_tokens={"jduge": 10})
    with pytest.raises(ConfigError, match=r"max_tokens\.task"):
        settings("http://127.0.0.1:1/v1", max_tokens={"task": 0})
    with pytest.raises(ConfigError, match="stall_timeout_s"):
        settings("http://127.0.0.1:1/v1", stall_timeout_s=0)


# ------------------------------------------------------------------ over HTTP


async def test_every_call_carries_a_per_purpose_max_tokens(server: FakeOpenAI) -> None:
    client = LlmClient(settings(server.api_base, max_tokens={"reflection": 700}), Records())
    await client.complete("judge", user("verdict?"))
    await client.complete("reflection", user("improve"))
    await client.complete("task", user("code"), max_tokens=42)  # an explicit cap wins
    sent = [r.body.get("max_tokens") for r in server.received]
    assert sent == [256, 700, 42]


async def test_a_looping_answer_is_cut_and_its_fence_closed(server: FakeOpenAI) -> None:
    server.script(Reply(text=LOOPING, finish_reason="length"))
    records = Records()
    result = await LlmClient(settings(server.api_base), records).complete(
        "reflection", user("improve")
    )
    assert result.finish == "looped"
    assert result.text.count(LOOP_LINE) == 1 and result.text.rstrip().endswith("```")
    [record] = records.items
    assert record.outcome == "ok" and "looping answer" in (record.error or "")

    # gepa_engine's parser takes the cut answer; the raw looping one it now salvages too (a
    # cut fence keeps its complete lines, repeats dropped), to the same rules.
    from gepa_engine._templates import parse_instruction_block

    parsed = parse_instruction_block(result.text, max_chars=4000)
    assert parsed.error is None and parsed.text is not None and "pathlib" in parsed.text
    raw = parse_instruction_block(LOOPING, max_chars=4000)
    assert raw.error is None and raw.text == parsed.text


async def test_a_truncated_answer_is_salvaged(server: FakeOpenAI) -> None:
    server.script(Reply(text="```\n- Always add type hints.\n- Prefer", finish_reason="length"))
    records = Records()
    result = await LlmClient(settings(server.api_base), records).complete(
        "reflection", user("improve")
    )
    assert result.finish == "length" and result.text.endswith("```\n")
    assert "max_tokens" in (records.items[0].error or "")


async def test_a_loop_with_nothing_before_it_is_reasked_once_warmer(server: FakeOpenAI) -> None:
    server.script(Reply(text="la " * 200), Reply(text="```\n- a real rule\n```"))
    records = Records()
    result = await LlmClient(settings(server.api_base), records).complete("task", user("x"))
    assert result.text == "```\n- a real rule\n```" and result.finish == "stop"
    temps = [r.body.get("temperature") for r in server.received]
    assert temps == [0.0, 0.7]
    assert len(records.items) == 2  # both answers are accounted


async def test_streamed_answer_counts_tokens_and_records_the_start_time(
    server: FakeOpenAI,
) -> None:
    server.script(Reply(text="one two three four five", chunk_delay_s=0.3))
    records = Records()
    before = time.time()
    client = LlmClient(settings(server.api_base, stream=True), records)
    result = await client.complete("task", user("count"))
    assert result.text == "one two three four five"
    assert server.received[0].body.get("stream") is True
    [record] = records.items
    assert record.output_tokens == 5
    # created_at is when the call started, not when it was recorded (>= 1.5 s later)
    assert before - 1 <= record.created_at <= before + 1.0
    assert record.created_at + record.latency_ms / 1000 >= before + 1.4


async def test_a_stall_is_told_from_a_timeout_and_its_tokens_are_counted(
    server: FakeOpenAI,
) -> None:
    stall = Reply(text="a b c d e f g h", stall_after=3, stall_s=4.0)
    server.script(stall, stall)
    records = Records()
    client = LlmClient(
        settings(server.api_base, stream=True, stall_timeout_s=1.0, timeout_s=60.0), records
    )
    started = time.monotonic()
    with pytest.raises(LlmUnavailableError) as info:
        await client.complete("task", user("go"))
    assert time.monotonic() - started < 30  # the stall timeout, not the overall one, ended it
    assert info.value.outcome == "stalled"
    assert [r.outcome for r in records.items] == ["stalled", "stalled"]
    assert all(r.output_tokens == 3 and r.input_tokens > 0 for r in records.items)
    # the retry is not the same greedy call again
    assert [r.body.get("temperature") for r in server.received] == [0.0, 0.7]


async def test_a_streamed_loop_is_cut_while_it_happens(server: FakeOpenAI) -> None:
    words = "Rules: use pathlib. " + "again and again " * 400
    server.script(Reply(text=words, chunk_delay_s=0.002))
    records = Records()
    result = await LlmClient(settings(server.api_base, stream=True), records).complete(
        "reflection", user("improve")
    )
    assert result.finish == "looped" and len(result.text) < 200
    assert records.items[0].output_tokens < 200  # stopped early, not after 1,200 chunks


async def test_a_cancelled_call_is_recorded(server: FakeOpenAI) -> None:
    server.script(Reply(text="w " * 50, chunk_delay_s=0.2))
    records = Records()
    client = LlmClient(settings(server.api_base, stream=True), records)
    task = asyncio.ensure_future(client.complete("task", user("slow")))
    await asyncio.sleep(3.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [record] = records.items
    assert record.outcome == "cancelled" and record.output_tokens > 0


async def test_loopback_openai_server_without_a_key_gets_a_placeholder(
    server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    result = await LlmClient(settings(server.api_base), Records()).complete("task", user("hi"))
    assert result.text
    assert server.received[0].headers["authorization"] == "Bearer gepad-local-no-key"


async def test_missing_credentials_for_a_remote_server_are_an_auth_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    records = Records()
    client = LlmClient(
        LlmSettings(task_model="gpt-4o-mini", reflection_model="gpt-4o-mini", max_retries=0),
        records,
    )
    with pytest.raises(LlmAuthError, match="OPENAI_API_KEY"):
        await client.complete("task", user("hi"))
    assert [r.outcome for r in records.items] == ["auth"]
    assert "missing credentials" in (records.items[0].error or "")


async def test_llm_calls_created_at_is_the_calls_own_start(tmp_path: Any) -> None:
    from gepad.learning._adapters import to_store_call
    from gepad.store import Store

    store = await Store.open(tmp_path / "g.db", clock=lambda: 5000.0)  # the commit time
    try:
        record = LlmCallRecord("m", "task", 10, 3, 0.0, 1200.0, "timeout", "slow", 1234.5)
        await store.record_llm_call(None, to_store_call(record, "general"))
        [row] = await store.llm_calls()
        assert row.created_at == 1234.5
        assert (row.output_tokens, row.outcome) == (3, "timeout")
    finally:
        await store.close()


async def test_the_probe_calls_a_missing_key_missing_credentials() -> None:
    from gepad.learning._probe import NO_CREDENTIALS_PREFIX, probe_model

    problem = await probe_model("openai/gpt-4o-mini", None, environ={})
    assert problem is not None and problem.startswith(NO_CREDENTIALS_PREFIX)
    assert "OPENAI_API_KEY" in problem
