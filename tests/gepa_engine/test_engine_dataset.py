"""A dataset that grows and shrinks: split policy, backfill, common-coverage comparison."""

from __future__ import annotations

from gepa_engine_world import COMPONENT, World, keyword_world, run

from gepa_engine import Engine, EngineConfig, Evaluate, ExampleSpec, MaxRollouts


def test_split_policy_keeps_the_validation_share_and_a_holdout() -> None:
    engine = Engine.start(
        {COMPONENT: "seed"}, config=EngineConfig(val_fraction=0.4, holdout_fraction=0.34)
    )
    engine.add_examples([ExampleSpec(f"e{i}") for i in range(30)])
    train = engine.active_examples("train")
    val = engine.active_examples("val")
    hold = engine.active_examples("holdout")
    assert len(train) + len(val) + len(hold) == 30
    assert len(val) + len(hold) == 12
    assert len(hold) == 4
    assert engine.active_examples("train")[0] == "e0", "the first example trains"


def test_new_validation_examples_are_backfilled_for_the_frontier_within_budget() -> None:
    world = keyword_world(4, 40, seed=2)
    engine = Engine.start(
        {COMPONENT: "seed"},
        seed=3,
        config=EngineConfig(backfill_per_step=5),
        stop=MaxRollouts(2000),
    )
    ids = sorted(world.needs, key=lambda e: int(e[1:]))
    engine.add_examples([ExampleSpec(e, "train") for e in ids[:10]])
    engine.add_examples([ExampleSpec(e, "val") for e in ids[10:20]])
    run(engine, world)
    best = engine.best.id
    new = ids[20:]
    engine.add_examples([ExampleSpec(e, "val") for e in new])
    backfills: list[Evaluate] = []
    while True:
        req = engine.next_request()
        if not isinstance(req, Evaluate) or req.purpose != "backfill":
            break
        assert len(req.example_ids) <= 5, "the per-step backfill budget is respected"
        backfills.append(req)
        engine.complete(req.id, world.evaluate(req))
        # Between backfill chunks the engine may iterate; drain it until it backfills again.
        for _ in range(50):
            nxt = engine.next_request()
            if isinstance(nxt, Evaluate) and nxt.purpose == "backfill":
                break
            if not hasattr(nxt, "id"):
                break
            engine.complete(nxt.id, world.answer(nxt))  # type: ignore[union-attr,arg-type]
    assert backfills and backfills[0].candidate_id == best
    covered = set(engine.val_scores(best))
    assert {e for e in new if engine.active_examples("val", "holdout").count(e)} <= covered


def test_candidates_are_compared_only_on_common_examples() -> None:
    engine = Engine.start({COMPONENT: "seed"}, config=EngineConfig(holdout_fraction=0.0))
    engine.add_examples(
        [ExampleSpec("t", "train")] + [ExampleSpec(f"v{i}", "val") for i in range(300)]
    )
    req = engine.next_request()
    assert isinstance(req, Evaluate)
    # The seed scores 0.5 on 300 examples...
    from gepa_engine import EvalOutcome, EvalResult

    engine.complete(req.id, EvalResult(tuple(EvalOutcome(e, 0.5) for e in req.example_ids)))
    other = engine.add_seed_candidate({COMPONENT: "edit"})
    req = engine.next_request()
    assert isinstance(req, Evaluate) and req.candidate_id == other
    # ...the user's edit answers only 3 of them (the rest come back unscored), scoring 1.0.
    outcomes = [EvalOutcome(e, 1.0 if i < 3 else None) for i, e in enumerate(req.example_ids)]
    engine.complete(req.id, EvalResult(tuple(outcomes)))
    mean_a, mean_b, n = engine.compare(other, "c0")
    assert n == 3 and (mean_a, mean_b) == (1.0, 0.5)
    assert engine.mean_val(other) == 1.0 and engine.mean_val("c0") == 0.5


def test_retired_examples_stop_counting() -> None:
    world = World(needs={"t0": ("k0",), "v0": ("k0",), "v1": ()})
    engine = Engine.start({COMPONENT: "seed"}, config=EngineConfig(holdout_fraction=0.0))
    engine.add_examples(
        [ExampleSpec("t0", "train"), ExampleSpec("v0", "val"), ExampleSpec("v1", "val")]
    )
    req = engine.next_request()
    engine.complete(req.id, world.answer(req))  # type: ignore[union-attr,arg-type]
    assert engine.mean_val("c0") == 0.5
    events = engine.retire_examples(["v0"])
    assert events[0].kind == "examples_retired"
    assert engine.mean_val("c0") == 1.0
    assert "v0" not in engine.active_examples("val")
    assert engine.front("v0") == frozenset()
    engine.add_examples([ExampleSpec("v0")])  # coming back restores its scores
    assert engine.mean_val("c0") == 0.5


def test_a_user_edit_enters_as_a_seed_and_can_become_best() -> None:
    world = keyword_world(3, 12, seed=1)
    engine = Engine.start(
        {COMPONENT: "seed"}, stop=MaxRollouts(30), config=EngineConfig(use_merge=False)
    )
    ids = sorted(world.needs, key=lambda e: int(e[1:]))
    engine.add_examples(
        [ExampleSpec(e, "train") for e in ids[:6]] + [ExampleSpec(e, "val") for e in ids[6:]]
    )
    edit = engine.add_seed_candidate({COMPONENT: "use k0\nuse k1\nuse k2"})
    assert engine.candidates[edit].origin == "user-edit"
    run(engine, world)
    assert engine.best.id == edit


def test_unscored_results_are_asked_again_only_when_the_caller_says_so() -> None:
    from gepa_engine import EvalOutcome, EvalResult

    engine = Engine.start({COMPONENT: "seed"}, config=EngineConfig(holdout_fraction=0.0))
    engine.add_examples(
        [ExampleSpec("t", "train")] + [ExampleSpec(f"v{i}", "val") for i in range(4)]
    )
    req = engine.next_request()
    assert isinstance(req, Evaluate)
    engine.complete(req.id, EvalResult(tuple(EvalOutcome(e, None) for e in req.example_ids)))
    assert engine.budget()["unscored_rollouts"] == 4
    nxt = engine.next_request()
    assert not (isinstance(nxt, Evaluate) and nxt.purpose in ("full", "backfill")), "no re-ask"
    assert engine.retry_unscored() == 4
    restored = Engine.from_json(engine.to_json(), config=EngineConfig(holdout_fraction=0.0))
    assert restored.retry_unscored() == 0, "the marks were cleared in the state too"
