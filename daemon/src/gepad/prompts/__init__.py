"""Prompt versions per component, served from memory and swapped atomically.

`PromptService` is the one way to change a prompt: user edits, rollbacks, pins, approvals and
the optimizer's proposals all go through it, so pin and review mode hold for everyone.
"""

from ._service import PromptService, SwapPolicy
from ._state import PendingPrompt, PromptState, ProposeAction, ProposeOutcome
from ._validate import MAX_TEXT_BYTES

__all__ = [
    "MAX_TEXT_BYTES",
    "PendingPrompt",
    "PromptService",
    "PromptState",
    "ProposeAction",
    "ProposeOutcome",
    "SwapPolicy",
]
