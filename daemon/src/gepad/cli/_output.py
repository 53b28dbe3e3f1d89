"""Human and JSON output: tables, durations, times. Only the CLI writes to stdout."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

__all__ = [
    "err",
    "fmt_duration",
    "fmt_score",
    "fmt_time",
    "one_line",
    "out",
    "pairs",
    "print_json",
    "table",
]


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str, *, prefix: bool = True) -> None:
    """One message on stderr; `prefix=False` for text that already says who speaks."""
    sys.stderr.write(f"gepad: {text}\n" if prefix else f"{text}\n")


def print_json(value: Any) -> None:
    """The stable `--json` form: indented, keys sorted, UTF-8 kept as is."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; the last column is left unpadded."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def pairs(rows: Sequence[tuple[str, object]], indent: str = "  ") -> str:
    """`key  value` lines with the values aligned."""
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"{indent}{k.ljust(width)}  {'-' if v is None else v}" for k, v in rows)


def fmt_duration(seconds: float) -> str:
    total = int(max(seconds, 0))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def fmt_time(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def fmt_score(score: float | None) -> str:
    return "-" if score is None else f"{score:.3f}"


def one_line(text: str | None, width: int = 60) -> str:
    """The text squeezed onto one line and cut to `width` characters."""
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
