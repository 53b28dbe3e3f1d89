"""What a compile's preprocessing passes read and produced, from the ``.ii`` files nvcc kept.

nvcc preprocesses a .cu file twice, for the host (``kernel.cpp4.ii``) and for the device
(``kernel.cpp1.ii``, with ``__CUDA_ARCH__`` defined), and with ``--keep`` it leaves both
behind. These are the exact sources the compile went on with, with every flag of that compile
(arch, ``-O3``, ``-fPIC``), so nothing can be hidden behind ``#ifdef __CUDA_ARCH__`` or
``#if __OPTIMIZE__``. Their GNU line markers (``# 12 "kernel.cu" 2``) say which file each line
came from:

* the lines of the user's own file, at their source line numbers, are scanned again by the
  static checks (macros expanded, splices joined, comments gone); toolkit and system headers
  are not scanned;
* the headers the user's file included directly, by resolved path, are checked against the
  libraries the problem forbids;
* every file a pass read is checked against the directories the compile may read
  (`outside`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PreprocessedUnit", "outside", "parse_preprocessed", "read_kept", "under"]

_MARKER = re.compile(r'^# (?P<line>\d+) "(?P<file>(?:\\.|[^"\\])*)"(?P<flags>(?: \d+)*)\s*$')
_ESCAPE = re.compile(r"\\([0-7]{1,3}|.)")


@dataclass(frozen=True, slots=True)
class PreprocessedUnit:
    """One preprocessing pass, reduced to what the checks need.

    `text` holds the user's lines at their source line numbers (other lines empty);
    `direct_includes` is (line, resolved path) of each header the user's file included;
    `files` is every file the pass read, resolved (``<built-in>``-style names as they are).
    """

    name: str
    text: str
    direct_includes: tuple[tuple[int, str], ...]
    files: tuple[str, ...]


def _unescape(name: str) -> str:
    def one(m: re.Match[str]) -> str:
        token = m[1]
        return chr(int(token, 8)) if token[0] in "01234567" else token

    return _ESCAPE.sub(one, name)


def parse_preprocessed(text: str, *, name: str, source: Path) -> PreprocessedUnit:
    """Reduce one pass's output; `source` is the user's file as the compile was given it."""
    base = str(source.parent)
    user = os.path.realpath(source)
    resolved: dict[str, str] = {}
    by_line: dict[int, list[str]] = {}
    includes: list[tuple[int, str]] = []
    files: dict[str, None] = {}
    in_user = False
    lineno = 1
    for raw in text.split("\n"):
        marker = _MARKER.match(raw) if raw.startswith("# ") else None
        if marker is None:
            if in_user and raw.strip():
                by_line.setdefault(lineno, []).append(raw)
            lineno += 1
            continue
        spelled = _unescape(marker["file"])
        path = resolved.get(spelled)
        if path is None:
            pseudo = spelled.startswith("<") and spelled.endswith(">")
            path = spelled if pseudo else os.path.realpath(os.path.join(base, spelled))
            resolved[spelled] = path
        if "1" in marker["flags"].split() and in_user:
            includes.append((lineno, path))
        files[path] = None
        in_user = path == user
        lineno = int(marker["line"])
    last = max(by_line, default=0)
    body = "\n".join(" ".join(by_line.get(i, ())) for i in range(1, last + 1))
    return PreprocessedUnit(name, body, tuple(includes), tuple(files))


def read_kept(keep_dir: Path, source: Path) -> tuple[PreprocessedUnit, ...]:
    """Every ``.ii`` file nvcc kept in `keep_dir`, parsed (none when it kept none)."""
    if not keep_dir.is_dir():
        return ()
    units: list[PreprocessedUnit] = []
    for path in sorted(keep_dir.glob("*.ii")):
        text = path.read_text(encoding="utf-8", errors="replace")
        units.append(parse_preprocessed(text, name=path.name, source=source))
    return tuple(units)


def under(path: str, roots: Iterable[str]) -> bool:
    """Whether `path` (resolved) is one of `roots` or inside one of them."""
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def outside(units: Sequence[PreprocessedUnit], roots: Sequence[str]) -> list[str]:
    """Files the passes read that lie outside `roots` (resolved paths), in order, once each."""
    found: dict[str, None] = {}
    for unit in units:
        for path in unit.files:
            if not (path.startswith("<") or under(path, roots)):
                found[path] = None
    return list(found)
