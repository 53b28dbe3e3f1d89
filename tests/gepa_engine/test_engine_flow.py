"""The engine's protocol and its search: requests, gates, merge, budgets, provenance."""

from __future__ import annotations

import itertools

import pytest
from gepa_engine_world import COMPONENT, World, keyword_world, run, step

from gepa_engine import (
    Engine,
    EngineConfig,
    EngineError,
    EvalResult,
    Evaluate,
    ExampleSpec,
    Finished,
    Idle,
    MaxRollouts,
    Merge,
    ProtocolError,
    Reflect,
    TextAnswer,
)


def _engine(
    world: World,
    budget: int | None = 200,
    seed_text: str = "You are a coding assistant.",
    **cfg: object,
) -> Engine:
    config = EngineConfig(**cfg)  # type: ignore[arg-type]
    stop = MaxRollouts(budget) if budget is not None else None
    engine = Engine.start({COMPONENT: seed_text}, seed=1, config=config, stop=stop)
    ids = sorted(world.needs, key=lambda e: int(e[1:]))
    half = len(ids) // 2
    engine.add_examples([ExampleSpec(e, "train") for e in ids[:half]])
    engine.add_examples([ExampleSpec(e, "val") for e in ids[half:]])
    return engine


def test_idle_until_there_are_examples() -> None:
    engine = Engine.start({COMPONENT: "seed"})
    assert isinstance(engine.next_request(), Idle)
    engine.add_examples([ExampleSpec("a", "train")])
    req = engine.next_request()
    assert isinstance(req, Idle) and "validation" in req.reason


def test_the_first_request_scores_the_seed_on_validation() -> None:
    world = keyword_world(4, 12)
    engine = _engine(world)
    req = engine.next_request()
    assert isinstance(req, Evaluate) and req.purpose == "full" and req.candidate_id == "c0"
    assert engine.next_request() == req, "asking again returns the same outstanding request"


def test_answering_the_wrong_request_is_a_protocol_error() -> None:
    engine = _engine(keyword_world(4, 12))
    req = engine.next_request()
    assert isinstance(req, Evaluate)
    with pytest.raises(ProtocolError):
        engine.complete(req.id + 1, EvalResult(()))
    with pytest.raises(ProtocolError):
        engine.complete(req.id, TextAnswer("```\nx\n```"))


def test_search_learns_every_keyword_and_records_provenance() -> None:
    world = keyword_world(5, 16, seed=3)
    engine = _engine(world, budget=400)
    events, _stop = run(engine, world)
    best = engine.best
    assert all(f"use k{i}" in best.components[COMPONENT] for i in range(5)), best.components
    assert engine.mean_val(best.id) == 1.0
    kinds = {e.kind for e in events}
    assert {"accepted", "new_best", "frontier_changed", "proposed"} <= kinds
    # Provenance: every reflection child names its parent, iteration and the feedback examples.
    for c in engine.candidates.values():
        if c.origin == "reflection":
            assert len(c.parents) == 1 and c.parents[0] in engine.candidates
            assert c.feedback_examples and c.iteration >= 1
            assert c.changed_component == COMPONENT
            assert set(c.feedback_examples) <= set(engine.active_examples("train"))


def test_the_minibatch_gate_rejects_a_child_that_is_not_strictly_better() -> None:
    world = keyword_world(3, 12)
    world.reflect_answer = lambda req: "```\n" + req.current_text + "\nbe nice\n```"
    engine = _engine(world, budget=60)
    events, _ = run(engine, world)
    assert any(e.kind == "gated_out" for e in events)
    assert not any(e.kind == "accepted" for e in events)
    assert set(engine.candidates) == {"c0"}


def test_garbage_reflection_answers_are_rejected_not_raised() -> None:
    answers = iter(["", "I can't do that", "```\nunterminated", "```\n\n```", "\x00"] * 50)
    world = keyword_world(3, 12)
    world.reflect_answer = lambda req: next(answers)
    engine = _engine(world, budget=80, max_unusable_in_a_row=7)
    events, stop = run(engine, world)
    rejected = [e for e in events if e.kind == "rejected"]
    assert rejected and all(
        "unusable reflection answer" in str(e.detail["reason"]) for e in rejected
    )
    assert set(engine.candidates) == {"c0"}
    assert engine.budget()["reflection_calls"] == len(rejected) == 7
    # A broken model makes the engine idle instead of paying for answers forever.
    assert isinstance(stop, Idle) and "unusable" in stop.reason
    engine.add_examples([ExampleSpec("fresh", "train")])
    assert not isinstance(engine.next_request(), Idle), "new feedback is a reason to try again"


def test_skips_a_minibatch_the_parent_already_aces() -> None:
    world = World(needs={f"e{i}": () for i in range(10)})
    engine = _engine(world, budget=100)
    events, stop = run(engine, world)
    assert any(e.kind == "skipped_perfect" for e in events)
    assert world.calls["reflect"] == 0
    assert isinstance(stop, Idle), "a solved training set makes the engine idle, not spin"


def test_rollout_budget_is_never_exceeded() -> None:
    for budget in (1, 7, 23, 50):
        world = keyword_world(6, 20, seed=budget)
        engine = _engine(world, budget=budget)
        _, stop = run(engine, world)
        assert engine.rollouts <= budget
        assert world.calls["eval"] == engine.rollouts
        assert isinstance(stop, Finished)


def test_over_length_children_are_condensed_or_rejected() -> None:
    long_line = "use k0 " + "very " * 40
    world = keyword_world(3, 12)
    world.reflect_answer = lambda req: (
        "```\nuse k0\nuse k1\nuse k2\n```" if req.mode == "condense" else f"```\n{long_line}\n```"
    )
    engine = _engine(world, budget=60, max_prompt_chars=120, over_length="condense")
    events, _ = run(engine, world)
    assert any(isinstance(e.detail.get("parent"), str) for e in events if e.kind == "proposed")
    assert "very" not in engine.best.components[COMPONENT]
    assert len(engine.best.components[COMPONENT]) <= 120

    world2 = keyword_world(3, 12)
    world2.reflect_answer = lambda req: f"```\n{long_line}\n```"
    engine2 = _engine(world2, budget=60, max_prompt_chars=120, over_length="reject")
    events2, stop2 = run(engine2, world2)
    assert isinstance(stop2, Idle)
    reasons = [str(e.detail["reason"]) for e in events2 if e.kind == "rejected"]
    assert reasons and all("budget" in r for r in reasons)


def test_instance_specific_lines_are_stripped() -> None:
    world = keyword_world(3, 12)

    def answer(req: Reflect) -> str:
        quote = req.records[0].input
        note = f"When asked '{quote} please', care."
        return f"```\n{req.current_text}\nuse k0\nuse k1\nuse k2\n{note}\n```"

    world.reflect_answer = answer
    world.needs = {e: ("k0",) for e in world.needs}
    for e in world.needs:
        world.needs[e] = ("k0",)
    engine = _engine(world, budget=40, quote_guard_chars=10)
    events, _ = run(engine, world)
    dropped = [
        e for e in events if e.kind == "proposed" and "instance_specific_lines_dropped" in e.detail
    ]
    assert dropped
    assert "When asked" not in engine.best.components[COMPONENT]


DIVERGING_SEED = "use base"


def _diverging_world() -> World:
    """Only the seed ("use base") reflects usefully: each proposal replaces its text with one
    new keyword, so its children specialise on disjoint examples and the seed keeps winning
    its own: diverged lineages that a merge can combine. Run with seed_text=DIVERGING_SEED."""
    needs = {f"e{i}": (("base", "k0", "k0", "k1", "k1")[i % 5],) for i in range(30)}
    world = World(needs=needs)
    learned = itertools.cycle(["k0", "k1"])

    def reflect(req: Reflect) -> str:
        if req.candidate_id == "c0":
            return f"```\nuse {next(learned)}\n```"
        return f"```\n{req.current_text}\n```"

    world.reflect_answer = reflect
    return world


def test_single_component_merge_asks_the_llm_to_synthesise_both_parents() -> None:
    world = _diverging_world()
    engine = _engine(world, budget=600, seed_text=DIVERGING_SEED, max_merges=4)
    _events, _ = run(engine, world)
    merges = [c for c in engine.candidates.values() if c.origin == "merge"]
    assert world.calls["merge"] >= 1
    assert len(merges) == 1, "the merge child passed its gate"
    a, b = merges[0].parents
    assert a not in _ancestors(engine, b) and b not in _ancestors(engine, a), "lineages diverged"
    assert engine.best.id == merges[0].id
    assert set(engine.best.components[COMPONENT].splitlines()) == {"use k0", "use k1"}
    assert engine.budget()["merge_calls"] <= 4


def _ancestors(engine: Engine, cid: str) -> set[str]:
    seen: set[str] = set()
    stack = [cid]
    while stack:
        c = stack.pop()
        if c not in seen:
            seen.add(c)
            stack.extend(engine.candidates[c].parents)
    return seen


def test_multi_component_merge_is_a_module_wise_crossover_without_llm() -> None:
    needs = {f"e{i}": (("base", "k0", "k0", "k1", "k1")[i % 5],) for i in range(30)}
    world = World(needs=needs)

    def answer(req: Reflect) -> str:
        # Only the seed learns: rewriting "a" trades base for k0, rewriting "b" learns k1.
        if req.candidate_id != "c0":
            return f"```\n{req.current_text}\n```"
        return "```\nuse k0\n```" if req.component == "a" else "```\nuse k1\n```"

    engine = Engine.start({"a": "use base", "b": "seed b"}, seed=5, stop=MaxRollouts(400))
    ids = sorted(needs, key=lambda e: int(e[1:]))
    engine.add_examples([ExampleSpec(e, "train") for e in ids[:15]])
    engine.add_examples([ExampleSpec(e, "val") for e in ids[15:]])
    for _ in range(2000):
        req = engine.next_request()
        if isinstance(req, (Idle, Finished)):
            break
        if isinstance(req, Evaluate):
            joined = "\n".join(req.components.values())
            single = Evaluate(
                req.id, req.candidate_id, {COMPONENT: joined}, req.example_ids, True, "full"
            )
            engine.complete(req.id, world.evaluate(single))
        elif isinstance(req, Reflect):
            engine.complete(req.id, TextAnswer(answer(req)))
        else:
            raise AssertionError(f"a module-wise merge needs no LLM, got {req}")
    crossovers = [c for c in engine.candidates.values() if c.origin == "crossover"]
    assert len(crossovers) == 1
    # The crossover wins; the restored "seed b" line is then pruned away by its effect.
    assert crossovers[0].id in _ancestors(engine, engine.best.id)
    assert engine.best.components == {"a": "use k0", "b": "use k1"}


def test_garbage_merge_answers_are_rejected() -> None:
    world = _diverging_world()
    world.merge_answer = lambda req: "sorry, here you go: ```\n"
    engine = _engine(world, budget=600, seed_text=DIVERGING_SEED, max_merges=3)
    events, _ = run(engine, world)
    assert world.calls["merge"] >= 1
    reasons = [str(e.detail.get("reason")) for e in events if e.kind == "rejected"]
    assert any("unusable merge answer" in r for r in reasons)
    assert not [c for c in engine.candidates.values() if c.origin == "merge"]


def test_selection_modes() -> None:
    for mode in ("pareto", "current_best", "epsilon_greedy"):
        world = keyword_world(4, 16, seed=9)
        engine = _engine(world, budget=300, selection=mode)
        run(engine, world)
        assert engine.mean_val(engine.best.id) == 1.0, mode


def test_bad_config_names_the_problem() -> None:
    with pytest.raises(EngineError, match="minibatch_size"):
        EngineConfig(minibatch_size=0)
    with pytest.raises(EngineError, match="selection"):
        EngineConfig(selection="random")  # type: ignore[arg-type]


def test_merge_requests_carry_the_common_ancestor() -> None:
    world = _diverging_world()
    seen: list[Merge] = []

    def merge(req: Merge) -> str:
        seen.append(req)
        return "```\n" + req.text_a + "\n" + req.text_b + "\n```"

    world.merge_answer = merge
    engine = _engine(world, budget=600, seed_text=DIVERGING_SEED, max_merges=2)
    run(engine, world)
    assert seen
    for req in seen:
        assert req.ancestor_text and req.text_a != req.text_b
        assert req.ancestor_text in req.prompt


def test_step_helper_reports_events() -> None:
    world = keyword_world(3, 8)
    engine = _engine(world)
    out = step(engine, world)
    assert isinstance(out, list)


def test_a_rule_only_training_examples_need_survives_the_shorter_prompt_rule() -> None:
    # In this world "use k1" is needed by training examples only (e4, e6, e7), so validation
    # is aced with or without it. At a tied validation mean the training results both
    # candidates have must decide before the length does, or the best drops k1 for brevity.
    world = keyword_world(5, 16, seed=3)
    engine = _engine(world, budget=400, minibatch_size=4)
    assert all(engine.split_of(e) == "train" for e in world.needs if "k1" in world.needs[e])
    run(engine, world)
    assert "use k1" in engine.best.components[COMPONENT], engine.best.components
