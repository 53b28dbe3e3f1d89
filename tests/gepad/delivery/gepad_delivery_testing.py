"""Helpers for the delivery tests: a render context and file snapshots."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gepad.delivery import TARGETS, FileRecord, Place, RenderContext

TEXT = "Be brief.\nUse tabs for indentation.\n"
HEADER = (
    '<!-- gepad: prompt "general" v3. '
    "Edit freely: gepad proposes your text as a new prompt version. -->"
)


def ctx(text: str = TEXT, version: int = 3, component: str = "general") -> RenderContext:
    return RenderContext(component, version, text, "/usr/bin/python3", "/tmp/gepad-home")


def stamp(path: Path) -> tuple[int, int]:
    """Inode and mtime: both unchanged means the file was not rewritten."""
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


class Bound:
    """A file kind bound to its root, so tests can hand it plain paths."""

    def __init__(self, kind: Any, root: Path) -> None:
        self.kind, self.root = kind, root

    def place(self, path: Path) -> Place:
        return Place(self.root, str(path.relative_to(self.root)))

    def check_enable(self, path: Path, record: FileRecord | None) -> None:
        self.kind.check_enable(self.place(path), record)

    def write(self, path: Path, record: FileRecord | None, c: RenderContext, **kw: Any) -> Any:
        return self.kind.write(self.place(path), record, c, **kw)

    def remove(self, path: Path, record: FileRecord) -> str:
        result: str = self.kind.remove(self.place(path), record)
        return result


def bound_paths(target: str, ws: Path, home: Path) -> list[tuple[Path, Bound]]:
    """TARGETS[target].paths, as (path, bound kind) pairs."""
    return [(p.path, Bound(k, p.root)) for p, k in TARGETS[target].paths(ws, home)]
