"""What the optimizer's engine knows, read through its public API: the candidate tree, the
frontier, per-example scores, and line provenance of any prompt version.

The engine state is the one the optimizer last committed to the store; a parsed copy is kept
per component until the stored text changes, so repeated views cost one database read.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gepa_engine import Candidate, Engine, EngineError
from gepad.dashboard._provenance import LineageNode, attribute_lines
from gepad.store import PromptVersion, Store

__all__ = ["EngineView", "LineAttribution"]

log = logging.getLogger(__name__)

_VERSION_NODE = "version:"


@dataclass(frozen=True, slots=True)
class LineAttribution:
    """Who introduced one line: a candidate of the engine, or a prompt version the engine
    never saw (an edit made with the optimizer off, say)."""

    line: int
    text: str
    candidate: Candidate | None
    version: int | None


class EngineView:
    """Parsed engine states, one per component.

    A page's first load asks for several views at once; each would read and parse the same
    state (megabytes at 200 candidates x 2,000 examples). A parsed state is reused for
    `fresh_s` seconds without looking at the store, then kept until the stored text changes.
    The page refreshes 400 ms after an optimizer step, later than `fresh_s`, so it never
    draws a state older than the step that told it to refresh.
    """

    def __init__(self, store: Store, *, fresh_s: float = 0.25) -> None:
        self._store = store
        self._fresh_s = fresh_s
        self._cache: dict[str, tuple[float, str, Engine]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def engine(self, component: str) -> Engine | None:
        lock = self._locks.setdefault(component, asyncio.Lock())
        async with lock:  # concurrent views share one read and one parse
            cached = self._cache.get(component)
            if cached is not None and time.monotonic() - cached[0] < self._fresh_s:
                return cached[2]
            text = await self._store.load_engine_state(component)
            if text is None:
                return None
            digest = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
            if cached is not None and cached[1] == digest:
                self._cache[component] = (time.monotonic(), digest, cached[2])
                return cached[2]
            try:
                engine = Engine.from_json(text)
            except EngineError:
                log.exception("the stored optimizer state of %r is unreadable", component)
                return None
            self._cache[component] = (time.monotonic(), digest, engine)
            return engine

    async def lineage(self, component: str) -> dict[str, Any]:
        engine = await self.engine(component)
        versions = await self._store.prompt_versions(component, limit=10_000)
        by_candidate: dict[str, int] = {}
        for v in versions:
            if v.candidate_id is not None:
                by_candidate.setdefault(v.candidate_id, v.version)
        if engine is None:
            return {"component": component, "best": None, "frontier": [], "candidates": []}
        frontier = set(engine.frontier())
        candidates = []
        for c in engine.candidates.values():
            candidates.append(
                {
                    "id": c.id,
                    "parents": list(c.parents),
                    "origin": c.origin,
                    "iteration": c.iteration,
                    "created_at": c.created_at,
                    "changed_component": c.changed_component,
                    "feedback_examples": [_example_id(e) for e in c.feedback_examples],
                    "score": engine.mean_val(c.id),
                    "scored_examples": len(engine.val_scores(c.id)),
                    "frontier": c.id in frontier,
                    "frontier_wins": engine.frontier_wins(c.id) if c.id in frontier else 0,
                    "version": by_candidate.get(c.id),
                }
            )
        return {
            "component": component,
            "best": engine.best.id,
            "frontier": sorted(frontier),
            "candidates": candidates,
        }

    async def attribute(
        self, component: str, target: PromptVersion, history: Sequence[PromptVersion]
    ) -> list[LineAttribution]:
        """Provenance of every line of `target`'s text. `history`: the component's versions."""
        engine = await self.engine(component)
        cands: Mapping[str, Candidate] = engine.candidates if engine is not None else {}
        nodes = _nodes(component, cands, history)
        start = _node_for(component, target, cands, history)
        if start not in nodes:
            nodes[start] = LineageNode(target.text, ())
        owners = attribute_lines(nodes, start)
        out = []
        for i, (line, owner) in enumerate(zip(target.text.splitlines(), owners, strict=True)):
            if owner.startswith(_VERSION_NODE):
                version = int(owner.removeprefix(_VERSION_NODE))
                out.append(LineAttribution(i + 1, line, None, version))
            else:
                out.append(LineAttribution(i + 1, line, cands[owner], None))
        return out

    async def score_deltas(
        self, component: str, a: str | None, b: str | None
    ) -> tuple[list[str], list[str]]:
        """Examples where candidate `b` scores above / below `a` (both must have results)."""
        engine = await self.engine(component)
        if engine is None or a is None or b is None:
            return [], []
        if a not in engine.candidates or b not in engine.candidates:
            return [], []
        sa, sb = engine.val_scores(a), engine.val_scores(b)
        active = set(engine.active_examples("val", "holdout"))
        common = [e for e in sb if e in sa and e in active]
        fixes = [e for e in common if sb[e] > sa[e]]
        breaks = [e for e in common if sb[e] < sa[e]]
        return fixes, breaks

    async def candidate_for(self, component: str, version: PromptVersion) -> str | None:
        engine = await self.engine(component)
        if engine is None:
            return None
        if version.candidate_id is not None and version.candidate_id in engine.candidates:
            return version.candidate_id
        return _by_text(component, engine.candidates, version.text)


def _example_id(raw: str) -> int | str:
    return int(raw) if raw.isdigit() else raw


def _by_text(component: str, cands: Mapping[str, Candidate], text: str) -> str | None:
    match = None
    for c in cands.values():
        if c.components.get(component) != text:
            continue
        # Prefer a candidate the engine derived (it has a lineage) over a re-seeded edit.
        if match is None or (cands[match].origin == "user-edit" and c.origin != "user-edit"):
            match = c.id
    return match


def _node_for(
    component: str,
    version: PromptVersion,
    cands: Mapping[str, Candidate],
    history: Sequence[PromptVersion],
) -> str:
    if version.candidate_id is not None and version.candidate_id in cands:
        return version.candidate_id
    found = _by_text(component, cands, version.text)
    return found if found is not None else f"{_VERSION_NODE}{version.version}"


def _nodes(
    component: str, cands: Mapping[str, Candidate], history: Sequence[PromptVersion]
) -> dict[str, LineageNode]:
    """The engine's lineage plus the prompt versions, so that an edit's unchanged lines keep
    the provenance they had in the version it was made from."""
    ordered = sorted(history, key=lambda v: v.version)
    nodes: dict[str, LineageNode] = {}
    for c in cands.values():
        text = c.components.get(component)
        if text is not None:
            nodes[c.id] = LineageNode(text, tuple(c.parents))
    previous: str | None = None
    for v in ordered:
        if v.status in ("rejected", "held"):
            continue
        node = _node_for(component, v, cands, ordered)
        if node.startswith(_VERSION_NODE):
            nodes[node] = LineageNode(v.text, (previous,) if previous else ())
        elif previous is not None and node != previous:
            c = cands[node]
            if not c.parents and c.origin == "user-edit" and not nodes[node].parents:
                # A user's edit enters the engine as a root; its real parent is the version
                # it was made from (the first time it appears: a rollback to it later must not
                # make it its own descendant).
                nodes[node] = LineageNode(nodes[node].text, (previous,))
        previous = node
    return nodes
