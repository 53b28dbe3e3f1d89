"""`gepad status`'s "already handled" line, from a status.get answer's prequential part."""

from __future__ import annotations

from gepad.cli._cmd_status import prequential_line


def test_the_line_names_the_count_the_version_the_rate_and_the_trend() -> None:
    pre = {
        "count": 20,
        "handled": 13,
        "rate": 0.65,
        "version": 9,
        "trend": {"rate": 0.2, "version": 2},
    }
    assert prequential_line("general", pre) == (
        "general: last 20 examples: 13 already handled by v9, 65 %, up from 20 % at v2"
    )
    down = {**pre, "handled": 2, "rate": 0.1}
    assert prequential_line("general", down) == (
        "general: last 20 examples: 2 already handled by v9, 10 %, down from 20 % at v2"
    )


def test_no_trend_before_a_full_window_and_nothing_before_a_score() -> None:
    early = {"count": 3, "handled": 1, "rate": 1 / 3, "version": 1, "trend": None}
    assert prequential_line("kernel", early) == (
        "kernel: last 3 examples: 1 already handled by v1, 33 %"
    )
    assert prequential_line("kernel", {"count": 0, "rate": None, "trend": None}) is None
