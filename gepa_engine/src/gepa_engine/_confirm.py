"""End-of-run confirmation: the leading candidates are also scored on the training examples.

A run's best is the candidate with the highest mean on a few validation examples, one noisy
sample each, picked out of dozens: the maximum of many noisy means is biased upward (the
winner's curse), and the validation examples miss what only training examples need. Just before
a run's rollout budget is spent, the `confirm_top` leaders by validation mean are scored on the
training examples they lack, and the best is chosen on validation and training together, on the
examples all of them have. It runs only when that costs at most `confirm_share` of the run.
"""

from __future__ import annotations

import math

from ._core import Core
from ._pending import PendingConfirm
from ._pool import cand_order
from ._types import Event

__all__ = ["Confirmation"]


class Confirmation:
    def __init__(self, core: Core) -> None:
        self._c = core

    def cap(self) -> int | None:
        """The current run's rollout cap, noting when a new one (a new run) is first seen."""
        c = self._c
        cap = None if c.stop is None else c.stop.rollout_cap()
        if cap is not None and cap != c.state.run_cap:
            c.state.run_cap = cap
            c.state.run_start = c.state.rollouts
        return cap

    def done(self) -> bool:
        s = self._c.state
        return s.run_cap >= 0 and s.confirmed_cap == s.run_cap

    def ended_run(self) -> bool:
        """Whether this run's confirmation was its budget's end (so the run is over)."""
        return self.done() and not self._c.state.confirmed_early

    def plan(self, left: int | None, *, early: bool = False) -> tuple[bool, list[Event]]:
        """(a confirmation request was set, events); when it is time (the budget left is what
        it needs, or `early`: the run stops before its budget) and nothing is left to score,
        the best is chosen and the run's confirmation is marked done."""
        c = self._c
        s = c.state
        cap = self.cap()
        if c.config.confirm_top < 1 or cap is None or left is None or self.done():
            return False, []
        train = c.data.active("train")
        leaders = self._leaders()
        if not train or len(leaders) < 2:
            return False, []
        lacking = [(cid, self._lacking(cid, train)) for cid in leaders]
        need = sum(len(m) for _, m in lacking)
        if need > c.config.confirm_share * (cap - s.run_start):
            return False, []
        if left > need and not early:
            return False, []
        if early and need > left:
            return False, []
        s.confirmed_early = early
        for cid, missing in lacking:
            if missing and left > 0:
                c.set_pending(PendingConfirm, cand=cid, examples=tuple(missing[:left]))
                return True, []
        return False, self.finish()

    def after_answer(self, left: int | None) -> list[Event]:
        """After a confirmation result: choose once everything is scored or the budget is
        spent (the stop would end the run before the planner looked again)."""
        c = self._c
        leaders = self._leaders()
        train = c.data.active("train")
        lacking = any(self._lacking(cid, train) for cid in leaders)
        if lacking and (left is None or left > 0):
            return []
        return self.finish()

    def finish(self) -> list[Event]:
        """Mark this run's confirmation done and keep the best on validation and training."""
        self._c.state.confirmed_cap = self._c.state.run_cap
        leaders = self._leaders()
        return self._choose(leaders) if len(leaders) >= 2 else []

    def _lacking(self, cid: str, train: tuple[str, ...] | list[str]) -> list[str]:
        """Training examples `cid` has no score for, or only the score of the gate that
        accepted it (selected for being high); those are asked again: a stochastic evaluator
        gives a fresh sample, a deterministic one the same value."""
        s = self._c.state
        have = s.train_scores.get(cid, {})
        gated = set(s.candidates[cid].feedback_examples)
        fresh = s.confirm_fresh.get(cid, set())
        return [e for e in train if e not in have or (e in gated and e not in fresh)]

    def _leaders(self) -> list[str]:
        c = self._c
        s = c.state
        scored = [
            cid
            for cid in s.candidates
            if cid not in s.needs_full_eval
            and not c.board.missing(cid)
            and c.board.mean(cid, ("val", "holdout")) is not None
        ]
        scored.sort(
            key=lambda cid: (
                -(c.board.mean(cid, ("val", "holdout")) or 0.0),
                c.pool.size(cid),
                cand_order(cid),
            )
        )
        return scored[: c.config.confirm_top]

    def _choose(self, leaders: list[str]) -> list[Event]:
        c = self._c
        s = c.state
        tables = [{**s.val_scores.get(cid, {}), **self._train_only(cid)} for cid in leaders]
        active = c.data.active_set("train", "val", "holdout")
        # A leader's gate scores that were not asked again (the budget ran out) stay biased
        # upward: those examples are left out for every leader.
        gated = {
            e
            for cid in leaders
            for e in s.candidates[cid].feedback_examples
            if e not in s.confirm_fresh.get(cid, set())
        }
        common = sorted(
            e for e in tables[0] if e in active and e not in gated and all(e in t for t in tables)
        )
        if not common:
            return []
        means = {
            cid: math.fsum(t[e] for e in common) / len(common)
            for cid, t in zip(leaders, tables, strict=True)
        }
        chosen = min(leaders, key=lambda cid: (-means[cid], c.pool.size(cid), cand_order(cid)))
        if chosen == s.best:
            return []
        previous, s.best = s.best, chosen
        s.last_improvement = s.iteration
        detail: dict[str, object] = {
            "previous": previous,
            "val_mean": c.board.mean(chosen),
            "holdout_mean": c.board.mean(chosen, ("holdout",)),
            "confirmed_mean": means[chosen],
            "confirmed_on": len(common),
        }
        return [Event("new_best", s.iteration, chosen, detail)]

    def _train_only(self, cid: str) -> dict[str, float]:
        s = self._c.state
        return {e: v for e, v in s.train_scores.get(cid, {}).items() if s.splits.get(e) == "train"}
