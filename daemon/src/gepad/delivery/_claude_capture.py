"""The `claude-capture` target: Claude Code hooks that let gepad learn from what Claude writes.

Three files, installed and removed like `claude-hook`'s:

* `.claude/hooks/gepad-capture.py`, a `PostToolUse` hook on `Edit|Write|MultiEdit`. It
  appends the hook input, the file's text after the write and the transcript's size to
  `<spool>/claude-code.jsonl` (flock, fsync) and exits 0. It never talks to the daemon (so it
  cannot wait on it), never prints (Claude Code shows hook output), and stops itself after
  3 s whatever happens. The daemon ingests the spool (gepad.capture).
* gepad's entry under `hooks.PostToolUse` in `.claude/settings.local.json` (Claude Code's
  personal project settings; `claude-hook` owns `.claude/settings.json`), spliced in and out
  as text like `claude-hook`'s (every other byte kept).
* `.claude/commands/gepad-feedback.md`: `/gepad-feedback <comment>` asks gepad for the last
  recorded generation (`gepad capture last`) and has Claude call the MCP `record_feedback`
  tool with a thumbs-down and the comment.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gepad.errors import DeliveryConflictError, DeliveryError

from ._jsonsplice import SpliceError, insert_item, insert_member, parse, remove_item
from ._limits import Limit
from ._place import Place
from ._types import FileRecord, RenderContext, WriteResult, sha256

__all__ = [
    "CAPTURE_COMMAND",
    "CAPTURE_SCRIPT",
    "CAPTURE_SETTINGS",
    "CaptureSettings",
    "OwnedFile",
    "capture_command",
    "render_capture_script",
    "render_feedback_command",
]

CAPTURE_SCRIPT = ".claude/hooks/gepad-capture.py"
CAPTURE_COMMAND = ".claude/commands/gepad-feedback.md"
CAPTURE_SETTINGS = ".claude/settings.local.json"
_EVENT = "PostToolUse"
_MATCHER = "Edit|Write|MultiEdit"

_SCRIPT = '''\
#!{python}
"""gepad's PostToolUse hook for Claude Code: spool what Claude wrote, for gepad to learn from.

Written by `gepad deliver enable --target claude-capture`; `gepad deliver disable` removes it.
Never prints, never waits on the daemon, always exits 0.
"""

import fcntl
import json
import os
import signal
import sys
import time

GEPAD_HOME = {home!r}
TOOLS = ("Edit", "Write", "MultiEdit")
KEEP = ("session_id", "transcript_path", "cwd", "hook_event_name", "tool_name", "tool_input")
MAX_INPUT = 8 * 1024 * 1024
MAX_FILE = 1024 * 1024
MAX_RESPONSE = 64 * 1024


def spool_dir():
    if GEPAD_HOME:
        return os.path.join(GEPAD_HOME, "spool")
    from gepad.paths import resolve_paths

    env = {{k: v for k, v in os.environ.items() if k != "GEPAD_HOME"}}
    return str(resolve_paths(env).spool_dir)


def read_file(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not os.path.isfile(path) or os.fstat(fh.fileno()).st_size > MAX_FILE:
            return None
        data = fh.read(MAX_FILE + 1)
    try:
        return data.decode("utf-8") if len(data) <= MAX_FILE else None
    except UnicodeDecodeError:
        return None


def main():
    hook = json.loads(sys.stdin.buffer.read(MAX_INPUT))
    if not isinstance(hook, dict) or hook.get("tool_name") not in TOOLS:
        return
    entry = {{"v": 1, "at": time.time(), "hook": {{k: hook.get(k) for k in KEEP}}}}
    response = json.dumps(hook.get("tool_response"))
    if len(response) <= MAX_RESPONSE:
        entry["hook"]["tool_response"] = hook.get("tool_response")
    tool_input = hook.get("tool_input") or {{}}
    path = tool_input.get("file_path") if isinstance(tool_input, dict) else None
    entry["file_text"] = read_file(path) if isinstance(path, str) else None
    transcript = hook.get("transcript_path")
    try:
        entry["transcript_size"] = os.stat(transcript).st_size
    except (OSError, TypeError, ValueError):
        entry["transcript_size"] = None
    line = (json.dumps(entry, ensure_ascii=False) + "\\n").encode("utf-8", "surrogatepass")
    folder = spool_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    lock = os.open(os.path.join(folder, "claude-code.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
        out = os.open(os.path.join(folder, "claude-code.jsonl"), flags, 0o600)
        try:
            os.write(out, line)
            os.fsync(out)
        finally:
            os.close(out)
    finally:
        os.close(lock)


if __name__ == "__main__":
    # Nothing may reach Claude's transcript, and nothing may hold Claude up.
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
    signal.alarm(3)
    try:
        main()
    except BaseException:
        pass
    os._exit(0)
'''

_COMMAND = """\
---
description: Tell gepad what was wrong with Claude's last change (a thumbs-down with your words)
argument-hint: <what was wrong>
allowed-tools: Bash({cli} capture last:*), mcp__gepad__record_feedback
---
<!-- Written by `gepad deliver enable --target claude-capture`; disable removes it. -->
The last change Claude made in this project, as gepad recorded it:

!`{cli} capture last --workspace "$CLAUDE_PROJECT_DIR" --json`

Call the MCP tool `record_feedback` of the `gepad` server exactly once, with:
- "kind": "thumbs_down"
- "comment": $ARGUMENTS
- "generation_id", "prompt_version", "component", "file" and "workspace" copied from the
  "generation" object above (leave out any that is null).

Change no file. If "generation" is null, or the tool is not available (add the server with
`claude mcp add gepad -- gepad mcp`), say so in one sentence. Otherwise answer only:
"Recorded in gepad."
"""


def render_capture_script(ctx: RenderContext) -> str:
    python = ctx.python if ctx.python and not any(c.isspace() for c in ctx.python) else None
    return _SCRIPT.format(python=python or "/usr/bin/env python3", home=ctx.gepad_home)


def _cli(ctx: RenderContext) -> str:
    env = f"GEPAD_HOME={shlex.quote(ctx.gepad_home)} " if ctx.gepad_home else ""
    return f"{env}{shlex.quote(ctx.python)} -m gepad.cli"


def render_feedback_command(ctx: RenderContext) -> str:
    return _COMMAND.format(cli=_cli(ctx))


def capture_command(python: str) -> str:
    return f'{shlex.quote(python)} "$CLAUDE_PROJECT_DIR/{CAPTURE_SCRIPT}"'


@dataclass(frozen=True, slots=True)
class OwnedFile:
    """A file gepad writes whole and owns (a hook script, a slash command)."""

    render: Callable[[RenderContext], str]
    mode: int | None = None
    limit: Limit | None = None
    prompt_bearing: bool = False

    def check_enable(self, place: Place, record: FileRecord | None) -> None:
        if record is None and place.exists():
            raise DeliveryConflictError(f"{place} already exists and gepad did not write it")

    def write(
        self, place: Place, record: FileRecord | None, ctx: RenderContext, *, force: bool = False
    ) -> WriteResult:
        new = self.render(ctx).encode()
        current = place.read()
        dirs = record.created_dirs if record else ()
        edited = current is not None and record is not None and sha256(current) != record.sha256
        if edited and not force:
            return WriteResult(record, conflict=True)
        if current != new:
            dirs = (*dirs, *place.write(new, mode=self.mode))
        return WriteResult(FileRecord(str(place), sha256(new), True, dirs), written=current != new)

    def remove(self, place: Place, record: FileRecord) -> str:
        current = place.read()
        if current is None:
            place.prune(record.created_dirs)
            return "absent"
        if sha256(current) != record.sha256:
            return "kept: edited since gepad wrote it"
        place.unlink()
        place.prune(record.created_dirs)
        return "removed"


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """gepad's `PostToolUse` entry in `.claude/settings.local.json`; every other byte is kept."""

    limit: Limit | None = None
    prompt_bearing: bool = False

    def check_enable(self, place: Place, record: FileRecord | None) -> None:
        _load(place)

    def write(
        self, place: Place, record: FileRecord | None, ctx: RenderContext, *, force: bool = False
    ) -> WriteResult:
        loaded = _load(place)
        command = capture_command(ctx.python)
        mine = sha256(command.encode())
        dirs = record.created_dirs if record else ()
        created = record.created if record else loaded is None
        sep = record.sep if record else ""
        text = loaded[0] if loaded is not None else ""
        if _index(text, mine) is not None:
            return WriteResult(FileRecord(str(place), mine, created, dirs, sep))
        if record is not None and _index(text, record.sha256) is not None:
            text = _strip(text, record, place)  # an older interpreter path: replace it
        new_text, inserted = _add(text, command, place)
        dirs = (*dirs, *place.write(new_text.encode("utf-8")))
        return WriteResult(FileRecord(str(place), mine, created, dirs, inserted), written=True)

    def remove(self, place: Place, record: FileRecord) -> str:
        loaded = _load(place)
        if loaded is None or _index(loaded[0], record.sha256) is None:
            return "absent"
        rest = _strip(loaded[0], record, place)
        if record.created and (not rest.strip() or json.loads(rest) == {}):
            place.unlink()
            place.prune(record.created_dirs)
            return "removed"
        place.write(rest.encode("utf-8"))
        return "removed gepad's hook entry; the rest of the file is kept"


def _load(place: Place) -> tuple[str, Any] | None:
    raw = place.read()
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if text.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise DeliveryError(f"{place}: not valid JSON ({exc}); gepad will not rewrite it") from None
    if not isinstance(data, dict):
        raise DeliveryError(f"{place}: expected a JSON object at the top level; left untouched")
    return text, data


def _entry(command: str) -> dict[str, Any]:
    return {"matcher": _MATCHER, "hooks": [{"type": "command", "command": command, "timeout": 10}]}


def _is_ours(group: Any, command_sha: str) -> bool:
    hooks = group.get("hooks") if isinstance(group, dict) else None
    return (
        isinstance(hooks, list)
        and len(hooks) == 1
        and isinstance(hooks[0], dict)
        and sha256(str(hooks[0].get("command", "")).encode()) == command_sha
    )


def _index(text: str, command_sha: str) -> int | None:
    data = json.loads(text) if text.strip() else {}
    hooks = data.get("hooks") if isinstance(data, dict) else None
    groups = hooks.get(_EVENT) if isinstance(hooks, dict) else None
    if not isinstance(groups, list):
        return None
    found = [i for i, g in enumerate(groups) if _is_ours(g, command_sha)]
    return found[0] if found else None


def _add(text: str, command: str, place: Place) -> tuple[str, str]:
    """`text` with gepad's entry added, and the exact text inserted (kept as the record's
    `sep`, so that removing it gives the file back byte for byte)."""
    entry = json.dumps(_entry(command), ensure_ascii=False)
    if not text.strip():
        doc = json.dumps({"hooks": {_EVENT: [_entry(command)]}}, indent=2) + "\n"
        return text + doc, doc
    try:
        root = parse(text)
        hooks = root.last("hooks")
        if hooks is None:
            pos, piece = insert_member(text, root, "hooks", f'{{"{_EVENT}": [{entry}]}}')
        elif hooks.kind != "object":
            raise DeliveryError(f"{place}: 'hooks' is not an object; fix it by hand")
        elif (groups := hooks.last(_EVENT)) is None:
            pos, piece = insert_member(text, hooks, _EVENT, f"[{entry}]")
        elif groups.kind != "array":
            raise DeliveryError(f"{place}: 'hooks.{_EVENT}' is not a list; fix it by hand")
        else:
            pos, piece = insert_item(text, groups, entry)
    except SpliceError as exc:
        raise DeliveryError(f"{place}: gepad cannot edit this JSON safely ({exc})") from None
    new = text[:pos] + piece + text[pos:]
    if _index(new, sha256(command.encode())) is None:
        raise DeliveryError(f"{place}: adding gepad's hook entry failed; left untouched")
    return new, piece


def _strip(text: str, record: FileRecord, place: Place) -> str:
    """`text` without gepad's entry: exactly what gepad inserted when it is still there,
    else the entry cut out of its list by position."""
    if record.sep and text.count(record.sep) == 1:
        candidate = text.replace(record.sep, "", 1)
        try:
            if _index(candidate, record.sha256) is None:
                return candidate
        except ValueError:
            pass
    try:
        root = parse(text)
        hooks = root.last("hooks")
        groups = hooks.last(_EVENT) if hooks is not None else None
        index = _index(text, record.sha256)
        if groups is None or index is None:
            raise DeliveryError(f"{place}: gepad's hook entry is not there to remove")
        return remove_item(text, groups, index)
    except SpliceError as exc:
        raise DeliveryError(f"{place}: cannot find gepad's hook entry ({exc})") from None
