"""Unscored rollouts, at the level of the engine the daemon drives.

The daemon side (a judge that answers garbage: unscored, asked twice, the daemon stays up and
scoring resumes) is in test_learning_faults.py, which has a live daemon at hand. This file shows
what unscored rollouts do to the search afterwards: a seed whose validation pass went unscored
can still be replaced: an incumbent with no scored validation result has no evidence, and a
scored challenger wins.
"""

from __future__ import annotations

import pytest

from gepa_engine import (
    Engine,
    EvalOutcome,
    EvalResult,
    Evaluate,
    ExampleSpec,
    Finished,
    Idle,
    MaxRollouts,
    Reflect,
    TextAnswer,
)

pytestmark = pytest.mark.timeout(30)


def _drive(first_evaluations_unscored: int) -> Engine:
    """An engine whose judge is down for its first evaluations, then scores a prompt 1.0 when
    it states the rule (the reflection always adds it) and 0.0 otherwise."""
    engine = Engine.start({"general": "You are a coding assistant."}, seed=0)
    engine.add_examples([ExampleSpec(str(i)) for i in range(8)])
    engine.stop = MaxRollouts(200)
    evaluations = 0
    for _ in range(500):
        request = engine.next_request()
        if isinstance(request, (Idle, Finished)):
            break
        answer: EvalResult | TextAnswer
        if isinstance(request, Evaluate):
            evaluations += 1
            judged = evaluations > first_evaluations_unscored
            good = "snake_case" in request.components["general"]
            answer = EvalResult(
                tuple(
                    EvalOutcome(e, (1.0 if good else 0.0) if judged else None, "use snake_case")
                    for e in request.example_ids
                )
            )
        elif isinstance(request, Reflect):
            answer = TextAnswer(f"```\n{request.current_text}\nName things in snake_case.\n```")
        else:
            answer = TextAnswer(f"```\n{request.text_a}\n```")
        engine.complete(request.id, answer)
    return engine


def test_an_improvement_replaces_the_seed_when_the_judge_works() -> None:
    # The control for the test below: the same run with a working judge finds the better prompt.
    engine = _drive(first_evaluations_unscored=0)
    assert engine.best.id != "c0"
    assert "snake_case" in engine.best.components["general"]


def test_a_seed_whose_validation_went_unscored_can_still_be_replaced() -> None:
    engine = _drive(first_evaluations_unscored=1)  # the seed's first validation pass
    assert engine.budget()["unscored_rollouts"] > 0
    assert engine.best.id != "c0"
