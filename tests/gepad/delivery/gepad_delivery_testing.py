"""Helpers for the delivery tests: a render context and file snapshots."""

from __future__ import annotations

import os
from pathlib import Path

from gepad.delivery import RenderContext

TEXT = "Be brief.\nUse tabs for indentation.\n"
HEADER = (
    '<!-- gepad: prompt "general" v3. '
    "Edit freely: gepad keeps your text as a new prompt version. -->"
)


def ctx(text: str = TEXT, version: int = 3, component: str = "general") -> RenderContext:
    return RenderContext(component, version, text, "/usr/bin/python3", "/tmp/gepad-home")


def stamp(path: Path) -> tuple[int, int]:
    """Inode and mtime: both unchanged means the file was not rewritten."""
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns
