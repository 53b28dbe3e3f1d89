"""The `<!-- gepad:begin -->` ... `<!-- gepad:end -->` section inside a file the user owns.

Everything outside the markers is the user's and is kept byte for byte: the file is handled
as text decoded with `surrogateescape`, so even bytes that are not UTF-8 survive a rewrite.

Markers count only as whole lines (trailing blanks allowed), so prose that mentions them is
left alone. A prompt can itself contain marker-like text (from the model, MCP or
`prompt set`); it is *escaped* on write, so a section always parses exactly: every
`<!--` that starts `gepad:` (any case, blanks allowed around `gepad`, any backslashes
already after `<!--`) gets one more backslash after `<!--`, and reading removes exactly one
again. `<!-- gepad:end -->` in a prompt is written as `<!--\\ gepad:end -->` and read back as
it was; gepad's own header line is the only unescaped `<!-- gepad:` line inside a section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gepad.errors import DeliveryError

from ._types import sha256

__all__ = [
    "BEGIN",
    "END",
    "Section",
    "append_section",
    "decode",
    "encode",
    "escape_markers",
    "find_section",
    "newline_of",
    "remove_section",
    "unescape_markers",
]

BEGIN = "<!-- gepad:begin -->"
END = "<!-- gepad:end -->"

_MARKERISH = re.compile(r"<!--(\\*)([ \t]*gepad[ \t]*:)", re.IGNORECASE)
_ESCAPED = re.compile(r"<!--\\(\\*)([ \t]*gepad[ \t]*:)", re.IGNORECASE)


def escape_markers(text: str) -> str:
    """`text` with every gepad-marker-like comment opener escaped (see the module doc)."""
    return _MARKERISH.sub(lambda m: "<!--\\" + m.group(1) + m.group(2), text)


def unescape_markers(text: str) -> str:
    """The inverse of `escape_markers`: `unescape_markers(escape_markers(t)) == t`."""
    return _ESCAPED.sub(lambda m: "<!--" + m.group(1) + m.group(2), text)


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


def _marker_lines(content: str, marker: str) -> list[int]:
    """Offsets of the lines that are exactly `marker` (trailing blanks and CR allowed)."""
    found = []
    pos = 0
    for line in content.split("\n"):
        if line.rstrip(" \t\r") == marker:
            found.append(pos)
        pos += len(line) + 1
    return found


def find_section(content: str, *, where: str, owned_sha: str | None = None) -> Section | None:
    """gepad's section: from the first BEGIN line to its END line.

    A BEGIN without an END (or an END without a BEGIN) is refused. When several END lines
    follow (marker lines pasted into the section by hand, or a file written by a gepad that
    did not escape them), the one that makes the block gepad last wrote (`owned_sha`) wins;
    otherwise the last END before the next BEGIN line, so the pasted lines count as an edit
    of the section and never leak out of it.
    """
    begins = _marker_lines(content, BEGIN)
    ends = _marker_lines(content, END)
    if not begins:
        if ends:
            raise DeliveryError(f"{where}: has {END} without {BEGIN}; fix the markers by hand")
        return None
    start = begins[0]
    after = [e for e in ends if e > start]
    if not after:
        raise DeliveryError(f"{where}: has {BEGIN} without {END}; fix the markers by hand")
    if owned_sha is not None:
        for e in after:
            if sha256(encode(content[start : e + len(END)])) == owned_sha:
                return Section(start, e + len(END))
    later_begin = next((b for b in begins[1:] if b > after[0]), None)
    before_next = [e for e in after if later_begin is None or e < later_begin]
    return Section(start, before_next[-1] + len(END))


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
