"""Delivering the evolved prompt into the files coding assistants read (issue 6, "out").

Targets: `agents-md` (a marked section in AGENTS.md), `copilot`, `claude`, `cursor`, `cline`,
`continue` (instruction files) and `claude-hook` (a Claude Code SessionStart hook). Each is
enabled per workspace, written atomically, and rewritten on every prompt change.
"""

from ._markers import BEGIN, END
from ._registry import Conflict, Delivery
from ._service import DeliveryService
from ._targets import TARGET_NAMES, TARGETS, Target
from ._types import FileRecord, RenderContext

__all__ = [
    "BEGIN",
    "END",
    "TARGETS",
    "TARGET_NAMES",
    "Conflict",
    "Delivery",
    "DeliveryService",
    "FileRecord",
    "RenderContext",
    "Target",
]
