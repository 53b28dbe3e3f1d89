"""Stop conditions compose, and each one stops the engine."""

from __future__ import annotations

from gepa_engine_world import COMPONENT, keyword_world, run

from gepa_engine import (
    AllOf,
    BudgetView,
    Deadline,
    Engine,
    ExampleSpec,
    Finished,
    Idle,
    MaxCost,
    MaxIterations,
    MaxRollouts,
    MaxTokens,
    NoImprovement,
    StopCondition,
)


def _engine(stop: StopCondition) -> tuple[Engine, object]:
    world = keyword_world(8, 40, seed=7, noise=0.2)
    engine = Engine.start({COMPONENT: "seed"}, seed=2, stop=stop)
    ids = sorted(world.needs, key=lambda e: int(e[1:]))
    engine.add_examples(
        [ExampleSpec(e, "train") for e in ids[:25]] + [ExampleSpec(e, "val") for e in ids[25:]]
    )
    return engine, world


def _view(**kw: float) -> BudgetView:
    base = dict(
        rollouts=0, iterations=0, cost_usd=0.0, tokens=0, now=0.0, iterations_since_improvement=0
    )
    base.update(kw)
    return BudgetView(**base)  # type: ignore[arg-type]


def test_each_condition_says_why() -> None:
    assert MaxRollouts(5).reason(_view(rollouts=5)) == "rollout budget of 5 spent"
    assert MaxRollouts(5).reason(_view(rollouts=4)) is None
    assert MaxIterations(3).reason(_view(iterations=3))
    assert MaxCost(1.0).reason(_view(cost_usd=1.0))
    assert MaxTokens(10).reason(_view(tokens=11))
    assert Deadline(100.0).reason(_view(now=100.0))
    assert NoImprovement(4).reason(_view(iterations_since_improvement=4))


def test_composition() -> None:
    either = MaxRollouts(10) | MaxIterations(2)
    assert either.reason(_view(iterations=2)) and either.reason(_view(rollouts=10))
    assert either.rollout_cap() == 10
    both = MaxRollouts(10) & MaxIterations(2)
    assert both.reason(_view(iterations=2)) is None
    assert both.reason(_view(iterations=2, rollouts=10))
    assert isinstance(both, AllOf)


def test_the_engine_stops_on_iterations_cost_deadline_and_stagnation() -> None:
    for stop, check in (
        (MaxIterations(4), lambda e: e.iteration == 4),
        (MaxCost(0.03), lambda e: e.budget()["cost_usd"] >= 0.03),
        (MaxTokens(250), lambda e: e.budget()["tokens"] >= 250),
        (NoImprovement(3), lambda e: e.budget()["iterations_since_improvement"] >= 3),
        (MaxRollouts(500) | MaxIterations(2), lambda e: e.iteration == 2),
    ):
        engine, world = _engine(stop)
        _, result = run(engine, world)  # type: ignore[arg-type]
        assert isinstance(result, Finished), (stop, result)
        assert check(engine), (stop, engine.budget())


def test_deadline_uses_the_callers_clock() -> None:
    engine, _world = _engine(Deadline(at=50.0))
    assert not isinstance(engine.next_request(now=10.0), Finished)
    fresh, _ = _engine(Deadline(at=50.0))
    assert isinstance(fresh.next_request(now=50.0), Finished)


def test_cached_outcomes_cost_no_rollout() -> None:
    from gepa_engine import EvalResult, Evaluate

    engine, world = _engine(MaxRollouts(100))
    req = engine.next_request()
    assert isinstance(req, Evaluate)
    answer = world.evaluate(req)  # type: ignore[attr-defined]
    engine.complete(req.id, EvalResult(answer.outcomes, frozenset(req.example_ids)))
    assert engine.rollouts == 0 and engine.budget()["cached_rollouts"] == len(req.example_ids)


def test_a_stop_condition_replaced_between_steps_is_obeyed() -> None:
    # The daemon sets a fresh MaxRollouts for every run on a long-lived engine.
    world = keyword_world(4, 20, seed=3)
    engine = Engine.start({"general": "seed"}, seed=1)
    engine.add_examples([ExampleSpec(e) for e in sorted(world.needs)])
    engine.stop = MaxRollouts(8)
    while True:
        req = engine.next_request()
        if isinstance(req, (Idle, Finished)):
            break
        engine.complete(req.id, world.answer(req))
    assert engine.rollouts <= 8


def test_a_lower_length_budget_set_between_steps_applies_to_the_next_proposal() -> None:
    # The daemon lowers max_prompt_chars to what the user's assistants read whole.
    from gepa_engine import EngineConfig, Reflect, TextAnswer

    world = keyword_world(4, 20, seed=3)
    engine = Engine.start({COMPONENT: "seed"}, seed=1, stop=MaxRollouts(200))
    engine.add_examples([ExampleSpec(e) for e in sorted(world.needs)])
    engine.config = EngineConfig(max_prompt_chars=20, over_length="reject")
    rejected = 0
    for _ in range(400):
        req = engine.next_request()
        if isinstance(req, (Idle, Finished)):
            break
        if isinstance(req, Reflect):
            answer = TextAnswer("```\n" + "use something rather long here\n" * 3 + "```")
            events = engine.complete(req.id, answer)
            rejected += sum(1 for e in events if e.kind == "rejected")
        else:
            engine.complete(req.id, world.answer(req))
    assert rejected > 0
    assert all(len(c.components[COMPONENT]) <= 20 for c in engine.candidates.values())
