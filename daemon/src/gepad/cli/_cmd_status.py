"""`gepad status [--json]`."""

from __future__ import annotations

import argparse
from typing import Any

from gepad.cli._errors import EXIT_NOT_RUNNING, EXIT_OK
from gepad.cli._output import err, fmt_duration, fmt_score, out, pairs, print_json, table
from gepad.cli._rpc import with_client
from gepad_client import DaemonNotRunning, PromptState, Status

__all__ = ["pending_label", "prequential_line", "run"]


def run(args: argparse.Namespace) -> int:
    try:
        status = with_client(lambda c: c.get_status())
    except DaemonNotRunning as exc:
        if args.json:
            print_json({"running": False})
        err(str(exc), prefix=False)
        return EXIT_NOT_RUNNING
    if args.json:
        print_json({"running": True, **status})
        return EXIT_OK
    _print_human(status)
    return EXIT_OK


def _print_trend() -> None:
    """One line per component: best score over the last runs, and the last swap's reason."""
    from gepad.cli._cmd_dashboard import sparkline
    from gepad_client import RpcError

    try:
        trend = with_client(lambda c: c.call("dashboard.trend"))
    except RpcError:  # an older daemon without the dashboard
        return
    lines = []
    for t in trend.get("components", []):
        if not t["scores"] and not t["last_swap"]:
            continue
        spark = sparkline(t["scores"]) or "-"
        lines.append(f"  {t['component']:<12} {spark:<12} {t['last_swap'] or 'no swap yet'}")
    if lines:
        out()
        out("Learning trend (best score over the last runs; last swap)")
        for line in lines:
            out(line)


def prequential_line(component: str, pre: dict[str, Any]) -> str | None:
    """E.g. "general: last 20 examples: 13 already handled by v9, 65 %, up from 20 % at v2"."""
    count = pre.get("count") or 0
    if not count:
        return None
    rate = float(pre.get("rate") or 0.0)
    version = pre.get("version")
    by = f" by v{version}" if version is not None else ""
    line = (
        f"{component}: last {count} examples: {pre.get('handled', 0)} already handled{by}, "
        f"{rate:.0%}".replace("%", " %")
    )
    trend = pre.get("trend")
    if trend:
        before = float(trend["rate"])
        word = "up" if rate > before else "down" if rate < before else "unchanged"
        at = f" at v{trend['version']}" if trend.get("version") is not None else ""
        line += f", {word} from {before:.0%}".replace("%", " %") + at
    return line


def _print_prequential(optimizer: dict[str, Any]) -> None:
    """Of the examples that arrived lately, how many the prompt of the day already handled."""
    pre = optimizer.get("prequential") or {}
    if not pre:
        return
    if not pre.get("enabled", True):
        out()
        out("Already handled: off (prequential_enabled = false)")
        return
    lines = [
        line
        for c, comp in sorted((pre.get("components") or {}).items())
        if (line := prequential_line(c, comp)) is not None
    ]
    out()
    out("Already handled (each new example scored with the current prompt before learning)")
    for line in lines or ["no example scored yet"]:
        out(f"  {line}")


def pending_label(state: PromptState) -> str:
    pending = state.get("pending")
    if not pending:
        return "-"
    return f"v{pending['version']} (score {fmt_score(pending.get('score'))}) awaiting approval"


def _print_human(status: Status) -> None:
    optimizer: dict[str, Any] = status.get("optimizer") or {}
    out("gepad is running")
    out(
        pairs(
            [
                ("pid", status["pid"]),
                ("url", status["ws_url"]),
                ("uptime", fmt_duration(status["uptime_s"])),
                ("version", status["version"]),
                ("home", status["home"]),
                ("swap policy", status["swap_policy"]),
                ("optimizer", optimizer.get("state", "-")),
            ]
        )
    )
    out()
    counts = status.get("examples", {})
    out(f"Examples: {status.get('examples_total', sum(counts.values()))}")
    if counts:
        out(table(["KIND", "COUNT"], sorted(counts.items())))
    out()
    out("Prompts")
    rows = [
        [
            s["component"],
            f"v{s['version']}",
            fmt_score(s.get("score")),
            s.get("source", "-"),
            "yes" if s.get("pinned") else "no",
            pending_label(s),
        ]
        for s in status.get("components", [])
    ]
    out(table(["COMPONENT", "VERSION", "SCORE", "SOURCE", "PINNED", "PENDING"], rows))
    _print_trend()
    _print_prequential(optimizer)
    _print_retirements(optimizer)
    if optimizer:
        from gepad.cli._cmd_optimize import describe_optimizer

        out()
        for line in describe_optimizer(dict(optimizer)):
            out(line)


def _print_retirements(optimizer: dict[str, Any]) -> None:
    """Users change their minds: the examples retired lately, why, and how to undo it."""
    drift = optimizer.get("drift") or {}
    recent = [r for r in drift.get("recent_retirements", []) if not r.get("restored")][:5]
    rejected = drift.get("last_rejected")
    if not recent and not rejected:
        return
    out()
    out("Retired lately (newer feedback wins; `gepad examples restore ID` undoes it)")
    for r in recent:
        newer = f", newer #{r['by_example']}" if r.get("by_example") is not None else ""
        out(f"  #{r['id']} ({r.get('component') or '-'}{newer}, {r.get('decided_by') or '-'}): "
            f"{r.get('reason') or '-'}")  # fmt: skip
    if rejected:
        out(f"  last contradiction check rejected: {rejected}")
