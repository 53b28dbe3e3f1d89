"""Claude Code's PostToolUse payloads (Edit, Write, MultiEdit) as generations to record.

The hook (delivery target `claude-capture`) appends one JSON line per tool call to the
spool: the hook input as Claude Code sent it (`session_id`, `transcript_path`, `cwd`,
`hook_event_name`, `tool_name`, `tool_input`, `tool_response`), the time, the size of the
transcript at that moment and the file's text right after the write. Everything here is pure:
it turns one such line into what the daemon records.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = ["CLAUDE_TOOLS", "Captured", "from_spooled", "last_user_request"]

log = logging.getLogger(__name__)

CLAUDE_TOOLS: Final = ("Edit", "Write", "MultiEdit")
_ANCHOR_LINES: Final = 3
_CONTEXT_LINES: Final = 10
_MAX_REQUEST_CHARS: Final = 16 * 1024
_TRANSCRIPT_TAIL: Final = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Captured:
    """One piece of text Claude wrote into a file, and where to find it again."""

    workspace: str
    file: str
    output: str
    instruction: str
    context: str
    at: float
    component: str
    # The text just before and after it when it was written (None: cannot be tracked).
    before: str | None
    after: str | None


def _str(obj: Any, key: str) -> str:
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else ""


def _writes(tool: str, tool_input: dict[str, Any]) -> list[str]:
    if tool == "Write":
        return [_str(tool_input, "content")]
    if tool == "Edit":
        return [_str(tool_input, "new_string")]
    edits = tool_input.get("edits")
    return [_str(e, "new_string") for e in edits] if isinstance(edits, list) else []


def _anchors(text: str, start: int, end: int) -> tuple[str, str]:
    # A partial line (the output starts mid-line) is part of the anchor.
    before = "".join(text[:start].splitlines(keepends=True)[-_ANCHOR_LINES:])
    tail = text[end:]
    after = "".join(tail.splitlines(keepends=True)[:_ANCHOR_LINES])
    return before, after


def _context(path: str, text: str | None, start: int, end: int) -> str:
    if text is None:
        return f"File: {path}"
    first = text[:start].count("\n")
    last = first + text[start:end].count("\n")
    lines = text.splitlines(keepends=True)
    lo, hi = max(0, first - _CONTEXT_LINES), min(len(lines), last + _CONTEXT_LINES + 1)
    return f"File: {path}\nLines {lo + 1}-{hi}:\n" + "".join(lines[lo:hi])


def from_spooled(entry: dict[str, Any], component_for: Any) -> list[Captured]:
    """The generations in one spooled hook call (none for another tool or a bad entry)."""
    hook = entry.get("hook")
    if not isinstance(hook, dict) or hook.get("tool_name") not in CLAUDE_TOOLS:
        return []
    tool = str(hook["tool_name"])
    tool_input = hook.get("tool_input")
    if not isinstance(tool_input, dict):
        return []
    file = _str(tool_input, "file_path")
    cwd = _str(hook, "cwd")
    if not file or not os.path.isabs(file) or not cwd or not os.path.isabs(cwd):
        return []
    file = os.path.normpath(file)
    at = entry.get("at")
    when = float(at) if isinstance(at, int | float) and not isinstance(at, bool) else 0.0
    size = entry.get("transcript_size")
    request = last_user_request(
        _str(hook, "transcript_path"), size if isinstance(size, int) else None
    )
    text = entry.get("file_text")
    text = text if isinstance(text, str) else None
    out: list[Captured] = []
    cursor = 0
    for written in _writes(tool, tool_input):
        if not written.strip():
            continue  # a deletion: nothing written to follow
        before: str | None = None
        after: str | None = None
        start, end = 0, 0
        if text is not None:
            found = text.find(written, cursor)
            if found < 0:
                found = text.find(written)
            if found >= 0:
                start, end = found, found + len(written)
                cursor = end
                before, after = _anchors(text, start, end)
        out.append(
            Captured(
                workspace=os.path.normpath(cwd),
                file=file,
                output=written,
                instruction=request,
                # The request is what gets replayed (Claude reads the repository itself); the
                # code around the edit only when the request is unknown.
                context="" if request else _context(file, text, start, end),
                at=when,
                component=component_for(file),
                before=before,
                after=after,
            )
        )
    return out


def _text_of(message: Any) -> str:
    if not isinstance(message, dict) or message.get("role") != "user":
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            b["text"]
            for b in content
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        ]
        return "\n".join(parts)
    return ""


def last_user_request(transcript: str, size: int | None) -> str:
    """The last message the user typed, from Claude Code's transcript (JSON lines), read up to
    `size` bytes (its size when the hook ran). '' when missing or unreadable."""
    if not transcript:
        return ""
    path = Path(transcript)
    try:
        with path.open("rb") as fh:
            total = fh.seek(0, os.SEEK_END)
            stop = total if size is None else min(size, total)
            start = max(0, stop - _TRANSCRIPT_TAIL)
            fh.seek(start)
            data = fh.read(stop - start)
    except OSError as exc:
        log.info("claude-code: transcript %s not readable (%s); no request", transcript, exc)
        return ""
    for raw in reversed(data.split(b"\n")):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            continue  # the first, cut line of the tail, or a torn one
        if not isinstance(obj, dict) or obj.get("type") != "user" or obj.get("isMeta"):
            continue
        text = _text_of(obj.get("message")).strip()
        if text:
            return text[:_MAX_REQUEST_CHARS]
    return ""
