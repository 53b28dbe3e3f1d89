"""What each answer does to the state: one handler per kind of pending request."""

from __future__ import annotations

from collections.abc import Iterable

from ._core import Core
from ._lines import restore_dropped
from ._overfit import strip_quoting_lines
from ._pending import (
    PendingBackfill,
    PendingChild,
    PendingConfirm,
    PendingFull,
    PendingMerge,
    PendingMergeGate,
    PendingParent,
    PendingReflect,
)
from ._planner import Planner
from ._templates import parse_instruction_block
from ._types import EvalOutcome, EvalResult, Event, ReflectiveRecord, TextAnswer

__all__ = ["Answers", "records_for"]

EvalPending = (
    PendingFull | PendingBackfill | PendingParent | PendingChild | PendingMergeGate | PendingConfirm
)


def records_for(core: Core, cid: str, batch: Iterable[str]) -> list[ReflectiveRecord]:
    s = core.state
    traces = s.traces.get(cid, {})
    scores = s.train_scores.get(cid, {})
    out = []
    for e in batch:
        inp, output, feedback = traces.get(e, ("", "", ""))
        out.append(ReflectiveRecord(e, inp, output, feedback, scores.get(e)))
    return out


class Answers:
    def __init__(self, core: Core, planner: Planner) -> None:
        self._c = core
        self._plan = planner

    # -- evaluation results ----------------------------------------------------------------

    def _take(
        self, p: EvalPending, result: EvalResult, *, train: bool, cid: str | None
    ) -> dict[str, float]:
        """Count the rollouts of an answer and return the scored outcomes by example."""
        s = self._c.state
        wanted = set(p.examples)
        scored: dict[str, float] = {}
        unscored: list[str] = []
        learnable = self._c.data.active_set(*self._c.data.learn_splits)
        # Of a long validation pass only the last traces fit the per-candidate cap anyway.
        keep_from = len(result.outcomes) - self._c.config.max_traces_per_candidate
        for index, o in enumerate(result.outcomes):
            ex = o.example_id
            if ex not in wanted:
                continue
            wanted.discard(ex)
            if ex in result.cached_example_ids:
                s.cached_rollouts += 1
            else:
                s.rollouts += 1
            score = o.score
            # bool is an int subclass and NaN is a float: both are garbage, hence unscored.
            if (score.__class__ is not float and score.__class__ is not int) or score != score:
                unscored.append(ex)
                continue
            scored[ex] = 1.0 if score > 1.0 else 0.0 if score < 0.0 else float(score)
            if cid is not None and (train or ex in learnable):
                s.train_scores.setdefault(cid, {})[ex] = scored[ex]
                if train or index >= keep_from:
                    self._keep_trace(cid, o)
        s.unscored_rollouts += len(unscored)
        if cid is not None and not train:
            self._c.board.mark_unscored(cid, unscored)
        return scored

    def _keep_trace(self, cid: str, o: EvalOutcome) -> None:
        traces = self._c.state.traces.setdefault(cid, {})
        traces.pop(o.example_id, None)
        traces[o.example_id] = (o.input, o.output, o.feedback)
        while len(traces) > self._c.config.max_traces_per_candidate:
            traces.pop(next(iter(traces)))

    def _record_val(self, cid: str, scored: dict[str, float]) -> list[Event]:
        board = self._c.board
        before = board.survivors()
        board.record(cid, scored)
        after = board.survivors()
        if after != before:
            return [Event("frontier_changed", self._c.state.iteration, cid, {"frontier": after})]
        return []

    def full(self, p: PendingFull, result: EvalResult) -> list[Event]:
        c = self._c
        scored = self._take(p, result, train=False, cid=p.cand)
        events = self._record_val(p.cand, scored)
        if not c.board.missing(p.cand) and p.cand in c.state.needs_full_eval:
            c.state.needs_full_eval.remove(p.cand)
        return c.flush(events + c.pool.reconsider_best(p.cand))

    def confirm(self, p: PendingConfirm, result: EvalResult) -> list[Event]:
        c = self._c
        scored = self._take(p, result, train=True, cid=p.cand)
        c.state.confirm_fresh.setdefault(p.cand, set()).update(scored)
        return c.flush(self._plan.confirmation.after_answer(c.rollouts_left()))

    def backfill(self, p: PendingBackfill, result: EvalResult) -> list[Event]:
        c = self._c
        before = c.state.rollouts
        scored = self._take(p, result, train=False, cid=p.cand)
        c.state.backfilled_this_step += max(1, c.state.rollouts - before)
        events = self._record_val(p.cand, scored)
        return c.flush(events + c.pool.reconsider_best(None))

    def parent(self, p: PendingParent, result: EvalResult) -> list[Event]:
        c = self._c
        self._take(p, result, train=True, cid=p.parent)
        if p.kind == "prune":
            child = dict(c.state.candidates[p.parent].components)
            child[p.component] = p.child_text
            self._plan.start_prune_child(p.parent, p.component, p.batch, child, p.removed)
            return c.flush([])
        return c.flush(self._plan.after_parent_scored(p.parent, p.component, p.batch))

    def child(self, p: PendingChild, result: EvalResult, now: float) -> list[Event]:
        c = self._c
        s = c.state
        child_scores = self._take(p, result, train=False, cid=None)
        parent_scores = s.train_scores.get(p.parent, {})
        common = [e for e in p.batch if e in child_scores and e in parent_scores]
        child_sum = sum(child_scores[e] for e in common)
        parent_sum = sum(parent_scores[e] for e in common)
        # A proposal must improve on its minibatch; a prune (shorter) must only not be worse.
        passed = child_sum >= parent_sum if p.kind == "prune" else child_sum > parent_sum
        detail: dict[str, object] = {
            "parent": p.parent,
            "child_sum": child_sum,
            "parent_sum": parent_sum,
        }
        if p.kind == "prune":
            detail["removed_line"] = p.removed
        if not common or not passed:
            return c.flush([Event("gated_out", s.iteration, None, detail)])
        cid = c.pool.new(
            dict(p.child),
            (p.parent,),
            "prune" if p.kind == "prune" else "reflection",
            now,
            feedback_examples=p.batch,
            changed=p.component,
        )
        # The child's minibatch results are kept: they make it a cheap parent later.
        by_id = {o.example_id: o for o in result.outcomes}
        for e, v in child_scores.items():
            s.train_scores.setdefault(cid, {})[e] = v
            self._keep_trace(cid, by_id[e])
        if c.config.reuse_scores:
            # Under reuse (deterministic or cached evaluation) asking again gives the same
            # score: the gate's results on validation examples count as validation results.
            val = {e: v for e, v in child_scores.items() if c.data.is_active(e, "val", "holdout")}
            if val:
                c.board.record(cid, val)
        return c.flush([c.pool.accepted(cid, detail, mergeable=p.kind != "prune")])

    def merge_gate(self, p: PendingMergeGate, result: EvalResult, now: float) -> list[Event]:
        c = self._c
        s = c.state
        child_scores = self._take(p, result, train=False, cid=None)
        sa, sb = c.board.scores(p.a), c.board.scores(p.b)
        common = [e for e in p.examples if e in child_scores]
        child_sum = sum(child_scores[e] for e in common)
        best_parent = max(sum(sa.get(e, 0.0) for e in common), sum(sb.get(e, 0.0) for e in common))
        if not common or child_sum < best_parent:
            detail = {"parents": (p.a, p.b), "child_sum": child_sum, "parent_sum": best_parent}
            return c.flush([Event("gated_out", s.iteration, None, detail)])
        cid = c.pool.new(dict(p.child), (p.a, p.b), p.origin, now)
        # Its gate scores are validation scores: the full evaluation will not repeat them.
        events = self._record_val(cid, child_scores)
        return c.flush([*events, c.pool.accepted(cid, {"child_sum": child_sum})])

    # -- text answers ----------------------------------------------------------------------

    def _charge(self, answer: TextAnswer) -> None:
        s = self._c.state
        s.cost_usd += max(0.0, float(answer.cost_usd))
        s.tokens += max(0, int(answer.tokens))

    def reflect(self, p: PendingReflect, answer: TextAnswer) -> list[Event]:
        c = self._c
        s = c.state
        cfg = c.config
        s.reflection_calls += 1
        self._charge(answer)
        parsed = parse_instruction_block(answer.text, max_chars=cfg.max_prompt_chars)
        if parsed.text is None:
            reason = f"unusable reflection answer: {parsed.error}"
            return c.flush([c.pool.rejected(p.parent, reason)])
        text = parsed.text
        parent_text = s.candidates[p.parent].components[p.component]
        old_text = p.text or parent_text
        detail: dict[str, object] = {"parent": p.parent, "component": p.component}
        if cfg.quote_guard_chars > 0:
            inputs = [r.input for r in records_for(c, p.parent, p.batch)]
            text, dropped = strip_quoting_lines(
                text, old_text, inputs, min_chars=cfg.quote_guard_chars
            )
            if dropped:
                detail["instance_specific_lines_dropped"] = tuple(dropped)
            if not text:
                reason = "the proposal only held instance-specific lines"
                return c.flush([c.pool.rejected(p.parent, reason)])
        if cfg.restore_dropped and p.mode == "improve":
            text, restored = restore_dropped(parent_text, text)
            if restored:
                detail["restored_lines"] = tuple(restored)
        if text == parent_text.strip():
            reason = "the reflection returned the text unchanged"
            return c.flush([c.pool.rejected(p.parent, reason)])
        if len(text) > cfg.max_prompt_chars:
            if cfg.over_length == "condense" and p.mode == "improve":
                c.set_pending(
                    PendingReflect,
                    parent=p.parent,
                    component=p.component,
                    batch=p.batch,
                    mode="condense",
                    text=text,
                )
                return c.flush([])
            reason = f"proposal is {len(text)} characters, over the {cfg.max_prompt_chars} budget"
            return c.flush([c.pool.rejected(p.parent, reason)])
        child = dict(s.candidates[p.parent].components)
        child[p.component] = text
        twin = c.pool.existing(child)
        if twin is not None:
            reason = f"the proposal duplicates candidate {twin}"
            return c.flush([c.pool.rejected(p.parent, reason)])
        c.set_pending(
            PendingChild,
            parent=p.parent,
            component=p.component,
            batch=p.batch,
            child=child,
            examples=p.batch,
        )
        s.unusable_in_a_row = 0
        return c.flush([Event("proposed", s.iteration, None, detail)])

    def merge(self, p: PendingMerge, answer: TextAnswer) -> list[Event]:
        c = self._c
        s = c.state
        s.merge_calls += 1
        self._charge(answer)
        parsed = parse_instruction_block(answer.text, max_chars=c.config.max_prompt_chars)
        if parsed.text is None:
            reason = f"unusable merge answer: {parsed.error}"
            return c.flush([c.pool.rejected(None, reason, (p.a, p.b))])
        text = parsed.text
        if c.config.restore_dropped:
            for parent in (p.a, p.b):
                text, _ = restore_dropped(s.candidates[parent].components[p.component], text)
        if len(text) > c.config.max_prompt_chars:
            reason = f"merge is {len(text)} characters, over budget"
            return c.flush([c.pool.rejected(None, reason, (p.a, p.b))])
        child = dict(p.base)
        child[p.component] = text
        s.unusable_in_a_row = 0
        proposed = Event("proposed", s.iteration, None, {"parents": (p.a, p.b), "kind": "merge"})
        self._plan.start_merge_gate(p.a, p.b, child, "merge")
        return c.flush([proposed])
