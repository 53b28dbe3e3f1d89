"""Values that cross the engine's boundary: examples, requests, answers and events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Answer",
    "Candidate",
    "EvalOutcome",
    "EvalResult",
    "Evaluate",
    "Event",
    "ExampleSpec",
    "Finished",
    "Idle",
    "Merge",
    "Reflect",
    "ReflectiveRecord",
    "Request",
    "Split",
    "TextAnswer",
]

Split = Literal["train", "val", "holdout"]
CandidateOrigin = Literal["seed", "reflection", "merge", "crossover", "user-edit", "prune"]


@dataclass(frozen=True, slots=True)
class ExampleSpec:
    """An example the caller adds. `split=None` lets the engine's split policy decide."""

    id: str
    split: Split | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A prompt made of named components, with its provenance."""

    id: str
    components: Mapping[str, str]
    parents: tuple[str, ...]
    origin: CandidateOrigin
    iteration: int
    # The examples whose feedback produced this candidate (empty for seeds and crossovers).
    feedback_examples: tuple[str, ...] = ()
    changed_component: str | None = None
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class ReflectiveRecord:
    """One minibatch example as the reflection LLM sees it."""

    example_id: str
    input: str
    output: str
    feedback: str
    score: float | None


@dataclass(frozen=True, slots=True)
class Evaluate:
    """Run `candidate` on each example and answer with an `EvalResult`.

    The examples are independent: a caller may run them concurrently. `capture_traces` asks for
    the input, output and feedback text the reflection step needs.
    """

    id: int
    candidate_id: str
    components: Mapping[str, str]
    example_ids: tuple[str, ...]
    capture_traces: bool
    purpose: Literal[
        "minibatch-parent", "minibatch-child", "full", "backfill", "merge-gate", "confirm"
    ]


@dataclass(frozen=True, slots=True)
class Reflect:
    """Ask the reflection LLM to rewrite one component, then answer with a `TextAnswer`.

    `prompt` is the rendered template, ready to send as one user message; the structured
    fields are there for callers that build their own messages.
    """

    id: int
    candidate_id: str
    component: str
    current_text: str
    records: tuple[ReflectiveRecord, ...]
    prompt: str
    mode: Literal["improve", "condense"] = "improve"


@dataclass(frozen=True, slots=True)
class Merge:
    """Ask the reflection LLM to synthesise two parents' versions of one component."""

    id: int
    parent_ids: tuple[str, str]
    component: str
    text_a: str
    text_b: str
    ancestor_text: str
    prompt: str


@dataclass(frozen=True, slots=True)
class Idle:
    """Nothing to do until the caller adds examples (the reason says which)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Finished:
    """A stop condition holds."""

    reason: str


Request = Evaluate | Reflect | Merge


@dataclass(frozen=True, slots=True)
class EvalOutcome:
    """One example's result. `score=None` means unscored: counted as a rollout, never ranked."""

    example_id: str
    score: float | None
    feedback: str = ""
    output: str = ""
    input: str = ""


@dataclass(frozen=True, slots=True)
class EvalResult:
    """The answer to an `Evaluate`. `cached` outcomes cost no rollout."""

    outcomes: tuple[EvalOutcome, ...]
    cached_example_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class TextAnswer:
    """The raw text an LLM returned for a `Reflect` or `Merge`, with what the call cost."""

    text: str
    cost_usd: float = 0.0
    tokens: int = 0


Answer = EvalResult | TextAnswer


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened in a step: `proposed`, `gated_out`, `rejected`, `accepted`,
    `frontier_changed`, `new_best`, `skipped_perfect`, `examples_added`, `examples_retired`,
    `finished`."""

    kind: str
    iteration: int
    candidate_id: str | None = None
    detail: Mapping[str, object] = field(default_factory=dict)
