"""The stepped GEPA engine: a sans-I/O state machine.

The caller loops::

    while True:
        request = engine.next_request(now)
        if isinstance(request, (Idle, Finished)):
            break
        answer = perform(request)           # LLM calls, concurrently if it likes
        events = engine.complete(request.id, answer, now)

Exactly one request is outstanding at a time; asking again returns the same request, so a
caller that crashed after persisting the state simply performs it again. Nothing is counted
until its answer arrives, so nothing is counted twice.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

from ._config import EngineConfig
from ._errors import EngineError, ProtocolError
from ._frontier import Frontier
from ._overfit import strip_quoting_lines
from ._state import EngineState, state_from_json, state_to_json
from ._stop import BudgetView, StopCondition
from ._templates import (
    parse_instruction_block,
    render_condense,
    render_merge,
    render_reflection,
)
from ._types import (
    Answer,
    Candidate,
    CandidateOrigin,
    EvalResult,
    Evaluate,
    Event,
    ExampleSpec,
    Finished,
    Idle,
    Merge,
    Reflect,
    ReflectiveRecord,
    Request,
    TextAnswer,
)

__all__ = ["Engine"]


def _mean(values: Iterable[float]) -> float:
    total = 0.0
    n = 0
    for v in values:
        total += v
        n += 1
    return total / n if n else 0.0


class Engine:
    """GEPA over a dataset that may grow and shrink between steps."""

    def __init__(
        self,
        state: EngineState,
        *,
        config: EngineConfig | None = None,
        stop: StopCondition | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self.stop = stop
        self._s = state
        self._frontier = Frontier()
        self._psum: dict[str, float] = {}
        self._pcount: dict[str, int] = {}
        # Per candidate, how many active validation examples it has a result (or unscored mark)
        # for: makes "is anything missing?" O(1) with thousands of examples.
        self._covered: dict[str, int] = {}
        self._active: dict[tuple[str, ...], tuple[str, ...]] = {}
        # Events produced while planning wait for the caller's next `complete` or `take_events`.
        self._deferred: list[Event] = []
        self._out_of_budget = False
        self._rebuild_indexes()

    # ----------------------------------------------------------------- construction

    @classmethod
    def start(
        cls,
        seed_components: Mapping[str, str],
        *,
        seed: int = 0,
        now: float = 0.0,
        config: EngineConfig | None = None,
        stop: StopCondition | None = None,
    ) -> Engine:
        """A fresh engine whose first candidate is `seed_components`."""
        if not seed_components:
            raise EngineError("the seed candidate needs at least one component")
        engine = cls(EngineState(rng=random.Random(seed)), config=config, stop=stop)
        cid = engine._new_candidate(dict(seed_components), (), "seed", now)
        engine._s.best = cid
        return engine

    @classmethod
    def from_json(
        cls, text: str, *, config: EngineConfig | None = None, stop: StopCondition | None = None
    ) -> Engine:
        return cls(state_from_json(text), config=config, stop=stop)

    def to_json(self) -> str:
        return state_to_json(self._s)

    def _rebuild_indexes(self) -> None:
        s = self._s
        for cid, scores in s.val_scores.items():
            for ex, score in scores.items():
                self._index_score(cid, ex, score)
        for ex in self.active_examples("val", "holdout"):
            self._coverage_delta(ex, +1)

    def _coverage_delta(self, ex: str, sign: int) -> None:
        s = self._s
        for cid in s.candidates:
            if ex in s.val_scores.get(cid, ()) or ex in s.unscored.get(cid, ()):
                self._covered[cid] = self._covered.get(cid, 0) + sign

    # ----------------------------------------------------------------- read access

    @property
    def iteration(self) -> int:
        return self._s.iteration

    @property
    def rollouts(self) -> int:
        return self._s.rollouts

    @property
    def best(self) -> Candidate:
        return self._s.candidates[self._s.best]

    @property
    def candidates(self) -> Mapping[str, Candidate]:
        return self._s.candidates

    def budget(self) -> dict[str, float | int]:
        s = self._s
        return {
            "rollouts": s.rollouts,
            "cached_rollouts": s.cached_rollouts,
            "unscored_rollouts": s.unscored_rollouts,
            "reflection_calls": s.reflection_calls,
            "merge_calls": s.merge_calls,
            "cost_usd": s.cost_usd,
            "tokens": s.tokens,
            "iterations": s.iteration,
            "iterations_since_improvement": s.iteration - s.last_improvement,
        }

    @property
    def has_outstanding_request(self) -> bool:
        """Whether a request was handed out and not completed (e.g. before a crash)."""
        return self._s.pending is not None

    def split_of(self, example_id: str) -> str | None:
        return self._s.splits.get(example_id)

    def is_pending_full(self, candidate: str) -> bool:
        """Whether `candidate` still waits for its full validation evaluation."""
        return candidate in self._s.needs_full_eval

    def frontier(self) -> tuple[str, ...]:
        """The non-dominated candidates, each the sole surviving winner of some example."""
        return self._frontier.survivors(self._means())

    def frontier_wins(self, candidate: str) -> int:
        return self._frontier.wins(candidate)

    def front(self, example_id: str) -> frozenset[str]:
        return self._frontier.front(example_id)

    def val_scores(self, candidate: str) -> Mapping[str, float]:
        return self._s.val_scores.get(candidate, {})

    def active_examples(self, *splits: str) -> tuple[str, ...]:
        cached = self._active.get(splits)
        if cached is None:
            if not self._active:
                # One pass fills the common queries, so a step never rescans the dataset.
                s = self._s
                by_split: dict[str, list[str]] = {"train": [], "val": [], "holdout": []}
                for e, sp in s.splits.items():
                    if e not in s.retired:
                        by_split[sp].append(e)
                self._active[("train",)] = tuple(by_split["train"])
                self._active[("val",)] = tuple(by_split["val"])
                self._active[("holdout",)] = tuple(by_split["holdout"])
                self._active[("val", "holdout")] = tuple(
                    e for e in s.splits if e not in s.retired and s.splits[e] != "train"
                )
            cached = self._active.get(splits)
            if cached is None:
                s = self._s
                cached = tuple(
                    e for e, sp in s.splits.items() if sp in splits and e not in s.retired
                )
                self._active[splits] = cached
        return cached

    def mean_val(
        self, candidate: str, *, splits: tuple[str, ...] = ("val", "holdout")
    ) -> float | None:
        """Mean over the active examples of `splits` that `candidate` has scores for."""
        scores = self._s.val_scores.get(candidate, {})
        vals = [scores[e] for e in self.active_examples(*splits) if e in scores]
        return _mean(vals) if vals else None

    def compare(
        self, a: str, b: str, *, splits: tuple[str, ...] = ("val",)
    ) -> tuple[float, float, int]:
        """Means of `a` and `b` over the active examples both have scores for, and how many."""
        sa = self._s.val_scores.get(a, {})
        sb = self._s.val_scores.get(b, {})
        common = [e for e in self.active_examples(*splits) if e in sa and e in sb]
        if not common:
            return 0.0, 0.0, 0
        n = len(common)
        return sum(map(sa.__getitem__, common)) / n, sum(map(sb.__getitem__, common)) / n, n

    # ----------------------------------------------------------------- dataset changes

    def add_examples(self, specs: Iterable[ExampleSpec], now: float = 0.0) -> list[Event]:
        """Add examples; an unassigned split is chosen by the engine's split policy."""
        s = self._s
        added: list[str] = []
        counts = {"train": 0, "val": 0, "holdout": 0}
        for sp in s.splits.values():
            counts[sp] += 1
        for spec in specs:
            if spec.id in s.splits:
                if spec.id in s.retired:
                    s.retired.discard(spec.id)
                    self._active.clear()
                    self._on_reactivated(spec.id)
                    added.append(spec.id)
                continue
            split = self._assign_split(spec.split, counts)
            counts[split] += 1
            s.splits[spec.id] = split
            self._active.clear()
            if split == "train":
                s.sampler_order.append(spec.id)
            added.append(spec.id)
        if not added:
            return []
        s.unusable_in_a_row = 0
        return [Event("examples_added", s.iteration, None, {"examples": tuple(added)})]

    def retire_examples(self, ids: Iterable[str]) -> list[Event]:
        s = self._s
        retired: list[str] = []
        for ex in ids:
            if ex in s.splits and ex not in s.retired:
                if s.splits[ex] != "train":
                    self._coverage_delta(ex, -1)
                s.retired.add(ex)
                self._active.clear()
                retired.append(ex)
                if s.splits[ex] == "val":
                    self._frontier.remove_example(ex)
                    for cid, scores in s.val_scores.items():
                        if ex in scores:
                            self._psum[cid] -= scores[ex]
                            self._pcount[cid] -= 1
        if not retired:
            return []
        return [Event("examples_retired", s.iteration, None, {"examples": tuple(retired)})]

    def retry_unscored(self) -> int:
        """Ask again for every validation result that came back unscored.

        Unscored examples are not re-asked within a run, so a broken judge cannot make the
        engine spin; a caller calls this when the cause may be gone (the daemon: at the start
        of each run). Returns how many (candidate, example) pairs will be asked again.
        """
        s = self._s
        active = set(self.active_examples("val", "holdout"))
        count = 0
        for cid, marks in s.unscored.items():
            self._covered[cid] = self._covered.get(cid, 0) - len(marks & active)
            count += len(marks)
        s.unscored.clear()
        return count

    def add_seed_candidate(self, components: Mapping[str, str], now: float = 0.0) -> str:
        """A user's own prompt edit: it enters the pool and competes like any candidate."""
        if set(components) != set(self.best.components):
            raise EngineError(
                "a seed candidate must have the same components as the engine's candidates: "
                f"{sorted(self.best.components)}"
            )
        return self._new_candidate(dict(components), (), "user-edit", now)

    def _assign_split(self, wanted: str | None, counts: dict[str, int]) -> str:
        if wanted is None:
            n_val = counts["val"] + counts["holdout"]
            total = sum(counts.values()) + 1
            # Keep the validation share on target; the first example always trains.
            wanted = "val" if n_val + 1 <= self.config.val_fraction * total else "train"
        if wanted == "val":
            n_val = counts["val"] + counts["holdout"] + 1
            if counts["holdout"] + 1 <= int(self.config.holdout_fraction * n_val):
                return "holdout"
            return "val"
        if wanted not in ("train", "holdout"):
            raise EngineError(f"unknown split {wanted!r}; use train, val, holdout or None")
        return wanted

    def _on_reactivated(self, ex: str) -> None:
        s = self._s
        if s.splits[ex] != "train":
            self._coverage_delta(ex, +1)
        if s.splits[ex] == "val":
            for cid, scores in s.val_scores.items():
                if ex in scores:
                    self._index_score(cid, ex, scores[ex])
        elif s.splits[ex] == "train" and ex not in s.sampler_order[s.sampler_pos :]:
            s.sampler_order.append(ex)

    # ----------------------------------------------------------------- stepping

    def next_request(self, now: float = 0.0) -> Request | Idle | Finished:
        """The request to perform next (the same one again until it is completed)."""
        if self._s.pending is not None:
            return self._request_from_pending()
        reason = self._stop_reason(now)
        if reason is not None:
            return Finished(reason)
        planned = self._plan(now)
        if isinstance(planned, (Idle, Finished)):
            return planned
        return self._request_from_pending()

    def complete(self, request_id: int, answer: Answer, now: float = 0.0) -> list[Event]:
        """Feed back the answer to the outstanding request."""
        pending = self._s.pending
        if pending is None or pending["id"] != request_id:
            want = None if pending is None else pending["id"]
            raise ProtocolError(f"request {request_id} is not outstanding (outstanding: {want})")
        phase = pending["phase"]
        is_eval = phase in ("full", "backfill", "parent", "child", "merge_gate")
        if is_eval and not isinstance(answer, EvalResult):
            raise ProtocolError(
                f"request {request_id} needs an EvalResult, got {type(answer).__name__}"
            )
        if not is_eval and not isinstance(answer, TextAnswer):
            raise ProtocolError(
                f"request {request_id} needs a TextAnswer, got {type(answer).__name__}"
            )
        self._s.pending = None
        handler = getattr(self, f"_on_{phase}")
        events: list[Event] = handler(pending, answer, now)
        return events

    # ----------------------------------------------------------------- planning

    def _view(self, now: float) -> BudgetView:
        s = self._s
        return BudgetView(
            rollouts=s.rollouts,
            iterations=s.iteration,
            cost_usd=s.cost_usd,
            tokens=s.tokens,
            now=now,
            iterations_since_improvement=s.iteration - s.last_improvement,
        )

    def _stop_reason(self, now: float) -> str | None:
        if self.stop is None:
            return None
        return self.stop.reason(self._view(now))

    def _rollouts_left(self) -> int | None:
        cap = None if self.stop is None else self.stop.rollout_cap()
        return None if cap is None else max(0, cap - self._s.rollouts)

    def _set_pending(self, phase: str, **ctx: Any) -> None:
        s = self._s
        s.pending = {"id": s.next_request, "phase": phase, **ctx}
        s.next_request += 1

    def _missing_val(self, cid: str) -> list[str]:
        s = self._s
        if self._covered.get(cid, 0) >= len(self.active_examples("val", "holdout")):
            return []
        have = s.val_scores.get(cid, {})
        tried = s.unscored.get(cid, set())
        return [
            e for e in self.active_examples("val", "holdout") if e not in have and e not in tried
        ]

    def _plan(self, now: float) -> Idle | Finished | None:
        """Set the next pending request, or say why there is none."""
        s = self._s
        train_size = len(self.active_examples("train"))
        # Iterations whose minibatch the parent already aces issue no request; bound them so
        # a solved training set makes the engine idle instead of spinning.
        for _ in range(2 * (train_size // self.config.minibatch_size + 2)):
            left = self._rollouts_left()
            if self._plan_evaluations(left):
                return None
            if not self.active_examples("train"):
                return Idle("no training examples yet")
            if not self.active_examples("val"):
                return Idle("no validation examples yet")
            if left is not None and left < 1:
                return Finished("rollout budget spent")
            s.iteration += 1
            s.backfilled_this_step = 0
            if s.unusable_in_a_row >= self.config.max_unusable_in_a_row:
                return Idle(
                    f"the last {s.unusable_in_a_row} reflection or merge answers were unusable; "
                    "check the reflection model (adding examples tries again)"
                )
            if s.merges_due > 0 and self._plan_merge(now):
                return None
            self._out_of_budget = False
            if self._plan_reflection():
                return None
            if self._out_of_budget:
                return Finished("the rollout budget left is too small for another iteration")
        return Idle("the candidates already ace every training minibatch; waiting for feedback")

    def _plan_evaluations(self, left: int | None) -> bool:
        """Full evaluations of accepted candidates first, then backfill of new examples."""
        s = self._s
        while s.needs_full_eval:
            cid = s.needs_full_eval[0]
            missing = self._missing_val(cid)
            if missing:
                if left is not None:
                    missing = missing[:left]
                self._set_pending("full", cand=cid, examples=missing)
                return True
            s.needs_full_eval.pop(0)
            self._deferred.extend(self._reconsider_best(cid))
        room = self.config.backfill_per_step - s.backfilled_this_step
        if room <= 0:
            return False
        for cid in [s.best, *(c for c in self.frontier() if c != s.best)]:
            missing = self._missing_val(cid)
            if missing:
                take = min(room, len(missing)) if left is None else min(room, len(missing), left)
                if take <= 0:
                    return False
                self._set_pending("backfill", cand=cid, examples=missing[:take])
                return True
        return False

    def _select_parent(self) -> str:
        s = self._s
        mode = self.config.selection
        if mode == "current_best":
            return s.best
        if mode == "epsilon_greedy":
            if s.rng.random() < self.config.epsilon:
                return s.rng.choice(sorted(s.candidates, key=self._cand_order))
            return s.best
        survivors = self.frontier()
        if not survivors:
            return s.best
        weights = [self._frontier.wins(c) for c in survivors]
        return s.rng.choices(survivors, weights=weights)[0]

    @staticmethod
    def _cand_order(cid: str) -> int:
        return int(cid[1:])

    def _next_minibatch(self) -> list[str]:
        s = self._s
        active = set(self.active_examples("train"))
        k = min(self.config.minibatch_size, len(active))
        batch: list[str] = []
        reshuffled = False
        while len(batch) < k:
            if s.sampler_pos >= len(s.sampler_order):
                if reshuffled:
                    break
                order = sorted(active)
                s.rng.shuffle(order)
                s.sampler_order = order
                s.sampler_pos = 0
                reshuffled = True
            ex = s.sampler_order[s.sampler_pos]
            s.sampler_pos += 1
            if ex in active and ex not in batch:
                batch.append(ex)
        return batch

    def _plan_reflection(self) -> bool:
        s = self._s
        parent = self._select_parent()
        components = sorted(s.candidates[parent].components)
        cursor = s.component_cursor.get(parent, 0)
        component = components[cursor % len(components)]
        s.component_cursor[parent] = cursor + 1
        batch = self._next_minibatch()
        missing = self._needs_parent_eval(parent, batch)
        left = self._rollouts_left()
        # The parent's missing results and the child's minibatch must both fit the budget.
        while left is not None and batch and len(missing) + len(batch) > left:
            batch.pop()
            missing = [e for e in missing if e in batch]
        if not batch:
            self._out_of_budget = True
            return False
        if missing:
            self._set_pending(
                "parent", parent=parent, component=component, batch=batch, examples=missing
            )
            return True
        self._deferred.extend(self._after_parent_scored(parent, component, batch))
        return self._s.pending is not None

    def _needs_parent_eval(self, parent: str, batch: list[str]) -> list[str]:
        if not self.config.reuse_scores:
            return list(batch)
        s = self._s
        scores = s.train_scores.get(parent, {})
        traces = s.traces.get(parent, {})
        return [e for e in batch if e not in scores or e not in traces]

    def _after_parent_scored(self, parent: str, component: str, batch: list[str]) -> list[Event]:
        s = self._s
        scores = s.train_scores.get(parent, {})
        scored = [scores[e] for e in batch if e in scores]
        if (
            self.config.skip_perfect_minibatch
            and scored
            and len(scored) == len(batch)
            and all(v >= self.config.perfect_score for v in scored)
        ):
            return [Event("skipped_perfect", s.iteration, parent, {"examples": tuple(batch)})]
        self._set_pending(
            "reflect", parent=parent, component=component, batch=batch, mode="improve"
        )
        return []

    def _plan_merge(self, now: float) -> bool:
        s = self._s
        pair = self._pick_merge_pair()
        if pair is None:
            return False
        a, b = pair
        s.merges_due -= 1
        s.merges_done += 1
        s.merges_tried.add((a, b))
        ancestor = self._common_ancestor(a, b)
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
            return self._start_merge_gate(a, b, merged, "crossover")
        # Both lineages rewrote the same component: ask for a system-aware merge of the first
        # conflicting one; any others come from the stronger parent.
        ma, mb, _ = self.compare(a, b)
        stronger = ca if ma >= mb else cb
        for comp in conflicts[1:]:
            merged[comp] = stronger[comp]
        self._set_pending("merge", a=a, b=b, ancestor=ancestor, component=conflicts[0], base=merged)
        return True

    def _existing(self, components: Mapping[str, str]) -> str | None:
        for cid, c in self._s.candidates.items():
            if c.components == components:
                return cid
        return None

    def _ancestors(self, cid: str) -> set[str]:
        seen: set[str] = set()
        stack = [cid]
        while stack:
            c = stack.pop()
            if c in seen:
                continue
            seen.add(c)
            stack.extend(self._s.candidates[c].parents)
        return seen

    def _common_ancestor(self, a: str, b: str) -> str:
        common = self._ancestors(a) & self._ancestors(b)
        if not common:
            # Independent seeds (a user edit beside the original seed): merge against the seed.
            return min(self._s.candidates, key=self._cand_order)
        return max(common, key=self._cand_order)

    def _pick_merge_pair(self) -> tuple[str, str] | None:
        s = self._s
        members = sorted(self.frontier(), key=self._cand_order)
        best_pair: tuple[str, str] | None = None
        best_key: tuple[int, int] = (-1, -1)
        for i, a in enumerate(members):
            anc_a = self._ancestors(a)
            for b in members[i + 1 :]:
                if (a, b) in s.merges_tried or a in self._ancestors(b) or b in anc_a:
                    continue
                if s.candidates[a].components == s.candidates[b].components:
                    continue
                wins_a, wins_b = self._pairwise_wins(a, b)
                if wins_a == 0 or wins_b == 0:
                    continue
                key = (min(wins_a, wins_b), wins_a + wins_b)
                if key > best_key:
                    best_key, best_pair = key, (a, b)
        return best_pair

    def _pairwise_wins(self, a: str, b: str) -> tuple[int, int]:
        sa = self._s.val_scores.get(a, {})
        sb = self._s.val_scores.get(b, {})
        wa = wb = 0
        for e in self.active_examples("val"):
            if e in sa and e in sb:
                if sa[e] > sb[e]:
                    wa += 1
                elif sb[e] > sa[e]:
                    wb += 1
        return wa, wb

    def _start_merge_gate(self, a: str, b: str, child: dict[str, str], origin: str) -> bool:
        s = self._s
        twin = self._existing(child)
        if twin is not None:
            self._deferred.append(
                self._rejected(None, f"the merge duplicates candidate {twin}", (a, b))
            )
            return False
        sa = s.val_scores.get(a, {})
        sb = s.val_scores.get(b, {})
        common = [e for e in self.active_examples("val") if e in sa and e in sb]
        differing = [e for e in common if sa[e] != sb[e]]
        same = [e for e in common if sa[e] == sb[e]]
        s.rng.shuffle(same)
        subsample = (differing + same)[: self.config.merge_minibatch_size]
        left = self._rollouts_left()
        if left is not None:
            subsample = subsample[:left]
        if not subsample:
            self._deferred.append(
                self._rejected(None, "no common validation examples", (a, b), unusable=False)
            )
            return False
        self._set_pending("merge_gate", a=a, b=b, child=child, origin=origin, examples=subsample)
        return True

    # ----------------------------------------------------------------- requests

    def _request_from_pending(self) -> Request:
        p = self._s.pending
        assert p is not None
        s = self._s
        phase = p["phase"]
        if phase in ("full", "backfill", "parent", "child", "merge_gate"):
            if phase in ("full", "backfill", "parent"):
                cid = p["cand"] if phase in ("full", "backfill") else p["parent"]
                components = s.candidates[cid].components
            else:
                cid = "(child)"
                components = p["child"]
            purpose = {
                "full": "full",
                "backfill": "backfill",
                "parent": "minibatch-parent",
                "child": "minibatch-child",
                "merge_gate": "merge-gate",
            }[phase]
            return Evaluate(
                id=p["id"],
                candidate_id=cid,
                components=dict(components),
                example_ids=tuple(p["examples"]),
                capture_traces=phase in ("parent", "child"),
                purpose=purpose,  # type: ignore[arg-type]
            )
        if phase == "reflect":
            parent = p["parent"]
            component = p["component"]
            current = p.get("text") or s.candidates[parent].components[component]
            records = tuple(self._records(parent, p["batch"]))
            if p["mode"] == "condense":
                prompt = render_condense(current, self.config.max_prompt_chars)
                records = ()
            else:
                prompt = render_reflection(current, records)
            return Reflect(
                id=p["id"],
                candidate_id=parent,
                component=component,
                current_text=current,
                records=records,
                prompt=prompt,
                mode=p["mode"],
            )
        if phase == "merge":
            a, b, anc, comp = p["a"], p["b"], p["ancestor"], p["component"]
            ta = s.candidates[a].components[comp]
            tb = s.candidates[b].components[comp]
            tanc = s.candidates[anc].components[comp]
            return Merge(
                id=p["id"],
                parent_ids=(a, b),
                component=comp,
                text_a=ta,
                text_b=tb,
                ancestor_text=tanc,
                prompt=render_merge(tanc, ta, tb),
            )
        raise EngineError(f"corrupt pending phase {phase!r}")

    def _records(self, cid: str, batch: list[str]) -> list[ReflectiveRecord]:
        s = self._s
        traces = s.traces.get(cid, {})
        scores = s.train_scores.get(cid, {})
        out = []
        for e in batch:
            inp, output, feedback = traces.get(e, ("", "", ""))
            out.append(ReflectiveRecord(e, inp, output, feedback, scores.get(e)))
        return out

    # ----------------------------------------------------------------- answers

    def _take_outcomes(
        self, p: dict[str, Any], result: EvalResult, *, train: bool, cid: str | None
    ) -> dict[str, float]:
        """Count the rollouts of an answer and return the scored outcomes by example."""
        s = self._s
        wanted = set(p["examples"])
        cached = result.cached_example_ids
        scored: dict[str, float] = {}
        unscored: list[str] = []
        for o in result.outcomes:
            ex = o.example_id
            if ex not in wanted:
                continue
            wanted.discard(ex)
            if ex in cached:
                s.cached_rollouts += 1
            else:
                s.rollouts += 1
            score = o.score
            # bool is an int subclass and NaN is a float: both are garbage, hence unscored.
            if (score.__class__ is not float and score.__class__ is not int) or score != score:
                unscored.append(ex)
                continue
            scored[ex] = 1.0 if score > 1.0 else 0.0 if score < 0.0 else float(score)
            if train and cid is not None:
                s.train_scores.setdefault(cid, {})[ex] = scored[ex]
                self._keep_trace(cid, ex, (o.input, o.output, o.feedback))
        s.unscored_rollouts += len(unscored)
        if cid is not None and not train:
            marks = s.unscored.setdefault(cid, set())
            have = s.val_scores.get(cid, {})
            for ex in unscored:
                if ex not in marks and ex not in have:
                    marks.add(ex)
                    self._count_coverage(cid, ex)
        return scored

    def _keep_trace(self, cid: str, ex: str, trace: tuple[str, str, str]) -> None:
        traces = self._s.traces.setdefault(cid, {})
        traces.pop(ex, None)
        traces[ex] = trace
        while len(traces) > self.config.max_traces_per_candidate:
            traces.pop(next(iter(traces)))

    def _flush(self, events: list[Event]) -> list[Event]:
        if self._deferred:
            events = self._deferred + events
            self._deferred = []
        return events

    def take_events(self) -> list[Event]:
        """Events produced while planning, for a caller that got `Idle` or `Finished`."""
        return self._flush([])

    def _on_full(self, p: dict[str, Any], result: EvalResult, now: float) -> list[Event]:
        cid = p["cand"]
        scored = self._take_outcomes(p, result, train=False, cid=cid)
        events = self._record_val(cid, scored)
        if not self._missing_val(cid) and cid in self._s.needs_full_eval:
            self._s.needs_full_eval.remove(cid)
        events += self._reconsider_best(cid)
        return self._flush(events)

    def _on_backfill(self, p: dict[str, Any], result: EvalResult, now: float) -> list[Event]:
        cid = p["cand"]
        before = self._s.rollouts
        scored = self._take_outcomes(p, result, train=False, cid=cid)
        self._s.backfilled_this_step += max(1, self._s.rollouts - before)
        events = self._record_val(cid, scored)
        events += self._reconsider_best(None)
        return self._flush(events)

    def _on_parent(self, p: dict[str, Any], result: EvalResult, now: float) -> list[Event]:
        parent = p["parent"]
        self._take_outcomes(p, result, train=True, cid=parent)
        return self._flush(self._after_parent_scored(parent, p["component"], p["batch"]))

    def _on_reflect(self, p: dict[str, Any], answer: TextAnswer, now: float) -> list[Event]:
        s = self._s
        s.reflection_calls += 1
        s.cost_usd += max(0.0, float(answer.cost_usd))
        s.tokens += max(0, int(answer.tokens))
        parent, component = p["parent"], p["component"]
        parsed = parse_instruction_block(answer.text, max_chars=self.config.max_prompt_chars)
        if parsed.text is None:
            return self._flush(
                [self._rejected(parent, f"unusable reflection answer: {parsed.error}")]
            )
        text = parsed.text
        old_text = p.get("text") or s.candidates[parent].components[component]
        dropped: list[str] = []
        if self.config.quote_guard_chars > 0:
            inputs = [r.input for r in self._records(parent, p["batch"])]
            text, dropped = strip_quoting_lines(
                text, old_text, inputs, min_chars=self.config.quote_guard_chars
            )
            if not text:
                return self._flush(
                    [self._rejected(parent, "the proposal only held instance-specific lines")]
                )
        if text == s.candidates[parent].components[component].strip():
            return self._flush(
                [self._rejected(parent, "the reflection returned the text unchanged")]
            )
        if len(text) > self.config.max_prompt_chars:
            if self.config.over_length == "condense" and p["mode"] == "improve":
                self._set_pending(
                    "reflect",
                    parent=parent,
                    component=component,
                    batch=p["batch"],
                    mode="condense",
                    text=text,
                )
                return self._flush([])
            return self._flush(
                [
                    self._rejected(
                        parent,
                        f"proposal is {len(text)} characters, "
                        f"over the {self.config.max_prompt_chars} budget",
                    )
                ]
            )
        child = dict(s.candidates[parent].components)
        child[component] = text
        twin = self._existing(child)
        if twin is not None:
            return self._flush(
                [self._rejected(parent, f"the proposal duplicates candidate {twin}")]
            )
        self._set_pending(
            "child",
            parent=parent,
            component=component,
            batch=p["batch"],
            child=child,
            examples=list(p["batch"]),
        )
        s.unusable_in_a_row = 0
        detail: dict[str, object] = {"parent": parent, "component": component}
        if dropped:
            detail["instance_specific_lines_dropped"] = tuple(dropped)
        return self._flush([Event("proposed", s.iteration, None, detail)])

    def _on_child(self, p: dict[str, Any], result: EvalResult, now: float) -> list[Event]:
        s = self._s
        parent = p["parent"]
        child_scores = self._take_outcomes(p, result, train=False, cid=None)
        parent_scores = s.train_scores.get(parent, {})
        common = [e for e in p["batch"] if e in child_scores and e in parent_scores]
        child_sum = sum(child_scores[e] for e in common)
        parent_sum = sum(parent_scores[e] for e in common)
        if not common or child_sum <= parent_sum:
            return self._flush(
                [
                    Event(
                        "gated_out",
                        s.iteration,
                        None,
                        {"parent": parent, "child_sum": child_sum, "parent_sum": parent_sum},
                    )
                ]
            )
        cid = self._new_candidate(
            p["child"],
            (parent,),
            "reflection",
            now,
            feedback_examples=tuple(p["batch"]),
            changed=p["component"],
        )
        # The child's minibatch results are kept: they make it a cheap parent later.
        by_id = {o.example_id: o for o in result.outcomes}
        for e, v in child_scores.items():
            s.train_scores.setdefault(cid, {})[e] = v
            o = by_id[e]
            self._keep_trace(cid, e, (o.input, o.output, o.feedback))
        return self._flush(self._accepted(cid, {"child_sum": child_sum, "parent_sum": parent_sum}))

    def _on_merge(self, p: dict[str, Any], answer: TextAnswer, now: float) -> list[Event]:
        s = self._s
        s.merge_calls += 1
        s.cost_usd += max(0.0, float(answer.cost_usd))
        s.tokens += max(0, int(answer.tokens))
        parsed = parse_instruction_block(answer.text, max_chars=self.config.max_prompt_chars)
        a, b = p["a"], p["b"]
        if parsed.text is None:
            return self._flush(
                [self._rejected(None, f"unusable merge answer: {parsed.error}", (a, b))]
            )
        if len(parsed.text) > self.config.max_prompt_chars:
            return self._flush(
                [
                    self._rejected(
                        None, f"merge is {len(parsed.text)} characters, over budget", (a, b)
                    )
                ]
            )
        child = dict(p["base"])
        child[p["component"]] = parsed.text
        s.unusable_in_a_row = 0
        proposed = Event("proposed", s.iteration, None, {"parents": (a, b), "kind": "merge"})
        self._start_merge_gate(a, b, child, "merge")
        return self._flush([proposed])

    def _on_merge_gate(self, p: dict[str, Any], result: EvalResult, now: float) -> list[Event]:
        s = self._s
        a, b = p["a"], p["b"]
        child_scores = self._take_outcomes(p, result, train=False, cid=None)
        sa, sb = s.val_scores.get(a, {}), s.val_scores.get(b, {})
        common = [e for e in p["examples"] if e in child_scores]
        child_sum = sum(child_scores[e] for e in common)
        best_parent = max(sum(sa.get(e, 0.0) for e in common), sum(sb.get(e, 0.0) for e in common))
        if not common or child_sum < best_parent:
            return self._flush(
                [
                    Event(
                        "gated_out",
                        s.iteration,
                        None,
                        {"parents": (a, b), "child_sum": child_sum, "parent_sum": best_parent},
                    )
                ]
            )
        origin: CandidateOrigin = "merge" if p["origin"] == "merge" else "crossover"
        cid = self._new_candidate(p["child"], (a, b), origin, now)
        # Its gate scores are validation scores: the full evaluation will not repeat them.
        events = self._record_val(cid, child_scores)
        return self._flush(events + self._accepted(cid, {"child_sum": child_sum}))

    # ----------------------------------------------------------------- bookkeeping

    def _rejected(
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

    def _accepted(self, cid: str, detail: dict[str, object]) -> list[Event]:
        s = self._s
        s.needs_full_eval.append(cid)
        if self.config.use_merge and s.merges_done + s.merges_due < self.config.max_merges:
            s.merges_due += 1
        return [Event("accepted", s.iteration, cid, detail)]

    def _new_candidate(
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

    def _index_score(self, cid: str, ex: str, score: float) -> bool:
        s = self._s
        if s.splits.get(ex) != "val" or ex in s.retired:
            return False
        self._psum[cid] = self._psum.get(cid, 0.0) + score
        self._pcount[cid] = self._pcount.get(cid, 0) + 1
        return self._frontier.add_score(cid, ex, score)

    def _count_coverage(self, cid: str, ex: str) -> None:
        s = self._s
        if s.splits.get(ex) in ("val", "holdout") and ex not in s.retired:
            self._covered[cid] = self._covered.get(cid, 0) + 1

    def _means(self) -> dict[str, float]:
        return {c: self._psum[c] / n for c, n in self._pcount.items() if n}

    def _record_val(self, cid: str, scored: Mapping[str, float]) -> list[Event]:
        s = self._s
        before = self.frontier()
        table = s.val_scores.setdefault(cid, {})
        splits, retired = s.splits, s.retired
        add_score = self._frontier.add_score
        # The hot loop of a full evaluation: inlined bookkeeping, one pass over the results.
        covered = pareto = 0
        total = 0.0
        for ex, v in scored.items():
            if ex in table:
                continue
            table[ex] = v
            split = splits.get(ex)
            if ex in retired or split is None or split == "train":
                continue
            covered += 1
            if split == "val":
                pareto += 1
                total += v
                add_score(cid, ex, v)
        self._covered[cid] = self._covered.get(cid, 0) + covered
        self._psum[cid] = self._psum.get(cid, 0.0) + total
        self._pcount[cid] = self._pcount.get(cid, 0) + pareto
        after = self.frontier()
        if after != before:
            return [Event("frontier_changed", s.iteration, cid, {"frontier": after})]
        return []

    def _beats(self, challenger: str, incumbent: str) -> bool:
        """A new best must score higher on all validation examples both were run on, and must
        not fall behind on the held-out ones, which never steer selection or merging."""
        mc, mi, n = self.compare(challenger, incumbent, splits=("val", "holdout"))
        if n == 0:
            # An incumbent with no scored validation result at all (say its evaluation came
            # back unscored during a judge outage) has no evidence; any scored challenger wins.
            return self.mean_val(incumbent) is None and self.mean_val(challenger) is not None
        if mc < mi:
            return False
        # On a tie, a descendant wins: it passed a gate by improving on training examples,
        # which is evidence the validation set could not show.
        if mc == mi and incumbent not in self._ancestors(challenger):
            return False
        hc, hi, nh = self.compare(challenger, incumbent, splits=("holdout",))
        return nh == 0 or hc >= hi - self.config.holdout_tolerance

    def _reconsider_best(self, cid: str | None) -> list[Event]:
        s = self._s
        contenders = [cid] if cid is not None else sorted(self.frontier(), key=self._cand_order)
        events: list[Event] = []
        for c in contenders:
            if c is None or c == s.best or c in s.needs_full_eval:
                continue
            if self._beats(c, s.best):
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
                            "val_mean": self.mean_val(c),
                            "holdout_mean": self.mean_val(c, splits=("holdout",)),
                        },
                    )
                )
        return events
