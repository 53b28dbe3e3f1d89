"""Users change their minds: find feedback that newer feedback contradicts, and retire it.

Run by the optimizer before it syncs a component's examples, on the examples that arrived since
the last check (a high-water mark per component, kept in `drift.checked` events):
1. **Undo.** A correction whose edits mostly reverse an earlier correction's on the same
   kind of code (`undoes`) retires the earlier one. No model call.
2. **Contradiction.** The reflection model is asked, with `CONTRADICTION_TEMPLATE`, which older
   feedback items the NEW ones contradict: up to `batch_new` new and `batch_older` older items
   per call, at most `max_calls_per_run` calls per check, none once the daily budget is spent.
   Each call is recorded like every other model call and counts against the budget. A garbage
   answer is asked for once more, then rejected with its reason (`status` shows it) and nothing
   is retired on it.

The newer example wins: the older one is retired in the store (so the engine drops it at the
next sync) and an `example.retired` event records, in the same transaction, the example, the
newer example that contradicted it, the reason and who decided. The prompt may still state what
the older feedback asked for, and no example is left to teach the optimizer otherwise: after a
check that retired something, the reflection model rewrites the optimizer's best prompt so the
newer feedback replaces the older (`SUPERSEDE_TEMPLATE`, one call, within the same limits), and
the rewrite joins the optimizer's candidates, where it competes on the examples like any other.
`example.restored` events record the user undoing a retirement; `summary` lists the recent
ones for `status`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gepad.learning._adapters import BufferedRecorder, to_store_call
from gepad.learning._drift_prompts import (
    Contradiction,
    DriftAnswerError,
    item_text,
    parse_contradictions,
    parse_instructions,
    render_contradiction,
    render_supersede,
    undoes,
)
from gepad.llm import LlmClient, LlmError
from gepad.store import Example, Store

__all__ = [
    "CHECKED_EVENT",
    "RESTORED_EVENT",
    "RETIRED_EVENT",
    "DriftDetector",
    "DriftSettings",
    "all_examples",
    "retire_with_reason",
]

log = logging.getLogger(__name__)

RETIRED_EVENT: Final = "example.retired"
RESTORED_EVENT: Final = "example.restored"
CHECKED_EVENT: Final = "drift.checked"
_RECENT = 20
_PAGE = 500


@dataclass(frozen=True, slots=True)
class DriftSettings:
    enabled: bool = True
    batch_new: int = 8
    batch_older: int = 24
    max_calls_per_run: int = 4
    undo_threshold: float = 0.5


async def all_examples(store: Store, component: str) -> list[Example]:
    """The component's active examples, oldest first."""
    rows: list[Example] = []
    after = 0
    while True:
        page = await store.list_examples(limit=_PAGE, after_id=after)
        rows.extend(e for e in page if e.component == component)
        if len(page) < _PAGE:
            return rows
        after = page[-1].id


async def retire_with_reason(
    store: Store,
    example_id: int,
    *,
    component: str,
    reason: str,
    decided_by: str,
    by_example: int | None = None,
) -> bool:
    """Retire one example and record why, in one transaction; False if it was not active."""
    async with store.transaction() as tx:
        changed = await store.retire_example(example_id, tx=tx)
        if changed:
            await store.log_event(
                tx,
                RETIRED_EVENT,
                {
                    "id": example_id,
                    "component": component,
                    "by_example": by_example,
                    "reason": reason,
                    "decided_by": decided_by,
                },
            )
    return changed


class DriftDetector:
    """The contradiction check of every component, and what `status` says about it."""

    def __init__(
        self,
        store: Store,
        llm: LlmClient,
        recorder: BufferedRecorder,
        settings: DriftSettings,
        *,
        over_budget: Callable[[], Awaitable[bool]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._llm = llm
        self._recorder = recorder
        self._settings = settings
        self._over_budget = over_budget
        self._clock = clock
        self._marks: dict[str, int] = {}
        self._recent: list[dict[str, Any]] = []
        self._last_rejected: str | None = None
        self._calls = 0

    async def load(self) -> None:
        for event in await self._store.events(limit=200, kind=CHECKED_EVENT):
            c, last = event.payload.get("component"), event.payload.get("last_id")
            if isinstance(c, str) and isinstance(last, int) and c not in self._marks:
                self._marks[c] = last
        await self.refresh()

    async def refresh(self) -> None:
        """Re-read the recent retirements and restores (the user may have made some)."""
        retired = await self._store.events(limit=_RECENT, kind=RETIRED_EVENT)
        restored = await self._store.events(limit=_RECENT * 5, kind=RESTORED_EVENT)
        restored_after: dict[int, float] = {}
        for ev in restored:
            ex = ev.payload.get("id")
            if isinstance(ex, int):
                restored_after[ex] = max(restored_after.get(ex, 0.0), ev.created_at)
        self._recent = [
            {
                **{k: ev.payload.get(k) for k in ("id", "component", "by_example", "reason")},
                "decided_by": ev.payload.get("decided_by"),
                "at": ev.created_at,
                "restored": restored_after.get(int(ev.payload.get("id") or 0), -1.0)
                >= ev.created_at,
            }
            for ev in retired
        ]

    def summary(self) -> dict[str, Any]:
        return {
            "enabled": self._settings.enabled,
            "recent_retirements": list(self._recent),
            "model_calls": self._calls,
            "last_rejected": self._last_rejected,
        }

    # ------------------------------------------------------------------ the check

    async def check(self, component: str) -> list[tuple[Example, Example]]:
        """Check the examples that arrived since the last check; returns the (older, newer)
        pairs it retired the older example of."""
        if not self._settings.enabled:
            return []
        rows = [e for e in await all_examples(self._store, component) if item_text(e)]
        mark = self._marks.get(component, 0)
        new = [e for e in rows if e.id > mark]
        if not new:
            return []
        retired: dict[int, int] = {}  # older id -> newer id
        for n in new:
            if n.corrected is None:
                continue
            for o in rows:
                if o.id >= n.id or o.id in retired:
                    continue
                if undoes(n, o, threshold=self._settings.undo_threshold):
                    reason = "a later correction undoes this one"
                    if await self._retire(o.id, component, reason, "undo-diff", n.id):
                        retired[o.id] = n.id
        checked = await self._ask_model(component, rows, new, retired)
        if checked > mark:
            self._marks[component] = checked
            await self._store.log_event(
                None, CHECKED_EVENT, {"component": component, "last_id": checked}
            )
        if retired:
            await self.refresh()
        by_id = {e.id: e for e in rows}
        return [(by_id[o], by_id[n]) for o, n in retired.items() if o in by_id and n in by_id]

    async def superseded(
        self, component: str, current: str, pairs: Sequence[tuple[Example, Example]]
    ) -> str | None:
        """`current` rewritten so each newer example replaces the older one it retired; None
        when the model gives no usable answer, the budget is spent or nothing changed."""
        if not pairs or self._settings.max_calls_per_run < 1 or await self._over_budget():
            return None
        prompt = render_supersede(pairs[:8], current)
        try:
            result = await self._llm.complete("reflection", [{"role": "user", "content": prompt}])
        except LlmError as exc:
            log.warning("rewriting %s after retirements skipped: %s", component, exc)
            return None
        finally:
            await self._flush(component)
        self._calls += 1
        try:
            text = parse_instructions(result.text)
        except DriftAnswerError as exc:
            self._last_rejected = f"{component}: rewrite: {exc}"
            return None
        return None if text.strip() == current.strip() else text

    async def _ask_model(
        self,
        component: str,
        rows: Sequence[Example],
        new: Sequence[Example],
        retired: dict[int, int],
    ) -> int:
        """Model checks in batches; returns the highest example id checked."""
        s = self._settings
        checked = 0
        pending = list(new)
        calls = 0
        while pending:
            batch = pending[: s.batch_new]
            batch_ids = {e.id for e in batch}
            older = [
                e
                for e in rows
                if e.id < batch[-1].id and e.id not in batch_ids and e.id not in retired
            ][-s.batch_older :]
            if older or len(batch) > 1:
                if calls >= s.max_calls_per_run or await self._over_budget():
                    break
                calls += 1
                try:
                    found = await self._contradictions(component, [*older, *batch], batch_ids)
                except LlmError as exc:
                    log.warning("drift check for %s skipped: %s", component, exc)
                    break
                model = self._llm.model_for("reflection")
                for c in found:
                    if c.older in retired:
                        continue
                    reason = c.reason or "contradicted by newer feedback"
                    if await self._retire(c.older, component, reason, f"model:{model}", c.newer):
                        retired[c.older] = c.newer
            checked = batch[-1].id
            pending = pending[len(batch) :]
        return checked

    async def _contradictions(
        self, component: str, items: Sequence[Example], new_ids: set[int]
    ) -> list[Contradiction]:
        prompt = render_contradiction(items, new_ids)
        asked = {e.id for e in items}
        reason = ""
        for attempt in range(2):
            result = await self._llm.complete(
                "reflection", [{"role": "user", "content": prompt}], use_cache=attempt == 0
            )
            self._calls += 1
            await self._flush(component)
            try:
                return parse_contradictions(result.text, asked, new_ids)
            except DriftAnswerError as exc:
                reason = str(exc)
        self._last_rejected = f"{component}: {reason}"
        log.warning("drift check for %s: answer rejected: %s", component, reason)
        return []

    async def _flush(self, component: str) -> None:
        for record in self._recorder.take():
            await self._store.record_llm_call(None, to_store_call(record, component))

    async def _retire(
        self, example_id: int, component: str, reason: str, decided_by: str, by: int
    ) -> bool:
        changed = await retire_with_reason(
            self._store,
            example_id,
            component=component,
            reason=reason,
            decided_by=decided_by,
            by_example=by,
        )
        if changed:
            log.info("retired example %d of %s (%s): %s", example_id, component, decided_by, reason)
        return changed

    def marks(self) -> Mapping[str, int]:
        return dict(self._marks)
