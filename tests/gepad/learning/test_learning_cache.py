"""The response cache: re-evaluating candidates on examples already seen costs no call.

The optimizer's engine is put back to the state it had before a run, and the daemon is
restarted: the same run replays the same requests (temperature 0), and every one of them is
answered from the cache in the store. The simulated server receives nothing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from gepad_learning_testing import (
    db_rows,
    engine_state,
    feed_thumbs_down,
    live_stack,
    llm_outcomes,
    run_optimizer,
    scenario,
)

pytestmark = pytest.mark.timeout(90)

SC = scenario()
BUDGET = 30


def restore_engine_state(db_path: Path, state_json: str) -> None:
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        with conn:
            conn.execute(
                "UPDATE engine_state SET state_json = ? WHERE component = 'general'", (state_json,)
            )
    finally:
        conn.close()


async def test_a_replayed_run_is_answered_entirely_from_the_cache(tmp_path: Path) -> None:
    # Calibration re-judges different labelled examples on every run; it is tested on its own.
    with live_stack(tmp_path, swap_policy="review", judge_calibration_per_run=0) as stack:
        # The engine as the daemon saved it at start, before it knew any example.
        before_run = db_rows(
            stack.db_path, "SELECT state_json FROM engine_state WHERE component = 'general'"
        )[0]["state_json"]
        async with stack.connect() as client:
            await feed_thumbs_down(client, SC, list(SC.tasks[:8]))
            first = await run_optimizer(client, BUDGET)
            assert first["state"] == "idle", first
        first_state = engine_state(stack.db_path)
        stats = stack.server.stats()
        # Every rollout reached the server, except one the engine asked for twice (a gate
        # result re-asked in a full evaluation), which the cache answers within the run; and
        # the prequential scoring of each new example before the run learns from it.
        scoring = first["prequential"]["rollouts"]
        assert scoring == 8
        assert 0 < stats["by_role"]["task"] <= first_state["budget"]["rollouts"] + scoring
        assert stats["by_role"]["reflect"] > 0
        calls = llm_outcomes(stack.db_path)
        assert calls["ok"] == stats["requests"]

        stack.stop_daemon()
        restore_engine_state(stack.db_path, before_run)
        stack.daemon.start()
        async with stack.connect() as client:
            replay = await run_optimizer(client, BUDGET)
            assert replay["state"] == "idle", replay

        assert stack.server.stats()["requests"] == stats["requests"]  # not one new call
        replay_state = engine_state(stack.db_path)
        assert replay_state["budget"]["rollouts"] == first_state["budget"]["rollouts"]
        # Same answers, same search: the same candidates, word for word.
        texts = [c["components"]["general"] for c in first_state["candidates"]]
        assert [c["components"]["general"] for c in replay_state["candidates"]] == texts
        after = llm_outcomes(stack.db_path)
        assert after["ok"] == calls["ok"]
        task_hits = llm_outcomes(stack.db_path, "task")["cached"]
        assert task_hits >= replay_state["budget"]["rollouts"]
        cached_rows = db_rows(stack.db_path, "SELECT * FROM llm_calls WHERE outcome = 'cached'")
        assert all(r["cost_usd"] == 0 and r["input_tokens"] == 0 for r in cached_rows)
