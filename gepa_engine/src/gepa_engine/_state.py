"""The engine's whole state as plain data, and its exact JSON round trip.

Everything that influences the trajectory lives here: candidates and their lineage, every
score, the RNG state, the minibatch sampler's position, merge bookkeeping, budget counters and
the request in flight. Derived indexes (the frontier) are rebuilt on load, never stored, so
they cannot disagree with the scores.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from ._errors import StateError
from ._pending import Pending, pending_from_dict, pending_to_dict
from ._types import Candidate

__all__ = ["FORMAT", "EngineState", "state_from_json", "state_to_json"]

FORMAT = 2
# A trace is (input, output, feedback) as the caller reported it.
Trace = tuple[str, str, str]


@dataclass(slots=True)
class EngineState:
    rng: random.Random
    candidates: dict[str, Candidate] = field(default_factory=dict)
    # example id -> split ("train", "val" or "holdout"); retired examples are kept, flagged.
    splits: dict[str, str] = field(default_factory=dict)
    retired: set[str] = field(default_factory=set)
    val_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    train_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    # Examples a candidate was run on that came back unscored; never re-requested.
    unscored: dict[str, set[str]] = field(default_factory=dict)
    traces: dict[str, dict[str, Trace]] = field(default_factory=dict)
    best: str = ""
    needs_full_eval: list[str] = field(default_factory=list)
    sampler_order: list[str] = field(default_factory=list)
    sampler_pos: int = 0
    component_cursor: dict[str, int] = field(default_factory=dict)
    merges_done: int = 0
    merges_due: int = 0
    merges_tried: set[tuple[str, str]] = field(default_factory=set)
    iteration: int = 0
    last_improvement: int = 0
    backfilled_this_step: int = 0
    unusable_in_a_row: int = 0
    rollouts: int = 0
    cached_rollouts: int = 0
    unscored_rollouts: int = 0
    reflection_calls: int = 0
    merge_calls: int = 0
    cost_usd: float = 0.0
    tokens: int = 0
    next_candidate: int = 0
    next_request: int = 1
    pending: Pending | None = None
    # Prune attempts: line text -> how many active validation examples there were when it was
    # tried (a line is tried again once the validation data has grown by half).
    prune_tried: dict[str, int] = field(default_factory=dict)
    # The rollout cap of the current run, the rollouts when it was first seen, and the cap
    # whose end-of-run confirmation is done (-1: none); a caller replaces the stop per run.
    run_cap: int = -1
    run_start: int = 0
    confirmed_cap: int = -1
    # Whether that confirmation ran because the run stopped early (it then keeps its reason).
    confirmed_early: bool = False
    # Training examples a candidate was scored on by a confirmation (not by its own gate).
    confirm_fresh: dict[str, set[str]] = field(default_factory=dict)


def _candidate_to_dict(c: Candidate) -> dict[str, Any]:
    return {
        "id": c.id,
        "components": dict(c.components),
        "parents": list(c.parents),
        "origin": c.origin,
        "iteration": c.iteration,
        "feedback_examples": list(c.feedback_examples),
        "changed_component": c.changed_component,
        "created_at": c.created_at,
    }


def _candidate_from_dict(d: dict[str, Any]) -> Candidate:
    return Candidate(
        id=str(d["id"]),
        components={str(k): str(v) for k, v in d["components"].items()},
        parents=tuple(str(p) for p in d["parents"]),
        origin=d["origin"],
        iteration=int(d["iteration"]),
        feedback_examples=tuple(str(e) for e in d["feedback_examples"]),
        changed_component=d["changed_component"],
        created_at=float(d["created_at"]),
    )


def state_to_json(s: EngineState) -> str:
    version, internal, gauss = s.rng.getstate()
    data = {
        "format": FORMAT,
        "rng": [version, list(internal), gauss],
        "candidates": [_candidate_to_dict(c) for c in s.candidates.values()],
        "splits": s.splits,
        "retired": sorted(s.retired),
        "val_scores": s.val_scores,
        "train_scores": s.train_scores,
        "unscored": {c: sorted(e) for c, e in s.unscored.items()},
        "traces": {c: {e: list(t) for e, t in ts.items()} for c, ts in s.traces.items()},
        "best": s.best,
        "needs_full_eval": s.needs_full_eval,
        "sampler": {"order": s.sampler_order, "pos": s.sampler_pos},
        "component_cursor": s.component_cursor,
        "merges": {
            "done": s.merges_done,
            "due": s.merges_due,
            "tried": sorted([list(p) for p in s.merges_tried]),
        },
        "iteration": s.iteration,
        "last_improvement": s.last_improvement,
        "backfilled_this_step": s.backfilled_this_step,
        "unusable_in_a_row": s.unusable_in_a_row,
        "budget": {
            "rollouts": s.rollouts,
            "cached_rollouts": s.cached_rollouts,
            "unscored_rollouts": s.unscored_rollouts,
            "reflection_calls": s.reflection_calls,
            "merge_calls": s.merge_calls,
            "cost_usd": s.cost_usd,
            "tokens": s.tokens,
        },
        "next_candidate": s.next_candidate,
        "next_request": s.next_request,
        "pending": None if s.pending is None else pending_to_dict(s.pending),
        "prune_tried": s.prune_tried,
        "run_cap": s.run_cap,
        "run_start": s.run_start,
        "confirmed_cap": s.confirmed_cap,
        "confirmed_early": s.confirmed_early,
        "confirm_fresh": {c: sorted(v) for c, v in sorted(s.confirm_fresh.items())},
    }
    return json.dumps(data, separators=(",", ":"), allow_nan=False)


def state_from_json(text: str) -> EngineState:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise StateError(f"engine state is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise StateError("engine state must be a JSON object")
    # Format 1 differs only in lacking prune bookkeeping; its pending request has the same fields.
    if data.get("format") not in (1, FORMAT):
        raise StateError(
            f"engine state format {data.get('format')!r} is not supported (want {FORMAT})"
        )
    try:
        version, internal, gauss = data["rng"]
        rng = random.Random()
        rng.setstate((int(version), tuple(int(x) for x in internal), gauss))
        budget = data["budget"]
        merges = data["merges"]
        candidates = {c["id"]: _candidate_from_dict(c) for c in data["candidates"]}
        state = EngineState(
            rng=rng,
            candidates=candidates,
            splits={str(k): str(v) for k, v in data["splits"].items()},
            retired=set(data["retired"]),
            val_scores={
                c: {e: float(v) for e, v in m.items()} for c, m in data["val_scores"].items()
            },
            train_scores={
                c: {e: float(v) for e, v in m.items()} for c, m in data["train_scores"].items()
            },
            unscored={c: set(e) for c, e in data["unscored"].items()},
            traces={
                c: {e: (str(t[0]), str(t[1]), str(t[2])) for e, t in ts.items()}
                for c, ts in data["traces"].items()
            },
            best=str(data["best"]),
            needs_full_eval=[str(c) for c in data["needs_full_eval"]],
            sampler_order=[str(e) for e in data["sampler"]["order"]],
            sampler_pos=int(data["sampler"]["pos"]),
            component_cursor={str(k): int(v) for k, v in data["component_cursor"].items()},
            merges_done=int(merges["done"]),
            merges_due=int(merges["due"]),
            merges_tried={(str(a), str(b)) for a, b in merges["tried"]},
            iteration=int(data["iteration"]),
            last_improvement=int(data["last_improvement"]),
            backfilled_this_step=int(data["backfilled_this_step"]),
            unusable_in_a_row=int(data["unusable_in_a_row"]),
            rollouts=int(budget["rollouts"]),
            cached_rollouts=int(budget["cached_rollouts"]),
            unscored_rollouts=int(budget["unscored_rollouts"]),
            reflection_calls=int(budget["reflection_calls"]),
            merge_calls=int(budget["merge_calls"]),
            cost_usd=float(budget["cost_usd"]),
            tokens=int(budget["tokens"]),
            next_candidate=int(data["next_candidate"]),
            next_request=int(data["next_request"]),
            pending=pending_from_dict(data["pending"], candidates),
            prune_tried={str(k): int(v) for k, v in data.get("prune_tried", {}).items()},
            run_cap=int(data.get("run_cap", -1)),
            run_start=int(data.get("run_start", 0)),
            confirmed_cap=int(data.get("confirmed_cap", -1)),
            confirmed_early=bool(data.get("confirmed_early", False)),
            confirm_fresh={
                str(c): {str(e) for e in v} for c, v in data.get("confirm_fresh", {}).items()
            },
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StateError(f"engine state is missing or has a malformed field: {exc!r}") from exc
    _check_references(state)
    return state


def _check_references(s: EngineState) -> None:
    """Every id the state mentions must exist: a corrupt state fails here, not mid-run."""
    if s.best not in s.candidates:
        raise StateError(f"engine state: best candidate {s.best!r} does not exist")
    for c in s.candidates.values():
        for p in c.parents:
            if p not in s.candidates:
                raise StateError(f"engine state: candidate {c.id} has unknown parent {p!r}")
    for name, table in (("val_scores", s.val_scores), ("train_scores", s.train_scores)):
        for cid in table:
            if cid not in s.candidates:
                raise StateError(f"engine state: {name} has unknown candidate {cid!r}")
    for cid in s.needs_full_eval:
        if cid not in s.candidates:
            raise StateError(f"engine state: needs_full_eval has unknown candidate {cid!r}")
    bad = {sp for sp in s.splits.values() if sp not in ("train", "val", "holdout")}
    if bad:
        raise StateError(f"engine state: unknown splits {sorted(bad)}")
