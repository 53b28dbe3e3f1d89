"""Marked-section targets (`agents-md`, `gemini`): gepad's section between markers in a file
the user owns (AGENTS.md, GEMINI.md); everything else in it stays byte for byte."""

from __future__ import annotations

from dataclasses import dataclass

from ._limits import Limit, judge
from ._markers import (
    BEGIN,
    END,
    append_section,
    decode,
    encode,
    find_section,
    newline_of,
    remove_section,
)
from ._place import Place
from ._rules import extract_rule_text, render_body
from ._types import FileRecord, RenderContext, WriteResult, header_line, same_text, sha256

__all__ = ["MarkedSection", "render_block"]


def render_block(ctx: RenderContext, nl: str) -> str:
    """BEGIN, header, blank line, the prompt (markers escaped), END; lines end with `nl`."""
    lines = [BEGIN, header_line(ctx.component, ctx.version), "", *render_body(ctx).split("\n"), END]
    return nl.join(lines)


@dataclass(frozen=True, slots=True)
class MarkedSection:
    limit: Limit | None = None
    prompt_bearing: bool = True

    def check_enable(self, place: Place, record: FileRecord | None) -> None:
        current = place.read()
        if current is not None:
            find_section(decode(current), where=str(place))  # refuses broken markers

    def write(
        self, place: Place, record: FileRecord | None, ctx: RenderContext, *, force: bool = False
    ) -> WriteResult:
        raw = place.read()
        content = "" if raw is None else decode(raw)
        created = raw is None or (record is not None and record.created)
        nl = newline_of(content) if content else "\n"
        block = render_block(ctx, nl)
        owned_sha = record.sha256 if record is not None else None
        section = find_section(content, where=str(place), owned_sha=owned_sha)
        sep = record.sep if record is not None else ""
        if section is None:
            # Absent (new file, or the user deleted the section): append it again.
            new_content, sep = append_section(content, block)
        else:
            owned = section.block(content)
            # A section gepad has no record of (e.g. deliveries.json was lost) may hold the
            # user's text too, so it goes through the same check.
            edited = record is None or sha256(encode(owned)) != record.sha256
            if edited and not force:
                user_text = extract_rule_text(section.inner(content))
                if user_text.strip() and not same_text(user_text, ctx.text):
                    return WriteResult(record, conflict=True, user_text=user_text)
            new_content = content[: section.start] + block + content[section.end :]
        verdict = None
        if self.limit is not None:
            verdict = judge(self.limit, new_content, render_body(ctx), str(place), ctx)
        room = (verdict.room, verdict.unit) if verdict else (None, None)
        if verdict is not None and verdict.refusal is not None:
            return WriteResult(record, refusal=verdict.refusal, room=room[0], room_unit=room[1])
        written = new_content != content or raw is None
        dirs = record.created_dirs if record is not None else ()
        if written:
            dirs = (*dirs, *place.write(encode(new_content)))
        return WriteResult(
            FileRecord(str(place), sha256(encode(block)), created, dirs, sep, ctx.version),
            written=written,
            warning=verdict.warning if verdict else None,
            room=room[0],
            room_unit=room[1],
        )

    def remove(self, place: Place, record: FileRecord) -> str:
        raw = place.read()
        if raw is None:
            return "absent"
        content = decode(raw)
        section = find_section(content, where=str(place), owned_sha=record.sha256)
        if section is None:
            return "absent"
        if sha256(encode(section.block(content))) != record.sha256:
            return "kept: the section was edited since gepad wrote it"
        rest = remove_section(content, section, record.sep)
        if not rest and record.created:
            place.unlink()
            place.prune(record.created_dirs)
            return "removed"
        place.write(encode(rest))
        return "removed gepad's section; the rest of the file is kept"
