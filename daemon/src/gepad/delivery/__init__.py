"""Delivering the evolved prompt into the files coding assistants read (issue 6, "out").

Targets: `agents-md` and `gemini` (a marked section in AGENTS.md / GEMINI.md), `copilot`,
`claude`, `cursor`, `cline`, `continue`, `windsurf` (instruction files), `aider`
(CONVENTIONS.gepad.md plus a `read:` entry in .aider.conf.yml) and `claude-hook` (a Claude Code
SessionStart hook). Each is enabled per workspace, written atomically, confined to the
workspace (no symbolic link out of it is followed), checked against its tool's documented
limit, and rewritten on every prompt change; a hand edit becomes a proposal.
"""

from ._limits import Limit
from ._markers import BEGIN, END, escape_markers, unescape_markers
from ._place import MAX_FILE_BYTES, Place
from ._registry import Conflict, Delivery
from ._service import DeliveryEdits, DeliveryService
from ._targets import LIMITS, TARGET_NAMES, TARGETS, Target
from ._types import FileRecord, RenderContext

__all__ = [
    "BEGIN",
    "END",
    "LIMITS",
    "MAX_FILE_BYTES",
    "TARGETS",
    "TARGET_NAMES",
    "Conflict",
    "Delivery",
    "DeliveryEdits",
    "DeliveryService",
    "FileRecord",
    "Limit",
    "Place",
    "RenderContext",
    "Target",
    "escape_markers",
    "unescape_markers",
]
