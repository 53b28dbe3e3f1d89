"""The data behind each dashboard view, assembled from the store and the engine's state."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

from gepad.dashboard._lineage import EngineView, LineAttribution
from gepad.errors import NotFoundError
from gepad.prompts import PromptService
from gepad.server import example_to_wire
from gepad.store import Example, PromptVersion, Store

__all__ = ["Insight"]

_MAX_EVENTS = 10_000
_MAX_CALLS = 10_000
_EXCERPT = 600
SPARK_RUNS = 12
# Events whose payload names the version that is current after them.
_CURRENT_EVENTS = ("prompt.swap", "prompt.approve", "prompt.set", "prompt.rollback")


class Insight:
    def __init__(
        self,
        store: Store,
        prompts: PromptService,
        *,
        budgets: Callable[[], dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._prompts = prompts
        self._view = EngineView(store)
        self._budgets = budgets or (lambda: {})
        self._clock = clock

    @property
    def engines(self) -> EngineView:
        return self._view

    # -------------------------------------------------------------- provenance

    async def provenance(self, component: str, version: int | None) -> dict[str, Any]:
        current = self._prompts.current(component)  # unknown component: -32001
        history = await self._store.prompt_versions(component, limit=10_000)
        wanted = current.version if version is None else version
        target = next((v for v in history if v.version == wanted), None)
        if target is None:
            raise NotFoundError(f"{component} has no version {wanted}")
        attributions = await self._view.attribute(component, target, history)
        examples = await self._examples_by_id(
            {e for a in attributions if a.candidate for e in a.candidate.feedback_examples}
        )
        first_seen = _first_versions(target.text, history)
        return {
            "component": component,
            "version": target.version,
            "candidate_id": await self._view.candidate_for(component, target),
            "lines": [_line(a, examples, first_seen, history) for a in attributions],
        }

    async def _examples_by_id(self, ids: set[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for raw in sorted(ids):
            if not raw.isdigit():
                continue
            row = await self._store.get_example(int(raw))
            if row is not None:
                out[raw] = _example_brief(row)
        return out

    # -------------------------------------------------------------- learning curve

    async def curve(self, component: str) -> dict[str, Any]:
        self._prompts.current(component)
        events = await self._store.events(limit=_MAX_EVENTS, kind="optimizer.new_best")
        bests = [e for e in reversed(events) if e.payload.get("component") == component]
        points = []
        for e in bests:
            detail = e.payload.get("detail") or {}
            points.append(
                {
                    "t": e.created_at,
                    "iteration": e.payload.get("iteration"),
                    "rollouts": e.payload.get("rollouts"),
                    "candidate": e.payload.get("candidate"),
                    "score": detail.get("val_mean"),
                    "holdout": detail.get("holdout_mean"),
                }
            )
        engine = await self._view.engine(component)
        now = None
        if engine is not None:
            now = {
                "t": self._clock(),
                "iteration": engine.iteration,
                "rollouts": engine.rollouts,
                "candidate": engine.best.id,
                "score": engine.mean_val(engine.best.id),
            }
        return {
            "component": component,
            "points": points,
            "now": now,
            "swaps": await self._swaps(component),
            # Each example's test-before-train score with the version that earned it
            # (gepad.learning._prequential); the rolling rate is drawn from these.
            "prequential": [
                {
                    "t": r.created_at,
                    "example_id": r.example_id,
                    "version": r.prompt_version,
                    "score": r.score,
                    "handled": r.handled,
                }
                for r in await self._store.prequential(component, limit=1000)
                if r.status == "scored"
            ],
        }

    async def _swaps(self, component: str) -> list[dict[str, Any]]:
        history = await self._store.prompt_versions(component, limit=10_000)
        by_version = {v.version: v for v in history}
        swaps: list[dict[str, Any]] = []
        for kind in ("prompt.swap", "prompt.approve"):
            for e in await self._store.events(limit=_MAX_EVENTS, kind=kind):
                if e.payload.get("component") != component:
                    continue
                v = by_version.get(e.payload.get("version", -1))
                swaps.append(
                    {
                        "t": e.created_at,
                        "version": e.payload.get("version"),
                        "kind": kind.removeprefix("prompt."),
                        "score": None if v is None else v.score,
                        "candidate": None if v is None else v.candidate_id,
                    }
                )
        swaps.sort(key=lambda s: float(s["t"]))
        return swaps

    async def trend(self, component: str) -> dict[str, Any]:
        """The best score at the end of each of the last runs, and the last swap's reason."""
        curve = await self.curve(component)
        ends = [
            e.created_at
            for e in await self._store.events(limit=SPARK_RUNS, kind="optimizer.run.ended")
        ]
        scores: list[float | None] = []
        for end in sorted(ends):
            before = [p["score"] for p in curve["points"] if p["t"] <= end]
            scores.append(before[-1] if before else None)
        reason = None
        if curve["swaps"]:
            reason = await self.swap_reason(component, int(curve["swaps"][-1]["version"]))
        return {"component": component, "scores": scores, "last_swap": reason}

    async def swap_reason(self, component: str, version: int) -> str:
        history = sorted(
            await self._store.prompt_versions(component, limit=10_000), key=lambda v: v.version
        )
        target = next((v for v in history if v.version == version), None)
        if target is None:
            return f"v{version}"
        # Compared with the version it replaced: the last one that was current before it (a
        # pending version replaced by a newer proposal never was).
        was_current = {history[0].version} | await self._ever_current(component)
        before = [v for v in history if v.version < version and v.version in was_current]
        if not before:
            return f"v{version}: {target.source}"
        fixes, _ = await self._deltas(component, before[-1], target)
        if not fixes:
            return f"v{version}: {target.source}" + _score_text(target.score)
        rows = await self._examples_by_id(set(fixes))
        about = next((r["comment"] for r in rows.values() if r.get("comment")), None)
        noun = "complaint" if len(fixes) == 1 else "complaints"
        text = f"v{version}: fixes {len(fixes)} {noun}"
        if about:
            text += f" (e.g. “{_short(about, 60)}”)"
        return text

    async def _ever_current(self, component: str) -> set[int]:
        versions: set[int] = set()
        for kind in _CURRENT_EVENTS:
            for e in await self._store.events(limit=_MAX_EVENTS, kind=kind):
                v = e.payload.get("version")
                if e.payload.get("component") == component and isinstance(v, int):
                    versions.add(v)
        return versions

    async def _deltas(
        self, component: str, a: PromptVersion, b: PromptVersion
    ) -> tuple[list[str], list[str]]:
        ca = await self._view.candidate_for(component, a)
        cb = await self._view.candidate_for(component, b)
        return await self._view.score_deltas(component, ca, cb)

    # -------------------------------------------------------------- review

    async def review(self, component: str) -> dict[str, Any]:
        state = self._prompts.current(component)
        if state.pending is None:
            return {"component": component, "pending": None}
        current = await self._store.get_prompt_version(component, state.version)
        pending = await self._store.get_prompt_version(component, state.pending.version)
        assert current is not None and pending is not None
        fixes, breaks = await self._deltas(component, current, pending)
        rows = await self._examples_by_id(set(fixes) | set(breaks))
        return {
            "component": component,
            "current": {"version": current.version, "score": current.score, "text": current.text},
            "pending": {
                "version": pending.version,
                "score": pending.score,
                "text": pending.text,
                "created_at": pending.created_at,
                "candidate_id": pending.candidate_id,
            },
            "fixes": [rows.get(e, {"id": e}) for e in fixes],
            "breaks": [rows.get(e, {"id": e}) for e in breaks],
        }

    # -------------------------------------------------------------- spend and examples

    async def spend(self, days: int) -> dict[str, Any]:
        now = self._clock()
        start = dt.datetime.combine(
            dt.date.fromtimestamp(now) - dt.timedelta(days=days - 1), dt.time()
        ).timestamp()
        calls = await self._store.llm_calls(limit=_MAX_CALLS, since=start)
        table: dict[str, dict[str, dict[str, float]]] = {}
        for c in calls:
            day = dt.date.fromtimestamp(c.created_at).isoformat()
            cell = table.setdefault(day, {}).setdefault(
                c.purpose, {"calls": 0, "tokens": 0, "cost_usd": 0.0}
            )
            cell["calls"] += 1
            cell["tokens"] += c.input_tokens + c.output_tokens
            cell["cost_usd"] += c.cost_usd
        return {
            "days": [{"day": d, "purposes": table[d]} for d in sorted(table)],
            "budget": self._budgets(),
            # More calls than one read returns: the oldest days are then incomplete.
            "truncated": len(calls) >= _MAX_CALLS,
        }

    async def examples(self, limit: int) -> dict[str, Any]:
        rows = await self._store.list_examples(limit=limit, include_retired=True)
        return {"examples": [example_to_wire(e) for e in rows]}


def _line(
    a: LineAttribution,
    examples: dict[str, dict[str, Any]],
    first_seen: dict[str, int],
    history: Sequence[PromptVersion],
) -> dict[str, Any]:
    c = a.candidate
    introduced: dict[str, Any]
    if c is None:
        v = next((h for h in history if h.version == a.version), None)
        introduced = {"kind": "version", "version": a.version, "source": v and v.source}
    else:
        introduced = {
            "kind": "candidate",
            "candidate": c.id,
            "origin": c.origin,
            "iteration": c.iteration,
            "parents": list(c.parents),
            "created_at": c.created_at,
        }
    feedback = [] if c is None else [examples[e] for e in c.feedback_examples if e in examples]
    return {
        "line": a.line,
        "text": a.text,
        "introduced_by": introduced,
        "first_version": first_seen.get(a.text),
        "examples": feedback,
    }


def _first_versions(text: str, history: Sequence[PromptVersion]) -> dict[str, int]:
    """For each line of `text`, the first prompt version whose text had it."""
    wanted = set(text.splitlines())
    out: dict[str, int] = {}
    for v in sorted(history, key=lambda h: h.version):
        for line in v.text.splitlines():
            if line in wanted and line not in out:
                out[line] = v.version
    return out


def _example_brief(e: Example) -> dict[str, Any]:
    return {
        "id": e.id,
        "kind": e.kind,
        "comment": e.comment,
        "corrected": None if e.corrected is None else _short(e.corrected, _EXCERPT),
        "context": _short(e.context, _EXCERPT),
        "output": _short(e.output, _EXCERPT),
        "retired": bool(e.retired),
        "created_at": e.created_at,
    }


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _score_text(score: float | None) -> str:
    return "" if score is None else f", score {score:.2f}"
