"""What a prompt component looks like from outside: the values `prompt.get` sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gepad.store import PromptVersion


@dataclass(frozen=True, slots=True)
class PendingPrompt:
    """A version waiting for the user's approval (review mode)."""

    version: int
    score: float | None
    created_at: float
    text: str  # so a reviewer can read what they are asked to approve

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "score": self.score,
            "created_at": self.created_at,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class PromptState:
    """Exactly what `prompt.get` returns and `prompt.changed` sends."""

    component: str
    version: int
    text: str
    score: float | None
    source: str
    created_at: float
    pinned: bool
    pending: PendingPrompt | None

    def as_dict(self) -> dict[str, Any]:
        """The wire form: plain JSON-ready values, `pending` nested or None."""
        return {
            "component": self.component,
            "version": self.version,
            "text": self.text,
            "score": self.score,
            "source": self.source,
            "created_at": self.created_at,
            "pinned": self.pinned,
            "pending": None if self.pending is None else self.pending.as_dict(),
        }

    @classmethod
    def of(
        cls, current: PromptVersion, *, pinned: bool, pending: PromptVersion | None
    ) -> PromptState:
        return cls(
            component=current.component,
            version=current.version,
            text=current.text,
            score=current.score,
            source=current.source,
            created_at=current.created_at,
            pinned=pinned,
            pending=None
            if pending is None
            else PendingPrompt(
                version=pending.version,
                score=pending.score,
                created_at=pending.created_at,
                text=pending.text,
            ),
        )


ProposeAction = Literal["swapped", "pending", "held"]


@dataclass(frozen=True, slots=True)
class ProposeOutcome:
    """What became of an optimizer proposal.

    swapped: it is the current version now (auto mode);
    pending: it waits for approval (review mode), replacing any older pending version;
    held: the component is pinned, so it was recorded with status `held` and nothing changed.
    """

    action: ProposeAction
    version: PromptVersion
    state: PromptState
