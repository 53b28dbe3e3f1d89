"""The gepad half of the engine-overhead benchmark.

One step's bookkeeping, through the engine's public API only: `complete` hands the engine a new
candidate's scores on every validation example (frontier update, dominance pruning, best check),
then `next_request` plans the next iteration (parent selection from the frontier, minibatch).
No LLM is involved. The scores are the reference half's (`overhead_scores`), so both halves
time the same numbers.
"""

from __future__ import annotations

import time

from gepa_engine import (
    Engine,
    EngineConfig,
    EvalOutcome,
    EvalResult,
    Evaluate,
    ExampleSpec,
)
from gepad_sim._overhead import overhead_scores

__all__ = ["build_engine", "gepad_overhead_ms"]

# Every validation example takes part in Pareto selection, as in the reference.
CONFIG = EngineConfig(holdout_fraction=0.0, backfill_per_step=0)


def _answer(engine: Engine, row: list[float], ids: list[str]) -> tuple[int, EvalResult]:
    req = engine.next_request()
    if not isinstance(req, Evaluate) or req.purpose != "full":
        raise RuntimeError(f"expected a full evaluation, got {req!r}")
    outcomes = tuple(EvalOutcome(ids[i], row[i]) for i in range(len(ids)))
    return req.id, EvalResult(outcomes)


def build_engine(n_candidates: int, n_examples: int, seed: int) -> tuple[Engine, list[float]]:
    """An engine holding `n_candidates` scored candidates; returns it and the next row."""
    scores = overhead_scores(n_candidates, n_examples, seed)
    ids = [f"v{i}" for i in range(n_examples)]
    engine = Engine.start({"prompt": "candidate 0"}, seed=seed, config=CONFIG)
    engine.add_examples([ExampleSpec(f"t{i}", "train") for i in range(3)])
    engine.add_examples([ExampleSpec(e, "val") for e in ids])
    for n in range(n_candidates):
        if n:
            engine.add_seed_candidate({"prompt": f"candidate {n}"})
        rid, result = _answer(engine, scores[n], ids)
        engine.complete(rid, result)
    return engine, scores[n_candidates]


def gepad_overhead_ms(n_candidates: int, n_examples: int, repeats: int, seed: int) -> list[float]:
    """Milliseconds of one step's bookkeeping, one entry per repeat, each from the same state."""
    engine, new_row = build_engine(n_candidates, n_examples, seed)
    snapshot = engine.to_json()
    ids = [f"v{i}" for i in range(n_examples)]
    timings: list[float] = []
    for _ in range(repeats):
        fresh = Engine.from_json(snapshot, config=CONFIG)
        fresh.add_seed_candidate({"prompt": "the new candidate"})
        rid, result = _answer(fresh, new_row, ids)
        # In a running engine the previous step's selection left the frontier computed.
        fresh.frontier()
        started = time.perf_counter()
        fresh.complete(rid, result)
        fresh.next_request()
        timings.append((time.perf_counter() - started) * 1000)
    return timings
