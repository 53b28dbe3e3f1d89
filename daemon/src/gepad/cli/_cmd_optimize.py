"""`gepad optimize [--now] [--budget N] [--pause | --resume] [--json]`."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from gepad.cli._errors import EXIT_FAILURE, EXIT_OK
from gepad.cli._output import out, print_json
from gepad.cli._rpc import with_client
from gepad_client import GepadClient

__all__ = ["describe_optimizer", "run"]

# `optimizer.run` only asks for a run; how long to watch for it to start (or be refused).
_RUN_WAIT_S = 5.0
_POLL_S = 0.1
_SETTLE_S = 1.0
# States in which a requested run does not start, and what the user can do about each.
_NO_RUN = {
    "waiting-for-model": "the model is not reachable",
    "auth-error": "the model refused the credentials",
    "error": "the last run failed",
    "budget-exhausted": "today's budget is spent",
    "paused": "the optimizer is paused (`gepad optimize --resume`)",
    "disabled": "the optimizer is disabled",
}


async def _run_now(c: GepadClient, params: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Ask for a run and watch the status until it starts, is refused, or time is up.

    Returns the last status and one line saying whether a run started, and if not, why. A
    run that stops at once on a model or budget problem counts as not started.
    """
    before = await c.call("optimizer.status")
    was_running = before.get("state") == "running"
    status = await c.call("optimizer.run", params)
    asked = time.monotonic()
    running_since: float | None = None
    while True:
        now = time.monotonic()
        state = status.get("state")
        new_run = status.get("last_run_at") != before.get("last_run_at")
        if state in _NO_RUN and (new_run or state != before.get("state") or now > asked + 1):
            return status, f"no run started: {status.get('reason') or _NO_RUN[state]}"
        if new_run and state == "idle":
            return status, "a run started and has already finished"
        if state == "running" and (new_run or not was_running):
            running_since = running_since or now
            if now - running_since >= _SETTLE_S:  # still running: not refused at once
                return status, "a run started"
        elif was_running and state == "running" and now - asked >= _SETTLE_S:
            return status, "a run is already under way; the requested run follows it"
        if now - asked > _RUN_WAIT_S:
            return status, (
                f"no run has started within {_RUN_WAIT_S:g} s (optimizer {state}); "
                "it starts as soon as the optimizer is free"
            )
        await asyncio.sleep(_POLL_S)
        status = await c.call("optimizer.status")


def run(args: argparse.Namespace) -> int:
    if args.pause:
        status = with_client(lambda c: c.call("optimizer.pause"))
    elif args.resume:
        status = with_client(lambda c: c.call("optimizer.resume"))
    elif args.now or args.budget is not None:
        params = {} if args.budget is None else {"budget": args.budget}
        status, started = with_client(lambda c: _run_now(c, params), timeout=_RUN_WAIT_S + 10)
        status = {**status, "run_request": started}
        if not args.json:
            out(started)
    else:
        status = with_client(lambda c: c.call("optimizer.status"))
    if args.json:
        print_json(status)
        return EXIT_OK
    for line in describe_optimizer(status):
        out(line)
    return EXIT_FAILURE if status.get("state") in ("auth-error", "error") else EXIT_OK


def describe_optimizer(status: dict[str, Any]) -> list[str]:
    """Human lines for an optimizer status object (shared with `gepad status`)."""
    state = status.get("state", "-")
    lines = [f"optimizer: {state}" + (f" ({status['reason']})" if status.get("reason") else "")]
    if status.get("hint"):
        lines.append(f"  hint: {status['hint']}")
    models = status.get("models") or {}
    if models:
        lines.append(
            "  models: task {task}, reflection {reflection}, judge {judge}".format(**models)
        )
    from gepad.cli._judge_lines import describe_judge

    lines.extend(describe_judge(status))
    today = status.get("today") or {}
    budget = status.get("budget") or {}
    if today:
        limits = f"${budget.get('daily_usd', 0):.2f}, {budget.get('daily_tokens', 0)} tokens"
        lines.append(
            f"  today: {today.get('calls', 0)} calls, {today.get('tokens', 0)} tokens, "
            f"${today.get('cost_usd', 0.0):.4f} (daily budget {limits})"
        )
    for name, comp in (status.get("components") or {}).items():
        if not comp or "iteration" not in comp:
            continue
        best = comp.get("best_score")
        lines.append(
            f"  {name}: iteration {comp['iteration']}, {comp['rollouts']} rollouts, "
            f"best {comp['best_candidate']}"
            + (f" ({best:.3f})" if isinstance(best, (int, float)) else "")
            + f", frontier {comp['frontier_size']}, examples "
            + "/".join(str(comp["examples"][k]) for k in ("train", "val", "holdout"))
            + " (train/val/holdout)"
        )
    if status.get("last_error"):
        lines.append(f"  last error: {status['last_error']}")
    return lines
