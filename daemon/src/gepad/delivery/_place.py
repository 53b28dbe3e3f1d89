"""Every file operation delivery makes, confined to one folder (the workspace, or the home).

A `Place` is a root folder and a path relative to it. Before touching anything it resolves
the path and refuses one that leads outside the root through a symbolic link (the file
itself, or any folder on the way: `.claude -> ~/elsewhere`), naming the path and leaving it
untouched. A link that stays inside the root is followed: gepad writes the file it points to
and the link stays a link (`AGENTS.md -> docs/AGENTS.md` keeps working).

The check is not only a path comparison, which a link swapped in between check and use would
defeat: the resolved path is then walked folder by folder with `openat`-style calls
(`dir_fd`), each folder opened with `O_NOFOLLOW | O_DIRECTORY` relative to its parent, and the
file is opened (or created, or renamed into place) relative to the last one with
`O_NOFOLLOW`. A link that appears on the way is refused instead of followed.

Reads are bounded: a file over `MAX_FILE_BYTES` (1 MiB) is refused after an `fstat`, without
reading it; only regular files are read (a FIFO named AGENTS.md does not block the daemon).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gepad.errors import DeliveryError

__all__ = ["MAX_FILE_BYTES", "Place", "check_under"]

MAX_FILE_BYTES = 1024 * 1024

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NOFOLLOW = os.O_NOFOLLOW


def check_under(root: str, path: str) -> str:
    """`path` resolved; DeliveryError when that is not `root` or below it."""
    real = os.path.realpath(path)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        raise DeliveryError(
            f"{path}: leads outside {root} through a symbolic link (to {real}); "
            "gepad does not follow links out of the workspace and left it untouched"
        )
    return real


@dataclass(frozen=True, slots=True)
class Place:
    """`root / rel`, where `root` is a folder gepad may write under and nothing else."""

    root: Path
    rel: str

    @property
    def path(self) -> Path:
        return self.root / self.rel

    def __str__(self) -> str:
        return str(self.path)

    # reads -------------------------------------------------------------------------------------

    def read(self, limit: int = MAX_FILE_BYTES) -> bytes | None:
        """The file's bytes, or None when it (or a folder on the way) does not exist."""
        try:
            parent, name, _ = self._walk(create=False)
        except FileNotFoundError:
            return None
        try:
            try:
                fd = os.open(
                    name, os.O_RDONLY | _NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=parent
                )
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise self._refusal(exc) from None
            try:
                return self._read_fd(fd, limit)
            finally:
                os.close(fd)
        finally:
            os.close(parent)

    def exists(self) -> bool:
        try:
            parent, name, _ = self._walk(create=False)
        except FileNotFoundError:
            return False
        try:
            os.stat(name, dir_fd=parent, follow_symlinks=False)
            return True
        except FileNotFoundError:
            return False
        finally:
            os.close(parent)

    # writes ------------------------------------------------------------------------------------

    def write(self, data: bytes, *, mode: int | None = None) -> tuple[str, ...]:
        """Write atomically (temp file beside it, then rename); returns the folders created.

        The mode is `mode`, else the existing file's, else 0644. No fsync: delivery files are
        regenerated from the store on the next swap, and readers need only the rename's
        atomicity.
        """
        parent, name, created = self._walk(create=True)
        try:
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and not stat.S_ISREG(st.st_mode):
                raise DeliveryError(f"{self.path}: not a regular file; gepad left it untouched")
            final = mode if mode is not None else (st.st_mode & 0o7777 if st else 0o644)
            tmp = f".{name}.{secrets.token_hex(4)}.gepad-tmp"
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | os.O_CLOEXEC, 0o600,
                dir_fd=parent,
            )  # fmt: skip
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    os.fchmod(handle.fileno(), final)
                os.replace(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=parent)
                raise
        finally:
            os.close(parent)
        return tuple(created)

    def unlink(self) -> None:
        try:
            parent, name, _ = self._walk(create=False)
        except FileNotFoundError:
            return
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=parent)  # never follows a link: removes the link itself
        finally:
            os.close(parent)

    def prune(self, created: Iterable[str]) -> None:
        """Remove the folders gepad created, innermost first, while they are empty."""
        root = self._real_root()
        for folder in sorted(created, key=lambda p: len(Path(p).parts), reverse=True):
            if not folder.startswith(root.rstrip(os.sep) + os.sep):
                continue  # never remove anything outside the root, whatever the record says
            sub = Place(Path(root), os.path.relpath(folder, root))
            try:
                parent, name, _ = sub._walk(create=False)
            except (OSError, DeliveryError):
                return
            try:
                os.rmdir(name, dir_fd=parent)
            except OSError:
                return  # not empty (the user put something there) or gone: leave the rest
            finally:
                os.close(parent)

    # internals ---------------------------------------------------------------------------------

    def _real_root(self) -> str:
        root = str(self.root)
        real = os.path.realpath(root)
        if real != root:
            raise DeliveryError(
                f"{root}: is now a symbolic link (to {real}); gepad writes only inside the "
                "folder it was enabled for"
            )
        return root

    def _walk(self, *, create: bool) -> tuple[int, str, list[str]]:
        """(fd of the resolved parent folder, file name, folders created on the way)."""
        root = self._real_root()
        real = check_under(root, os.path.join(root, self.rel))
        parts = os.path.relpath(real, root).split(os.sep)
        if parts == ["."] or ".." in parts:
            raise DeliveryError(f"{self.path}: not a file inside {root}")
        fd = os.open(root, _DIR)
        created: list[str] = []
        here = root
        try:
            for name in parts[:-1]:
                here = os.path.join(here, name)
                try:
                    child = os.open(name, _DIR | _NOFOLLOW, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(name, 0o755, dir_fd=fd)
                    created.append(here)
                    child = os.open(name, _DIR | _NOFOLLOW, dir_fd=fd)
                except OSError as exc:
                    raise self._refusal(exc, here) from None
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd, parts[-1], created

    def _refusal(self, exc: OSError, where: str | None = None) -> Exception:
        where = where or str(self.path)
        if os.path.islink(where):
            return DeliveryError(
                f"{where}: is a symbolic link that changed while gepad used it; "
                "gepad does not follow it and left it untouched"
            )
        if isinstance(exc, NotADirectoryError):
            return DeliveryError(f"{where}: not a folder; gepad left it untouched")
        return exc

    def _read_fd(self, fd: int, limit: int) -> bytes:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise DeliveryError(f"{self.path}: not a regular file; gepad left it untouched")
        if st.st_size > limit:
            raise DeliveryError(_too_big(self.path, st.st_size, limit))
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(65536, limit + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise DeliveryError(_too_big(self.path, total, limit))


def _too_big(path: Path, size: int, limit: int) -> str:
    return (
        f"{path}: {size} bytes, over the {limit // 1024} KiB gepad reads in a delivery file; "
        "it was left untouched (shorten it or move it away)"
    )
