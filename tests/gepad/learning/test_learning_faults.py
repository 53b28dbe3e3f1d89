"""Every fault mode of the simulated server, against one live daemon: the daemon stays up and
keeps serving, the failures are recorded, and the optimizer recovers once the fault clears.

One daemon serves all the fault tests (starting one costs seconds: litellm's import); each test
begins by checking the optimizer is healthy and feeds fresh examples so its run has work to do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gepad_learning_testing import (
    Stack,
    db_rows,
    engine_state,
    feed_thumbs_down,
    live_stack,
    llm_outcomes,
    run_optimizer,
    scenario,
    wait_until,
)

pytestmark = pytest.mark.timeout(60)

SC = scenario()
RUN_BUDGET = 8
CONFIG: dict[str, Any] = {
    "llm_timeout_s": 1.0,
    "llm_max_retries": 1,
    "llm_backoff_base_s": 0.05,
    "llm_backoff_max_s": 0.1,
    "llm_breaker_threshold": 3,
    "llm_breaker_cooldown_s": 0.5,
    # Larger than RUN_BUDGET: a retried run must keep the budget it was started with.
    "optimize_run_rollouts": 40,
    # These tests count the judge calls of rollouts; calibration re-judges (tested on its own
    # in test_learning_judge_status.py) would add to them.
    "judge_calibration_per_run": 0,
}


class FaultStack:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._next_task = 0

    def fresh_tasks(self, n: int = 3) -> list[Any]:
        tasks = list(SC.tasks[self._next_task : self._next_task + n])
        assert len(tasks) == n, "the scenario has run out of fresh tasks"
        self._next_task += n
        return tasks


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    with live_stack(tmp_path_factory.mktemp("faults"), **CONFIG) as stack:
        yield FaultStack(stack)


async def healthy_start(fs: FaultStack, client: Any) -> dict[str, Any]:
    """Check the optimizer is healthy, give it fresh examples; returns the status."""
    fs.stack.server.control(fault=None)
    status = await wait_until(
        lambda: _status_if(client, lambda s: s["state"] == "idle"),
        timeout=15,
        what="an idle optimizer",
    )
    await feed_thumbs_down(client, SC, fs.fresh_tasks())
    return status


async def _status_if(client: Any, ok: Any) -> dict[str, Any] | None:
    status = await client.call("optimizer.status")
    return status if ok(status) else None


async def test_warm_up_run_learns(faults: FaultStack) -> None:
    # Loads litellm in the daemon and gives the engine a frontier before any fault. (The very
    # first call may outlast the short timeout while litellm sets itself up; the runner's own
    # retry covers that, so this waits for the run to be done rather than for its first end.)
    async with faults.stack.connect() as client:
        await healthy_start(faults, client)
        await feed_thumbs_down(client, SC, faults.fresh_tasks())
        await client.call("optimizer.run", {"budget": RUN_BUDGET})
        status = await wait_until(
            lambda: _status_if(
                client,
                lambda s: s["state"] == "idle" and s["components"]["general"]["rollouts"] > 0,
            ),
            timeout=40,
            what="the warm-up run",
        )
        assert 0 < status["components"]["general"]["rollouts"] <= RUN_BUDGET
        assert status["components"]["general"]["best_score"] is not None


@pytest.mark.parametrize(
    ("fault", "outcome", "error_text"),
    [
        ("429", "rate_limited", "RateLimitError"),
        ("500", "unavailable", "InternalServerError"),
        ("slow", "timeout", "Timeout"),
        # Caught by the probe before a run, or by a call: either way a refused connection.
        ("refuse", "unavailable", "Connect"),
    ],
)
async def test_transport_fault_waits_for_the_model_then_recovers(
    faults: FaultStack, fault: str, outcome: str, error_text: str
) -> None:
    stack = faults.stack
    async with stack.connect() as client:
        before = await healthy_start(faults, client)
        rollouts0 = before["components"]["general"]["rollouts"]
        outcomes0 = llm_outcomes(stack.db_path)
        if fault == "refuse":
            # A refusing server cannot be told to stop: it listens again after `count` s.
            stack.server.control(fault="refuse", count=2.0)
        else:
            stack.server.control(fault=fault)

        await client.call("optimizer.run", {"budget": RUN_BUDGET})
        waiting = await wait_until(
            lambda: _status_if(client, lambda s: s["state"] == "waiting-for-model"),
            timeout=20,
            what=f"waiting-for-model under fault {fault}",
        )
        assert error_text in waiting["last_error"]
        # Slow and rate-limited models are told apart from unreachable ones (issue 13).
        said = {"slow": "model too slow", "429": "model rate-limited"}.get(
            fault, "model unreachable"
        )
        assert waiting["reason"].startswith((said, "the task model is not usable"))
        assert waiting["hint"]  # says how to configure a model

        # The daemon keeps serving while the model fails.
        assert stack.daemon.proc is not None and stack.daemon.proc.poll() is None
        started = time.monotonic()
        prompt = await client.get_prompt()
        status = await client.get_status()
        assert time.monotonic() - started < 2.0  # not queued behind the failing calls
        assert prompt["text"] and status["optimizer"]["state"] in (
            "waiting-for-model",
            "running",
        )
        failed = llm_outcomes(stack.db_path)[outcome] - outcomes0[outcome]
        if fault == "refuse" and failed == 0:
            # The runner's probe found nothing listening before any call was made.
            assert "nothing answers" in waiting["last_error"]
        else:
            assert failed >= 2  # the first attempt and its retry, at least
            errors = db_rows(
                stack.db_path,
                "SELECT error FROM llm_calls WHERE outcome = ? ORDER BY id DESC LIMIT 1",
                (outcome,),
            )
            assert error_text in errors[0]["error"]
        assert waiting["components"]["general"]["rollouts"] == rollouts0

        if fault != "refuse":
            stack.server.control(fault=None)
        # No new optimizer.run: the runner retries by itself after the breaker's cooldown.
        recovered = await wait_until(
            lambda: _status_if(
                client,
                lambda s: (
                    s["state"] == "idle" and s["components"]["general"]["rollouts"] > rollouts0
                ),
            ),
            timeout=30,
            what=f"recovery after fault {fault}",
        )
        spent = recovered["components"]["general"]["rollouts"] - rollouts0
        assert 0 < spent <= RUN_BUDGET  # the retried run kept its budget
        assert recovered["breaker"]["state"] == "closed"
        assert engine_state(stack.db_path)["budget"]["rollouts"] == rollouts0 + spent


async def test_garbage_verdicts_leave_rollouts_unscored_until_the_judge_recovers(
    faults: FaultStack,
) -> None:
    stack = faults.stack
    async with stack.connect() as client:
        await healthy_start(faults, client)
        new_examples = await feed_thumbs_down(client, SC, faults.fresh_tasks())
        state0 = engine_state(stack.db_path)
        judge0 = llm_outcomes(stack.db_path, "judge")
        stats0 = stack.server.stats()
        scored0 = {r[0] for r in db_rows(stack.db_path, "SELECT example_id FROM prequential")}
        stack.server.control(fault="garbage", roles=["judge"])

        status = await run_optimizer(client, RUN_BUDGET)
        # The run ended normally: unscored answers are not a model failure.
        assert status["state"] == "idle", status
        assert stack.daemon.proc is not None and stack.daemon.proc.poll() is None
        assert (await client.get_prompt())["text"]
        state = engine_state(stack.db_path)
        rollouts = state["budget"]["rollouts"] - state0["budget"]["rollouts"]
        unscored = state["budget"]["unscored_rollouts"] - state0["budget"]["unscored_rollouts"]
        assert unscored > 0
        # Unscored is not zero: the new examples got no score at all, so nothing was ranked
        # on a garbage verdict. (Rollouts whose judge prompt was answered before are scored
        # from the cache, which holds that earlier, valid verdict.)
        for table in ("train_scores", "val_scores"):
            for scores in state[table].values():
                assert not {str(i) for i in new_examples} & set(scores)
        # Each unscored rollout asked the judge twice: once, then once more past the cache
        # (the first ask is answered by the cache when the same prompt was judged before; the
        # retry always goes to the server). A scored one asked once, of the cache.
        judge = llm_outcomes(stack.db_path, "judge") - judge0
        assert set(judge) <= {"ok", "cached"}
        # The examples waiting for their prequential score were judged first, twice each
        # (garbage both times), and recorded as skipped.
        rows = db_rows(stack.db_path, "SELECT example_id, status FROM prequential")
        waiting = [r for r in rows if r["example_id"] not in scored0]
        assert waiting and {r["status"] for r in waiting} == {"skipped"}
        expected = (rollouts - unscored) + 2 * unscored + 2 * len(waiting)
        assert judge["ok"] + judge["cached"] == expected
        stats = stack.server.stats()
        asked = stats["by_role"]["judge"] - stats0["by_role"]["judge"]
        assert asked == judge["ok"] >= unscored
        assert stats["faults_injected"]["garbage"] - stats0["faults_injected"]["garbage"] == asked

        stack.server.control(fault=None)
        status = await run_optimizer(client, RUN_BUDGET)
        assert status["state"] == "idle", status
        after = engine_state(stack.db_path)
        assert after["budget"]["unscored_rollouts"] == state["budget"]["unscored_rollouts"]
        assert after["budget"]["rollouts"] > state["budget"]["rollouts"]  # all of them scored


@pytest.mark.parametrize("fault", ["garbage", "truncated"])
async def test_unusable_answers_leave_the_prompt_alone_and_recover(
    faults: FaultStack, fault: str
) -> None:
    stack = faults.stack
    async with stack.connect() as client:
        await healthy_start(faults, client)
        current = await client.get_prompt()
        state0 = engine_state(stack.db_path)
        budget0 = state0["budget"]
        judged0 = llm_outcomes(stack.db_path, "judge")
        stack.server.control(fault=fault)  # every role: task, judge, reflection, merge

        run = asyncio.create_task(run_optimizer(client, RUN_BUDGET, timeout=30))
        during = await client.get_prompt()  # served while the faulty run goes on
        status = await run
        assert status["state"] == "idle", status
        assert during["text"]
        state1 = engine_state(stack.db_path)
        budget1 = state1["budget"]
        assert budget1["unscored_rollouts"] > budget0["unscored_rollouts"]
        # Nothing was scored from an unusable answer: a rollout scored during the fault is one
        # whose verdict the cache held from before it (the engine may ask a pair again).
        scored = (budget1["rollouts"] - budget0["rollouts"]) - (
            budget1["unscored_rollouts"] - budget0["unscored_rollouts"]
        )
        assert 0 <= scored <= llm_outcomes(stack.db_path, "judge")["cached"] - judged0["cached"]

        # No candidate was made from an unusable answer, so none could be swapped in. (A
        # candidate accepted before the fault may still become the best as its evaluation
        # completes: the unscored examples are skipped, not counted as zeros.)
        def ids(state: dict[str, Any]) -> set[str]:
            return {c["id"] for c in state["candidates"]}

        assert ids(state1) == ids(state0)
        history = await client.prompt_history(limit=50)
        swapped = {
            v["candidate_id"] for v in history["versions"] if v["version"] > current["version"]
        }
        assert swapped <= ids(state0)
        assert stack.server.stats()["faults_injected"][fault] > 0

        stack.server.control(fault=None)
        status = await run_optimizer(client, RUN_BUDGET, timeout=30)
        assert status["state"] == "idle", status
        budget2 = engine_state(stack.db_path)["budget"]
        scored = (budget2["rollouts"] - budget2["unscored_rollouts"]) - (
            budget1["rollouts"] - budget1["unscored_rollouts"]
        )
        assert scored > 0


def test_fault_stack_daemon_outlived_every_fault(faults: FaultStack) -> None:
    proc = faults.stack.daemon.proc
    assert proc is not None and proc.poll() is None
    assert Path(faults.stack.home, "run", "daemon.json").is_file()


async def test_pausing_a_run_that_waits_for_the_model_ends_it(faults: FaultStack) -> None:
    # Last in this module: it restarts the shared daemon.
    stack = faults.stack
    async with stack.connect() as client:
        await healthy_start(faults, client)
        stack.server.control(fault="500")
        await client.call("optimizer.run", {"budget": RUN_BUDGET})
        await wait_until(
            lambda: _status_if(client, lambda s: s["state"] == "waiting-for-model"),
            timeout=20,
            what="waiting-for-model",
        )
        paused = await client.call("optimizer.pause")
        assert paused["state"] == "paused"
        requests = stack.server.stats()["requests"]
        # Unpaused, the run would be retried after the cooldown (0.5 s; the loop sleeps >= 1 s).
        await asyncio.sleep(1.5)
        status = await client.call("optimizer.status")
        assert status["state"] == "paused"
        assert stack.server.stats()["requests"] == requests
        stack.server.control(fault=None)
    runs = db_rows(
        stack.db_path,
        "SELECT kind FROM events WHERE kind LIKE 'optimizer.run.%' ORDER BY id DESC LIMIT 1",
    )
    assert runs[0]["kind"] == "optimizer.run.ended"

    # Ended, so a restart does not bring the paused run back.
    stack.restart()
    async with stack.connect() as client:
        await asyncio.sleep(1.0)
        status = await client.call("optimizer.status")
        assert status["state"] == "idle" and status["last_run_at"] is None
    assert stack.server.stats()["requests"] == requests
