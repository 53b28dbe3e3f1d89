"""Values shared by the delivery targets: what is written, what was written, what happened."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._limits import Limit
    from ._place import Place

__all__ = [
    "FileKind",
    "FileRecord",
    "RenderContext",
    "WriteResult",
    "header_line",
    "same_text",
    "sha256",
]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def same_text(a: str, b: str) -> bool:
    """Equal as prompts: line endings and surrounding blank space do not count."""
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


def header_line(component: str, version: int) -> str:
    return (
        f'<!-- gepad: prompt "{component}" v{version}. '
        "Edit freely: gepad proposes your text as a new prompt version. -->"
    )


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Everything a target needs to render its file."""

    component: str
    version: int
    text: str
    python: str  # the interpreter the Claude Code hook script runs with
    gepad_home: str | None  # GEPAD_HOME of the daemon, so the hook finds it


@dataclass(frozen=True, slots=True)
class FileRecord:
    """What gepad last wrote at one path (persisted in deliveries.json)."""

    path: str
    sha256: str  # of the part gepad owns: the whole file, or the marked section
    created: bool  # gepad created the file, so disabling may delete it
    created_dirs: tuple[str, ...] = ()
    sep: str = ""  # the separator written before an appended section
    version: int | None = None  # the prompt version written there

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "created": self.created,
            "created_dirs": list(self.created_dirs),
            "sep": self.sep,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FileRecord:
        return cls(
            path=str(raw["path"]),
            sha256=str(raw["sha256"]),
            created=bool(raw["created"]),
            created_dirs=tuple(str(d) for d in raw.get("created_dirs", ())),
            sep=str(raw.get("sep", "")),
            version=raw.get("version"),
        )


@dataclass(frozen=True, slots=True)
class WriteResult:
    """`record`: the new record (unchanged on conflict or refusal). `conflict`: the user edited
    gepad's part; `user_text` is their prompt text when it can be offered (None: not a prompt).
    `refusal`: not written because of the target's limit (`warning`: written, but the tool
    cuts it); `room`: the longest prompt that fits now, in `room_unit`."""

    record: FileRecord | None
    written: bool = False
    conflict: bool = False
    user_text: str | None = None
    notes: tuple[str, ...] = field(default=())
    refusal: str | None = None
    warning: str | None = None
    room: int | None = None
    room_unit: str | None = None


class FileKind(Protocol):
    """One file a target writes: how to write it on a swap and how to take it back.

    Every file operation goes through the `Place` (confined to the workspace, no links out).
    """

    @property
    def prompt_bearing(self) -> bool:
        """Whether the file carries the prompt text (and so can hold a user's edit of it)."""
        ...

    @property
    def limit(self) -> Limit | None:
        """How much of the file its tool reads, if it documents a limit."""
        ...

    def check_enable(self, place: Place, record: FileRecord | None) -> None:
        """Raise DeliveryConflictError if gepad must not take this path over."""

    def write(
        self, place: Place, record: FileRecord | None, ctx: RenderContext, *, force: bool = False
    ) -> WriteResult:
        """Write `ctx`'s prompt; `force` overwrites a hand edit (re-delivery)."""
        ...

    def remove(self, place: Place, record: FileRecord) -> str:
        """Take gepad's part back; returns what was done ('removed', ...) or why it was kept."""
        ...
