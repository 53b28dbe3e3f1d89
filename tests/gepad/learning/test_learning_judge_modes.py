"""Judge modes and calibration, in-process, against the simulated server over real HTTP.

The daemon's own `Metric`, `Judge` and `Calibrator` (with a real store) talk to the simulated
judge through litellm; its biases are switched on with `POST /control`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gepad_learning_testing import SCENARIO_PATH, judge_prompts, scenario, seed_output

from gepad.learning import JudgeSettings, Metric, cohen_kappa
from gepad.learning._calibration import Calibrator
from gepad.llm import LlmCallRecord, LlmClient, LlmSettings
from gepad.store import Example, NewExample, Store
from gepad_sim._live import LiveSimServer

pytestmark = pytest.mark.timeout(90)

SC = scenario()
RULES = {r.id: r for r in SC.rules}
TASKS = {t.id: t for t in SC.tasks}
NO_BIAS = {"error_prob": 0.0, "position_bias": 0.0, "length_bias": 0.0}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSimServer]:
    sim = LiveSimServer(SCENARIO_PATH, 0, tmp_path_factory.mktemp("judge")).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim(server: LiveSimServer, monkeypatch: pytest.MonkeyPatch) -> LiveSimServer:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sim-not-a-secret")
    server.reset()
    server.control(judge=NO_BIAS)
    return server


def make_metric(
    sim: LiveSimServer, records: list[LlmCallRecord] | None = None, **judge: Any
) -> Metric:
    sink = [] if records is None else records

    async def record(call: LlmCallRecord) -> None:
        sink.append(call)

    settings = LlmSettings(
        task_model="openai/sim-task",
        reflection_model="openai/sim-reflect",
        judge_model="openai/sim-judge",
        api_base=sim.api_base,
        timeout_s=10,
        max_retries=0,
        cache="never",
    )
    return Metric(LlmClient(settings, record), judge=JudgeSettings(**judge))


def example(kind: str, task_id: str, **fields: Any) -> Example:
    task = TASKS[task_id]
    values: dict[str, Any] = {
        "id": 1, "kind": kind, "component": "general", "workspace": None, "file": None,
        "language": "python", "context": task.input, "output": seed_output(task),
        "corrected": None, "comment": None, "outcome": None, "generation_id": None,
        "prompt_version": None, "split": "unassigned", "retired": False, "created_at": 0.0,
        "content_hash": "x",
    }  # fmt: skip
    values.update(fields)
    return Example(**values)


def stating(*rule_ids: str) -> str:
    return "You are a coding assistant.\n" + "\n".join(RULES[r].statement for r in rule_ids)


def complaint(task_id: str) -> str:
    return " ".join(RULES[r].feedback for r in TASKS[task_id].rules)


async def test_pairwise_asks_both_orders_and_a_fix_wins(sim: LiveSimServer) -> None:
    ex = example("thumbs_down", "t01", comment=complaint("t01"))
    metric = make_metric(sim, mode="pairwise")
    won = await metric.rollout(stating("snake_case", "type_hints"), ex)
    prompts = judge_prompts(sim)
    assert len(prompts) == 2
    first, second = prompts
    assert first["Answer A"] == won.output and first["Answer B"] == ex.output
    assert second["Answer A"] == ex.output and second["Answer B"] == won.output
    assert first["User's request"] == TASKS["t01"].input
    assert "Rejected output" not in first  # the rejected output is one of the answers
    assert won.score == 1.0 and "Reviewer (win)" in won.feedback
    sim.reset()
    same = await metric.rollout("You are a coding assistant.", ex)
    assert same.output == ex.output and same.score == 0.0


async def test_pairwise_order_disagreement_is_a_tie_never_a_win(sim: LiveSimServer) -> None:
    # A judge that always prefers the first answer: the two orders disagree on every pair.
    sim.control(judge={**NO_BIAS, "position_bias": 1.0})
    ex = example("thumbs_down", "t01", comment=complaint("t01"))
    metric = make_metric(sim, mode="pairwise")
    fixed = await metric.rollout(stating("snake_case", "type_hints"), ex)
    assert fixed.score == 0.5 and "Reviewer (tie)" in fixed.feedback
    broken = await metric.rollout("You are a coding assistant.", ex)
    assert broken.score == 0.5  # never a win, whatever the order says
    # A single verdict has no second answer to be fooled by position.
    single = await make_metric(sim).rollout("You are a coding assistant.", ex)
    assert single.score == 0.0


async def test_pairwise_against_a_liked_output_fails_only_a_regression(sim: LiveSimServer) -> None:
    liked = seed_output(TASKS["t01"], followed=("snake_case", "type_hints"))
    ex = example("thumbs_up", "t01", output=liked)
    metric = make_metric(sim, mode="pairwise")
    assert (await metric.rollout(stating("snake_case", "type_hints"), ex)).score == 1.0
    assert (await metric.rollout(stating("snake_case"), ex)).score == 0.0


async def test_repeat_votes_k_times_at_temperature_and_counts_its_cost(sim: LiveSimServer) -> None:
    ex = example("thumbs_down", "t01", comment=complaint("t01"))
    metric = make_metric(sim, mode="repeat", repeats=3, temperature=0.7)
    result = await metric.rollout(stating("snake_case", "type_hints"), ex)
    assert result.score == 1.0
    judged = [e for e in sim.received(limit=100)["requests"] if e["model"].endswith("sim-judge")]
    assert len(judged) == 3
    assert all(json.loads(e["body"])["temperature"] == 0.7 for e in judged)
    cost = metric.judge.cost()["repeat"]
    assert cost["gradings"] == 1 and cost["calls_per_rollout"] == 3
    assert cost["tokens_per_rollout"] > 0


async def test_repeat_majority_outvotes_a_noisy_judge(sim: LiveSimServer) -> None:
    # Each vote errs with probability 0.3; at temperature > 0 each is a fresh draw.
    sim.control(judge={**NO_BIAS, "error_prob": 0.3})
    exs = [
        example("thumbs_down", t, comment=complaint(t), id=i)
        for i, t in enumerate(sorted(TASKS), 1)
        if TASKS[t].rules
    ]
    single, repeat = make_metric(sim), make_metric(sim, mode="repeat", repeats=5)
    wrong = {"single": 0, "repeat": 0}
    for _ in range(2):
        for ex in exs:
            # The seed prompt states nothing: the truth is a fail (0.0) on every example.
            wrong["single"] += (await single.rollout("Be brief.", ex)).score != 0.0
            wrong["repeat"] += (await repeat.rollout("Be brief.", ex)).score != 0.0
    assert wrong["repeat"] < wrong["single"]
    assert single.judge.cost()["single"]["calls_per_rollout"] == 1


def test_cohen_kappa() -> None:
    assert cohen_kappa([]) is None
    assert cohen_kappa([(True, True), (False, False)]) == 1.0
    assert cohen_kappa([(True, False), (False, True)]) == -1.0
    assert cohen_kappa([(True, True)] * 4) is None  # chance agreement is 1
    # 8 of 10 agree, each rater says yes half the time: (0.8 - 0.5) / 0.5
    pairs = [(True, True)] * 4 + [(False, False)] * 4 + [(True, False), (False, True)]
    assert cohen_kappa(pairs) == pytest.approx(0.6)


async def labelled_store(path: Path, n: int) -> Store:
    store = await Store.open(path)
    for task_id in sorted(TASKS)[:n]:
        task = TASKS[task_id]
        if not task.rules:
            continue
        liked = seed_output(task, followed=task.rules)
        await store.add_example(NewExample(kind="thumbs_up", context=task.input, output=liked))
        await store.add_example(
            NewExample(
                kind="thumbs_down", context=task.input, output=seed_output(task),
                comment=complaint(task_id),
            )
        )  # fmt: skip
    # Never judged: a test result (the user's tools decide) and a comment-less thumbs-down.
    await store.add_example(
        NewExample(kind="test_result", context="x", output="y", outcome={"passed": True})
    )
    await store.add_example(NewExample(kind="thumbs_down", context="x", output="z"))
    return store


async def test_calibration_measures_the_judge_against_the_users_labels(
    sim: LiveSimServer, tmp_path: Path
) -> None:
    store = await labelled_store(tmp_path / "g.db", 6)
    try:
        metric = make_metric(sim)
        cal = Calibrator(store, metric, judge_model="openai/sim-judge", per_run=4, threshold=0.4)
        await cal.load()
        assert await cal.run() == 4  # a few per run, within the budget
        assert cal.summary()["labels"] == 4 and cal.summary()["trusted"] is None
        while await cal.run():
            pass
        summary = cal.summary()
        assert summary["labels"] == 12 and summary["thumbs_up"] == summary["thumbs_down"] == 6
        assert summary["agreement"] == 1.0 and summary["kappa"] == 1.0
        assert summary["trusted"] is True and summary["message"] is None
        prompts = judge_prompts(sim)
        assert len(prompts) == 12
        assert all("User's request" in p and "New output" in p for p in prompts)
        # Persisted: a restarted daemon keeps the measure without judging again.
        again = Calibrator(store, metric, judge_model="openai/sim-judge", per_run=4, threshold=0.4)
        await again.load()
        assert again.summary()["kappa"] == 1.0 and await again.run() == 0
    finally:
        await store.close()


async def test_calibration_flags_a_judge_that_disagrees_with_the_user(
    sim: LiveSimServer, tmp_path: Path
) -> None:
    sim.control(judge={**NO_BIAS, "error_prob": 0.6})
    store = await labelled_store(tmp_path / "g.db", 10)
    try:
        cal = Calibrator(
            store, make_metric(sim), judge_model="openai/sim-judge", per_run=100, threshold=0.4
        )
        await cal.run()
        summary = cal.summary()
        assert summary["labels"] >= 12
        assert summary["kappa"] is not None and summary["kappa"] < 0.4
        assert summary["trusted"] is False
        assert "not to be trusted" in summary["message"]
        assert "stronger or different model" in summary["message"]
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('judge_mode = "best-of"', "judge_mode"),
        ("judge_repeats = 0", "judge_repeats"),
        ("judge_temperature = 0", "judge_temperature"),
        ("judge_calibration_per_run = -1", "judge_calibration_per_run"),
        ("judge_kappa_threshold = 2", "judge_kappa_threshold"),
    ],
)
def test_judge_config_keys_are_validated(tmp_path: Path, line: str, key: str) -> None:
    from gepad.config import load_config
    from gepad.errors import ConfigError
    from gepad.paths import resolve_paths

    paths = resolve_paths({"GEPAD_HOME": str(tmp_path)})
    paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    paths.config_file.write_text(line + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(paths, {})
    assert f"'{key}'" in str(err.value) and str(paths.config_file) in str(err.value)
    paths.config_file.write_text("judge_repeats = 5\n")
    good = load_config(paths, {"GEPAD_JUDGE_MODE": "repeat"})
    assert (good.judge_mode, good.judge_repeats, good.judge_kappa_threshold) == ("repeat", 5, 0.4)
