"""The database's health: `PRAGMA quick_check` before any write, and the storage failures
(disk full, a damaged file) turned into errors that say what happened, where, and what to do.

`quick_check` reads every page's b-tree structure (not the index contents, which
`integrity_check` would also compare): linear in the file's size, a fraction of a second for
a typical gepad database. It runs on a read-only connection, so checking never writes.
"""

from __future__ import annotations

import errno
import shlex
import sqlite3
from pathlib import Path

from gepad.errors import CorruptDatabaseError, DiskFullError, StoreError

__all__ = ["corrupt_advice", "quick_check", "require_intact", "storage_error"]

_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_NOTADB = 26
_SHOWN = 3  # problems quoted in a message


def quick_check(path: Path) -> list[str]:
    """The problems `PRAGMA quick_check` finds in the file (empty: intact). Raises
    `sqlite3.Error` when the file cannot be read as a database at all."""
    conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5.0)
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    finally:
        conn.close()
    # One row per problem, though sqlite may also put several on one row, one per line.
    problems = [line for r in rows for line in str(r[0]).splitlines() if line.strip()]
    return [] if problems == ["ok"] else problems


def corrupt_advice(path: Path) -> str:
    """What to do about a damaged database, as exact commands."""
    folder = shlex.quote(str(path.parent))
    name = shlex.quote(path.name)
    return (
        "stop gepad (`gepad stop`), then restore the file from a backup, or move it and its "
        f"-wal/-shm files aside so that gepad starts with an empty one: "
        f"`cd {folder} && mkdir -p corrupt && mv {name}* corrupt/` "
        f"(`sqlite3 corrupt/{name} .recover` may save part of it)"
    )


def corrupt_error(path: Path, problems: list[str]) -> CorruptDatabaseError:
    more = len(problems) - _SHOWN
    shown = "; ".join(problems[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")
    return CorruptDatabaseError(
        f"{path}: the database is corrupt (quick_check: {shown}); gepad will not write to it. "
        + corrupt_advice(path)
    )


def require_intact(path: Path) -> None:
    """Raise `CorruptDatabaseError` for a damaged file (nothing is written); a missing or
    empty file passes (it is created)."""
    try:
        if not path.exists() or path.stat().st_size == 0:
            return
        problems = quick_check(path)
    except sqlite3.Error as exc:
        raise storage_error(exc, path) from exc
    except OSError as exc:
        raise storage_error(exc, path) from exc
    if problems:
        raise corrupt_error(path, problems)


def storage_error(exc: sqlite3.Error | OSError, path: Path) -> StoreError:
    """The `StoreError` for a failed database operation: `DiskFullError` for a full disk,
    `CorruptDatabaseError` for a damaged file, a plain `StoreError` naming the path else."""
    if isinstance(exc, OSError):
        where = exc.filename or path
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskFullError(
                f"disk full: no space left on device for {where}; free some space and retry"
            )
        return StoreError(f"{where}: {exc.strerror or exc}")
    code = getattr(exc, "sqlite_errorcode", None)
    text = str(exc)
    base = code & 0xFF if isinstance(code, int) else None
    if base == _SQLITE_FULL or "database or disk is full" in text:
        return DiskFullError(
            f"disk full: no space left on device for {path} ({text}); nothing was written, "
            "free some space and retry"
        )
    if base in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text:
        return corrupt_error(path, [text])
    return StoreError(f"{path}: database error: {text}")
