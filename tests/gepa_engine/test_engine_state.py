"""State is plain data: a JSON round trip at any step resumes the identical trajectory."""

from __future__ import annotations

import json

import pytest
from gepa_engine_world import COMPONENT, World, keyword_world
from hypothesis import given, settings
from hypothesis import strategies as st

from gepa_engine import (
    Engine,
    EngineConfig,
    ExampleSpec,
    Finished,
    Idle,
    MaxRollouts,
    StateError,
)

CONFIG = EngineConfig(max_merges=4)


def _fresh(world: World, budget: int) -> Engine:
    engine = Engine.start({COMPONENT: "seed"}, seed=11, config=CONFIG, stop=MaxRollouts(budget))
    ids = sorted(world.needs, key=lambda e: int(e[1:]))
    engine.add_examples([ExampleSpec(e) for e in ids])  # the engine's own split policy
    return engine


def _trajectory(
    engine: Engine, world: World, *, stop_at: int | None, budget: int
) -> tuple[list[str], str]:
    """Drive to the end; at step `stop_at`, serialize, drop the engine and restore it."""
    seen: list[str] = []
    for step in range(5000):
        if stop_at is not None and step == stop_at:
            text = engine.to_json()
            engine = Engine.from_json(text, config=CONFIG, stop=MaxRollouts(budget))
            assert engine.to_json() == text, "serialization is exact"
        req = engine.next_request(now=float(step))
        seen.append(repr(req))
        if isinstance(req, (Idle, Finished)):
            return seen, engine.to_json()
        engine.complete(req.id, world.answer(req), now=float(step))
    raise AssertionError("did not finish")


def _world() -> World:
    return keyword_world(6, 30, seed=4, noise=0.15)


@given(st.integers(min_value=0, max_value=150))
@settings(max_examples=25, deadline=None)
def test_restoring_at_any_step_continues_the_same_trajectory(stop_at: int) -> None:
    budget = 260
    baseline, final = _trajectory(_fresh(_world(), budget), _world(), stop_at=None, budget=budget)
    resumed, final2 = _trajectory(
        _fresh(_world(), budget), _world(), stop_at=stop_at, budget=budget
    )
    assert resumed == baseline
    assert final2 == final


def test_an_outstanding_request_is_handed_out_again_after_restore() -> None:
    world = _world()
    engine = _fresh(world, 200)
    for _ in range(12):
        req = engine.next_request()
        engine.complete(req.id, world.answer(req))  # type: ignore[union-attr,arg-type]
    outstanding = engine.next_request()
    restored = Engine.from_json(engine.to_json(), config=CONFIG, stop=MaxRollouts(200))
    assert restored.next_request() == outstanding
    assert restored.rollouts == engine.rollouts, "nothing is counted before its answer arrives"


def test_state_is_plain_json_with_rng_sampler_merges_and_budget() -> None:
    world = _world()
    engine = _fresh(world, 120)
    _trajectory(engine, world, stop_at=None, budget=120)
    data = json.loads(engine.to_json())
    for key in (
        "rng",
        "candidates",
        "val_scores",
        "sampler",
        "merges",
        "budget",
        "pending",
        "best",
    ):
        assert key in data
    assert data["budget"]["rollouts"] == engine.rollouts


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"format": 99}', "format 99"),
        ('{"format": 1}', "missing or has a malformed field"),
    ],
)
def test_bad_state_is_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(StateError, match=message):
        Engine.from_json(text)
