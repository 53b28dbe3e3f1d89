"""Whole-file rule targets: copilot, claude, cursor, cline, continue, windsurf and aider files."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gepad.errors import DeliveryConflictError

from ._limits import Limit, judge
from ._markers import decode, encode, escape_markers, unescape_markers
from ._place import Place
from ._types import FileRecord, RenderContext, WriteResult, header_line, same_text, sha256

__all__ = ["RuleFile", "extract_rule_text", "render_body"]

_HEADER = re.compile(r"\A<!-- gepad:[^\n]*-->[ \t]*\n")


def render_body(ctx: RenderContext) -> str:
    """The prompt as gepad writes it into a file: LF line ends, marker-like text escaped."""
    return escape_markers(ctx.text.replace("\r\n", "\n").strip("\n"))


def extract_rule_text(content: str) -> str:
    """The prompt text in a rule file as the user left it: no front matter, no gepad header."""
    text = content.replace("\r\n", "\n")
    if text.startswith("---\n"):
        close = text.find("\n---\n", 3)
        if close >= 0:
            text = text[close + len("\n---\n") :]
    text = _HEADER.sub("", text.lstrip("\n"), count=1)
    return unescape_markers(text.strip("\n")) + "\n"


@dataclass(frozen=True, slots=True)
class RuleFile:
    """A file gepad owns whole: optional front matter, a header line, the prompt text."""

    front_matter: str = ""
    limit: Limit | None = None
    prompt_bearing: bool = True

    def render(self, ctx: RenderContext) -> str:
        return (
            f"{self.front_matter}{header_line(ctx.component, ctx.version)}\n\n{render_body(ctx)}\n"
        )

    def check_enable(self, place: Place, record: FileRecord | None) -> None:
        if record is None and place.exists():
            raise DeliveryConflictError(
                f"{place} already exists and gepad did not write it; move it away first"
            )

    def write(
        self, place: Place, record: FileRecord | None, ctx: RenderContext, *, force: bool = False
    ) -> WriteResult:
        text = self.render(ctx)
        new = encode(text)
        current = place.read()
        created, dirs = (record.created, record.created_dirs) if record else (True, ())
        if current is None:
            created = True  # (re)created by gepad, so gepad may delete it again
        elif record is not None and sha256(current) != record.sha256 and not force:
            user_text = extract_rule_text(decode(current))
            if not same_text(user_text, ctx.text):
                return WriteResult(record, conflict=True, user_text=user_text)
        elif record is None:
            self.check_enable(place, record)
        verdict = judge(self.limit, text, render_body(ctx), str(place), ctx) if self.limit else None
        room = (verdict.room, verdict.unit) if verdict else (None, None)
        if verdict is not None and verdict.refusal is not None:
            return WriteResult(record, refusal=verdict.refusal, room=room[0], room_unit=room[1])
        written = current != new
        if written:
            dirs = (*dirs, *place.write(new))
        return WriteResult(
            FileRecord(str(place), sha256(new), created, tuple(dirs), version=ctx.version),
            written=written,
            warning=verdict.warning if verdict else None,
            room=room[0],
            room_unit=room[1],
        )

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
