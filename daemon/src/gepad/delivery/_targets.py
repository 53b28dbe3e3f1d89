"""Every delivery target: which files it writes, where, and in which form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final

from ._agents_md import MarkedSection
from ._hook import HOOK_SCRIPT, HookScript, HookSettings
from ._rules import RuleFile
from ._types import FileKind

__all__ = ["TARGETS", "TARGET_NAMES", "Target"]


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    files: tuple[tuple[str, FileKind], ...]  # path relative to the workspace (or to home)
    in_home: bool = False  # one file for the user, shared by every workspace (continue)

    def paths(self, workspace: Path, home: Path) -> tuple[tuple[Path, FileKind], ...]:
        base = home if self.in_home else workspace
        return tuple((base / rel, kind) for rel, kind in self.files)


_COPILOT_FM = '---\napplyTo: "**"\n---\n'
_CURSOR_FM = "---\ndescription: Coding instructions evolved by gepad\nalwaysApply: true\n---\n"
_CONTINUE_FM = "---\nname: gepad\nalwaysApply: true\n---\n"

TARGETS: Final = MappingProxyType(
    {
        t.name: t
        for t in (
            Target("agents-md", (("AGENTS.md", MarkedSection()),)),
            Target(
                "copilot",
                ((".github/instructions/gepad.instructions.md", RuleFile(_COPILOT_FM)),),
            ),
            Target("claude", ((".claude/rules/gepad.md", RuleFile()),)),
            Target("cursor", ((".cursor/rules/gepad.mdc", RuleFile(_CURSOR_FM)),)),
            Target("cline", ((".clinerules/gepad.md", RuleFile()),)),
            Target("continue", ((".continue/rules/gepad.md", RuleFile(_CONTINUE_FM)),), True),
            Target(
                "claude-hook",
                ((HOOK_SCRIPT, HookScript()), (".claude/settings.json", HookSettings())),
            ),
        )
    }
)
TARGET_NAMES: Final = tuple(TARGETS)
