"""The daily token budget pauses the optimizer until the next day, and says so; further runs
spend nothing, and the pause survives a restart of the daemon."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from gepad_learning_testing import (
    db_rows,
    feed_thumbs_down,
    live_stack,
    run_optimizer,
    scenario,
)

pytestmark = pytest.mark.timeout(90)

SC = scenario()
BUDGET_TOKENS = 200


def start_of_tomorrow() -> float:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time()).timestamp()


def assert_exhausted(status: dict[str, object]) -> None:
    assert status["state"] == "budget-exhausted", status
    reason = str(status["reason"])
    assert f"daily budget of {BUDGET_TOKENS} tokens reached" in reason
    assert "resumes tomorrow" in reason
    paused_until = status["paused_until"]
    assert isinstance(paused_until, float)
    # Midnight local time (plus a second), even across a daylight-saving change.
    assert 0 <= paused_until - start_of_tomorrow() <= 1.0
    assert paused_until > time.time()


async def test_token_budget_pauses_until_tomorrow_and_spends_nothing_more(
    tmp_path: Path,
) -> None:
    # The prequential scoring and the drift check spend from the same budget
    # (test_learning_prequential.py, test_cli_drift.py); off here, so the engine's own
    # rollouts meet the limit.
    with live_stack(
        tmp_path,
        daily_budget_tokens=BUDGET_TOKENS,
        prequential_enabled=False,
        drift_enabled=False,
    ) as stack:
        async with stack.connect() as client:
            await feed_thumbs_down(client, SC, list(SC.tasks[:6]))
            status = await run_optimizer(client, 40)
            assert_exhausted(status)
            assert status["today"]["tokens"] >= BUDGET_TOKENS
            spent = status["components"]["general"]["rollouts"]
            assert 0 < spent < 40  # stopped by the daily budget, long before the run's own
            requests = stack.server.stats()["requests"]
            calls = len(db_rows(stack.db_path, "SELECT id FROM llm_calls"))

            # Asking again does not spend: the budget is checked before any call.
            again = await run_optimizer(client, 40)
            assert_exhausted(again)
            assert again["components"]["general"]["rollouts"] == spent
            assert (await client.get_status())["optimizer"]["state"] == "budget-exhausted"
            assert stack.server.stats()["requests"] == requests
            assert len(db_rows(stack.db_path, "SELECT id FROM llm_calls")) == calls

        stack.restart()
        async with stack.connect() as client:
            # The day's spending is in the store, so a restarted daemon still says so...
            status = await client.call("optimizer.status")
            assert_exhausted(status)
            assert status["today"]["tokens"] == again["today"]["tokens"]
            # ... and still refuses to spend.
            after = await run_optimizer(client, 40)
            assert_exhausted(after)
            assert after["components"]["general"]["rollouts"] == spent
        assert stack.server.stats()["requests"] == requests
