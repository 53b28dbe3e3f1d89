"""What the assistant wrote (and ranges the user asked to correct), following the edits.

Each tracked span moves with every `didChange` (incremental or full), so that on save the
text now in the span can be compared with what was generated there.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gepad_lsp._text import Pos, Span, end_of_insert, shift_span

__all__ = ["Tracked", "Tracker", "full_change_as_edits"]

_CHAR_DIFF_LIMIT = 4000


@dataclass(slots=True)
class Tracked:
    """One tracked span. `generation_id` is None for a plain `gepad.correct` range."""

    key: int
    uri: str
    span: Span
    output: str
    component: str
    context: str
    instruction: str
    created_at: float
    generation_id: int | None = None
    prompt_version: int | None = None
    language: str | None = None
    comment: str | None = None
    touched: bool = False
    # Rated explicitly or already counted as a weak thumbs-up: no implicit rating any more.
    rated: bool = False
    # Holds an assist selection while the model answers; never feedback itself.
    placeholder: bool = False

    @property
    def is_generation(self) -> bool:
        return self.generation_id is not None


class Tracker:
    """Tracked spans by document URI; all changes go through `apply_change`."""

    def __init__(self) -> None:
        self._by_uri: dict[str, list[Tracked]] = {}
        self._keys = itertools.count(1)

    def add(self, **fields: object) -> Tracked:
        item = Tracked(key=next(self._keys), **fields)  # type: ignore[arg-type]
        self._by_uri.setdefault(item.uri, []).append(item)
        return item

    def remove(self, item: Tracked) -> None:
        items = self._by_uri.get(item.uri, [])
        if item in items:
            items.remove(item)
        if not items:
            self._by_uri.pop(item.uri, None)

    def drop_document(self, uri: str) -> list[Tracked]:
        return self._by_uri.pop(uri, [])

    def in_document(self, uri: str) -> list[Tracked]:
        return list(self._by_uri.get(uri, []))

    def all(self) -> Iterator[Tracked]:
        for items in list(self._by_uri.values()):
            yield from list(items)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_uri.values())

    def overlapping(self, uri: str, span: Span) -> Tracked | None:
        """The newest generation (else the newest correction range) overlapping `span`."""
        hits = [t for t in self._by_uri.get(uri, []) if not t.placeholder and t.span.overlaps(span)]
        generations = [t for t in hits if t.is_generation]
        pool = generations or hits
        return pool[-1] if pool else None

    def apply_change(self, uri: str, change: Span, text: str, units: Callable[[str], int]) -> None:
        """The document's text in `change` was replaced by `text`."""
        items = self._by_uri.get(uri)
        if not items:
            return
        new_end = end_of_insert(change.start, text, units)
        for item in items:
            before = item.span
            item.span = shift_span(before, change, new_end)
            # Any edit inside (an insertion strictly within counts) is a touch.
            if change.start < before.end and change.end > before.start:
                item.touched = True


def _trim(old: str, new: str) -> tuple[int, int]:
    """Lengths of the common prefix and (non-overlapping) common suffix."""
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    return prefix, suffix


def full_change_as_edits(
    old: str, new: str, position: Callable[[str, int], Pos]
) -> list[tuple[Span, str]]:
    """A whole-document replacement as the range edits it amounts to (a line diff, each hunk
    narrowed to the characters that differ), last first, so each edit's range is still valid
    in the old text when it is applied. Keeps tracked spans exact for full-sync clients."""
    prefix, suffix = _trim(old, new)
    old_mid, new_mid = old[prefix : len(old) - suffix], new[prefix : len(new) - suffix]
    old_lines = old_mid.splitlines(keepends=True)
    new_lines = new_mid.splitlines(keepends=True)
    old_starts = list(itertools.accumulate((len(x) for x in old_lines), initial=prefix))
    edits: list[tuple[Span, str]] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = old_starts[i1], old_starts[i2]
        text = "".join(new_lines[j1:j2])
        for a, b, insert in _hunk_edits(old[start:end], text):
            edits.append((Span(position(old, start + a), position(old, start + b)), insert))
    edits.reverse()
    return edits


def _hunk_edits(old: str, new: str) -> list[tuple[int, int, str]]:
    """Character edits turning `old` into `new`: exact for small hunks (the usual case: the
    user changed a few words), one trimmed replacement for big ones (the diff is quadratic)."""
    head, tail = _trim(old, new)
    old, new = old[head : len(old) - tail], new[head : len(new) - tail]
    if len(old) + len(new) > _CHAR_DIFF_LIMIT:
        return [(head, head + len(old), new)]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [
        (head + i1, head + i2, new[j1:j2])
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]
