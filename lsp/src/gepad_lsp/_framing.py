"""Bounded LSP framing: stdin as pygls reads it, refusing frames over a size limit.

pygls 2 (`pygls.io_.run_async`) reads header lines with `stdin.readline()` and then the body
with `stdin.read(Content-Length)`, trusting the header: `Content-Length: 99999999999` makes it
allocate that much and die with `MemoryError`. `FrameGuard` sits under pygls' reader (it is the
`stdin` given to `start_io`), so pygls itself stays untouched:

- a header line is read in pieces of at most `_LINE_MAX` bytes (no unbounded `readline`);
- a `Content-Length` over the limit is logged and refused: pygls is handed a harmless header
  instead, the frame's other header lines and its body are discarded (at most the announced
  length, in bounded chunks), and reading resumes at the next `Content-Length:` header, so a
  client whose header lied about the length is back in step at its next message.

The client gets no reply for the refused frame (its id is in the body that was not read).
"""

from __future__ import annotations

import logging
import re
from typing import BinaryIO

__all__ = ["DEFAULT_MAX_FRAME_BYTES", "FrameGuard"]

log = logging.getLogger(__name__)

DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
_LINE_MAX = 64 * 1024
_CHUNK = 64 * 1024
_HEADER = b"Content-Length:"
_LENGTH = re.compile(rb"^Content-Length: *(\d+)\r?\n$", re.IGNORECASE)
# What pygls sees in place of a refused length: a header it ignores.
_REFUSED = b"X-Gepad-Refused: frame too large\r\n"


class FrameGuard:
    """A `BinaryIO`-like reader (only `readline` and `read`, as pygls calls them)."""

    def __init__(self, raw: BinaryIO, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        if max_frame_bytes < 1:
            raise ValueError("max_frame_bytes must be at least 1")
        self._raw = raw
        self._limit = max_frame_bytes
        self._buf = bytearray()
        self._eof = False
        self.refused = 0

    def _fill(self) -> bool:
        if self._eof:
            return False
        read1 = getattr(self._raw, "read1", None)
        chunk = read1(_CHUNK) if read1 is not None else self._raw.read(1)
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _line(self) -> bytes:
        while True:
            end = self._buf.find(b"\n", 0, _LINE_MAX)
            if end >= 0 or len(self._buf) >= _LINE_MAX:
                cut = end + 1 if end >= 0 else _LINE_MAX
                line = bytes(self._buf[:cut])
                del self._buf[:cut]
                return line
            if not self._fill():
                line = bytes(self._buf)
                self._buf.clear()
                return line

    def readline(self) -> bytes:
        line = self._line()
        match = _LENGTH.match(line)
        if match is None:
            return line
        length = int(match.group(1))
        if length <= self._limit:
            return line
        self.refused += 1
        log.warning(
            "refused an LSP frame of Content-Length %d (the limit is %d bytes); skipped it",
            length,
            self._limit,
        )
        self._skip_frame(length)
        return _REFUSED

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            while self._fill():
                pass
            n = len(self._buf)
        while len(self._buf) < n and self._fill():
            pass
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def _skip_frame(self, length: int) -> None:
        """Drop the rest of the refused frame's headers, then up to `length` body bytes, but
        stop early at the next `Content-Length:` (a lying header must not swallow the rest)."""
        while True:
            line = self._line()
            if not line or not line.strip():
                break
            if _LENGTH.match(line):  # a new frame began without the blank line
                self._buf[:0] = line
                return
        left = length
        keep = len(_HEADER) - 1  # a header split across two reads
        while left > 0:
            at = self._buf.find(_HEADER, 0, left + len(_HEADER))
            if 0 <= at <= left:
                del self._buf[:at]
                return
            drop = min(left, max(0, len(self._buf) - keep))
            del self._buf[:drop]
            left -= drop
            if left > 0 and not self._fill():
                self._buf.clear()
                return
        # The whole announced body was dropped; what follows is the next frame.
