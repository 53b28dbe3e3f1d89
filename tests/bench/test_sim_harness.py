"""The harness, the optimizer registry and the reference adapter."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gepad_sim import (
    TEST_REPEATS,
    OptimizerUnavailableError,
    RunContext,
    RunResult,
    Scenario,
    ScenarioError,
    SimError,
    format_table,
    load_scenario,
    loads_scenario,
    overhead_scores,
    reference_overhead_ms,
    resolve_optimizer,
    rollouts_to_threshold,
    run_named,
    run_optimizer,
    split_tasks,
    summarise,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "bench" / "scenarios"


def small_scenario(comply_noise: float = 0.0, n_tasks: int = 10) -> Scenario:
    tasks = "\n".join(
        f'[[tasks]]\nid = "t{i:02d}"\ninput = "Task number {i}."\n'
        f"rules = {['a'] if i % 2 else ['a', 'b']!r}".replace("'", '"')
        for i in range(n_tasks)
    )
    return loads_scenario(
        f"""
name = "small"
seed_prompt = "You help."
[sim]
comply_noise = {comply_noise}
[[rules]]
id = "a"
statement = "Always alpha."
triggers = ["alpha"]
feedback = "Where is alpha?"
[[rules]]
id = "b"
statement = "Always beta."
triggers = ["beta"]
feedback = "Where is beta?"
{tasks}
""",
        "small.toml",
    )


def test_context_holds_train_and_val_but_never_test() -> None:
    sc = small_scenario()
    split = split_tasks(sc.tasks, 3)
    seen: dict[str, object] = {}

    def spy(ctx: RunContext) -> str:
        seen["ctx"] = ctx
        return ctx.scenario.seed_prompt

    run_optimizer(sc, spy, name="spy", seed=3, budget=10)
    ctx = seen["ctx"]
    assert isinstance(ctx, RunContext)
    assert ctx.train == split.train and ctx.val == split.val
    assert ctx.scenario.tasks == split.train + split.val
    assert not hasattr(ctx, "test")
    test_ids = {t.id for t in split.test}
    reachable = {t.id for t in ctx.train + ctx.val + ctx.scenario.tasks}
    assert test_ids and not test_ids & reachable
    assert (ctx.budget, ctx.seed) == (10, 3)


def test_report_best_builds_the_curve_and_rollouts_to_90() -> None:
    sc = small_scenario(comply_noise=0.0)

    def stepper(ctx: RunContext) -> str:
        ctx.lms.run_tasks("You help.", ctx.val)
        ctx.report_best("You help.", 0.5)
        ctx.lms.run_tasks("alpha", ctx.val)
        ctx.report_best("alpha", 0.85)
        ctx.lms.run_tasks("alpha\nbeta", ctx.val)
        ctx.report_best("alpha\nbeta", 0.95)
        assert ctx.best_prompt == "alpha\nbeta" and ctx.best_val == 0.95
        assert ctx.rollouts_left == ctx.budget - 9
        return "alpha\nbeta"

    result = run_optimizer(sc, stepper, name="stepper", seed=0, budget=100)
    assert result.curve == ((3, 0.5), (6, 0.85), (9, 0.95))
    # attainable = 1 - 0 = 1.0, so the mark is 0.9: reached at the third point.
    assert result.rollouts_to_90 == 9
    assert result.rollouts_used == 9, "the held-out evaluations are not counted"
    assert result.test_score == 1.0, "every rule stated and no noise: a perfect test score"
    assert result.final_prompt == "alpha\nbeta"


def test_rollouts_to_90_uses_attainable_and_is_null_when_never_reached() -> None:
    assert rollouts_to_threshold(((10, 0.5), (20, 0.855), (30, 0.9)), 0.9 * 0.95) == 20
    assert rollouts_to_threshold(((10, 0.5), (20, 0.85)), 0.855) is None
    assert rollouts_to_threshold((), 0.5) is None


def test_test_score_averages_five_passes_over_the_test_split() -> None:
    sc = small_scenario(comply_noise=0.5, n_tasks=20)
    split = split_tasks(sc.tasks, 1)
    a = run_optimizer(sc, lambda ctx: "alpha\nbeta", name="fixed", seed=1, budget=0)
    # Replay: five passes of the test split, one draw per stated rule.
    import random

    rng = random.Random(1)
    total = 0.0
    for _ in range(TEST_REPEATS):
        for t in split.test:
            total += sum(1 for _ in t.rules if rng.random() >= 0.5) / len(t.rules)
    assert a.test_score == pytest.approx(total / (TEST_REPEATS * len(split.test)))
    assert a.rollouts_used == 0 and a.curve == () and a.rollouts_to_90 is None


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True])
def test_report_best_rejects_bad_values(bad: object) -> None:
    def bad_reporter(ctx: RunContext) -> str:
        ctx.report_best("x", bad)  # type: ignore[arg-type]
        return "x"

    with pytest.raises(SimError, match="val_mean"):
        run_optimizer(small_scenario(), bad_reporter, name="bad", seed=0, budget=5)


def test_optimizer_must_return_a_string() -> None:
    with pytest.raises(SimError, match="returned NoneType"):
        run_optimizer(small_scenario(), lambda ctx: None, name="none", seed=0, budget=5)  # type: ignore[arg-type,return-value]


def test_too_few_tasks_is_a_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="at least 4"):
        run_optimizer(small_scenario(n_tasks=3), lambda ctx: "x", name="x", seed=0, budget=5)


def test_seed_optimizer_scores_the_seed_once_on_val() -> None:
    sc = small_scenario()
    result = run_named(sc, "seed", seed=2, budget=600)
    n_val = len(split_tasks(sc.tasks, 2).val)
    assert result.rollouts_used == n_val
    assert result.curve == ((n_val, 0.0),)
    assert result.final_prompt == "You help."
    assert result.test_score == 0.0


def test_unknown_optimizer() -> None:
    with pytest.raises(OptimizerUnavailableError, match="unknown optimizer 'gepa'"):
        resolve_optimizer("gepa")


@pytest.mark.parametrize("name", ["gepad", "greedy"])
def test_engine_optimizers_fail_clearly_without_the_driver(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry makes `import gepad_sim.engine_driver` fail as if the file did not exist.
    monkeypatch.setitem(sys.modules, "gepad_sim.engine_driver", None)
    with pytest.raises(OptimizerUnavailableError, match=r"engine_driver\.py"):
        resolve_optimizer(name)


# -- the reference ------------------------------------------------------------------------------


def test_reference_runs_quietly_writes_nothing_and_is_reproducible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = load_scenario(SCENARIOS / "python-style.toml")
    monkeypatch.chdir(tmp_path)
    first = run_named(sc, "reference", seed=1, budget=200)
    second = run_named(sc, "reference", seed=1, budget=200)
    captured = capsys.readouterr()
    assert captured.out == "", "gepa must not print to stdout"
    assert os.listdir(tmp_path) == [], "gepa must not write files"
    assert first.to_json() == second.to_json()

    assert isinstance(first, RunResult)
    assert first.reflection_calls > 0, "propose_new_texts goes through the simulated reflection LM"
    n_val = len(split_tasks(sc.tasks, 1).val)
    assert first.curve[0][0] == n_val, "the first report is the seed's full validation pass"
    rollouts = [r for r, _ in first.curve]
    vals = [v for _, v in first.curve]
    assert rollouts == sorted(rollouts) and vals == sorted(set(vals)), "strictly improving bests"
    assert 200 <= first.rollouts_used < 200 + 3 + 3 + n_val, "gepa stops at the iteration edge"
    assert first.curve[-1][1] > first.curve[0][1]
    assert 0.0 <= first.test_score <= 1.0


def test_reference_beats_the_seed_prompt_on_a_shipped_scenario() -> None:
    sc = load_scenario(SCENARIOS / "cuda-kernels.toml")
    seed_score = run_named(sc, "seed", seed=0, budget=300).test_score
    ref_score = run_named(sc, "reference", seed=0, budget=300).test_score
    assert ref_score > seed_score + 0.3


# -- reporting ----------------------------------------------------------------------------------


def test_summary_medians_count_never_as_budget_plus_one() -> None:
    def result(seed: int, score: float, r90: int | None) -> RunResult:
        return RunResult("s", "opt", seed, 100, 100, score, r90, (), "", 0, 0, 0.0)

    rows = summarise([result(2, 0.9, None), result(0, 0.5, 40), result(1, 0.7, None)])
    assert len(rows) == 1
    row = rows[0]
    assert row.seeds == (0, 1, 2)
    assert row.median_test == 0.7
    assert row.median_r90 == 101
    table = format_table(rows)
    assert "0.700" in table and "101" in table and "40 never never" in table


# -- engine overhead, reference half --------------------------------------------------------------


def test_reference_overhead_times_gepa_on_a_small_state() -> None:
    timings = reference_overhead_ms(n_candidates=5, n_examples=30, repeats=3, seed=0)
    assert len(timings) == 3 and all(t > 0 for t in timings)
    scores = overhead_scores(5, 30, seed=0)
    assert len(scores) == 6 and all(len(row) == 30 for row in scores)
    assert {s for row in scores for s in row} <= {0.0, 0.25, 0.5, 0.75, 1.0}
    assert overhead_scores(5, 30, seed=0) == scores
