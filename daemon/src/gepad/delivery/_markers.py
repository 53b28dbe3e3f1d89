"""The `<!-- gepad:begin -->` ... `<!-- gepad:end -->` section inside a file the user owns.

Everything outside the markers is the user's and is kept byte for byte: the file is handled
as text decoded with `surrogateescape`, so even bytes that are not UTF-8 survive a rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass

from gepad.errors import DeliveryError

__all__ = [
    "BEGIN",
    "END",
    "Section",
    "append_section",
    "decode",
    "encode",
    "find_section",
    "newline_of",
    "remove_section",
]

BEGIN = "<!-- gepad:begin -->"
END = "<!-- gepad:end -->"


@dataclass(frozen=True, slots=True)
class Section:
    """Where the block sits: `start` at BEGIN, `end` just after END."""

    start: int
    end: int

    def block(self, content: str) -> str:
        return content[self.start : self.end]

    def inner(self, content: str) -> str:
        return content[self.start + len(BEGIN) : self.end - len(END)]


def decode(data: bytes) -> str:
    return data.decode("utf-8", errors="surrogateescape")


def encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def newline_of(content: str) -> str:
    """The file's line ending: CRLF when it already uses CRLF, else LF."""
    return "\r\n" if "\r\n" in content else "\n"


def find_section(content: str, *, where: str) -> Section | None:
    """The first BEGIN..END pair; a BEGIN without an END (or the reverse) is refused."""
    start = content.find(BEGIN)
    if start < 0:
        if END in content:
            raise DeliveryError(f"{where}: has {END} without {BEGIN}; fix the markers by hand")
        return None
    end = content.find(END, start + len(BEGIN))
    if end < 0:
        raise DeliveryError(f"{where}: has {BEGIN} without {END}; fix the markers by hand")
    return Section(start, end + len(END))


def append_section(content: str, block: str) -> tuple[str, str]:
    """Content with `block` added at the end; returns it and the separator put before it.

    The separator (a blank line, or the missing final newline plus one) is recorded so that
    removing the section later restores the file exactly.
    """
    nl = newline_of(content)
    if not content or content == nl or content.endswith(nl + nl):
        sep = ""
    elif content.endswith(nl):
        sep = nl
    else:
        sep = nl + nl
    return content + sep + block + nl, sep


def remove_section(content: str, section: Section, sep: str) -> str:
    """Content without the block, its trailing newline and the separator gepad added."""
    nl = newline_of(content)
    start, end = section.start, section.end
    if content.startswith(nl, end):
        end += len(nl)
    if sep and content[:start].endswith(sep):
        start -= len(sep)
    return content[:start] + content[end:]
