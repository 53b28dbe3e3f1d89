"""Engine configuration: an explicit, immutable object passed in by the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["EngineConfig"]

Selection = Literal["pareto", "current_best", "epsilon_greedy"]
OverLength = Literal["reject", "condense"]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How the engine searches. Every field has the default the paper or experience suggests.

    The configuration is not part of the serialized state: the caller keeps it and passes the
    same (or a deliberately changed) configuration when it restores an engine.
    """

    # Four, not the paper's three: on the realistic simulated users a fourth example per
    # minibatch makes the acceptance gate less noisy (+0.01 to +0.03 held-out; bench/RESULTS.md).
    minibatch_size: int = 4
    selection: Selection = "pareto"
    epsilon: float = 0.1
    # Skip reflection when the parent already scores this on every minibatch example.
    perfect_score: float = 1.0
    skip_perfect_minibatch: bool = True
    # Reuse a candidate's earlier result on an example instead of asking for it again.
    # Sound for deterministic (temperature 0 or cached) evaluation, and it is what saves budget.
    reuse_scores: bool = True
    use_merge: bool = True
    max_merges: int = 8
    merge_minibatch_size: int = 5
    max_prompt_chars: int = 8000
    over_length: OverLength = "condense"
    # Split policy for examples the caller does not assign itself.
    val_fraction: float = 0.4
    # Share of validation examples held out from Pareto selection, used only to confirm a new best.
    holdout_fraction: float = 0.34
    # How far a challenger's held-out mean may fall below the incumbent's and still win.
    holdout_tolerance: float = 0.0
    # Rollouts spent per step on scoring frontier candidates on newly added validation examples.
    backfill_per_step: int = 32
    max_traces_per_candidate: int = 64
    # After this many unusable LLM answers in a row the engine idles instead of paying for more.
    max_unusable_in_a_row: int = 10
    # A new line quoting this many characters of a minibatch input verbatim is taken for an
    # instance-specific note and removed. Off by default: it matches one phrasing, and in the
    # daemon the inputs hold the user's own code, whose identifiers good rules may name.
    quote_guard_chars: int = 0
    # Put back the parent lines a full rewrite dropped without rephrasing them (`_lines.py`).
    restore_dropped: bool = True
    # Every this many iterations, try the best without one of its lines (0: never).
    prune_every: int = 2
    # How many noisy tries one line gets before it is only tried again on new data.
    prune_tries: int = 2
    # Reflect on validation examples' feedback too, not only on training examples'. Held-out
    # examples are never shown to reflection.
    reflect_on_val: bool = True
    # At an equal validation mean, the shorter prompt is the better one.
    prefer_shorter: bool = True
    # At the end of a run's rollout budget, score the best `confirm_top` candidates by
    # validation mean on the training examples too and keep the best on both: ten or so
    # validation examples are a noisy judge of many candidates (the winner's curse), and they
    # miss what only training examples need. Only when it costs at most `confirm_share` of the
    # run's rollouts (0: never).
    confirm_top: int = 3
    confirm_share: float = 0.1

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.minibatch_size < 1:
            problems.append("minibatch_size must be >= 1")
        if self.selection not in ("pareto", "current_best", "epsilon_greedy"):
            problems.append(
                f"selection must be pareto, current_best or epsilon_greedy: {self.selection!r}"
            )
        if not 0.0 <= self.epsilon <= 1.0:
            problems.append("epsilon must be in [0, 1]")
        if self.max_merges < 0:
            problems.append("max_merges must be >= 0")
        if self.merge_minibatch_size < 1:
            problems.append("merge_minibatch_size must be >= 1")
        if self.max_prompt_chars < 1:
            problems.append("max_prompt_chars must be >= 1")
        if self.over_length not in ("reject", "condense"):
            problems.append(f"over_length must be reject or condense, not {self.over_length!r}")
        if not 0.0 < self.val_fraction < 1.0:
            problems.append("val_fraction must be in (0, 1)")
        if not 0.0 <= self.holdout_fraction < 1.0:
            problems.append("holdout_fraction must be in [0, 1)")
        if self.max_unusable_in_a_row < 1:
            problems.append("max_unusable_in_a_row must be >= 1")
        if self.quote_guard_chars < 0:
            problems.append("quote_guard_chars must be >= 0")
        if not 0.0 <= self.holdout_tolerance <= 1.0:
            problems.append("holdout_tolerance must be in [0, 1]")
        if self.prune_every < 0:
            problems.append("prune_every must be >= 0")
        if self.confirm_top < 0:
            problems.append("confirm_top must be >= 0")
        if not 0.0 <= self.confirm_share <= 1.0:
            problems.append("confirm_share must be in [0, 1]")
        if self.backfill_per_step < 0:
            problems.append("backfill_per_step must be >= 0")
        if problems:
            # Imported here to keep the module graph flat; EngineError is the package root.
            from ._errors import EngineError

            raise EngineError("invalid EngineConfig: " + "; ".join(problems))
