"""The metric per feedback kind, in-process, against the simulated server over real HTTP.

`LlmClient` and `Metric` are the daemon's own; the models are the simulated server's, reached
through litellm. The sim judge is deterministic (it reads the user's words out of the judge
prompt), so the expected score of each rollout is recomputed from what the server received.
The judge sees the task (the user's request) besides the user's words, and grades regressions
when there is no complaint.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from gepad_learning_testing import SCENARIO_PATH, judge_prompts, scenario, seed_output

from gepad.learning import Metric, RolloutResult, unified_diff
from gepad.llm import LlmCallRecord, LlmClient, LlmSettings
from gepad.store import Example
from gepad_sim import Scenario, Task
from gepad_sim._live import LiveSimServer
from gepad_sim._server_roles import judge_new_output

pytestmark = pytest.mark.timeout(60)

SC = scenario()
RULES = {r.id: r for r in SC.rules}
TASKS = {t.id: t for t in SC.tasks}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSimServer]:
    sim = LiveSimServer(SCENARIO_PATH, 0, tmp_path_factory.mktemp("metric")).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sim(server: LiveSimServer, monkeypatch: pytest.MonkeyPatch) -> LiveSimServer:
    # litellm's openai/ path wants a key; the simulated server ignores it.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sim-not-a-secret")
    server.reset()
    return server


class DictCache:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.data.get(key)

    async def put(self, key: str, value: str) -> None:
        self.data[key] = value


def make_metric(
    sim: LiveSimServer, records: list[LlmCallRecord] | None = None, **settings: Any
) -> Metric:
    sink = [] if records is None else records

    async def record(call: LlmCallRecord) -> None:
        sink.append(call)

    llm_settings = LlmSettings(
        task_model="openai/sim-task",
        reflection_model="openai/sim-reflect",
        judge_model="openai/sim-judge",
        api_base=sim.api_base,
        timeout_s=10,
        max_retries=0,
        **settings,
    )
    return Metric(LlmClient(llm_settings, record, cache=DictCache()))


def example(kind: str, task: Task, **fields: Any) -> Example:
    values: dict[str, Any] = {
        "id": 1,
        "kind": kind,
        "component": "general",
        "workspace": None,
        "file": None,
        "language": "python",
        "context": task.input,
        "output": seed_output(task),
        "corrected": None,
        "comment": None,
        "outcome": None,
        "generation_id": None,
        "prompt_version": None,
        "split": "unassigned",
        "retired": False,
        "created_at": 0.0,
        "content_hash": "x",
    }
    values.update(fields)
    return Example(**values)


def stating(*rule_ids: str) -> str:
    """A prompt that states these rules (the sim task model follows stated rules)."""
    return "You are a coding assistant.\n" + "\n".join(RULES[r].statement for r in rule_ids)


def only_judge_prompt(sim: LiveSimServer) -> dict[str, str]:
    prompts = judge_prompts(sim)
    assert len(prompts) == 1, f"expected one judge request, got {len(prompts)}"
    return prompts[0]


def expected_judge_score(sc: Scenario, sections: dict[str, str]) -> float:
    rendered = "\n".join(f"## {k}\n{v}\n" for k, v in sections.items())
    return judge_new_output(sc.rules, rendered, sc.tasks).score


async def test_thumbs_down_judges_the_complaint_and_feeds_back_the_users_words(
    sim: LiveSimServer,
) -> None:
    task = TASKS["t01"]  # snake_case, type_hints
    comment = f"{RULES['snake_case'].feedback} {RULES['type_hints'].feedback}"
    ex = example("thumbs_down", task, comment=comment)
    metric = make_metric(sim)

    bad = await metric.rollout("You are a coding assistant.", ex)
    sections = only_judge_prompt(sim)
    assert sections["User's complaint"] == comment
    assert sections["Rejected output"] == ex.output
    assert sections["New output"] == bad.output == "followed: none; missed: snake_case, type_hints"
    assert bad.score == 0.0
    assert bad.input == task.input
    # The reflection LLM reads the user's own words, the rejected output and the reviewer.
    assert comment in bad.feedback
    assert ex.output in bad.feedback
    assert "Reviewer (fail):" in bad.feedback
    assert RULES["type_hints"].feedback in bad.feedback.split("Reviewer (fail):")[1]

    sim.reset()
    good = await metric.rollout(stating("snake_case", "type_hints"), ex)
    assert good.score is not None
    assert good.score == expected_judge_score(SC, only_judge_prompt(sim))
    assert good.score > bad.score


async def test_correction_shows_the_users_diff_and_mixes_similarity_with_the_verdict(
    sim: LiveSimServer,
) -> None:
    task = TASKS["t03"]  # snake_case, fstrings, logging
    original = "def syncReport(n):\n    print('%d files copied' % n)\n"
    corrected = "def sync_report(n):\n    log.info(f'{n} files copied')\n"
    comment = RULES["fstrings"].feedback
    ex = example("correction", task, output=original, corrected=corrected, comment=comment)

    result = await make_metric(sim).rollout(stating("fstrings"), ex)
    sections = only_judge_prompt(sim)
    diff = sections["User's correction"]
    assert diff == unified_diff(original, corrected)
    assert diff.startswith("--- assistant\n+++ user")
    assert "-    print('%d files copied' % n)" in diff
    assert "+    log.info(f'{n} files copied')" in diff
    assert sections["User's comment"] == comment
    assert sections["New output"] == result.output

    similarity = difflib.SequenceMatcher(None, result.output, corrected).ratio()
    verdict = expected_judge_score(SC, sections)
    assert result.score == pytest.approx(0.3 * similarity + 0.7 * verdict)
    assert diff in result.feedback
    assert f"Their comment: {comment}" in result.feedback
    assert f"Similarity of the new output to the user's version: {similarity:.2f}" in (
        result.feedback
    )


async def test_thumbs_up_is_a_regression_guard_with_no_complaint(sim: LiveSimServer) -> None:
    task = TASKS["t01"]  # snake_case, type_hints
    ex = example("thumbs_up", task, output=seed_output(task, followed=("snake_case", "type_hints")))
    metric = make_metric(sim)
    kept = await metric.rollout(stating("snake_case", "type_hints"), ex)
    sections = only_judge_prompt(sim)
    assert set(sections) == {"User's request", "Rubric", "Output the user liked", "New output"}
    assert sections["User's request"] == task.input
    assert sections["Output the user liked"] == ex.output
    assert "keeps everything that made the output the user liked good" in sections["Rubric"]
    assert kept.output == ex.output and kept.score == 1.0
    assert "accepted this earlier output" in kept.feedback
    assert ex.output in kept.feedback


async def test_a_thumbs_up_output_whose_quality_is_lost_scores_low(sim: LiveSimServer) -> None:
    # The regression guard must bite: a prompt that loses type_hints loses the liked quality.
    task = TASKS["t01"]
    ex = example("thumbs_up", task, output=seed_output(task, followed=("snake_case", "type_hints")))
    lost = await make_metric(sim).rollout(stating("snake_case"), ex)
    assert lost.output == "followed: snake_case; missed: type_hints"
    assert lost.score == 0.5
    assert "Reviewer (fail):" in lost.feedback
    assert RULES["type_hints"].feedback in lost.feedback.split("Reviewer (fail):")[1]
    sim.reset()
    gone = await make_metric(sim).rollout("You are a coding assistant.", ex)
    assert gone.score == 0.0


@pytest.mark.parametrize("fault", ["off_task", "empty"])
async def test_an_off_task_or_empty_output_that_avoids_the_complaint_scores_zero(
    sim: LiveSimServer, fault: str
) -> None:
    # t09 asks to rename loop variables; the complaint is about snake_case. An answer to another
    # task that follows every rule (or no answer at all) avoids the complaint, and must fail.
    task = TASKS["t09"]
    ex = example("thumbs_down", task, comment=RULES["snake_case"].feedback)
    sim.control(fault=fault, roles=["task"], count=1)
    result = await make_metric(sim).rollout(stating("snake_case"), ex)
    assert result.score == 0.0
    sections = only_judge_prompt(sim)
    assert sections["User's request"] == task.input
    assert sections["User's complaint"] == RULES["snake_case"].feedback
    assert "It answers the user's request" in sections["Rubric"]
    assert RULES["snake_case"].feedback in sections["Rubric"]
    if fault == "off_task":
        assert result.output == "followed: snake_case, type_hints; missed: none"
    else:
        assert result.output == ""
    assert "does not answer the user's request" in result.feedback
    # The same request answered on task scores 1.0: the zero is the task check's.
    sim.reset()
    assert (await make_metric(sim).rollout(stating("snake_case"), ex)).score == 1.0


async def test_comment_is_judged_on_the_users_comment(sim: LiveSimServer) -> None:
    task = TASKS["t04"]  # pytest_style, snake_case
    comment = RULES["pytest_style"].feedback
    ex = example("comment", task, comment=comment)
    metric = make_metric(sim)
    result = await metric.rollout("You are a coding assistant.", ex)
    sections = only_judge_prompt(sim)
    assert sections["User's comment"] == comment
    assert sections["Earlier output"] == ex.output
    assert result.score == 0.0  # pytest_style was complained about and not followed
    assert f"The user commented on an earlier output: {comment}" in result.feedback


@pytest.mark.parametrize(
    ("kind", "outcome", "message"),
    [
        (
            "test_result",
            {"test": "test_retry.py::test_env", "passed": False},
            "AssertionError: KeyboardInterrupt was swallowed. " + RULES["no_bare_except"].feedback,
        ),
        (
            "compile_result",
            {"tool": "mypy", "ok": False},
            "retry.py:3: error: Function is missing a return type annotation. "
            + RULES["type_hints"].feedback,
        ),
    ],
)
async def test_failed_test_or_compile_is_judged_on_the_failure_message(
    sim: LiveSimServer, kind: str, outcome: dict[str, Any], message: str
) -> None:
    task = TASKS["t06"]  # snake_case, type_hints, no_bare_except
    key = "message" if kind == "test_result" else "diagnostics"
    ex = example(kind, task, outcome=json.dumps({**outcome, key: message}))
    result = await make_metric(sim).rollout("You are a coding assistant.", ex)
    sections = only_judge_prompt(sim)
    assert sections["Failure message"] == message
    assert sections["Output that failed"] == ex.output
    assert result.score == 0.0
    assert message in result.feedback
    what = "test" if kind == "test_result" else "mypy"
    assert f"The user's {what} failed on an earlier output" in result.feedback


async def test_compile_diagnostics_given_as_a_list_reach_the_judge_one_per_line(
    sim: LiveSimServer,
) -> None:
    task = TASKS["t06"]
    diagnostics = [
        "retry.py:3: error: Function is missing a return type annotation",
        RULES["type_hints"].feedback,
        {"file": "retry.py", "line": 7, "message": "bare 'except:'"},
    ]
    outcome = {"tool": "mypy", "ok": False, "diagnostics": diagnostics}
    ex = example("compile_result", task, outcome=json.dumps(outcome))
    result = await make_metric(sim).rollout("You are a coding assistant.", ex)
    message = only_judge_prompt(sim)["Failure message"]
    assert message.splitlines() == [
        diagnostics[0],
        diagnostics[1],
        '{"file": "retry.py", "line": 7, "message": "bare \'except:\'"}',
    ]
    # The user's words came through intact, so the judge recognised the complaint.
    assert result.score == 0.0


async def test_passing_test_result_guards_against_regressions(sim: LiveSimServer) -> None:
    task = TASKS["t09"]
    outcome = {"test": "test_loop", "passed": True, "message": None}
    liked = seed_output(task, followed=("snake_case",))
    ex = example("test_result", task, outcome=json.dumps(outcome), output=liked)
    metric = make_metric(sim)
    result = await metric.rollout(stating("snake_case"), ex)
    assert set(only_judge_prompt(sim)) == {
        "User's request", "Rubric", "Output the user liked", "New output",
    }  # fmt: skip
    assert result.score == 1.0
    sim.reset()
    assert (await metric.rollout("You are a coding assistant.", ex)).score == 0.0


@pytest.mark.parametrize("fault", ["garbage", "truncated"])
async def test_a_malformed_verdict_is_asked_for_once_more_then_the_rollout_is_unscored(
    sim: LiveSimServer, fault: str
) -> None:
    task = TASKS["t01"]
    ex = example("thumbs_down", task, comment=RULES["snake_case"].feedback)
    records: list[LlmCallRecord] = []
    metric = make_metric(sim, records)
    sim.control(fault=fault, roles=["judge"])

    result = await metric.rollout("You are a coding assistant.", ex)
    assert isinstance(result, RolloutResult)
    assert result.score is None
    assert "could not grade" in result.feedback
    assert RULES["snake_case"].feedback in result.feedback
    stats = sim.stats()
    assert stats["by_role"]["judge"] == 2
    assert stats["by_role"]["task"] == 1
    assert stats["faults_injected"][fault] == 2
    judge_calls = [r for r in records if r.purpose == "judge"]
    assert [r.outcome for r in judge_calls] == ["ok", "ok"]  # HTTP worked; the text did not


async def test_one_malformed_verdict_is_recovered_by_the_retry(sim: LiveSimServer) -> None:
    task = TASKS["t01"]
    ex = example("thumbs_down", task, comment=RULES["snake_case"].feedback)
    sim.control(fault="garbage", roles=["judge"], count=1)
    result = await make_metric(sim).rollout("You are a coding assistant.", ex)
    assert result.score == 0.0
    assert "Reviewer (fail):" in result.feedback
    stats = sim.stats()
    assert stats["by_role"]["judge"] == 2
    assert stats["faults_injected"]["garbage"] == 1


async def test_a_repeated_rollout_is_answered_from_the_cache(sim: LiveSimServer) -> None:
    task = TASKS["t01"]
    ex = example("thumbs_down", task, comment=RULES["snake_case"].feedback)
    records: list[LlmCallRecord] = []
    metric = make_metric(sim, records)
    first = await metric.rollout(stating("snake_case"), ex)
    requests = sim.stats()["requests"]
    second = await metric.rollout(stating("snake_case"), ex)
    assert sim.stats()["requests"] == requests == 2
    assert second == first
    assert [(r.purpose, r.outcome) for r in records] == [
        ("task", "ok"),
        ("judge", "ok"),
        ("task", "cached"),
        ("judge", "cached"),
    ]
