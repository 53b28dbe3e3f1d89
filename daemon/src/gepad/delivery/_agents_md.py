"""The `agents-md` target: gepad's section between markers in the workspace's AGENTS.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._atomic import read_bytes, write_atomic
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
from ._rules import extract_rule_text
from ._types import FileRecord, RenderContext, WriteResult, header_line, same_text, sha256

__all__ = ["MarkedSection", "render_block"]


def render_block(ctx: RenderContext, nl: str) -> str:
    """BEGIN, header, blank line, the prompt, END; lines end with the file's own `nl`."""
    body = ctx.text.replace("\r\n", "\n").strip("\n")
    lines = [BEGIN, header_line(ctx.component, ctx.version), "", *body.split("\n"), END]
    return nl.join(lines)


@dataclass(frozen=True, slots=True)
class MarkedSection:
    prompt_bearing: bool = True

    def check_enable(self, path: Path, record: FileRecord | None) -> None:
        current = read_bytes(path)
        if current is not None:
            find_section(decode(current), where=str(path))  # refuses broken markers

    def write(self, path: Path, record: FileRecord | None, ctx: RenderContext) -> WriteResult:
        raw = read_bytes(path)
        content = "" if raw is None else decode(raw)
        created = raw is None or (record is not None and record.created)
        nl = newline_of(content) if content else "\n"
        block = render_block(ctx, nl)
        section = find_section(content, where=str(path))
        sep = record.sep if record is not None else ""
        if section is None:
            # Absent (new file, or the user deleted the section): append it again.
            new_content, sep = append_section(content, block)
        else:
            owned = section.block(content)
            # A section gepad has no record of (e.g. deliveries.json was lost) may hold the
            # user's text too, so it goes through the same check.
            edited = record is None or sha256(encode(owned)) != record.sha256
            if edited:
                user_text = extract_rule_text(section.inner(content))
                if user_text.strip() and not same_text(user_text, ctx.text):
                    return WriteResult(record, conflict=True, user_text=user_text)
            new_content = content[: section.start] + block + content[section.end :]
        written = new_content != content or raw is None
        if written:
            write_atomic(path, encode(new_content))
        return WriteResult(
            FileRecord(str(path), sha256(encode(block)), created, (), sep, ctx.version),
            written=written,
        )

    def remove(self, path: Path, record: FileRecord) -> str:
        raw = read_bytes(path)
        if raw is None:
            return "absent"
        content = decode(raw)
        section = find_section(content, where=str(path))
        if section is None:
            return "absent"
        if sha256(encode(section.block(content))) != record.sha256:
            return "kept: the section was edited since gepad wrote it"
        rest = remove_section(content, section, record.sep)
        if not rest and record.created:
            path.unlink()
        else:
            write_atomic(path, encode(rest))
        return "removed"
