"""The file work of one render, done in a worker thread: write each delivery's files, or take
them back. Nothing here touches the event loop or the registry."""

from __future__ import annotations

from dataclasses import dataclass, replace

from gepad.errors import GepadError

from ._place import Place
from ._registry import Delivery
from ._types import FileKind, FileRecord, RenderContext, WriteResult

__all__ = ["Done", "Job", "check_enable", "remove_all", "write_all"]


@dataclass(frozen=True, slots=True)
class Job:
    key: tuple[str, str]
    ctx: RenderContext
    files: tuple[tuple[Place, FileKind], ...]
    records: tuple[FileRecord | None, ...]
    force: bool = False  # overwrite hand edits (re-delivery)


@dataclass(frozen=True, slots=True)
class Done:
    key: tuple[str, str]
    results: tuple[WriteResult, ...]
    error: str | None


def check_enable(files: tuple[tuple[Place, FileKind], ...], records: dict[str, FileRecord]) -> None:
    for place, kind in files:
        kind.check_enable(place, records.get(str(place)))


def write_all(jobs: list[Job]) -> list[Done]:
    """A path shared by two deliveries (continue) is written once."""
    done: list[Done] = []
    by_path: dict[str, WriteResult] = {}
    for job in jobs:
        results: list[WriteResult] = []
        try:
            for (place, kind), record in zip(job.files, job.records, strict=True):
                shared = by_path.get(str(place))
                if shared is not None and not shared.conflict:
                    results.append(replace(shared, written=False))
                    continue
                result = kind.write(place, record, job.ctx, force=job.force)
                by_path[str(place)] = result
                results.append(result)
        except (OSError, GepadError) as exc:
            done.append(Done(job.key, (), str(exc)))
            continue
        done.append(Done(job.key, tuple(results), None))
    return done


def remove_all(
    delivery: Delivery, kinds: dict[str, tuple[Place, FileKind]], shared: set[str]
) -> list[dict[str, str]]:
    out = []
    # Last written, first removed: the folders the first file created (`.claude`) are empty
    # by the time its own removal prunes them.
    for record in reversed(delivery.files):
        if record.path in shared:
            out.append({"path": record.path, "result": "kept: another workspace uses it"})
            continue
        found = kinds.get(record.path)
        try:
            result = found[1].remove(found[0], record) if found else "absent"
        except (OSError, GepadError) as exc:
            result = f"kept: {exc}"
        out.append({"path": record.path, "result": result})
    return out[::-1]
