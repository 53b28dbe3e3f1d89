"""How `gepad status`, `gepad optimize` and `gepad doctor` describe the judge.

The optimizer status's `judge` object (see docs/protocol.md): the mode, the cost per rollout of
each mode used, and the calibration against the user's own thumbs-up / thumbs-down labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["describe_judge", "judge_verdict"]


def _calibration_line(cal: Mapping[str, Any]) -> str:
    n = cal.get("labels", 0)
    if not n:
        return "no thumbs-up / thumbs-down re-judged yet"
    kappa = cal.get("kappa")
    agreement = cal.get("agreement")
    kappa_text = "kappa undefined" if kappa is None else f"Cohen's kappa {kappa:.2f}"
    agree_text = "" if agreement is None else f"agreement {agreement:.0%}, "
    return (
        f"{n} of your labels re-judged ({cal.get('thumbs_up', 0)} up, "
        f"{cal.get('thumbs_down', 0)} down): {agree_text}{kappa_text}"
    )


def describe_judge(optimizer: Mapping[str, Any]) -> list[str]:
    """Human lines for the optimizer status's `judge` object (none when it has none)."""
    judge = optimizer.get("judge")
    if not isinstance(judge, Mapping):
        return []
    mode = judge.get("mode", "?")
    if mode == "repeat":
        mode = f"repeat x{judge.get('repeats', '?')}"
    lines = [f"  judge: {mode}"]
    cost = judge.get("cost") or {}
    for name, c in sorted(cost.items()):
        lines.append(
            f"    {name}: {c.get('calls_per_rollout', 0):g} calls, "
            f"{c.get('tokens_per_rollout', 0):g} tokens per rollout ({c.get('gradings', 0)} graded)"
        )
    cal = judge.get("calibration")
    if isinstance(cal, Mapping):
        lines.append(f"    calibration: {_calibration_line(cal)}")
        if cal.get("trusted") is False and cal.get("message"):
            lines.append(f"    WARNING: {cal['message']}")
    return lines


def judge_verdict(optimizer: Mapping[str, Any]) -> tuple[bool, str, str | None, bool]:
    """(ok, detail, hint, skipped) of the doctor's judge check."""
    judge = optimizer.get("judge")
    cal = judge.get("calibration") if isinstance(judge, Mapping) else None
    if not isinstance(cal, Mapping):
        return True, "not checked: this daemon reports no judge calibration", None, True
    detail = _calibration_line(cal)
    trusted = cal.get("trusted")
    if trusted is None:
        return True, f"{detail}; {cal.get('message') or 'not calibrated yet'}", None, True
    if trusted:
        return True, f"{detail} (>= {cal.get('threshold')})", None, False
    hint = (
        "set judge_model to a stronger or different model in config.toml "
        '(or judge_mode = "repeat"); until then the judge\'s scores are unreliable'
    )
    return False, str(cal.get("message") or detail), hint, False
