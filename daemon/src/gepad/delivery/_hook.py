"""The `claude-hook` target: a Claude Code `SessionStart` hook that hands Claude the prompt.

Two files: the script `.claude/hooks/gepad-session-start.py`, which asks the running daemon
for the current prompt and prints it as Claude Code's JSON hook output
(`hookSpecificOutput.additionalContext`), and gepad's entry under `hooks.SessionStart` in
`.claude/settings.json`. The script reads the prompt live, so a swap needs no rewrite; when
the daemon is not running it prints nothing and exits 0 (a hook must never block a session).

The command is shell-quoted (Claude Code runs it through a shell): an interpreter path with
`$(...)` or `"` in it is one word, never code. settings.json is the user's: gepad splices its
own entry in and out as text (`_jsonsplice`), so every other byte stays as it was, and it
refuses to touch a file that does not parse.
"""

from __future__ import annotations

import copy
import json
import shlex
from dataclasses import dataclass
from typing import Any

from gepad.errors import DeliveryConflictError, DeliveryError

from ._jsonsplice import SpliceError, insert_item, insert_member, parse, remove_item
from ._limits import Limit
from ._place import Place
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
    # The shebang is cosmetic (the command names the interpreter), but must stay one line.
    python = ctx.python if ctx.python and not any(c.isspace() for c in ctx.python) else None
    return _SCRIPT.format(
        python=python or "/usr/bin/env python3", home=ctx.gepad_home, component=ctx.component
    )


def hook_command(python: str) -> str:
    """The shell command Claude Code runs: the quoted interpreter, then the script."""
    return f'{shlex.quote(python)} "$CLAUDE_PROJECT_DIR/{HOOK_SCRIPT}"'


@dataclass(frozen=True, slots=True)
class HookScript:
    limit: Limit | None = None
    prompt_bearing: bool = False

    def check_enable(self, place: Place, record: FileRecord | None) -> None:
        if record is None and place.exists():
            raise DeliveryConflictError(f"{place} already exists and gepad did not write it")

    def write(
        self, place: Place, record: FileRecord | None, ctx: RenderContext, *, force: bool = False
    ) -> WriteResult:
        new = render_hook_script(ctx).encode()
        current = place.read()
        dirs = record.created_dirs if record else ()
        edited = current is not None and record is not None and sha256(current) != record.sha256
        if edited and not force:
            return WriteResult(record, conflict=True)  # the user changed our script: leave it
        if current != new:
            dirs = (*dirs, *place.write(new, mode=0o755))
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
class HookSettings:
    """gepad's entry in `.claude/settings.json`; every other byte of the file is kept.

    The record's `sep` holds the exact text gepad inserted, so that removing it gives back
    the file as it was; if the user reformatted it since, the entry is cut out by position.
    """

    limit: Limit | None = None
    prompt_bearing: bool = False

    def check_enable(self, place: Place, record: FileRecord | None) -> None:
        _load(place)

    def write(
        self, place: Place, record: FileRecord | None, ctx: RenderContext, *, force: bool = False
    ) -> WriteResult:
        loaded = _load(place)
        command = hook_command(ctx.python)
        mine = sha256(command.encode())
        dirs = record.created_dirs if record else ()
        created = record.created if record else loaded is None
        sep = record.sep if record else ""
        text = loaded[0] if loaded is not None else ""
        if _has_entry(_data(text), mine):
            return WriteResult(FileRecord(str(place), mine, created, dirs, sep))
        if record is not None and _has_entry(_data(text), record.sha256):
            text = _strip(text, record, place)  # an entry from an older gepad: replace it
        new_text, inserted = _add(text, command, place)
        dirs = (*dirs, *place.write(new_text.encode("utf-8")))
        return WriteResult(FileRecord(str(place), mine, created, dirs, inserted), written=True)

    def remove(self, place: Place, record: FileRecord) -> str:
        loaded = _load(place)
        if loaded is None or not _has_entry(loaded[1], record.sha256):
            return "absent"
        rest = _strip(loaded[0], record, place)
        if record.created and _is_empty_shell(rest):
            place.unlink()
            place.prune(record.created_dirs)
            return "removed"
        place.write(rest.encode("utf-8"))
        return "removed gepad's hook entry; the rest of the file is kept"


def _entry(command: str) -> dict[str, Any]:
    return {"matcher": "", "hooks": [{"type": "command", "command": command, "timeout": 10}]}


def _starts(data: Any) -> list[Any] | None:
    hooks = data.get("hooks") if isinstance(data, dict) else None
    starts = hooks.get("SessionStart") if isinstance(hooks, dict) else None
    return starts if isinstance(starts, list) else None


def _has_entry(data: Any, command_sha: str) -> bool:
    starts = _starts(data)
    return starts is not None and any(_is_ours(g, command_sha) for g in starts)


def _is_ours(group: Any, command_sha: str) -> bool:
    if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
        return False
    commands = group["hooks"]
    return len(commands) == 1 and (
        isinstance(commands[0], dict)
        and sha256(str(commands[0].get("command", "")).encode()) == command_sha
    )


def _without(data: Any, command_sha: str) -> Any:
    """`data` with gepad's entry taken out and the containers it leaves empty dropped."""
    data = copy.deepcopy(data)
    starts = _starts(data)
    if starts is not None:
        starts[:] = [g for g in starts if not _is_ours(g, command_sha)]
        if not starts:
            del data["hooks"]["SessionStart"]
    if isinstance(data, dict) and data.get("hooks") == {}:
        del data["hooks"]
    return data


def _is_empty_shell(text: str) -> bool:
    return not text.strip() or json.loads(text) == {}


def _load(place: Place) -> tuple[str, Any] | None:
    """(text, parsed) of settings.json, None when absent; refuses what does not parse."""
    raw = place.read()
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if text.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise DeliveryError(
            f"{place}: not valid JSON ({exc}); gepad will not rewrite it: fix it or move it away"
        ) from None
    if not isinstance(data, dict):
        raise DeliveryError(f"{place}: expected a JSON object at the top level; left untouched")
    return text, data


def _data(text: str) -> Any:
    return json.loads(text) if text.strip() else {}


def _add(text: str, command: str, place: Place) -> tuple[str, str]:
    """`text` with gepad's entry added, and the exact text inserted."""
    entry = _entry(command)
    if not text.strip():
        doc = json.dumps({"hooks": {"SessionStart": [entry]}}, indent=2, ensure_ascii=False)
        return text + doc + "\n", doc + "\n"
    try:
        root = parse(text)
        hooks = root.last("hooks")
        if hooks is None:
            value = json.dumps({"SessionStart": [entry]}, ensure_ascii=False)
            pos, inserted = insert_member(text, root, "hooks", value)
        elif hooks.kind != "object":
            raise DeliveryError(f"{place}: 'hooks' is not an object; fix it by hand")
        elif (starts := hooks.last("SessionStart")) is None:
            value = json.dumps([entry], ensure_ascii=False)
            pos, inserted = insert_member(text, hooks, "SessionStart", value)
        elif starts.kind != "array":
            raise DeliveryError(f"{place}: 'hooks.SessionStart' is not a list; fix it by hand")
        else:
            pos, inserted = insert_item(text, starts, json.dumps(entry, ensure_ascii=False))
    except SpliceError as exc:
        raise DeliveryError(f"{place}: gepad cannot edit this JSON safely ({exc})") from None
    new = text[:pos] + inserted + text[pos:]
    before, after = json.loads(text), json.loads(new)
    mine = sha256(command.encode())
    if not _has_entry(after, mine) or _without(after, mine) != _without(before, mine):
        raise DeliveryError(f"{place}: adding gepad's hook would change more than its entry")
    return new, inserted


def _strip(text: str, record: FileRecord, place: Place) -> str:
    """`text` without gepad's entry: the exact text gepad inserted if it is still there."""
    before = _without(_data(text), record.sha256)
    if record.sep and text.count(record.sep) == 1:
        candidate = text.replace(record.sep, "", 1)
        try:
            if _without(_data(candidate), record.sha256) == before and not _has_entry(
                _data(candidate), record.sha256
            ):
                return candidate
        except ValueError:
            pass
    try:
        root = parse(text)
        hooks = root.last("hooks")
        starts = hooks.last("SessionStart") if hooks is not None else None
        found = [
            i
            for i, item in enumerate(starts.items if starts is not None else ())
            if _is_ours(json.loads(text[item.start : item.end]), record.sha256)
        ]
    except SpliceError as exc:
        raise DeliveryError(f"{place}: cannot find gepad's hook entry to remove ({exc})") from None
    if starts is None or len(found) != 1:
        raise DeliveryError(
            f"{place}: gepad's hook entry is not where gepad put it; remove it by hand"
        )
    index = found[0]
    return remove_item(text, starts, index)
