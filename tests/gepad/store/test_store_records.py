"""Generations, prompt versions, component state, engine state, LLM calls, cache and events."""

from __future__ import annotations

import pytest
from gepad_store_testing import FakeClock

from gepad.errors import InvalidFieldError, NotFoundError
from gepad.store import LlmCall, NewGeneration, Store


async def test_generation_round_trip(store: Store, clock: FakeClock) -> None:
    gen = NewGeneration(
        component="kernel",
        workspace="/w",
        file="file:///w/k.cu",
        language="cuda",
        instruction="make it faster",
        context="__global__ void k() {}",
        output="__global__ void k2() {}",
        prompt_version=2,
        model="ollama/qwen2.5-coder:7b",
    )
    gid = await store.record_generation(gen)
    got = await store.get_generation(gid)
    assert got is not None
    assert (got.id, got.created_at) == (gid, clock.now)
    for name in ("component", "workspace", "file", "language", "instruction", "context", "output"):
        assert getattr(got, name) == getattr(gen, name)
    assert (got.prompt_version, got.model) == (2, gen.model)
    assert await store.get_generation(gid + 1) is None
    with pytest.raises(InvalidFieldError, match="component"):
        await store.record_generation(NewGeneration(component="Bad Name"))


async def test_prompt_versions_number_per_component(store: Store, clock: FakeClock) -> None:
    v1 = await store.insert_prompt_version(
        None, "general", "one", score=None, source="seed", candidate_id=None, status="current"
    )
    clock.advance(1)
    k1 = await store.insert_prompt_version(
        None, "kernel", "k", score=0.25, source="seed", candidate_id="c0", status="current"
    )
    v2 = await store.insert_prompt_version(
        None, "general", "two", score=1, source="optimizer", candidate_id="c1", status="pending"
    )
    assert (v1.version, k1.version, v2.version) == (1, 1, 2)
    assert v2.score == 1.0 and isinstance(v2.score, float)
    assert (v2.text, v2.source, v2.candidate_id, v2.status) == ("two", "optimizer", "c1", "pending")
    assert [v.version for v in await store.prompt_versions("general")] == [2, 1]
    assert [v.version for v in await store.prompt_versions("general", limit=1)] == [2]
    assert await store.get_prompt_version("general", 2) == v2
    assert await store.get_prompt_version("general", 3) is None
    await store.set_prompt_version_status(None, "general", 2, "rejected")
    got = await store.get_prompt_version("general", 2)
    assert got is not None and got.status == "rejected"
    with pytest.raises(NotFoundError):
        await store.set_prompt_version_status(None, "general", 9, "rejected")
    for bad, field in (
        ({"source": "magic"}, "source"),
        ({"status": "live"}, "status"),
        ({"score": float("inf")}, "score"),
    ):
        kwargs = {"score": None, "source": "seed", "candidate_id": None, "status": "superseded"}
        kwargs.update(bad)
        with pytest.raises(InvalidFieldError) as info:
            await store.insert_prompt_version(None, "general", "x", **kwargs)  # type: ignore[arg-type]
        assert info.value.field == field
    assert len(await store.prompt_versions("general")) == 2


async def test_component_state(store: Store) -> None:
    assert await store.component_state("general") is None
    await store.insert_prompt_version(
        None, "general", "one", score=None, source="seed", candidate_id=None, status="current"
    )
    state = await store.set_component_state(
        None, "general", current_version=1, pending_version=None, pinned=False
    )
    assert (state.current_version, state.pending_version, state.pinned) == (1, None, False)
    await store.insert_prompt_version(
        None, "general", "two", score=None, source="optimizer", candidate_id=None, status="pending"
    )
    await store.set_component_state(
        None, "general", current_version=1, pending_version=2, pinned=True
    )
    got = await store.component_state("general")
    assert got is not None and (got.current_version, got.pending_version, got.pinned) == (
        1,
        2,
        True,
    )
    assert [s.component for s in await store.component_states()] == ["general"]
    with pytest.raises(InvalidFieldError, match="no version 7") as info:
        await store.set_component_state(
            None, "general", current_version=7, pending_version=None, pinned=False
        )
    assert info.value.field == "current_version"
    with pytest.raises(InvalidFieldError, match="pinned"):
        await store.set_component_state(
            None,
            "general",
            current_version=1,
            pending_version=None,
            pinned="yes",  # type: ignore[arg-type]
        )


async def test_engine_state_upserts(store: Store, clock: FakeClock) -> None:
    assert await store.load_engine_state("general") is None
    await store.save_engine_state(None, "general", '{"iteration": 1}')
    await store.save_engine_state(None, "general", '{"iteration": 2}')
    await store.save_engine_state(None, "kernel", '{"iteration": 9}')
    assert await store.load_engine_state("general") == '{"iteration": 2}'
    assert await store.load_engine_state("kernel") == '{"iteration": 9}'


async def test_llm_calls_and_daily_usage(store: Store, clock: FakeClock) -> None:
    day_start = clock.now
    clock.advance(-10)
    await store.record_llm_call(None, LlmCall(model="gpt", purpose="task", input_tokens=1000))
    clock.advance(20)
    first = await store.record_llm_call(
        None,
        LlmCall(
            model="gpt",
            purpose="reflection",
            input_tokens=100,
            output_tokens=50,
            cost_usd=0.25,
            latency_ms=812.5,
            outcome="ok",
            component="general",
        ),
    )
    second = await store.record_llm_call(
        None,
        LlmCall(
            model="gpt",
            purpose="judge",
            input_tokens=10,
            output_tokens=0,
            cost_usd=0.5,
            latency_ms=30_000,
            outcome="timeout",
            error="timed out after 30 s",
        ),
    )
    usage = await store.llm_usage_since(day_start)
    assert (usage.calls, usage.input_tokens, usage.output_tokens) == (2, 110, 50)
    assert usage.cost_usd == pytest.approx(0.75)
    calls = await store.llm_calls(since=day_start)
    assert [c.id for c in calls] == [second, first]
    assert (calls[0].outcome, calls[0].error, calls[1].component) == (
        "timeout",
        "timed out after 30 s",
        "general",
    )
    assert len(await store.llm_calls()) == 3
    empty = await store.llm_usage_since(clock.now + 1)
    assert (empty.calls, empty.cost_usd) == (0, 0.0)
    for bad, field in (
        (LlmCall(model="m", purpose="chat"), "purpose"),
        (LlmCall(model="", purpose="task"), "model"),
        (LlmCall(model="m", purpose="task", input_tokens=-1), "input_tokens"),
        (LlmCall(model="m", purpose="task", cost_usd=float("nan")), "cost_usd"),
    ):
        with pytest.raises(InvalidFieldError) as info:
            await store.record_llm_call(None, bad)
        assert info.value.field == field
    assert len(await store.llm_calls()) == 3


async def test_cache(store: Store) -> None:
    assert await store.cache_get("k") is None
    await store.cache_put(None, "k", '{"choices": []}')
    assert await store.cache_get("k") == '{"choices": []}'
    await store.cache_put(None, "k", "replaced")
    assert await store.cache_get("k") == "replaced"
    with pytest.raises(InvalidFieldError, match="key"):
        await store.cache_put(None, "", "v")


async def test_events(store: Store, clock: FakeClock) -> None:
    await store.log_event(None, "prompt.swap", {"component": "general", "version": 2})
    clock.advance(1)
    await store.log_event(None, "optimizer.step", {"iteration": 1, "scores": [0.5, 1.0]})
    await store.log_event(None, "prompt.swap", {"component": "general", "version": 3})
    newest = await store.events()
    assert [e.kind for e in newest] == ["prompt.swap", "optimizer.step", "prompt.swap"]
    assert newest[1].payload == {"iteration": 1, "scores": [0.5, 1.0]}
    assert newest[1].created_at == clock.now
    swaps = await store.events(kind="prompt.swap", limit=1)
    assert [e.payload["version"] for e in swaps] == [3]
    with pytest.raises(InvalidFieldError, match="payload"):
        await store.log_event(None, "x", {"bad": object()})
    with pytest.raises(InvalidFieldError, match="payload"):
        await store.log_event(None, "x", ["not", "a", "mapping"])  # type: ignore[arg-type]
    assert len(await store.events()) == 3
