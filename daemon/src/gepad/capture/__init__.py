"""Capture: learning from the assistants people already use (issue 14).

Claude Code (the `claude-capture` hook's spool, then the user's hand edits), Continue (its
dev-data log) and git (assistant commits, then human fixes) become ordinary examples with a
`source`. `CaptureService` is what the daemon runs; `capture_methods` its `capture.*` API.
"""

from ._claude import CLAUDE_TOOLS, Captured, from_spooled, last_user_request
from ._continue import CONTINUE_EVENTS, example_from_event
from ._git import DEFAULT_GIT_PATTERNS
from ._jsonl import read_new
from ._rpc import capture_methods
from ._service import CAPTURE_SOURCES, SPOOL_FILE, CaptureService, CaptureSettings
from ._tracker import DELETED_COMMENT, GenerationTracker, locate

__all__ = [
    "CAPTURE_SOURCES",
    "CLAUDE_TOOLS",
    "CONTINUE_EVENTS",
    "DEFAULT_GIT_PATTERNS",
    "DELETED_COMMENT",
    "SPOOL_FILE",
    "CaptureService",
    "CaptureSettings",
    "Captured",
    "GenerationTracker",
    "capture_methods",
    "example_from_event",
    "from_spooled",
    "last_user_request",
    "locate",
    "read_new",
]
