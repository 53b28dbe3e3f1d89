"""End-of-run confirmation: the leaders by validation mean are scored on training examples."""

from __future__ import annotations

import math

from gepa_engine_world import COMPONENT, World, keyword_world, run, step

from gepa_engine import (
    Engine,
    EngineConfig,
    Evaluate,
    Event,
    ExampleSpec,
    Finished,
    Idle,
    MaxRollouts,
)


def _engine(world: World, budget: int, **cfg: object) -> Engine:
    engine = Engine.start(
        {COMPONENT: "You are a coding assistant."},
        seed=2,
        config=EngineConfig(**cfg),  # type: ignore[arg-type]
        stop=MaxRollouts(budget),
    )
    ids = sorted(world.needs, key=lambda e: int(e[1:]))
    engine.add_examples([ExampleSpec(e, "train") for e in ids[: len(ids) // 2]])
    engine.add_examples([ExampleSpec(e, "val") for e in ids[len(ids) // 2 :]])
    return engine


def _drive(engine: Engine, world: World) -> tuple[list[Evaluate], Finished | object]:
    confirms: list[Evaluate] = []
    for _ in range(10_000):
        req = engine.next_request()
        if isinstance(req, Evaluate) and req.purpose == "confirm":
            confirms.append(req)
        out = step(engine, world)
        if not isinstance(out, list):
            return confirms, out
    raise AssertionError("the engine did not stop")


def test_the_leaders_are_scored_on_training_examples_before_the_run_stops() -> None:
    world = keyword_world(6, 24, seed=5, noise=0.3)
    engine = _engine(world, 300)
    confirms, end = _drive(engine, world)
    assert confirms, "no confirmation was asked for"
    assert engine.rollouts <= 300
    train = set(engine.active_examples("train"))
    for req in confirms:
        assert set(req.example_ids) <= train, "confirmation scores training examples only"
        assert req.capture_traces
    # This world's reflections run dry before the budget does: the confirmation ran early.
    assert isinstance(end, (Finished, Idle))


def test_the_confirmation_replaces_a_best_that_leads_on_validation_only() -> None:
    # In this noisy world the validation leader is not the leader on validation and training
    # together; the confirmation must pick the latter and say so in a new_best event.
    world = keyword_world(6, 24, seed=2, noise=0.3)
    engine = _engine(world, 300)
    events: list[Event] = []
    confirms: list[Evaluate] = []
    for _ in range(10_000):
        req = engine.next_request()
        if isinstance(req, Evaluate) and req.purpose == "confirm":
            confirms.append(req)
        out = step(engine, world)
        if not isinstance(out, list):
            break
        events.extend(out)
    confirmed = [e for e in events if e.kind == "new_best" and "confirmed_on" in e.detail]
    assert len(confirmed) == 1, confirmed
    leaders = {req.candidate_id for req in confirms} | {str(confirmed[0].detail["previous"])}
    assert engine.best.id == confirmed[0].candidate_id != confirmed[0].detail["previous"]

    def combined(cid: str) -> float:
        # The world is deterministic: its scores are the ones the engine saw.
        prompt = engine.candidates[cid].components[COMPONENT]
        gated = {e for c in leaders for e in engine.candidates[c].feedback_examples}
        examples = [e for e in world.needs if e not in gated]
        return math.fsum(world.score(prompt, e)[0] for e in examples) / len(examples)

    assert combined(engine.best.id) > combined(str(confirmed[0].detail["previous"]))


def test_no_confirmation_when_switched_off_or_too_dear() -> None:
    world = keyword_world(6, 24, seed=5, noise=0.3)
    off = _engine(world, 300, confirm_top=0)
    confirms, _ = _drive(off, world)
    assert confirms == []
    dear = _engine(keyword_world(6, 24, seed=5, noise=0.3), 300, confirm_share=0.01)
    confirms, _ = _drive(dear, keyword_world(6, 24, seed=5, noise=0.3))
    assert confirms == []


def test_a_confirmation_in_flight_survives_a_json_round_trip() -> None:
    world = keyword_world(6, 24, seed=5, noise=0.3)
    engine = _engine(world, 300)
    for _ in range(10_000):
        req = engine.next_request()
        if isinstance(req, Evaluate) and req.purpose == "confirm":
            break
        assert not isinstance(req, Finished), "finished without a confirmation"
        step(engine, world)
    restored = Engine.from_json(engine.to_json(), config=EngineConfig(), stop=MaxRollouts(300))
    assert restored.next_request() == req
    a, b = run(engine, world), run(restored, keyword_world(6, 24, seed=5, noise=0.3))
    assert engine.best == restored.best and engine.rollouts == restored.rollouts
    assert [e.kind for e in a[0]] == [e.kind for e in b[0]]
