"""gepad's own files (deliveries.json in the data dir): written so that a reader sees the old
bytes or the new ones, never a mix. Files in workspaces go through `_place` instead."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["ensure_dirs", "write_atomic"]


def ensure_dirs(directory: Path) -> list[Path]:
    """Create `directory` and missing parents; returns the ones created, outermost first."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    missing.reverse()
    for folder in missing:
        with contextlib.suppress(FileExistsError):
            folder.mkdir()
    return missing


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same folder, then rename over `path`; keeps an existing file's mode.

    No fsync: these files are regenerated from the store on the next swap, and readers only
    need the rename's atomicity; an fsync per file would cost the 100 ms delivery budget.
    """
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".gepad-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode if mode is not None else 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
