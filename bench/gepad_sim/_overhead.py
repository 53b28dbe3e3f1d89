"""The reference half of the engine-overhead benchmark: gepa 0.1.4's per-step bookkeeping.

One step's bookkeeping is what an optimizer does between LLM calls: pick a parent from the
per-example Pareto frontier, then add the newly evaluated child to the candidate pool and update
the frontier. For gepa that is `ParetoCandidateSelector.select_candidate_idx` followed by
`GEPAState.update_state_with_new_program`, its own functions, on a `GEPAState` holding
`n_candidates` programs scored on `n_examples` validation examples. The engine's extra per-step
work (frontier snapshots for callbacks, logging, candidate-tree HTML) is left out, which can only
flatter the reference.

Scores come from `overhead_scores`, shared so that the gepad half can time its engine on the same
numbers: per-example scores on a five-level grid (0, 0.25, ..., 1), as a metric averaging a few
pass/fail checks produces. Ties are common with such scores, and ties are what make frontiers
large.
"""

from __future__ import annotations

import random
import time

__all__ = ["overhead_scores", "reference_overhead_ms"]


def overhead_scores(n_candidates: int, n_examples: int, seed: int) -> list[list[float]]:
    """Per-example scores for `n_candidates` existing programs plus one new one (the last row)."""
    rng = random.Random(seed)
    return [[rng.randint(0, 4) / 4 for _ in range(n_examples)] for _ in range(n_candidates + 1)]


def reference_overhead_ms(
    n_candidates: int, n_examples: int, repeats: int, seed: int
) -> list[float]:
    """Milliseconds of gepa's selection + state update, one entry per repeat.

    Each repeat builds a fresh state (not timed) so every timed step starts from exactly
    `n_candidates` programs.
    """
    from gepa.core.state import GEPAState, ValsetEvaluation
    from gepa.strategies.candidate_selector import ParetoCandidateSelector

    if n_candidates < 1 or n_examples < 1 or repeats < 1:
        raise ValueError("n_candidates, n_examples and repeats must all be at least 1")
    scores = overhead_scores(n_candidates, n_examples, seed)
    val_ids = list(range(n_examples))

    def evaluation(row: list[float]) -> ValsetEvaluation[str, int]:
        return ValsetEvaluation(
            outputs_by_val_id={i: "followed: a; missed: none" for i in val_ids},
            scores_by_val_id=dict(zip(val_ids, row, strict=True)),
        )

    timings: list[float] = []
    for rep in range(repeats):
        lineage = random.Random(seed * 1_000_003 + rep)
        # track_best_outputs=True is what gepa.optimize uses by default.
        state: GEPAState[str, int] = GEPAState(
            {"prompt": "candidate 0"}, evaluation(scores[0]), track_best_outputs=True
        )
        state.num_full_ds_evals = 1
        state.total_num_evals = n_examples
        for k in range(1, n_candidates):
            state.i = k - 1
            state.update_state_with_new_program(
                parent_program_idx=[lineage.randrange(k)],
                new_program={"prompt": f"candidate {k}"},
                valset_evaluation=evaluation(scores[k]),
                run_dir=None,
                num_metric_calls_by_discovery_of_new_program=k * n_examples,
            )
        state.i = n_candidates - 1
        selector = ParetoCandidateSelector(rng=random.Random(seed + rep))
        new_eval = evaluation(scores[n_candidates])
        started = time.perf_counter()
        parent = selector.select_candidate_idx(state)
        state.update_state_with_new_program(
            parent_program_idx=[parent],
            new_program={"prompt": f"candidate {n_candidates}"},
            valset_evaluation=new_eval,
            run_dir=None,
            num_metric_calls_by_discovery_of_new_program=n_candidates * n_examples,
        )
        timings.append((time.perf_counter() - started) * 1000.0)
    return timings
