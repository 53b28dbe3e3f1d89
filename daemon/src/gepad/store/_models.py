"""The values the store takes in and hands out: frozen, slotted, free of I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

ExampleKind = Literal[
    "thumbs_down", "thumbs_up", "correction", "comment", "test_result", "compile_result", "kernel"
]
Split = Literal["unassigned", "train", "val", "holdout"]
PromptSource = Literal["seed", "optimizer", "user-edit", "rollback"]
# held: proposed while the component was pinned; rejected: a pending version the user turned down.
PromptStatus = Literal["current", "pending", "superseded", "rejected", "held"]
LlmPurpose = Literal["task", "reflection", "merge", "judge", "assist"]

EXAMPLE_KINDS: Final[tuple[str, ...]] = (
    "thumbs_down",
    "thumbs_up",
    "correction",
    "comment",
    "test_result",
    "compile_result",
    "kernel",
)
SPLITS: Final[tuple[str, ...]] = ("unassigned", "train", "val", "holdout")
PROMPT_SOURCES: Final[tuple[str, ...]] = ("seed", "optimizer", "user-edit", "rollback")
PROMPT_STATUSES: Final[tuple[str, ...]] = ("current", "pending", "superseded", "rejected", "held")
LLM_PURPOSES: Final[tuple[str, ...]] = ("task", "reflection", "merge", "judge", "assist")
DEFAULT_COMPONENT: Final = "general"
# Where an example came from (issue 14); None for examples stored before sources existed.
EXAMPLE_SOURCES: Final[tuple[str, ...]] = (
    "lsp",
    "cli",
    "mcp",
    "claude-code",
    "continue",
    "git",
    "outcome",
)


@dataclass(frozen=True, slots=True)
class NewExample:
    """One piece of feedback as submitted.

    `outcome` may be a mapping or JSON text; it is stored as canonical JSON text so that two
    submissions carrying the same details in a different key order count as duplicates.
    """

    kind: str
    component: str = DEFAULT_COMPONENT
    workspace: str | None = None
    file: str | None = None
    language: str | None = None
    context: str = ""
    output: str = ""
    corrected: str | None = None
    comment: str | None = None
    outcome: str | Mapping[str, Any] | None = None
    generation_id: int | None = None
    prompt_version: int | None = None
    split: str = "unassigned"
    source: str | None = None  # one of EXAMPLE_SOURCES; not part of the content hash


@dataclass(frozen=True, slots=True)
class Example:
    id: int
    kind: str
    component: str
    workspace: str | None
    file: str | None
    language: str | None
    context: str
    output: str
    corrected: str | None
    comment: str | None
    outcome: str | None  # canonical JSON text
    generation_id: int | None
    prompt_version: int | None
    split: str
    retired: bool
    created_at: float
    content_hash: str
    source: str | None = None

    def outcome_data(self) -> Any:
        """The outcome parsed from its JSON text (None when there is none)."""
        return None if self.outcome is None else json.loads(self.outcome)


@dataclass(frozen=True, slots=True)
class AddResult:
    example_id: int
    created: bool  # False: an identical submission inside the dedupe window already holds this id


@dataclass(frozen=True, slots=True)
class NewGeneration:
    """What the assistant produced, recorded so that a later edit can become a correction."""

    component: str = DEFAULT_COMPONENT
    workspace: str | None = None
    file: str | None = None
    language: str | None = None
    instruction: str = ""
    context: str = ""
    output: str = ""
    prompt_version: int | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Generation:
    id: int
    component: str
    workspace: str | None
    file: str | None
    language: str | None
    instruction: str
    context: str
    output: str
    prompt_version: int | None
    model: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class PromptVersion:
    id: int
    component: str
    version: int
    text: str
    score: float | None
    source: str
    candidate_id: str | None
    status: str
    created_at: float


@dataclass(frozen=True, slots=True)
class ComponentState:
    """Which version of a component is current, which one waits for review, and the pin."""

    component: str
    current_version: int | None
    pending_version: int | None
    pinned: bool
    updated_at: float


@dataclass(frozen=True, slots=True)
class LlmCall:
    """One call to a model, as the learning side reports it."""

    model: str
    purpose: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    outcome: str = "ok"
    error: str | None = None
    component: str | None = None
    # When the call started (epoch seconds); None = when it is recorded.
    created_at: float | None = None


@dataclass(frozen=True, slots=True)
class LlmCallRecord:
    id: int
    model: str
    purpose: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_ms: float
    outcome: str
    error: str | None
    component: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class LlmUsage:
    """Totals over a time range, for the daily budgets."""

    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class CaptureMark:
    """One durable fact of a capture source: a file offset, a commit seen, a tracked span."""

    source: str
    key: str
    value: Mapping[str, Any]
    updated_at: float


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str
    payload: Mapping[str, Any]
    created_at: float
