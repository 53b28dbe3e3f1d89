"""`gepad logs [-f] [-n N]`: the last lines of the daemon's log, optionally following it."""

from __future__ import annotations

import argparse
import codecs
import os
import sys
import time
from pathlib import Path
from typing import BinaryIO

from gepad.cli._errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError
from gepad.cli._output import err
from gepad.paths import resolve_paths

__all__ = ["last_lines", "run"]

_FOLLOW_POLL_S = 0.2
_BLOCK = 64 * 1024


def run(args: argparse.Namespace) -> int:
    if args.lines < 0:
        raise CliError(f"-n must be 0 or more, got {args.lines}", EXIT_USAGE)
    log_file = resolve_paths().log_file
    try:
        handle: BinaryIO | None = log_file.open("rb")
    except FileNotFoundError:
        handle = None
    except OSError as exc:
        err(f"cannot read {log_file}: {exc.strerror}")
        return EXIT_FAILURE
    if handle is None and not args.follow:
        err(f"no log file at {log_file} yet (has the daemon run with this GEPAD_HOME?)")
        return EXIT_FAILURE
    try:
        if handle is not None:
            sys.stdout.write("".join(last_lines(handle, args.lines)))
            sys.stdout.flush()
        if args.follow:
            handle = _follow(log_file, handle)
    finally:
        if handle is not None:
            handle.close()
    return EXIT_OK


def last_lines(handle: BinaryIO, count: int) -> list[str]:
    """The last `count` lines, read backwards in blocks; leaves `handle` at the end it saw."""
    end = handle.seek(0, os.SEEK_END)
    position, data = end, b""
    while count and position > 0 and data.count(b"\n") <= count:
        step = min(_BLOCK, position)
        position -= step
        handle.seek(position)
        data = handle.read(step) + data
    handle.seek(end)
    if not count:
        return []
    return data.decode("utf-8", errors="replace").splitlines(keepends=True)[-count:]


def _follow(path: Path, handle: BinaryIO | None) -> BinaryIO | None:
    """Print what gets appended until Ctrl-C; after a rotation, go on with the new file."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    try:
        while True:
            if handle is None:
                try:
                    handle = path.open("rb")  # a new file: all of it is new
                except FileNotFoundError:
                    time.sleep(_FOLLOW_POLL_S)
                    continue
            chunk = handle.read(_BLOCK)
            if chunk:
                sys.stdout.write(decoder.decode(chunk))
                sys.stdout.flush()
                continue
            if _replaced(path, handle):
                handle.close()
                handle = None
                continue
            time.sleep(_FOLLOW_POLL_S)
    except KeyboardInterrupt:
        return handle


def _replaced(path: Path, handle: BinaryIO) -> bool:
    try:
        current = path.stat()
    except FileNotFoundError:
        return True
    return current.st_ino != os.fstat(handle.fileno()).st_ino or current.st_size < handle.tell()
