"""Choosing the next request: evaluations first, then a merge, a prune or a reflection."""

from __future__ import annotations

from ._confirm import Confirmation
from ._core import Core
from ._lines import drop_line, prompt_lines
from ._pending import (
    PendingBackfill,
    PendingChild,
    PendingFull,
    PendingMerge,
    PendingMergeGate,
    PendingParent,
    PendingReflect,
)
from ._pool import cand_order
from ._types import Event, Finished, Idle

__all__ = ["Planner"]

# `prune_tried` packs (validation size when tried, tries) into one integer.
_TRIES = 1000


class Planner:
    def __init__(self, core: Core) -> None:
        self._c = core
        self._out_of_budget = False
        self.confirmation = Confirmation(core)

    def plan(self, now: float) -> Idle | Finished | None:
        """Set the next pending request, or say why there is none.

        A run that would stop early (its reflections unusable, its minibatches aced) first
        spends what the end-of-run confirmation needs of the budget left (`_confirm.py`).
        """
        outcome = self._plan(now)
        if outcome is None or self.confirmation.done():
            return outcome
        confirming, events = self.confirmation.plan(self._c.rollouts_left(), early=True)
        self._c.deferred.extend(events)
        return None if confirming else outcome

    def _plan(self, now: float) -> Idle | Finished | None:
        c = self._c
        s = c.state
        train_size = len(c.data.active(*c.data.learn_splits))
        # Iterations whose minibatch the parent already aces issue no request; bound them so
        # a solved training set makes the engine idle instead of spinning.
        for _ in range(2 * (train_size // c.config.minibatch_size + 2)):
            left = c.rollouts_left()
            if self._plan_evaluations(left):
                return None
            if not c.data.active("train"):
                return Idle("no training examples yet")
            if not c.data.active("val"):
                return Idle("no validation examples yet")
            confirming, events = self.confirmation.plan(left)
            c.deferred.extend(events)
            if confirming:
                return None
            if self.confirmation.ended_run():
                return Finished(
                    "rollout budget spent (its end confirmed the best on the training examples)"
                )
            if left is not None and left < 1:
                return Finished("rollout budget spent")
            s.iteration += 1
            s.backfilled_this_step = 0
            if s.unusable_in_a_row >= c.config.max_unusable_in_a_row:
                return Idle(
                    f"the last {s.unusable_in_a_row} reflection or merge answers were unusable; "
                    "check the reflection model (adding examples tries again)"
                )
            if s.merges_due > 0 and self._plan_merge():
                return None
            self._out_of_budget = False
            every = c.config.prune_every
            if every > 0 and s.iteration % every == 0 and self._plan_prune():
                return None
            if self._plan_reflection():
                return None
            if self._out_of_budget:
                return Finished("the rollout budget left is too small for another iteration")
        return Idle("the candidates already ace every training minibatch; waiting for feedback")

    def _plan_evaluations(self, left: int | None) -> bool:
        """Full evaluations of accepted candidates first, then backfill of new examples."""
        c = self._c
        s = c.state
        while s.needs_full_eval:
            cid = s.needs_full_eval[0]
            missing = c.board.missing(cid)
            if missing:
                if left is not None:
                    missing = missing[:left]
                c.set_pending(PendingFull, cand=cid, examples=tuple(missing))
                return True
            s.needs_full_eval.pop(0)
            c.deferred.extend(c.pool.reconsider_best(cid))
        room = c.config.backfill_per_step - s.backfilled_this_step
        if room <= 0:
            return False
        for cid in [s.best, *(x for x in c.board.survivors() if x != s.best)]:
            missing = c.board.missing(cid)
            if missing:
                take = min(room, len(missing)) if left is None else min(room, len(missing), left)
                if take <= 0:
                    return False
                c.set_pending(PendingBackfill, cand=cid, examples=tuple(missing[:take]))
                return True
        return False

    def _select_parent(self) -> str:
        c = self._c
        s = c.state
        mode = c.config.selection
        if mode == "current_best":
            return s.best
        if mode == "epsilon_greedy":
            if s.rng.random() < c.config.epsilon:
                return s.rng.choice(sorted(s.candidates, key=cand_order))
            return s.best
        survivors = c.board.survivors()
        if not survivors:
            return s.best
        weights = [c.board.wins(x) for x in survivors]
        return s.rng.choices(survivors, weights=weights)[0]

    def _fit_budget(self, batch: list[str], missing: list[str]) -> tuple[list[str], list[str]]:
        """Cut the minibatch until the parent's missing results and the child's fit."""
        left = self._c.rollouts_left()
        while left is not None and batch and len(missing) + len(batch) > left:
            batch.pop()
            missing = [e for e in missing if e in batch]
        return batch, missing

    def _needs_parent_eval(self, parent: str, batch: list[str]) -> list[str]:
        c = self._c
        if not c.config.reuse_scores:
            return list(batch)
        scores = c.state.train_scores.get(parent, {})
        traces = c.state.traces.get(parent, {})
        return [e for e in batch if e not in scores or e not in traces]

    def _plan_reflection(self) -> bool:
        c = self._c
        s = c.state
        parent = self._select_parent()
        components = sorted(s.candidates[parent].components)
        cursor = s.component_cursor.get(parent, 0)
        component = components[cursor % len(components)]
        s.component_cursor[parent] = cursor + 1
        batch = c.data.next_minibatch()
        batch, missing = self._fit_budget(batch, self._needs_parent_eval(parent, batch))
        if not batch:
            self._out_of_budget = True
            return False
        if missing:
            c.set_pending(
                PendingParent,
                parent=parent,
                component=component,
                batch=tuple(batch),
                examples=tuple(missing),
            )
            return True
        c.deferred.extend(self.after_parent_scored(parent, component, tuple(batch)))
        return s.pending is not None

    def after_parent_scored(
        self, parent: str, component: str, batch: tuple[str, ...]
    ) -> list[Event]:
        c = self._c
        s = c.state
        scores = s.train_scores.get(parent, {})
        scored = [scores[e] for e in batch if e in scores]
        if (
            c.config.skip_perfect_minibatch
            and scored
            and len(scored) == len(batch)
            and all(v >= c.config.perfect_score for v in scored)
        ):
            return [Event("skipped_perfect", s.iteration, parent, {"examples": batch})]
        c.set_pending(
            PendingReflect, parent=parent, component=component, batch=batch, mode="improve"
        )
        return []

    # -- pruning ---------------------------------------------------------------------------

    def _plan_prune(self) -> bool:
        """Try the best without one of its lines.

        The pruned child is gated on the examples whose feedback brought the line in, where it
        must not be worse (a rule those examples need fails this, a note mostly does not), and
        then judged on the validation examples without them (`Pool.beats`): a line that helps
        nothing beyond the examples it was written for goes. Lines are tried newest first; one
        that stays is not tried again until the validation data has grown by half.
        """
        c = self._c
        s = c.state
        best = s.candidates[s.best]
        n_val = len(c.data.active("val", "holdout"))
        for component in sorted(best.components):
            text = best.components[component]
            lines = prompt_lines(text)
            if len(lines) < 2:
                continue
            for line in reversed(lines):
                if not self._may_prune(line, n_val):
                    continue
                child = dict(best.components)
                child[component] = drop_line(text, line)
                if c.pool.existing(child) is not None:
                    continue
                return self._start_prune(best.id, component, child, line)
        return False

    def _may_prune(self, line: str, n_val: int) -> bool:
        """Whether `line` may be tried again, and if so count the try.

        A try is noisy, so a line gets `prune_tries` of them; after that it is tried again only
        once the validation data has grown by half (new evidence).
        """
        s = self._c.state
        tries = self._c.config.prune_tries
        seen = s.prune_tried.get(line)
        if seen is not None:
            size, count = divmod(seen, _TRIES)
            if count >= tries and 2 * n_val < 3 * size:
                return False
            if 2 * n_val >= 3 * size:
                count = 0
            s.prune_tried[line] = n_val * _TRIES + count + 1
            return True
        s.prune_tried[line] = n_val * _TRIES + 1
        return True

    def _start_prune(self, parent: str, component: str, child: dict[str, str], line: str) -> bool:
        c = self._c
        origin = c.pool.introducer(parent, component, line)
        active = set(c.data.active(*c.data.learn_splits))
        batch = [] if origin is None else [e for e in origin.feedback_examples if e in active]
        if not batch:
            batch = c.data.next_minibatch()
        batch, missing = self._fit_budget(batch, self._needs_parent_eval(parent, batch))
        if not batch:
            return False
        if missing:
            c.set_pending(
                PendingParent,
                parent=parent,
                component=component,
                batch=tuple(batch),
                examples=tuple(missing),
                kind="prune",
                child_text=child[component],
                removed=line,
            )
        else:
            self.start_prune_child(parent, component, tuple(batch), child, line)
        return True

    def start_prune_child(
        self,
        parent: str,
        component: str,
        batch: tuple[str, ...],
        child: dict[str, str],
        line: str,
    ) -> None:
        self._c.set_pending(
            PendingChild,
            parent=parent,
            component=component,
            batch=batch,
            child=child,
            examples=batch,
            kind="prune",
            removed=line,
        )

    # -- merging ---------------------------------------------------------------------------

    def _plan_merge(self) -> bool:
        c = self._c
        s = c.state
        pair = self._pick_merge_pair()
        if pair is None:
            return False
        a, b = pair
        s.merges_due -= 1
        s.merges_done += 1
        s.merges_tried.add((a, b))
        ancestor = c.pool.common_ancestor(a, b)
        ca, cb = s.candidates[a].components, s.candidates[b].components
        canc = s.candidates[ancestor].components
        merged: dict[str, str] = {}
        conflicts: list[str] = []
        for comp in sorted(ca):
            ta, tb, tanc = ca[comp], cb[comp], canc[comp]
            if ta == tb or tb == tanc:
                merged[comp] = ta
            elif ta == tanc:
                merged[comp] = tb
            else:
                conflicts.append(comp)
                merged[comp] = ta
        if not conflicts:
            # Module-wise crossover: each parent contributes the components it changed.
            return self.start_merge_gate(a, b, merged, "crossover")
        # Both lineages rewrote the same component: ask for a system-aware merge of the first
        # conflicting one; any others come from the stronger parent.
        ma, mb, _ = c.board.compare(a, b)
        stronger = ca if ma >= mb else cb
        for comp in conflicts[1:]:
            merged[comp] = stronger[comp]
        c.set_pending(
            PendingMerge, a=a, b=b, ancestor=ancestor, component=conflicts[0], base=merged
        )
        return True

    def _pick_merge_pair(self) -> tuple[str, str] | None:
        c = self._c
        s = c.state
        members = sorted(c.board.survivors(), key=cand_order)
        best_pair: tuple[str, str] | None = None
        best_key: tuple[int, int] = (-1, -1)
        for i, a in enumerate(members):
            anc_a = c.pool.ancestors(a)
            for b in members[i + 1 :]:
                if (a, b) in s.merges_tried or a in c.pool.ancestors(b) or b in anc_a:
                    continue
                if s.candidates[a].components == s.candidates[b].components:
                    continue
                wins_a, wins_b = c.board.pairwise_wins(a, b)
                if wins_a == 0 or wins_b == 0:
                    continue
                key = (min(wins_a, wins_b), wins_a + wins_b)
                if key > best_key:
                    best_key, best_pair = key, (a, b)
        return best_pair

    def start_merge_gate(self, a: str, b: str, child: dict[str, str], origin: str) -> bool:
        c = self._c
        s = c.state
        twin = c.pool.existing(child)
        if twin is not None:
            c.deferred.append(
                c.pool.rejected(None, f"the merge duplicates candidate {twin}", (a, b))
            )
            return False
        sa, sb = c.board.scores(a), c.board.scores(b)
        common = [e for e in c.data.active("val") if e in sa and e in sb]
        differing = [e for e in common if sa[e] != sb[e]]
        same = [e for e in common if sa[e] == sb[e]]
        s.rng.shuffle(same)
        subsample = (differing + same)[: c.config.merge_minibatch_size]
        left = c.rollouts_left()
        if left is not None:
            subsample = subsample[:left]
        if not subsample:
            c.deferred.append(
                c.pool.rejected(None, "no common validation examples", (a, b), unusable=False)
            )
            return False
        c.set_pending(
            PendingMergeGate,
            a=a,
            b=b,
            child=child,
            origin="merge" if origin == "merge" else "crossover",
            examples=tuple(subsample),
        )
        return True
