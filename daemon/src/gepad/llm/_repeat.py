"""Looping answers: find where a model started repeating itself, and salvage what came before.

Small models decoding greedily fall into loops ("- Use a consistent naming convention." fifty
times). `find_loop` returns where the repetition starts so the client can cut it and keep one
copy; `salvage` also closes a ``` fence left open by a cut or a `max_tokens` stop, so a parser
that needs a closed block still finds one.
"""

from __future__ import annotations

__all__ = ["LOOP_MIN_REPEATS", "find_loop", "salvage"]

# A block of lines repeated this many times in a row (or a short run of characters repeated
# many times) is a loop. Lists of distinct items never match: the lines must be equal.
LOOP_MIN_REPEATS = 4
_CHAR_MIN_REPEATS = 8
_MAX_BLOCK_LINES = 8
_MAX_CHAR_PERIOD = 64
_MIN_CHAR_RUN = 96


def _norm(line: str) -> str:
    return " ".join(line.split())


def find_loop(text: str) -> int | None:
    """The index in `text` where its first repeated copy begins, or None when it does not loop.

    A loop is a block of 1 to 8 non-blank lines that repeats at least four times in a row
    (blank lines in between are ignored), or, within a line, a run of up to 64 characters
    repeated at least eight times covering at least 96 characters. The text before the index
    keeps one copy of the repeated block.
    """
    at = _line_loop(text)
    char_at = _char_loop(text)
    if at is None:
        return char_at
    if char_at is None:
        return at
    return min(at, char_at)


def _line_loop(text: str) -> int | None:
    # (normalised line, offset just past the line) for every non-blank line
    lines: list[tuple[str, int]] = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        offset += len(raw)
        norm = _norm(raw)
        if norm:
            lines.append((norm, offset))
    keys = [k for k, _ in lines]
    n = len(keys)
    best: int | None = None
    for period in range(1, _MAX_BLOCK_LINES + 1):
        need = period * LOOP_MIN_REPEATS
        if need > n:
            break
        start = 0
        while start + need <= n:
            block = keys[start : start + period]
            if any(keys[start + i] != block[i % period] for i in range(need)):
                start += 1
                continue
            # a repeated single short token ("}" or "```") is structure, not a loop
            if sum(len(k) for k in block) < 8:
                start += 1
                continue
            cut_line = start + period  # first line of the second copy
            cut = lines[cut_line - 1][1]
            if best is None or cut < best:
                best = cut
            break
    return best


def _char_loop(text: str) -> int | None:
    n = len(text)
    if n < _MIN_CHAR_RUN:
        return None
    best: int | None = None
    # Look at the tail, where a loop that ran to max_tokens ends; cheap and enough.
    window_start = max(0, n - 4096)
    tail = text[window_start:]
    for period in range(2, _MAX_CHAR_PERIOD + 1):
        need = max(period * _CHAR_MIN_REPEATS, _MIN_CHAR_RUN)
        if need > len(tail):
            break
        unit = tail[-period:]
        if not unit.strip():
            continue
        if tail[-need:] != (unit * (need // period + 1))[-need:]:
            continue
        # walk back to where the run starts
        i = len(tail) - period
        while i - period >= 0 and tail[i - period : i] == unit:
            i -= period
        cut = window_start + i + period  # keep one copy of the unit
        if best is None or cut < best:
            best = cut
    return best


def salvage(text: str) -> str:
    """`text` with an unterminated ``` fence closed (after a cut or a `max_tokens` stop), so
    a parser that needs a closed block finds the instructions written so far."""
    if text.count("```") % 2 == 0:
        return text
    body = text.rstrip()
    return body + "\n```\n"
