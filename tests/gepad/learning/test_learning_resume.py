"""`kill -9` in the middle of an optimizer run: the restarted daemon continues that run where
the store says it stopped, spends what is left of its budget, and counts no rollout twice.
Stopped cleanly in the middle of the resumed run, the next start continues it once more."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gepad_learning_testing import (
    db_rows,
    engine_state,
    feed_thumbs_down,
    live_stack,
    scenario,
    wait_until,
)

pytestmark = pytest.mark.timeout(90)

SC = scenario()
RUN_BUDGET = 30
EXAMPLES = 8


def run_markers(db_path: Path) -> list[str]:
    """The optimizer's run-started / run-ended events, oldest first."""
    rows = db_rows(db_path, "SELECT kind FROM events WHERE kind LIKE 'optimizer.run.%' ORDER BY id")
    return [r["kind"] for r in rows]


async def test_a_killed_run_resumes_after_restart_without_double_counting(
    tmp_path: Path,
) -> None:
    # 50 ms per model call keeps the run going long enough to be killed in the middle of it;
    # the default run budget is larger than the run's, so a resumed run must keep its own.
    with live_stack(tmp_path, latency_ms=50, optimize_run_rollouts=200) as stack:
        async with stack.connect() as client:
            await feed_thumbs_down(client, SC, list(SC.tasks[:EXAMPLES]))
            await client.call("optimizer.run", {"budget": RUN_BUDGET})

            async def mid_run() -> dict[str, object] | None:
                status = await client.call("optimizer.status")
                rollouts = status["components"]["general"]["rollouts"]
                return status if status["state"] == "running" and rollouts >= 6 else None

            await wait_until(mid_run, timeout=30, what="an optimizer run under way")
            stack.daemon.kill()  # SIGKILL: no shutdown code runs

        killed = engine_state(stack.db_path)
        task_calls_at_kill = stack.server.stats()["by_role"]["task"]
        assert 0 < killed["budget"]["rollouts"] < RUN_BUDGET
        assert killed["budget"]["rollouts"] <= task_calls_at_kill

        stack.daemon.start()
        async with stack.connect() as client:
            # Nobody asks for a run: the interrupted one continues by itself. Stopped again,
            # cleanly this time, in the middle of it, it continues after that restart too.
            async def resumed() -> dict[str, object] | None:
                status = await client.call("optimizer.status")
                rollouts = status["components"]["general"]["rollouts"]
                going = status["state"] == "running" and rollouts > killed["budget"]["rollouts"]
                return status if going else None

            await wait_until(resumed, timeout=30, what="the killed run to resume")
        stack.stop_daemon()
        # Stopped in the middle: the run is still open in the store.
        assert run_markers(stack.db_path) == ["optimizer.run.started"]
        assert engine_state(stack.db_path)["budget"]["rollouts"] < RUN_BUDGET
        stack.daemon.start()
        async with stack.connect() as client:

            async def resumed_and_done() -> dict[str, object] | None:
                status = await client.call("optimizer.status")
                done = status["state"] == "idle" and status["last_run_at"] is not None
                return status if done else None

            status = await wait_until(resumed_and_done, timeout=60, what="the resumed run")
            general = status["components"]["general"]

        final = engine_state(stack.db_path)
        # It was the same run, continued to its end with the limit it was started with (not a
        # fresh budget on top: that would allow rollouts at the kill + 200). The engine may stop
        # short of the limit when what is left is too small for another iteration.
        assert run_markers(stack.db_path) == ["optimizer.run.started", "optimizer.run.ended"]
        started = db_rows(
            stack.db_path, "SELECT payload FROM events WHERE kind = 'optimizer.run.started'"
        )
        assert json.loads(started[0]["payload"])["limits"]["general"] == RUN_BUDGET
        rollouts = final["budget"]["rollouts"]
        assert rollouts == general["rollouts"]
        assert killed["budget"]["rollouts"] < rollouts <= RUN_BUDGET
        # The engine continued: its iterations and candidates carry on from the kill.
        assert final["iteration"] > killed["iteration"]
        before = {c["id"]: c["components"] for c in killed["candidates"]}
        after = {c["id"]: c["components"] for c in final["candidates"]}
        assert before.items() <= after.items()
        # No rollout counted twice: each was a task call the server answered. The step in
        # flight at the kill was done again, from the cache where its answers had arrived.
        task_calls = stack.server.stats()["by_role"]["task"]
        assert rollouts <= task_calls <= rollouts + EXAMPLES
        assert final["budget"]["unscored_rollouts"] == 0
