"""Every delivery target: which files it writes, where, in which form, within which limit.

To add a target, write its file kinds (a module implementing `FileKind`, see `_types.py`; all
file access through the `Place` it is given) and add one `Target(...)` line to `_ALL`. The
CLI's list (`gepad.cli._parser.DELIVERY_TARGETS`) must name it too; a test checks both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final

from ._agents_md import MarkedSection
from ._aider import CONVENTIONS, AiderConf
from ._claude_capture import (
    CAPTURE_COMMAND,
    CAPTURE_SCRIPT,
    CAPTURE_SETTINGS,
    CaptureSettings,
    OwnedFile,
    render_capture_script,
    render_feedback_command,
)
from ._hook import HOOK_SCRIPT, HookScript, HookSettings
from ._limits import Limit
from ._place import Place
from ._rules import RuleFile
from ._types import FileKind

__all__ = ["LIMITS", "TARGETS", "TARGET_NAMES", "Target"]


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    files: tuple[tuple[str, FileKind], ...]  # path relative to the workspace (or to home)
    in_home: bool = False  # one file for the user, shared by every workspace (continue)

    def paths(self, workspace: Path, home: Path) -> tuple[tuple[Place, FileKind], ...]:
        base = home if self.in_home else workspace
        return tuple((Place(base, rel), kind) for rel, kind in self.files)


# What each tool documents it reads; see the README's delivery table for the sources.
LIMITS: Final = MappingProxyType(
    {
        "agents-md": Limit(
            32 * 1024, "bytes", "refuse", "Codex",
            "Codex reads at most 32 KiB of AGENTS.md in all, project_doc_max_bytes",
        ),
        "windsurf": Limit(
            12_000, "chars", "refuse", "Windsurf", "Windsurf rule files hold 12,000 characters"
        ),
        "claude": Limit(
            200, "lines", "warn", "Claude Code",
            "Claude Code loads 200 lines of MEMORY.md and advises CLAUDE.md and rules under 200",
        ),
        "cursor": Limit(500, "lines", "warn", "Cursor", "Cursor advises rules under 500 lines"),
        "copilot": Limit(
            4_000, "chars", "warn", "Copilot code review",
            "Copilot code review reads the first 4,000 characters of an instruction file",
        ),
    }
)  # fmt: skip

_COPILOT_FM = '---\napplyTo: "**"\n---\n'
_CURSOR_FM = "---\ndescription: Coding instructions evolved by gepad\nalwaysApply: true\n---\n"
_CONTINUE_FM = "---\nname: gepad\nalwaysApply: true\n---\n"
_WINDSURF_FM = "---\ntrigger: always_on\n---\n"

# Learning from Claude Code (issue 14, gepad.capture): the PostToolUse hook and /gepad-feedback.
_CLAUDE_CAPTURE: Final = (
    (CAPTURE_SCRIPT, OwnedFile(render_capture_script, mode=0o755)),
    # The local settings: capture is personal, and claude-hook owns .claude/settings.json.
    (CAPTURE_SETTINGS, CaptureSettings()),
    (CAPTURE_COMMAND, OwnedFile(render_feedback_command)),
)

_ALL = (
    Target("agents-md", (("AGENTS.md", MarkedSection(LIMITS["agents-md"])),)),
    Target(
        "copilot",
        ((".github/instructions/gepad.instructions.md", RuleFile(_COPILOT_FM, LIMITS["copilot"])),),
    ),
    Target("claude", ((".claude/rules/gepad.md", RuleFile(limit=LIMITS["claude"])),)),
    Target("cursor", ((".cursor/rules/gepad.mdc", RuleFile(_CURSOR_FM, LIMITS["cursor"])),)),
    Target("cline", ((".clinerules/gepad.md", RuleFile()),)),
    Target("continue", ((".continue/rules/gepad.md", RuleFile(_CONTINUE_FM)),), in_home=True),
    Target("claude-hook", ((HOOK_SCRIPT, HookScript()), (".claude/settings.json", HookSettings()))),
    Target("windsurf", ((".windsurf/rules/gepad.md", RuleFile(_WINDSURF_FM, LIMITS["windsurf"])),)),
    Target("gemini", (("GEMINI.md", MarkedSection()),)),
    Target("aider", ((CONVENTIONS, RuleFile()), (".aider.conf.yml", AiderConf()))),
    Target("claude-capture", _CLAUDE_CAPTURE),
)

TARGETS: Final = MappingProxyType({t.name: t for t in _ALL})
TARGET_NAMES: Final = tuple(TARGETS)
