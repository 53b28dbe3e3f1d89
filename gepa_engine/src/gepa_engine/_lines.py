"""Line-level reasoning about prompts: what a rewrite dropped, and what a line is worth.

A reflection LLM asked for a full rewrite often drops rules it was told to keep, and more of
them the longer the prompt is ("context collapse"). A parent line that no line of the child
resembles was lost, not replaced: it is put back. "Resembles" compares content words, so a
line the model rephrased or narrowed ("Be terse." -> "Keep commit messages terse.") counts as
kept. Whether a line is worth keeping is then decided by its effect (pruning, in the engine),
never by how it is worded.
"""

from __future__ import annotations

import re

__all__ = ["content_words", "drop_line", "prompt_lines", "resembles", "restore_dropped"]

_WORD = re.compile(r"[a-z0-9_][a-z0-9_'.:-]*")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "do",
        "for",
        "from",
        "has",
        "have",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "those",
        "to",
        "was",
        "were",
        "when",
        "which",
        "while",
        "will",
        "with",
        "you",
        "your",
        "we",
        "our",
        "not",
        "no",
    ]
)
# A parent line counts as kept when a child line shares this share of its content words.
KEEP_OVERLAP = 0.5


def prompt_lines(text: str) -> list[str]:
    return [s for s in (line.strip() for line in text.splitlines()) if s]


def content_words(line: str) -> frozenset[str]:
    words = (w.strip(".:'-") for w in _WORD.findall(line.lower()))
    return frozenset(w for w in words if w and w not in _STOPWORDS)


def resembles(old: str, new: str) -> bool:
    """Whether `new` keeps the substance of `old` (the same line, or a rephrasing of it)."""
    if old.strip() == new.strip():
        return True
    a, b = content_words(old), content_words(new)
    if not a or not b:
        return False
    return len(a & b) / len(a) >= KEEP_OVERLAP


def restore_dropped(parent_text: str, child_text: str) -> tuple[str, list[str]]:
    """The child with every parent line it lost put back, and the restored lines.

    Restored lines go back where they stood: after the child line that resembles the parent
    line before them (at the top when there is none).
    """
    parent = prompt_lines(parent_text)
    child = prompt_lines(child_text)
    out = list(child)
    restored: list[str] = []
    for i, line in enumerate(parent):
        if any(resembles(line, c) for c in child):
            continue
        at = 0
        for prev in reversed(parent[:i]):
            hits = [j for j, c in enumerate(out) if c == prev or resembles(prev, c)]
            if hits:
                at = hits[-1] + 1
                break
        out.insert(at, line)
        restored.append(line)
    if not restored:
        return child_text.strip(), []
    return "\n".join(out), restored


def drop_line(text: str, line: str) -> str:
    """`text` without the lines equal to `line` (after stripping)."""
    target = line.strip()
    return "\n".join(row for row in text.splitlines() if row.strip() != target).strip()
