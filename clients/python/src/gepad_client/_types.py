"""The shapes of the daemon's replies (docs/protocol.md), as TypedDicts for type checkers.

Replies are plain dicts at run time; these only describe them.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

__all__ = [
    "Example",
    "ExamplesPage",
    "FeedbackResult",
    "GenerationResult",
    "PendingPrompt",
    "PromptHistory",
    "PromptState",
    "PromptVersionInfo",
    "Status",
]


class PendingPrompt(TypedDict):
    version: int
    score: float | None
    created_at: float
    text: str


class PromptState(TypedDict):
    component: str
    version: int
    text: str
    score: float | None
    source: str
    created_at: float
    pinned: bool
    pending: PendingPrompt | None


class PromptVersionInfo(TypedDict):
    version: int
    text: str
    score: float | None
    source: str
    candidate_id: str | None
    status: str
    created_at: float


class PromptHistory(TypedDict):
    component: str
    versions: list[PromptVersionInfo]


class Status(TypedDict):
    version: str
    pid: int
    started_at: float
    uptime_s: float
    ws_url: str
    home: str
    examples: dict[str, int]
    examples_total: int
    components: list[PromptState]
    swap_policy: str
    optimizer: dict[str, Any]


class FeedbackResult(TypedDict):
    example_id: int
    duplicate: bool


class Example(TypedDict):
    id: int
    kind: str
    component: str
    workspace: str | None
    file: str | None
    language: str | None
    context: str | None
    output: str | None
    corrected: str | None
    comment: str | None
    outcome: Any
    generation_id: int | None
    prompt_version: int | None
    split: str
    retired: bool
    created_at: float
    # In `examples.list`: true when a long text field was cut (`examples.get` has it whole).
    truncated: NotRequired[bool]


class ExamplesPage(TypedDict):
    examples: list[Example]
    # Pass to `list_examples(cursor=...)` for the next page; None on the last one.
    next_cursor: NotRequired[str | None]


class GenerationResult(TypedDict):
    generation_id: int
