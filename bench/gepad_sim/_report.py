"""Summaries of finished runs: the per scenario x optimizer rows and the stdout table."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gepad_sim._harness import RunResult

__all__ = [
    "PairedDiff",
    "SummaryRow",
    "format_paired",
    "format_table",
    "paired_diffs",
    "r90_for_median",
    "summarise",
]


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


@dataclass(frozen=True, slots=True)
class PairedDiff:
    """`optimizer` minus `baseline` on `measure`, paired by seed."""

    scenario: str
    optimizer: str
    baseline: str
    measure: str
    diffs: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.diffs)

    @property
    def stderr(self) -> float:
        n = len(self.diffs)
        return statistics.stdev(self.diffs) / n**0.5 if n > 1 else 0.0

    def counts(self, tie: float = 1e-9) -> tuple[int, int, int]:
        wins = sum(1 for d in self.diffs if d > tie)
        losses = sum(1 for d in self.diffs if d < -tie)
        return wins, len(self.diffs) - wins - losses, losses


def _measure(r: RunResult, measure: str) -> float | None:
    value = getattr(r, measure)
    return None if value is None else float(value)


def paired_diffs(
    results: Iterable[RunResult], baseline: str, measure: str = "test_score"
) -> list[PairedDiff]:
    """Per scenario and optimizer, the per-seed differences against `baseline`."""
    by_key: dict[tuple[str, str], dict[int, float]] = {}
    for r in results:
        v = _measure(r, measure)
        if v is not None:
            by_key.setdefault((r.scenario, r.optimizer), {})[r.seed] = v
    out: list[PairedDiff] = []
    for (scenario, optimizer), scores in by_key.items():
        base = by_key.get((scenario, baseline))
        if optimizer == baseline or base is None:
            continue
        seeds = sorted(set(scores) & set(base))
        if seeds:
            diffs = tuple(scores[k] - base[k] for k in seeds)
            out.append(PairedDiff(scenario, optimizer, baseline, measure, diffs))
    return out


def format_paired(rows: Sequence[PairedDiff]) -> str:
    """One line per row: mean difference +- standard error, wins/ties/losses over seeds."""
    lines = []
    for row in rows:
        w, t, lo = row.counts()
        lines.append(
            f"{row.scenario}  {row.optimizer} - {row.baseline}  {row.measure}: "
            f"{row.mean:+.3f} +- {row.stderr:.3f}  (W/T/L {w}/{t}/{lo}, {len(row.diffs)} seeds)"
        )
    return "\n".join(lines)
