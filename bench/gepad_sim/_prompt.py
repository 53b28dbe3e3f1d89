"""How the simulated LMs read a prompt: its lines and its over-specific lines."""

from __future__ import annotations

__all__ = ["DISTRACTOR_CHARS", "over_specific_line", "over_specific_pattern", "prompt_lines"]

_PREFIX = "For inputs like '"
_SUFFIX = "', be extra careful."

DISTRACTOR_CHARS = 40
"""How many leading characters of an input a distractor line quotes."""


def prompt_lines(text: str) -> list[str]:
    """A prompt's lines: its non-empty lines, stripped."""
    return [s for s in (line.strip() for line in text.splitlines()) if s]


def over_specific_pattern(line: str) -> str | None:
    """P when `line` is exactly `For inputs like '<P>', be extra careful.`, else None.

    The pattern is cut from the fixed prefix and suffix rather than matched with a regex, so a
    P holding quotes or commas (`'a', 'b'`) comes back whole.
    """
    if (
        len(line) >= len(_PREFIX) + len(_SUFFIX)
        and line.startswith(_PREFIX)
        and line.endswith(_SUFFIX)
    ):
        return line[len(_PREFIX) : len(line) - len(_SUFFIX)]
    return None


def over_specific_line(task_input: str) -> str:
    """The distractor line the reflection LM writes for an input."""
    return f"{_PREFIX}{task_input[:DISTRACTOR_CHARS]}{_SUFFIX}"
