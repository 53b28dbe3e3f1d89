"""`deliveries.json` under the data dir: which workspace gets which target, and what was written.

A small JSON file rather than a store table: it is rewritten whole on every change (a few KiB),
needs no migration, and a user can read it. A file that cannot be read is moved aside (never
deleted) and gepad starts with no deliveries, logging where the old file went.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._atomic import ensure_dirs, write_atomic
from ._types import FileRecord

__all__ = ["MAX_CONFLICTS", "Conflict", "Delivery", "load_registry", "save_registry"]

log = logging.getLogger(__name__)

FORMAT = 1
MAX_CONFLICTS = 20  # per delivery, newest kept


@dataclass(frozen=True, slots=True)
class Conflict:
    """The user edited gepad's part of `path` and it is not settled yet: their text waits as
    the proposal `version` (or could not be kept: `error`). `text_sha` identifies the text,
    so that the same edit is proposed once, not on every swap."""

    path: str
    at: float
    version: int | None
    error: str | None = None
    text_sha: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "at": self.at,
            "version": self.version,
            "error": self.error,
            "text_sha": self.text_sha,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Conflict:
        return cls(
            str(raw["path"]), float(raw["at"]), raw.get("version"), raw.get("error"),
            raw.get("text_sha"),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Delivery:
    workspace: str
    target: str
    component: str
    enabled_at: float
    files: tuple[FileRecord, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    written_at: float | None = None
    error: str | None = None
    over_limit: str | None = None  # the last prompt was not written: past the target's limit
    warnings: tuple[str, ...] = ()  # written, but the tool cuts it
    room: int | None = None  # the longest prompt that fits now, in room_unit
    room_unit: str | None = None
    _key: tuple[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", (self.workspace, self.target))

    @property
    def key(self) -> tuple[str, str]:
        return self._key

    def record(self, path: str) -> FileRecord | None:
        return next((r for r in self.files if r.path == path), None)

    def conflict_at(self, path: str) -> Conflict | None:
        return next((c for c in self.conflicts if c.path == path), None)

    def with_conflict(self, conflict: Conflict) -> Delivery:
        """Replace the open conflict on `conflict.path` (one per file)."""
        kept = tuple(c for c in self.conflicts if c.path != conflict.path)
        return replace(self, conflicts=(*kept, conflict)[-MAX_CONFLICTS:])

    def without_conflict(self, path: str) -> Delivery:
        return replace(self, conflicts=tuple(c for c in self.conflicts if c.path != path))

    def as_json(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "target": self.target,
            "component": self.component,
            "enabled_at": self.enabled_at,
            "files": [r.as_json() for r in self.files],
            "conflicts": [c.as_json() for c in self.conflicts],
            "written_at": self.written_at,
            "error": self.error,
            "over_limit": self.over_limit,
            "warnings": list(self.warnings),
            "room": self.room,
            "room_unit": self.room_unit,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Delivery:
        return cls(
            workspace=str(raw["workspace"]),
            target=str(raw["target"]),
            component=str(raw["component"]),
            enabled_at=float(raw["enabled_at"]),
            files=tuple(FileRecord.from_json(r) for r in raw.get("files", ())),
            conflicts=tuple(Conflict.from_json(c) for c in raw.get("conflicts", ())),
            written_at=raw.get("written_at"),
            error=raw.get("error"),
            over_limit=raw.get("over_limit"),
            warnings=tuple(str(w) for w in raw.get("warnings", ())),
            room=raw.get("room"),
            room_unit=raw.get("room_unit"),
        )


def load_registry(path: Path) -> list[Delivery]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a gepad deliveries file of a known format")
        return [Delivery.from_json(d) for d in data["deliveries"]]
    except (ValueError, KeyError, TypeError) as exc:
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        path.replace(aside)
        log.error("%s unreadable (%s); moved to %s, starting with no deliveries", path, exc, aside)
        return []


def save_registry(path: Path, deliveries: list[Delivery]) -> None:
    ensure_dirs(path.parent)
    data = {"format": FORMAT, "deliveries": [d.as_json() for d in deliveries]}
    write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
