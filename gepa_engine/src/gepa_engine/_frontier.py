"""The per-example Pareto frontier, maintained incrementally.

For each Pareto example the frontier holds the candidates with the highest score on it. A
candidate survives pruning if it is the only surviving winner of at least one example; the rest
are dominated (every example they win, someone else also wins). Parent selection samples the
survivors in proportion to the number of examples they win.

Adding a candidate's score touches one example, and pruning is linear in the number of
(example, winner) pairs, so a step stays cheap with hundreds of candidates and thousands of
examples.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["Frontier"]


class Frontier:
    def __init__(self) -> None:
        self._best: dict[str, float] = {}
        self._front: dict[str, set[str]] = {}
        self._wins: dict[str, set[str]] = {}

    def add_score(self, candidate: str, example: str, score: float) -> bool:
        """Record a score; return True when the example's front changed."""
        best = self._best.get(example)
        if best is None or score > best:
            for loser in self._front.get(example, ()):
                self._wins[loser].discard(example)
            self._best[example] = score
            self._front[example] = {candidate}
        elif score == best and candidate not in self._front[example]:
            self._front[example].add(candidate)
        else:
            return False
        self._wins.setdefault(candidate, set()).add(example)
        return True

    def remove_example(self, example: str) -> None:
        for member in self._front.pop(example, ()):
            self._wins[member].discard(example)
        self._best.pop(example, None)

    def remove_candidate(self, candidate: str) -> None:
        """Forget a candidate; the examples it alone won must be rebuilt by the caller."""
        for example in self._wins.pop(candidate, set()):
            self._front[example].discard(candidate)

    def front(self, example: str) -> frozenset[str]:
        return frozenset(self._front.get(example, ()))

    def wins(self, candidate: str) -> int:
        return len(self._wins.get(candidate, ()))

    def examples(self) -> Iterable[str]:
        return self._front.keys()

    def survivors(self, mean_score: dict[str, float]) -> tuple[str, ...]:
        """Non-dominated frontier members, in a deterministic order.

        `mean_score` orders the elimination: weaker candidates are examined first, so of two
        candidates that win exactly the same examples the stronger one survives. Not cached
        here: the answer depends on the means too, which change without the fronts changing
        (the scoreboard caches it and knows when it is stale).
        """
        members = [c for c, won in self._wins.items() if won]
        members.sort(key=lambda c: (mean_score.get(c, 0.0), len(self._wins[c]), c))
        # Elimination in this order removes a candidate when each example it wins still has
        # another live winner. Equivalently, a candidate survives exactly when it is the last
        # winner (in this order) of some example none of whose earlier winners survived.
        # In that form every step is a set operation, so the work per candidate runs in C.
        unclaimed = set(self._front)
        last_of: dict[str, set[str]] = {}
        for c in reversed(members):
            mine = self._wins[c] & unclaimed
            unclaimed -= mine
            last_of[c] = mine
        held_by_survivor: set[str] = set()
        eliminated: set[str] = set()
        for c in members:
            if last_of[c] - held_by_survivor:
                held_by_survivor |= self._wins[c]
            else:
                eliminated.add(c)
        return tuple(sorted(c for c in members if c not in eliminated))
