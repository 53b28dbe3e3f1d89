"""Reading a JSON-lines file incrementally: only what was appended since the last read.

The position (offset, inode, a hash of the first line) is a plain mapping the caller keeps
durably (a capture mark, committed with what the lines became). A torn last line (the writer
is still writing it) is left for the next read; a file that was truncated, rotated (another
inode) or rewritten (another first line) is read again from the start, and the caller's
per-line keys keep that from counting anything twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["MAX_READ_BYTES", "Chunk", "line_key", "parse_lines", "read_new"]

log = logging.getLogger(__name__)

MAX_READ_BYTES = 8 * 1024 * 1024  # per read; the rest comes on the next one
_HEAD_BYTES = 4096
_TAIL_BYTES = 256


@dataclass(frozen=True, slots=True)
class Chunk:
    lines: tuple[bytes, ...]  # complete lines, without their newline
    position: dict[str, Any]  # to keep once the lines are handled
    restarted: bool  # the file was truncated, rotated or rewritten: read from the start
    more: bool  # there is more to read right away


def _head(data: bytes) -> str:
    """The hash of the first line, or '' while it is not complete."""
    end = data.find(b"\n")
    return "" if end < 0 else hashlib.sha256(data[:end]).hexdigest()


def _tail(fh: BinaryIO, offset: int) -> str:
    """The hash of the bytes just before `offset`: a file truncated and grown back past the
    offset no longer has them there."""
    start = max(0, offset - _TAIL_BYTES)
    fh.seek(start)
    return hashlib.sha256(fh.read(offset - start)).hexdigest() if offset else ""


def read_new(path: Path, position: Mapping[str, Any] | None) -> Chunk | None:
    """The complete lines appended since `position`; None when the file is not there.

    Never follows a symlink: a link is treated as absent.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: a symlink
            log.warning("not following the symlink %s", path)
            return None
        raise
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        head = _head(fh.read(_HEAD_BYTES))
        pos = dict(position or {})
        offset = int(pos.get("offset", 0))
        known_head = str(pos.get("head", ""))
        restarted = bool(pos) and (
            pos.get("inode") != st.st_ino
            or st.st_size < offset
            or bool(known_head and head and known_head != head)
            or _tail(fh, offset) != pos.get("tail", "")
        )
        if restarted or not pos:
            offset = 0
        fh.seek(offset)
        data = fh.read(MAX_READ_BYTES)
        end = data.rfind(b"\n")
        complete = data[: end + 1] if end >= 0 else b""
        new_offset = offset + len(complete)
        tail = _tail(fh, new_offset)
    lines = tuple(line for line in complete.split(b"\n")[:-1] if line.strip())
    more = len(data) == MAX_READ_BYTES and end >= 0
    position_out = {
        "offset": new_offset,
        "inode": st.st_ino,
        "head": head or known_head,
        "tail": tail,
    }
    if restarted:
        log.info("%s was truncated, rotated or rewritten; reading it from the start", path)
    return Chunk(lines, position_out, restarted, more)


def line_key(line: bytes) -> str:
    return hashlib.sha256(line.strip()).hexdigest()


def parse_lines(lines: tuple[bytes, ...], where: str) -> list[tuple[str, dict[str, Any]]]:
    """(key, object) for every line that is a JSON object; the others are logged and skipped."""
    out: list[tuple[str, dict[str, Any]]] = []
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError as exc:
            log.warning("%s: skipping a line that is not JSON (%s)", where, exc)
            continue
        if not isinstance(obj, dict):
            log.warning("%s: skipping a line that is not a JSON object", where)
            continue
        out.append((line_key(line), obj))
    return out
