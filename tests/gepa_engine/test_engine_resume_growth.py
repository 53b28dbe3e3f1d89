"""Exact resume while the data grows and shrinks: adds, retirements and re-adds mid-run.

At any step, a JSON round trip must continue the identical trajectory and hold the identical
frontier (the one a freshly restored engine derives from the scores), with no drift in the
means however often examples leave and come back.
"""

from __future__ import annotations

import json
import random

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

BUDGET = 300
CONFIG = EngineConfig(max_merges=4)


def _world(seed: int) -> World:
    # Up to three keywords per example: scores in thirds, whose running sums drift in the last
    # digit (what broke exact resume before means were computed exactly).
    rng = random.Random(seed)
    keys = [f"k{i}" for i in range(7)]
    needs = {f"e{i}": tuple(sorted(rng.sample(keys, rng.randint(1, 3)))) for i in range(30)}
    return World(needs=needs, noise=0.15)


def _ops(seed: int, ids: list[str]) -> dict[int, tuple[str, list[str]]]:
    """A schedule of data changes: step -> (add | retire, example ids)."""
    rng = random.Random(seed)
    schedule: dict[int, tuple[str, list[str]]] = {}
    hidden = ids[12:]
    retired: list[str] = []
    for step in sorted(rng.sample(range(1, 160), 24)):
        kind = rng.choice(("add", "retire", "readd"))
        if kind == "add" and hidden:
            take, hidden = hidden[:3], hidden[3:]
            schedule[step] = ("add", take)
        elif kind == "retire":
            out = rng.sample(ids[:12], 2)
            retired += out
            schedule[step] = ("retire", out)
        elif retired:
            back = retired[: rng.randint(1, len(retired))]
            retired = retired[len(back) :]
            schedule[step] = ("add", back)
    return schedule


def _drive(world: World, seed: int, restore_at: int | None) -> tuple[list[str], Engine]:
    ids = sorted(world.needs, key=lambda e: int(e[1:]))
    engine = Engine.start({COMPONENT: "seed"}, seed=seed, config=CONFIG, stop=MaxRollouts(BUDGET))
    engine.add_examples([ExampleSpec(e) for e in ids[:12]])
    schedule = _ops(seed, ids)
    seen: list[str] = []
    for step in range(4000):
        if step in schedule:
            kind, which = schedule[step]
            if kind == "add":
                engine.add_examples([ExampleSpec(e) for e in which])
            else:
                engine.retire_examples(which)
        if restore_at is not None and step == restore_at:
            text = engine.to_json()
            frontier = engine.frontier()
            engine = Engine.from_json(text, config=CONFIG, stop=MaxRollouts(BUDGET))
            assert engine.to_json() == text, "serialization is exact"
            assert engine.frontier() == frontier, "the restored frontier is the running one"
        req = engine.next_request(now=float(step))
        seen.append(repr(req))
        if isinstance(req, (Idle, Finished)):
            if step < 160 and isinstance(req, Idle):
                continue  # more data is scheduled: an idle engine may wake up
            return seen, engine
        engine.complete(req.id, world.answer(req), now=float(step))
    raise AssertionError("did not finish")


@given(seed=st.integers(min_value=0, max_value=10_000), restore_at=st.integers(0, 200))
@settings(max_examples=120, deadline=None)
def test_round_trip_mid_run_continues_identically_with_growth_and_retirement(
    seed: int, restore_at: int
) -> None:
    plain, a = _drive(_world(seed), seed, None)
    resumed, b = _drive(_world(seed), seed, restore_at)
    assert resumed == plain
    assert b.to_json() == a.to_json()
    assert b.frontier() == a.frontier()
    # A fresh restore of the final state derives the same frontier and means.
    fresh = Engine.from_json(a.to_json(), config=CONFIG)
    assert fresh.frontier() == a.frontier()
    for cid in a.candidates:
        assert fresh.mean_val(cid) == a.mean_val(cid)


def test_means_do_not_drift_when_examples_leave_and_come_back() -> None:
    world = keyword_world(4, 20, seed=2, noise=0.3)
    engine = Engine.start({COMPONENT: "seed"}, seed=3, config=CONFIG, stop=MaxRollouts(120))
    ids = sorted(world.needs, key=lambda e: int(e[1:]))
    engine.add_examples([ExampleSpec(e) for e in ids])
    for _ in range(200):
        req = engine.next_request()
        if isinstance(req, (Idle, Finished)):
            break
        engine.complete(req.id, world.answer(req))
    before = {c: engine.mean_val(c) for c in engine.candidates}
    for _ in range(50):
        engine.retire_examples(ids[:7])
        engine.add_examples([ExampleSpec(e) for e in ids[:7]])
    assert {c: engine.mean_val(c) for c in engine.candidates} == before
    assert Engine.from_json(engine.to_json()).frontier() == engine.frontier()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.update(phase="dance"), "unknown phase"),
        (lambda p: p.update(examples="e1"), "list of strings"),
        (lambda p: p.update(cand="c999"), "unknown candidate"),
        (lambda p: p.pop("examples"), "missing"),
        (lambda p: p.update(surprise=1), "unknown"),
    ],
)
def test_a_corrupt_pending_request_is_refused_at_load(mutate: object, message: str) -> None:
    world = keyword_world(4, 20, seed=1)
    engine = Engine.start({COMPONENT: "seed"}, seed=1, config=CONFIG, stop=MaxRollouts(50))
    engine.add_examples([ExampleSpec(e) for e in sorted(world.needs)])
    engine.next_request()  # the seed's full evaluation is now pending
    data = json.loads(engine.to_json())
    assert data["pending"]["phase"] == "full"
    mutate(data["pending"])  # type: ignore[operator]
    with pytest.raises(StateError, match=message):
        Engine.from_json(json.dumps(data))


def test_a_state_naming_an_unknown_best_is_refused() -> None:
    engine = Engine.start({COMPONENT: "seed"}, seed=1)
    data = json.loads(engine.to_json())
    data["best"] = "c42"
    with pytest.raises(StateError, match="best candidate"):
        Engine.from_json(json.dumps(data))
