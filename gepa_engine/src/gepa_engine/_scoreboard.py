"""Scores, means and the per-example Pareto frontier, derived from one table.

The state's `val_scores` (and `unscored` marks) are the only record. Everything else here is
derived from them and the dataset's active examples, never kept in sync by hand:

- means are exact sums (`math.fsum`, correctly rounded whatever the order), cached per
  candidate and dropped when that candidate's scores or the dataset change;
- the frontier is rebuilt from the table when the dataset changes and extended score by score
  otherwise (a per-example maximum does not depend on the order scores arrive in);
- the surviving frontier members are recomputed after any change.

So an engine restored from JSON derives exactly what the running one holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ._dataset import Dataset
from ._frontier import Frontier
from ._state import EngineState

__all__ = ["Scoreboard"]


class Scoreboard:
    def __init__(self, state: EngineState, dataset: Dataset) -> None:
        self._s = state
        self._data = dataset
        self._built_for = -1
        self._frontier = Frontier()
        self._means: dict[str, float] = {}
        self._survivors: tuple[str, ...] | None = None
        # Per candidate, how many active validation and held-out examples it has a score or an
        # unscored mark for: "is anything missing?" stays O(1) with thousands of examples.
        self._covered: dict[str, int] = {}

    # -- derived indexes -------------------------------------------------------------------

    def _fresh(self) -> None:
        if self._built_for == self._data.version:
            return
        self._built_for = self._data.version
        self._means.clear()
        self._survivors = None
        self._frontier = Frontier()
        pareto = set(self._data.active("val"))
        scored = set(self._data.active("val", "holdout"))
        self._covered = {}
        for cid in sorted(self._s.val_scores, key=_order):
            for ex, v in self._s.val_scores[cid].items():
                if ex in pareto:
                    self._frontier.add_score(cid, ex, v)
        for cid in set(self._s.val_scores) | set(self._s.unscored):
            known = set(self._s.val_scores.get(cid, ())) | self._s.unscored.get(cid, set())
            self._covered[cid] = len(known & scored)

    def mean_pareto(self, cid: str) -> float:
        """Exact mean over the active Pareto (val) examples `cid` has scores for (0 if none)."""
        self._fresh()
        mean = self._means.get(cid)
        if mean is None:
            scores = self._s.val_scores.get(cid, {})
            vals = [scores[e] for e in self._data.active("val") if e in scores]
            mean = math.fsum(vals) / len(vals) if vals else 0.0
            self._means[cid] = mean
        return mean

    def survivors(self) -> tuple[str, ...]:
        self._fresh()
        if self._survivors is None:
            means = {c: self.mean_pareto(c) for c in self._s.val_scores}
            self._survivors = self._frontier.survivors(means)
        return self._survivors

    def wins(self, cid: str) -> int:
        self._fresh()
        return self._frontier.wins(cid)

    def front(self, example_id: str) -> frozenset[str]:
        self._fresh()
        return self._frontier.front(example_id)

    # -- recording -------------------------------------------------------------------------

    def record(self, cid: str, scored: Mapping[str, float]) -> None:
        """Add `cid`'s validation scores (an example already scored keeps its first score)."""
        self._fresh()
        table = self._s.val_scores.setdefault(cid, {})
        marks = self._s.unscored.get(cid, set())
        pareto = self._data.active_set("val")
        scored_splits = self._data.active_set("val", "holdout")
        add_score = self._frontier.add_score
        changed = False
        covered = 0
        # The hot loop of a full evaluation (thousands of examples): sets, no calls per score.
        for ex, v in scored.items():
            if ex in table:
                continue
            table[ex] = v
            changed = True
            if ex in scored_splits and ex not in marks:
                covered += 1
            if ex in pareto:
                add_score(cid, ex, v)
        if covered:
            self._covered[cid] = self._covered.get(cid, 0) + covered
        if changed:
            self._means.pop(cid, None)
            self._survivors = None

    def mark_unscored(self, cid: str, examples: list[str]) -> None:
        self._fresh()
        marks = self._s.unscored.setdefault(cid, set())
        have = self._s.val_scores.get(cid, {})
        for ex in examples:
            if ex not in have and ex not in marks:
                marks.add(ex)
                if self._data.is_active(ex, "val", "holdout"):
                    self._covered[cid] = self._covered.get(cid, 0) + 1

    def retry_unscored(self) -> int:
        count = sum(len(m) for m in self._s.unscored.values())
        self._s.unscored.clear()
        self._built_for = -1
        return count

    # -- queries ---------------------------------------------------------------------------

    def scores(self, cid: str) -> Mapping[str, float]:
        return self._s.val_scores.get(cid, {})

    def missing(self, cid: str) -> list[str]:
        """Active validation and held-out examples `cid` has neither a score nor a mark for."""
        self._fresh()
        if self._covered.get(cid, 0) >= len(self._data.active("val", "holdout")):
            return []
        have = self._s.val_scores.get(cid, {})
        tried = self._s.unscored.get(cid, set())
        return [e for e in self._data.active("val", "holdout") if e not in have and e not in tried]

    def mean(self, cid: str, splits: tuple[str, ...] = ("val", "holdout")) -> float | None:
        scores = self._s.val_scores.get(cid, {})
        vals = [scores[e] for e in self._data.active(*splits) if e in scores]
        return math.fsum(vals) / len(vals) if vals else None

    def compare(
        self,
        a: str,
        b: str,
        splits: tuple[str, ...] = ("val",),
        *,
        exclude: frozenset[str] = frozenset(),
    ) -> tuple[float, float, int]:
        """Exact means of `a` and `b` over the active examples both have scores for."""
        sa = self._s.val_scores.get(a, {})
        sb = self._s.val_scores.get(b, {})
        common = [e for e in self._data.active(*splits) if e in sa and e in sb and e not in exclude]
        if not common:
            return 0.0, 0.0, 0
        n = len(common)
        return (
            math.fsum(sa[e] for e in common) / n,
            math.fsum(sb[e] for e in common) / n,
            n,
        )

    def pairwise_wins(self, a: str, b: str) -> tuple[int, int]:
        sa = self._s.val_scores.get(a, {})
        sb = self._s.val_scores.get(b, {})
        wa = wb = 0
        for e in self._data.active("val"):
            if e in sa and e in sb:
                if sa[e] > sb[e]:
                    wa += 1
                elif sb[e] > sa[e]:
                    wb += 1
        return wa, wb


def _order(cid: str) -> int:
    return int(cid[1:]) if cid[1:].isdigit() else 0
