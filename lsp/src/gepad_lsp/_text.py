"""Ranges in client units (LSP positions), checked against documents, and shifted by edits.

A `Span` is half-open and compares positions as (line, character) pairs, exactly as LSP does;
`character` counts the negotiated position encoding's units (UTF-16 unless the client chose
otherwise), so the arithmetic here never needs the document's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from gepad_lsp._errors import InputError

__all__ = [
    "MAX_SELECTION_BYTES",
    "Pos",
    "Span",
    "check_span",
    "end_of_insert",
    "parse_span",
    "shift_span",
]

MAX_SELECTION_BYTES: Final = 256 * 1024
_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")

Pos = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Span:
    start: Pos
    end: Pos

    @property
    def empty(self) -> bool:
        return self.start == self.end

    def overlaps(self, other: Span) -> bool:
        """Shared text, or an empty span that lies inside (or at an edge of) the other."""
        if self.empty or other.empty:
            return other.start <= self.start <= other.end or self.start <= other.start <= self.end
        return self.start < other.end and other.start < self.end

    def to_lsp(self) -> dict[str, dict[str, int]]:
        return {
            "start": {"line": self.start[0], "character": self.start[1]},
            "end": {"line": self.end[0], "character": self.end[1]},
        }


def _parse_pos(value: Any, name: str) -> Pos:
    if not isinstance(value, Mapping):
        raise InputError(f"'{name}' must be an object {{line, character}}")
    out = []
    for key in ("line", "character"):
        item = value.get(key)
        if isinstance(item, bool) or not isinstance(item, int):
            got = "missing" if key not in value else f"got {type(item).__name__}"
            raise InputError(f"'{name}.{key}' must be a non-negative integer ({got})")
        if item < 0:
            raise InputError(f"'{name}.{key}' must be a non-negative integer (got {item})")
        out.append(item)
    return out[0], out[1]


def parse_span(value: Any, name: str = "range") -> Span:
    """An LSP Range object → Span; `InputError` naming the field when it is not one."""
    if not isinstance(value, Mapping):
        raise InputError(f"'{name}' must be an LSP range {{start, end}}")
    start = _parse_pos(value.get("start"), f"{name}.start")
    end = _parse_pos(value.get("end"), f"{name}.end")
    if end < start:
        raise InputError(f"'{name}': end {end} is before start {start}")
    return Span(start, end)


def check_span(lines: list[str], span: Span, units: Callable[[str], int], name: str) -> None:
    """`InputError` unless both ends of `span` lie inside the document given as `lines`."""
    for label, (line, char) in (("start", span.start), ("end", span.end)):
        if line > len(lines) or (line == len(lines) and char > 0):
            raise InputError(
                f"'{name}.{label}' is out of bounds: line {line}, but the document has "
                f"{len(lines)} line(s)"
            )
        if line < len(lines):
            width = units(lines[line].rstrip("\r\n"))
            if char > width:
                raise InputError(
                    f"'{name}.{label}' is out of bounds: character {char}, but line {line} "
                    f"has {width}"
                )


def end_of_insert(start: Pos, text: str, units: Callable[[str], int]) -> Pos:
    """Where `text` ends once inserted at `start`."""
    parts = _LINE_BREAK.split(text)
    if len(parts) == 1:
        return start[0], start[1] + units(text)
    return start[0] + len(parts) - 1, units(parts[-1])


def _shift_pos(pos: Pos, old_end: Pos, new_end: Pos) -> Pos:
    """A position at or after the replaced region's end, moved by the replacement."""
    if pos[0] == old_end[0]:
        return new_end[0], new_end[1] + (pos[1] - old_end[1])
    return pos[0] + (new_end[0] - old_end[0]), pos[1]


def shift_span(span: Span, change: Span, new_end: Pos) -> Span:
    """`span` after the text in `change` was replaced by text ending at `new_end`.

    An edit before the span moves it; an edit after leaves it; an edit that overlaps it grows
    it to the union, so the user's rewrite of a generation stays inside its span. A pure
    insertion exactly at either edge is outside.
    """
    # Typing into an empty span (a deleted generation, or a cursor awaiting an insertion)
    # fills it rather than pushing it along.
    fills = span.empty and change.start == span.start
    if not fills:
        if change.end <= span.start:
            return Span(
                _shift_pos(span.start, change.end, new_end),
                _shift_pos(span.end, change.end, new_end),
            )
        if change.start >= span.end:
            return span
    start = min(span.start, change.start)
    end = _shift_pos(span.end, change.end, new_end) if span.end > change.end else new_end
    return Span(start, end)
