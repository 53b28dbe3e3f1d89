"""The workspaces registered at run time (`workspace.add`), kept in a small JSON file.

Written atomically (temp file + rename) so a crash leaves the old list or the new one. A file
that cannot be read is logged and treated as empty: losing registrations costs nothing the
language server does not restore on its next contact, and must not stop the daemon.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from gepad.errors import WorkspaceError
from gepad.outcomes._link import to_path

__all__ = ["load_registered", "normalize_workspace", "save_registered"]

log = logging.getLogger(__name__)


def normalize_workspace(value: str) -> Path:
    """An absolute folder path or `file://` URI as a normalised path; `WorkspaceError` if not."""
    if not isinstance(value, str) or not value.strip():
        raise WorkspaceError("workspace path must be a non-empty string")
    if "://" in value and not value.startswith("file://"):
        raise WorkspaceError(
            f"workspace {value!r}: only local folders (paths or file:// URIs) can be watched"
        )
    path = to_path(value.strip())
    if path is None:
        raise WorkspaceError(f"workspace {value!r}: must be an absolute path or a file:// URI")
    return path


def load_registered(file: Path) -> list[Path]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable workspace list %s: %s", file, exc)
        return []
    if not isinstance(data, dict) or not isinstance(data.get("workspaces"), list):
        log.warning('ignoring workspace list %s: expected {"workspaces": [...]}', file)
        return []
    found: list[Path] = []
    for item in data["workspaces"]:
        try:
            found.append(normalize_workspace(item))
        except WorkspaceError as exc:
            log.warning("%s: skipping entry: %s", file, exc)
    return list(dict.fromkeys(found))


def save_registered(file: Path, workspaces: list[Path]) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    payload = json.dumps({"workspaces": [str(p) for p in workspaces]}, indent=2) + "\n"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, file)
