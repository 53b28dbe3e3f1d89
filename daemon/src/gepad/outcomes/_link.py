"""Which recorded generations an outcome belongs to.

A generation is linked when it was recorded within the window before the report, belongs to
the workspace (its `workspace` is that folder, or its `file` lies inside it), and its file is

1. a file the report names (resolved against the workspace and the report's folder; a
   relative name also matches as a path suffix, `test_calc.py` ~ `<ws>/tests/test_calc.py`), or
2. failing that, a file under test by naming convention (`test_calc.py` -> any `calc.py` in
   the workspace).

Of the matches, the newest generation per file is kept, newest first, at most `max_links`.
Generations' `workspace` and `file` may be paths or `file://` URIs (editors send URIs).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from gepad.outcomes._types import Outcome
from gepad.store import Generation

__all__ = ["link_generations", "to_path"]

_MAX_LINKS = 3


def to_path(value: str | None, base: Path | None = None) -> Path | None:
    """A path or `file://` URI as an absolute, normalised path (None for other URIs)."""
    if not value:
        return None
    if "://" in value or value.startswith("file:"):
        parsed = urlparse(value)
        if parsed.scheme != "file":
            return None
        value = unquote(parsed.path)
    path = Path(value).expanduser()
    if not path.is_absolute():
        if base is None:
            return None
        path = base / path
    return Path(os.path.normpath(path))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def link_generations(
    outcome: Outcome,
    generations: Sequence[Generation],
    *,
    workspace: Path,
    report: Path,
    since: float,
    max_links: int = _MAX_LINKS,
) -> tuple[Generation, ...]:
    candidates = [g for g in generations if g.created_at >= since]
    in_ws: list[tuple[Generation, Path]] = []
    for gen in candidates:
        gen_ws = to_path(gen.workspace)
        gen_file = to_path(gen.file, gen_ws)
        if gen_file is None:
            continue
        if (gen_ws is not None and gen_ws == workspace) or _inside(gen_file, workspace):
            in_ws.append((gen, gen_file))
    exact = [(g, f) for g, f in in_ws if _names(outcome, f, workspace, report)]
    chosen = exact or [
        (g, f) for g, f in in_ws if f.name in outcome.under_test and _inside(f, workspace)
    ]
    newest: dict[Path, Generation] = {}
    for gen, file in chosen:
        if file not in newest or gen.created_at > newest[file].created_at:
            newest[file] = gen
    ordered = sorted(newest.values(), key=lambda g: (g.created_at, g.id), reverse=True)
    return tuple(ordered[:max_links])


def _names(outcome: Outcome, file: Path, workspace: Path, report: Path) -> bool:
    for name in outcome.files:
        named = to_path(name)
        if named is not None:  # absolute in the report
            if named == file:
                return True
            continue
        if to_path(name, workspace) == file or to_path(name, report.parent) == file:
            return True
        rel = PurePosixPath(name)
        if ".." not in rel.parts and _inside(file, workspace):
            tail = PurePosixPath(*file.relative_to(workspace).parts)
            if len(tail.parts) >= len(rel.parts) and tail.parts[-len(rel.parts) :] == rel.parts:
                return True
    return False
