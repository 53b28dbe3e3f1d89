"""The candidate pool: creating candidates, their lineage, and who is best.

A challenger becomes the best when its exact mean over every validation example both were run
on is higher; on a tie the shorter prompt wins (a line that adds nothing costs attention on a
real model), and at equal length a descendant wins (it passed a gate the validation set could
not show). It must also not fall behind on the held-out examples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ._config import EngineConfig
from ._lines import prompt_lines
from ._scoreboard import Scoreboard
from ._state import EngineState
from ._types import Candidate, CandidateOrigin, Event

__all__ = ["Pool", "cand_order"]


def cand_order(cid: str) -> int:
    return int(cid[1:])


class Pool:
    def __init__(self, state: EngineState, config: EngineConfig, board: Scoreboard) -> None:
        self._s = state
        self._config = config
        self._board = board

    def new(
        self,
        components: dict[str, str],
        parents: tuple[str, ...],
        origin: CandidateOrigin,
        now: float,
        *,
        feedback_examples: tuple[str, ...] = (),
        changed: str | None = None,
    ) -> str:
        s = self._s
        cid = f"c{s.next_candidate}"
        s.next_candidate += 1
        s.candidates[cid] = Candidate(
            id=cid,
            components=components,
            parents=parents,
            origin=origin,
            iteration=s.iteration,
            feedback_examples=feedback_examples,
            changed_component=changed,
            created_at=now,
        )
        if origin in ("seed", "user-edit"):
            s.needs_full_eval.append(cid)
        return cid

    def existing(self, components: Mapping[str, str]) -> str | None:
        for cid, c in self._s.candidates.items():
            if c.components == components:
                return cid
        return None

    def ancestors(self, cid: str) -> set[str]:
        seen: set[str] = set()
        stack = [cid]
        while stack:
            c = stack.pop()
            if c in seen:
                continue
            seen.add(c)
            stack.extend(self._s.candidates[c].parents)
        return seen

    def common_ancestor(self, a: str, b: str) -> str:
        common = self.ancestors(a) & self.ancestors(b)
        if not common:
            # Independent seeds (a user edit beside the original seed): merge against the seed.
            return min(self._s.candidates, key=cand_order)
        return max(common, key=cand_order)

    def introducer(self, cid: str, component: str, line: str) -> Candidate | None:
        """The candidate in `cid`'s lineage whose change added `line` to `component`."""
        cands = self._s.candidates
        current = cands[cid]
        while True:
            having = [
                p for p in current.parents if line in prompt_lines(cands[p].components[component])
            ]
            if not having:
                return current if current.parents else None
            current = cands[min(having, key=cand_order)]

    def size(self, cid: str) -> int:
        return sum(len(t) for t in self._s.candidates[cid].components.values())

    # -- events ----------------------------------------------------------------------------

    def rejected(
        self,
        parent: str | None,
        reason: str,
        parents: tuple[str, str] | None = None,
        *,
        unusable: bool = True,
    ) -> Event:
        if unusable:
            self._s.unusable_in_a_row += 1
        detail: dict[str, object] = {"reason": reason}
        if parent is not None:
            detail["parent"] = parent
        if parents is not None:
            detail["parents"] = parents
        return Event("rejected", self._s.iteration, None, detail)

    def accepted(self, cid: str, detail: dict[str, object], *, mergeable: bool = True) -> Event:
        s = self._s
        s.needs_full_eval.append(cid)
        if (
            mergeable
            and self._config.use_merge
            and s.merges_done + s.merges_due < self._config.max_merges
        ):
            s.merges_due += 1
        return Event("accepted", s.iteration, cid, detail)

    # -- the best --------------------------------------------------------------------------

    def beats(self, challenger: str, incumbent: str) -> bool:
        board = self._board
        # A pruned candidate is judged without the examples whose feedback brought the removed
        # line in: the line was written to fix them, so only the others can show whether it
        # generalises (a rule does, a note about one task does not).
        cand = self._s.candidates[challenger]
        own = frozenset(cand.feedback_examples) if cand.origin == "prune" else frozenset()
        mc, mi, n = board.compare(challenger, incumbent, ("val", "holdout"), exclude=own)
        if n == 0 and own:
            mc, mi, n = board.compare(challenger, incumbent, ("val", "holdout"))
        if n == 0:
            # An incumbent with no scored validation result at all (its evaluation came back
            # unscored during a judge outage, say) has no evidence; a scored challenger wins.
            return board.mean(incumbent) is None and board.mean(challenger) is not None
        if mc < mi:
            return False
        if mc == mi:
            # Validation cannot tell them apart: the training results both have decide next (a
            # line only training examples need is invisible to validation), then the length.
            train = self._train_margin(challenger, incumbent)
            if train < 0:
                return False
            if train == 0 and not self._wins_tie(challenger, incumbent):
                return False
        hc, hi, nh = board.compare(challenger, incumbent, ("holdout",), exclude=own)
        return nh == 0 or hc >= hi - self._config.holdout_tolerance

    def _wins_tie(self, challenger: str, incumbent: str) -> bool:
        size_c, size_i = self.size(challenger), self.size(incumbent)
        if self._config.prefer_shorter and size_c != size_i:
            return size_c < size_i
        return incumbent in self.ancestors(challenger)

    def _train_margin(self, a: str, b: str) -> float:
        """`a`'s summed training scores minus `b`'s, on the training examples both have."""
        s = self._s
        sa, sb = s.train_scores.get(a, {}), s.train_scores.get(b, {})
        common = sorted(e for e in sa if e in sb and s.splits.get(e) == "train")
        return math.fsum(sa[e] for e in common) - math.fsum(sb[e] for e in common)

    def reconsider_best(self, cid: str | None) -> list[Event]:
        s = self._s
        contenders = [cid] if cid is not None else sorted(self._board.survivors(), key=cand_order)
        events: list[Event] = []
        for c in contenders:
            if c is None or c == s.best or c in s.needs_full_eval:
                continue
            if self.beats(c, s.best):
                old = s.best
                s.best = c
                s.last_improvement = s.iteration
                events.append(
                    Event(
                        "new_best",
                        s.iteration,
                        c,
                        {
                            "previous": old,
                            "val_mean": self._board.mean(c),
                            "holdout_mean": self._board.mean(c, ("holdout",)),
                        },
                    )
                )
        return events
