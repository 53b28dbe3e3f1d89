"""A guard against instance-specific lines in reflection proposals.

Reflection LLMs often "learn" from a minibatch by writing a note about one of its inputs
("When asked to write a helper that returns the display name, ..."). Such a line can only help
that one task and costs attention on every other one: it is overfitting to the minibatch, and
the minibatch gate rewards it. A new line that quotes a long stretch of a minibatch input
verbatim is taken to be such a note and is removed before the child is evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["strip_quoting_lines"]


def _quotes(line: str, source: str, min_chars: int) -> bool:
    if len(source) < min_chars or len(line) < min_chars:
        return False
    # Stepping by half the window still finds any shared run of 1.5 * min_chars characters
    # and keeps this linear in the input's length.
    step = max(1, min_chars // 2)
    for start in range(0, len(source) - min_chars + 1, step):
        if source[start : start + min_chars] in line:
            return True
    return False


def strip_quoting_lines(
    new_text: str, old_text: str, inputs: Iterable[str], *, min_chars: int
) -> tuple[str, list[str]]:
    """Drop lines absent from `old_text` that quote any of `inputs`; return text and dropped."""
    sources = [" ".join(s.lower().split()) for s in inputs if s]
    old_lines = {line.strip() for line in old_text.splitlines()}
    kept: list[str] = []
    dropped: list[str] = []
    for line in new_text.splitlines():
        stripped = line.strip()
        if stripped and stripped not in old_lines:
            norm = " ".join(stripped.lower().split())
            if any(_quotes(norm, src, min_chars) for src in sources):
                dropped.append(stripped)
                continue
        kept.append(line)
    return "\n".join(kept).strip(), dropped
