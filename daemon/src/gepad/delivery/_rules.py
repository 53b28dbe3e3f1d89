"""Whole-file rule targets: copilot, claude, cursor, cline and continue instruction files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gepad.errors import DeliveryConflictError

from ._atomic import ensure_dirs, prune_dirs, read_bytes, write_atomic
from ._markers import decode, encode
from ._types import FileRecord, RenderContext, WriteResult, header_line, same_text, sha256

__all__ = ["RuleFile", "extract_rule_text"]

_HEADER = re.compile(r"\A<!-- gepad:[^\n]*-->[ \t]*\n")


def extract_rule_text(content: str) -> str:
    """The prompt text in a rule file as the user left it: no front matter, no gepad header."""
    text = content.replace("\r\n", "\n")
    if text.startswith("---\n"):
        close = text.find("\n---\n", 3)
        if close >= 0:
            text = text[close + len("\n---\n") :]
    text = _HEADER.sub("", text.lstrip("\n"), count=1)
    return text.strip("\n") + "\n"


@dataclass(frozen=True, slots=True)
class RuleFile:
    """A file gepad owns whole: optional front matter, a header line, the prompt text."""

    front_matter: str = ""
    prompt_bearing: bool = True

    def render(self, ctx: RenderContext) -> str:
        body = ctx.text.replace("\r\n", "\n").strip("\n")
        return f"{self.front_matter}{header_line(ctx.component, ctx.version)}\n\n{body}\n"

    def check_enable(self, path: Path, record: FileRecord | None) -> None:
        if record is None and path.exists():
            raise DeliveryConflictError(
                f"{path} already exists and gepad did not write it; move it away first"
            )

    def write(self, path: Path, record: FileRecord | None, ctx: RenderContext) -> WriteResult:
        new = encode(self.render(ctx))
        current = read_bytes(path)
        created, dirs = (record.created, record.created_dirs) if record else (True, ())
        if current is None:
            made = ensure_dirs(path.parent)
            dirs = (*dirs, *(str(d) for d in made))
            created = True  # (re)created by gepad, so gepad may delete it again
        elif record is not None and sha256(current) != record.sha256:
            user_text = extract_rule_text(decode(current))
            if not same_text(user_text, ctx.text):
                return WriteResult(record, conflict=True, user_text=user_text)
        elif record is None:
            self.check_enable(path, record)
        written = current != new
        if written:
            write_atomic(path, new)
        return WriteResult(
            FileRecord(str(path), sha256(new), created, tuple(dirs), version=ctx.version),
            written=written,
        )

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
