"""`gepad optimize [--now] [--budget N] [--pause | --resume] [--json]`."""

from __future__ import annotations

import argparse
from typing import Any

from gepad.cli._errors import EXIT_FAILURE, EXIT_OK
from gepad.cli._output import out, print_json
from gepad.cli._rpc import with_client

__all__ = ["describe_optimizer", "run"]


def run(args: argparse.Namespace) -> int:
    if args.pause:
        status = with_client(lambda c: c.call("optimizer.pause"))
    elif args.resume:
        status = with_client(lambda c: c.call("optimizer.resume"))
    elif args.now or args.budget is not None:
        params = {} if args.budget is None else {"budget": args.budget}
        status = with_client(lambda c: c.call("optimizer.run", params))
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
