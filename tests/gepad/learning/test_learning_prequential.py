"""The prequential ("already handled") measure on a real daemon and simulated models over HTTP.

Each new example is scored with the component's current prompt before the engine learns from
it, recorded with the version that earned it, reported in `status.get` and in
`optimizer.progress`; it costs budget, can be switched off, and survives restarts.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from gepad_learning_testing import (
    db_rows,
    feed_thumbs_down,
    live_stack,
    run_optimizer,
    scenario,
    wait_until,
)
from pydantic import ValidationError

from gepad.config import Config

pytestmark = pytest.mark.timeout(120)

SC = scenario()
QUIET = {"judge_calibration_per_run": 0}  # calibration's judge calls are tested elsewhere


def rows(db: Path) -> list[sqlite3.Row]:
    return db_rows(db, "SELECT * FROM prequential ORDER BY example_id")


def engine_examples(status: dict[str, Any]) -> int:
    return sum(status["components"]["general"]["examples"].values())


def spy_progress(client: Any) -> list[dict[str, Any]]:
    """Collect the `optimizer.progress` notifications the client receives."""
    seen: list[dict[str, Any]] = []
    dispatch = client._dispatch_one

    def spy(item: dict[str, Any]) -> None:
        if item.get("method") == "optimizer.progress":
            seen.append(item["params"])
        dispatch(item)

    client._dispatch_one = spy
    return seen


async def test_scored_with_the_current_version_before_learning_and_reported(
    tmp_path: Path,
) -> None:
    with live_stack(tmp_path, prequential_window=3, **QUIET) as stack:
        async with stack.connect() as client:
            progress = spy_progress(client)
            await client.subscribe(["general"])  # optimizer.progress goes to subscribers
            seed = await client.get_prompt()
            first = await feed_thumbs_down(client, SC, list(SC.tasks[:4]))
            # Acknowledged as soon as stored: no score yet, and the engine has not seen them.
            assert rows(stack.db_path) == []
            status = await run_optimizer(client, 30)
            recorded = rows(stack.db_path)
            assert [r["example_id"] for r in recorded] == first
            assert {r["prompt_version"] for r in recorded} == {seed["version"]}
            assert {r["status"] for r in recorded} == {"scored"}
            # "Handled" is the metric's pass: the sim judge passes exactly the 1.0 outputs.
            for r in recorded:
                assert bool(r["handled"]) == (r["score"] >= 1.0)
            assert engine_examples(status) == 4

            # The scoring rollouts came first: the run's first task requests carry the
            # current prompt and each new example, before any reflection was asked for.
            log = stack.server.received(limit=1000)["requests"]
            models = [(e["model"] or "").removeprefix("openai/") for e in log]
            first_reflect = models.index("sim-reflect") if "sim-reflect" in models else len(log)
            early = [
                e["messages"]
                for e, m in zip(log[:first_reflect], models, strict=False)
                if m == "sim-task"
            ]
            for task in SC.tasks[:4]:
                assert any(
                    msgs[0]["content"] == seed["text"] and msgs[-1]["content"] == task.input
                    for msgs in early
                ), f"no scoring rollout of {task.id} under the seed prompt before learning"

            # Examples arriving later are scored with whatever version is current then.
            current = await client.get_prompt()
            second = await feed_thumbs_down(client, SC, list(SC.tasks[4:6]))
            status = await run_optimizer(client, 10)
            later = [r for r in rows(stack.db_path) if r["example_id"] in second]
            assert [r["prompt_version"] for r in later] == [current["version"]] * 2

            full = await client.get_status()
            pre = full["optimizer"]["prequential"]
            assert pre["enabled"] is True and pre["window"] == 3
            assert pre["rollouts"] == 6
            general = pre["components"]["general"]
            history = general["history"]
            assert [h["example_id"] for h in history] == first + second
            assert [h["version"] for h in history] == [seed["version"]] * 4 + [
                current["version"]
            ] * 2
            handled = [bool(h["handled"]) for h in history]
            assert general["count"] == 3 and general["handled"] == sum(handled[-3:])
            assert general["rate"] == pytest.approx(sum(handled[-3:]) / 3)
            assert general["version"] == current["version"]
            assert general["trend"] == {
                "rate": pytest.approx(sum(handled[:3]) / 3),
                "version": seed["version"],
            }
            assert history[-1]["rate"] == pytest.approx(general["rate"])

    # optimizer.progress carries the current rate; a scoring pass announces itself.
    assert any(p.get("step") == "prequential" for p in progress)
    ours = [p for p in progress if p.get("component") == "general" and "prequential" in p]
    last = ours[-1]["prequential"]
    assert last["window"] == 3 and last["rate"] == pytest.approx(general["rate"])


async def test_a_model_error_records_nothing_and_the_example_waits(tmp_path: Path) -> None:
    config = {
        "llm_max_retries": 0,
        "llm_backoff_base_s": 0.05,
        "llm_breaker_threshold": 50,
        "llm_breaker_cooldown_s": 0.5,
        **QUIET,
    }
    with live_stack(tmp_path, **config) as stack:
        async with stack.connect() as client:
            await feed_thumbs_down(client, SC, list(SC.tasks[:3]))
            stack.server.control(fault="500", roles=["task"])
            await client.call("optimizer.run", {"budget": 10})

            async def waiting() -> dict[str, Any] | None:
                s = await client.call("optimizer.status")
                return s if s["state"] == "waiting-for-model" else None

            status = await wait_until(waiting, timeout=30, what="waiting-for-model")
            assert rows(stack.db_path) == []
            assert engine_examples(status) == 0  # never learned from before its score
            stack.server.control(fault=None)

            async def learned() -> dict[str, Any] | None:
                s = await client.call("optimizer.status")
                return s if s["state"] == "idle" and engine_examples(s) == 3 else None

            await wait_until(learned, timeout=30, what="the retried run to learn")
            assert [r["status"] for r in rows(stack.db_path)] == ["scored"] * 3


async def test_scoring_counts_against_the_daily_budget(tmp_path: Path) -> None:
    with live_stack(tmp_path, daily_budget_tokens=200, **QUIET) as stack:
        async with stack.connect() as client:
            await feed_thumbs_down(client, SC, list(SC.tasks[:10]))
            status = await run_optimizer(client, 40)
            assert status["state"] == "budget-exhausted"
            scored = rows(stack.db_path)
            # Stopped by the budget between chunks; the unscored wait, never learned from.
            assert 0 < len(scored) < 10
            assert engine_examples(status) == 0
            assert status["components"]["general"]["rollouts"] == 0
            calls = db_rows(stack.db_path, "SELECT purpose, COUNT(*) n FROM llm_calls GROUP BY 1")
            by_purpose = {r["purpose"]: r["n"] for r in calls}
            assert by_purpose.get("task", 0) >= len(scored)
            assert status["today"]["tokens"] >= 200


async def test_off_by_config_scores_nothing_and_learns_at_once(tmp_path: Path) -> None:
    with live_stack(tmp_path, prequential_enabled=False, **QUIET) as stack:
        async with stack.connect() as client:
            await feed_thumbs_down(client, SC, list(SC.tasks[:3]))
            status = await run_optimizer(client, 10)
            assert engine_examples(status) == 3
            assert rows(stack.db_path) == []
            pre = (await client.get_status())["optimizer"]["prequential"]
            assert pre["enabled"] is False and pre["rollouts"] == 0

        # Switched on later: what was learned from first gets no after-the-fact score.
        stack.daemon.config = {**stack.daemon.config, "prequential_enabled": True}
        stack.restart()
        async with stack.connect() as client:
            new = await feed_thumbs_down(client, SC, list(SC.tasks[3:4]))
            await run_optimizer(client, 5)
            assert [r["example_id"] for r in rows(stack.db_path)] == new
    text = stack.log_path.read_text()
    assert re.search(r"3 examples were learned from before they could be scored", text)


def test_config_keys_are_validated() -> None:
    assert Config().prequential_enabled is True and Config().prequential_window == 20
    for bad in (0, -1, 1001, "many"):
        with pytest.raises(ValidationError, match="prequential_window"):
            Config(prequential_window=bad)


async def test_scores_survive_a_restart_and_are_never_taken_twice(tmp_path: Path) -> None:
    with live_stack(tmp_path, **QUIET) as stack:
        async with stack.connect() as client:
            ids = await feed_thumbs_down(client, SC, list(SC.tasks[:3]))
        # Acknowledged, then the daemon stops before any run: scored after the restart.
        stack.restart()
        async with stack.connect() as client:
            await run_optimizer(client, 10)
            before = [tuple(r) for r in rows(stack.db_path)]
            assert [r[0] for r in before] == ids
            history = (await client.get_status())["optimizer"]["prequential"]
        stack.restart()
        async with stack.connect() as client:
            await run_optimizer(client, 10)
            assert [tuple(r) for r in rows(stack.db_path)] == before
            again = (await client.get_status())["optimizer"]["prequential"]
    assert again["components"] == history["components"]


def test_rolling_rates_over_the_last_window() -> None:
    from gepad.learning import rolling_rates

    assert rolling_rates([True, False, True, True], 2) == [1.0, 0.5, 0.5, 1.0]
    assert rolling_rates([], 20) == []
