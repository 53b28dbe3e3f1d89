"""Summaries of finished runs: the per scenario x optimizer rows and the stdout table."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gepad_sim._harness import RunResult

__all__ = ["SummaryRow", "format_table", "r90_for_median", "summarise"]


def r90_for_median(r90: int | None, budget: int) -> int:
    """`rollouts_to_90` as medians compare it: never reaching the mark counts as budget + 1."""
    return budget + 1 if r90 is None else r90


@dataclass(frozen=True, slots=True)
class SummaryRow:
    scenario: str
    optimizer: str
    budget: int
    seeds: tuple[int, ...]
    test_scores: tuple[float, ...]
    rollouts_to_90: tuple[int | None, ...]
    rollouts_used: tuple[int, ...]

    @property
    def median_test(self) -> float:
        return statistics.median(self.test_scores)

    @property
    def median_r90(self) -> float:
        return statistics.median(r90_for_median(r, self.budget) for r in self.rollouts_to_90)


def summarise(results: Iterable[RunResult]) -> list[SummaryRow]:
    """One row per (scenario, optimizer, budget), in first-seen order, runs sorted by seed."""
    groups: dict[tuple[str, str, int], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.scenario, r.optimizer, r.budget), []).append(r)
    rows: list[SummaryRow] = []
    for (scenario, optimizer, budget), runs in groups.items():
        runs.sort(key=lambda r: r.seed)
        rows.append(
            SummaryRow(
                scenario=scenario,
                optimizer=optimizer,
                budget=budget,
                seeds=tuple(r.seed for r in runs),
                test_scores=tuple(r.test_score for r in runs),
                rollouts_to_90=tuple(r.rollouts_to_90 for r in runs),
                rollouts_used=tuple(r.rollouts_used for r in runs),
            )
        )
    return rows


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def format_table(rows: Sequence[SummaryRow]) -> str:
    """A plain-text table; `r90` is rollouts_to_90 and `never` means it was not reached."""
    header = (
        "scenario",
        "optimizer",
        "runs",
        "median test",
        "median r90",
        "max rollouts",
        "test per seed",
        "r90 per seed",
    )
    body = [
        (
            row.scenario,
            row.optimizer,
            str(len(row.seeds)),
            f"{row.median_test:.3f}",
            _num(row.median_r90),
            str(max(row.rollouts_used)),
            " ".join(f"{s:.3f}" for s in row.test_scores),
            " ".join("never" if r is None else str(r) for r in row.rollouts_to_90),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *body)
    ]
    budgets = sorted({row.budget for row in rows})
    note = (
        "r90 = rollouts until the best validation mean reached 0.9 x attainable; "
        f"medians count 'never' as budget + 1 (budget {', '.join(map(str, budgets))})"
    )
    return "\n".join([*lines, "", note])
