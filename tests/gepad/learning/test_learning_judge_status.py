"""The judge's calibration and cost through a real daemon: `status.get`, `gepad status` lines
and the doctor's judge check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gepad_learning_testing import (
    feed_thumbs_down,
    live_stack,
    llm_outcomes,
    run_optimizer,
    scenario,
    seed_output,
)

from gepad.cli._judge_lines import describe_judge, judge_verdict

SC = scenario()


@pytest.mark.timeout(120)
async def test_status_reports_calibration_kappa_and_judge_cost(tmp_path: Path) -> None:
    tasks = [t for t in SC.tasks if t.rules][:4]
    with live_stack(tmp_path, judge_calibration_per_run=8) as stack:
        async with stack.connect() as client:
            await feed_thumbs_down(client, SC, tasks)
            for task in tasks:
                liked = seed_output(task, followed=task.rules)
                await client.submit_feedback("thumbs_up", context=task.input, output=liked)
            await run_optimizer(client, 12, timeout=90)
            status = await client.get_status()
        # Every call, calibration included, is recorded (and so counts against the budget).
        assert llm_outcomes(stack.db_path)["ok"] == stack.server.stats()["requests"]
    judge = status["optimizer"]["judge"]
    assert judge["mode"] == "single"
    assert 0 < judge["cost"]["single"]["calls_per_rollout"] <= 1  # cache hits cost nothing
    cal = judge["calibration"]
    assert (cal["labels"], cal["thumbs_up"], cal["thumbs_down"]) == (8, 4, 4)
    assert cal["kappa"] == 1.0 and cal["agreement"] == 1.0 and cal["trusted"] is True
    assert cal["model"] == "openai/sim-judge" and cal["calls"] == 8
    lines = describe_judge(status["optimizer"])
    assert lines[0] == "  judge: single"
    assert any("8 of your labels re-judged (4 up, 4 down): agreement 100%" in ln for ln in lines)
    assert judge_verdict(status["optimizer"])[0] is True


def calibration(**fields: Any) -> dict[str, Any]:
    base = {
        "model": "m", "mode": "single", "labels": 10, "thumbs_up": 5, "thumbs_down": 5,
        "agreement": 0.6, "kappa": 0.2, "threshold": 0.4, "trusted": False,
        "message": "the judge (m) ... not to be trusted ... stronger or different model",
    }  # fmt: skip
    return {"judge": {"mode": "single", "cost": {}, "calibration": {**base, **fields}}}


def test_an_untrusted_judge_is_said_plainly_and_fails_the_doctor() -> None:
    opt = calibration()
    lines = describe_judge(opt)
    assert any(line.startswith("    WARNING: the judge (m)") for line in lines)
    ok, detail, hint, skipped = judge_verdict(opt)
    assert (ok, skipped) == (False, False)
    assert "not to be trusted" in detail and hint and "judge_model" in hint
    ok, _, _, skipped = judge_verdict(calibration(trusted=None, labels=2, kappa=None))
    assert ok and skipped
    assert judge_verdict({"state": "disabled"})[3] is True
