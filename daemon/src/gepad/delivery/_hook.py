"""The `claude-hook` target: a Claude Code `SessionStart` hook that hands Claude the prompt.

Two files: the script `.claude/hooks/gepad-session-start.py`, which asks the running daemon
for the current prompt and prints it as Claude Code's JSON hook output
(`hookSpecificOutput.additionalContext`), and gepad's entry under `hooks.SessionStart` in
`.claude/settings.json`. The script reads the prompt live, so a swap needs no rewrite; when
the daemon is not running it prints nothing and exits 0 (a hook must never block a session).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gepad.errors import DeliveryConflictError, DeliveryError

from ._atomic import ensure_dirs, prune_dirs, read_bytes, write_atomic
from ._types import FileRecord, RenderContext, WriteResult, sha256

__all__ = ["HOOK_SCRIPT", "HookScript", "HookSettings", "hook_command", "render_hook_script"]

HOOK_SCRIPT = ".claude/hooks/gepad-session-start.py"

_SCRIPT = '''\
#!{python}
"""gepad's SessionStart hook for Claude Code: the current "{component}" prompt as context.

Written by `gepad deliver enable --target claude-hook`; `gepad deliver disable` removes it.
"""

import asyncio
import json
import sys
from pathlib import Path

GEPAD_HOME = {home!r}
COMPONENT = {component!r}


async def fetch() -> str:
    from gepad_client import GepadClient

    home = Path(GEPAD_HOME) if GEPAD_HOME else None
    async with GepadClient.connect(home=home, timeout=3.0) as client:
        state = await client.get_prompt(COMPONENT)
    return state["text"]


def main() -> int:
    try:
        text = asyncio.run(asyncio.wait_for(fetch(), 5.0))
    except Exception as exc:  # never block the session: no prompt is better than no Claude
        print(f"gepad: no prompt added ({{exc}})", file=sys.stderr)
        return 0
    output = {{
        "hookSpecificOutput": {{"hookEventName": "SessionStart", "additionalContext": text}}
    }}
    json.dump(output, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def render_hook_script(ctx: RenderContext) -> str:
    return _SCRIPT.format(python=ctx.python, home=ctx.gepad_home, component=ctx.component)


def hook_command(python: str) -> str:
    return f'"{python}" "$CLAUDE_PROJECT_DIR/{HOOK_SCRIPT}"'


@dataclass(frozen=True, slots=True)
class HookScript:
    prompt_bearing: bool = False

    def check_enable(self, path: Path, record: FileRecord | None) -> None:
        if record is None and path.exists():
            raise DeliveryConflictError(f"{path} already exists and gepad did not write it")

    def write(self, path: Path, record: FileRecord | None, ctx: RenderContext) -> WriteResult:
        new = render_hook_script(ctx).encode()
        current = read_bytes(path)
        dirs = record.created_dirs if record else ()
        if current is None:
            dirs = (*dirs, *(str(d) for d in ensure_dirs(path.parent)))
        elif record is not None and sha256(current) != record.sha256:
            return WriteResult(record, conflict=True)  # the user changed our script: leave it
        written = current != new
        if written:
            write_atomic(path, new)
            path.chmod(0o755)
        return WriteResult(FileRecord(str(path), sha256(new), True, dirs), written=written)

    def remove(self, path: Path, record: FileRecord) -> str:
        current = read_bytes(path)
        if current is None:
            prune_dirs([Path(d) for d in record.created_dirs])
            return "absent"
        if sha256(current) != record.sha256:
            return "kept: edited since gepad wrote it"
        path.unlink()
        prune_dirs([Path(d) for d in record.created_dirs])
        return "removed"


@dataclass(frozen=True, slots=True)
class HookSettings:
    """gepad's entry in `.claude/settings.json`; the user's other settings are kept."""

    prompt_bearing: bool = False

    def check_enable(self, path: Path, record: FileRecord | None) -> None:
        _load(path)

    def write(self, path: Path, record: FileRecord | None, ctx: RenderContext) -> WriteResult:
        data = _load(path)
        existed = data is not None
        settings: dict[str, Any] = data if data is not None else {}
        command = hook_command(ctx.python)
        dirs = record.created_dirs if record else ()
        created = record.created if record else not existed
        written = False
        if not _has_entry(settings, command):
            hooks = settings.setdefault("hooks", {})
            if not isinstance(hooks, dict) or not isinstance(hooks.get("SessionStart", []), list):
                raise DeliveryError(f"{path}: 'hooks.SessionStart' is not a list; fix it by hand")
            hooks.setdefault("SessionStart", []).append(_entry(command))
            if not existed:
                dirs = (*dirs, *(str(d) for d in ensure_dirs(path.parent)))
            write_atomic(path, (json.dumps(settings, indent=2) + "\n").encode())
            written = True
        return WriteResult(
            FileRecord(str(path), sha256(command.encode()), created, dirs), written=written
        )

    def remove(self, path: Path, record: FileRecord) -> str:
        data = _load(path)
        if data is None:
            return "absent"
        hooks = data.get("hooks")
        starts = hooks.get("SessionStart") if isinstance(hooks, dict) else None
        if not isinstance(starts, list):
            return "absent"
        mine = [g for g in starts if _is_ours(g, record.sha256)]
        if not mine:
            return "absent"
        starts[:] = [g for g in starts if not _is_ours(g, record.sha256)]
        assert isinstance(hooks, dict)
        if not starts:
            del hooks["SessionStart"]
        if not hooks:
            del data["hooks"]
        if not data and record.created:
            path.unlink()
            prune_dirs([Path(d) for d in record.created_dirs])
        else:
            write_atomic(path, (json.dumps(data, indent=2) + "\n").encode())
        return "removed"


def _entry(command: str) -> dict[str, Any]:
    return {"matcher": "", "hooks": [{"type": "command", "command": command, "timeout": 10}]}


def _has_entry(settings: dict[str, Any], command: str) -> bool:
    hooks = settings.get("hooks")
    starts = hooks.get("SessionStart") if isinstance(hooks, dict) else None
    return isinstance(starts, list) and any(_is_ours(g, sha256(command.encode())) for g in starts)


def _is_ours(group: Any, command_sha: str) -> bool:
    if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
        return False
    commands = group["hooks"]
    return len(commands) == 1 and (
        isinstance(commands[0], dict)
        and sha256(str(commands[0].get("command", "")).encode()) == command_sha
    )


def _load(path: Path) -> dict[str, Any] | None:
    raw = read_bytes(path)
    if raw is None:
        return None
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise DeliveryError(f"{path}: not valid JSON ({exc}); fix it or move it away") from None
    if not isinstance(data, dict):
        raise DeliveryError(f"{path}: expected a JSON object at the top level")
    return data
