"""The bubblewrap jail for toolchain runs, and how gepad says which containment is in use.

Where ``bwrap`` (bubblewrap, the Debian package ``bubblewrap``) works, nvcc runs in a jail:

* new user, pid, network, ipc, uts and cgroup namespaces (``--unshare-all``): no network at
  all, and no process outside the jail is visible; every capability dropped;
* a fresh root holding only the job directory (read-write, at its own path), ``/usr``, the
  CUDA toolkit, the host compiler and the few files of ``/etc`` the dynamic loader reads
  (read-only), a private ``/proc`` and ``/dev``, and an empty ``/tmp``. The user's home,
  ``/root``, the rest of ``/etc`` and every other directory do not exist in there;
* ``--die-with-parent``: when the sandbox kills bwrap (timeout, cancel), the jail dies with it,
  and with the pid namespace every process in it, including one that called ``setsid()``.

Without bwrap, or where it cannot create its namespaces, the compile runs under the *guard*
only (`gepad.kernel._sandbox`): own session, limits, a cleaned environment, and the include
rules of the static checks. That is a guard, not a jail.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Containment", "Jail", "system_roots"]

# Top-level directories that are (on merged-/usr systems) links into /usr.
_TOP_LEVEL = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What the dynamic loader and the compilers' `alternatives` links need from /etc.
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives")


def _inside(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def system_roots() -> tuple[str, ...]:
    """``/usr``, real top-level library directories (not links into /usr), the /etc files."""
    roots = ["/usr"]
    roots += [p for p in _TOP_LEVEL if os.path.isdir(p) and not os.path.islink(p)]
    roots += [p for p in _ETC if os.path.exists(p)]
    return tuple(roots)


@dataclass(frozen=True, slots=True)
class Containment:
    """Which containment a toolchain runs under: a real ``jail``, or the ``guard`` only."""

    kind: Literal["jail", "guard"]
    detail: str

    @property
    def jailed(self) -> bool:
        return self.kind == "jail"

    def describe(self) -> str:
        if self.jailed:
            return f"bwrap jail: {self.detail}"
        return f"guard, not a jail: {self.detail}"


@dataclass(frozen=True, slots=True)
class Jail:
    """A bwrap command line: `read_only` host paths are visible read-only at the same place."""

    bwrap: str
    read_only: tuple[str, ...]

    def argv(self, cwd: Path, command: Sequence[str]) -> list[str]:
        """The bwrap argv that runs `command` in the jail, in `cwd` (bound read-write)."""
        work = os.path.realpath(cwd)
        args = [
            self.bwrap,
            "--unshare-all",
            "--die-with-parent",
            "--cap-drop",
            "ALL",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
        ]
        for top in _TOP_LEVEL:
            if os.path.islink(top):
                args += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                args += ["--ro-bind", top, top]
        done: list[str] = []
        for path in self.read_only:
            if os.path.exists(path) and not _inside(path, done):
                args += ["--ro-bind", path, path]
                done.append(path)
        args += ["--bind", work, work, "--chdir", work, "--", *command]
        return args

    def describe(self) -> str:
        shown = ", ".join(self.read_only)
        return (
            f"only the job directory (read-write) and {shown} (read-only) are visible; "
            "no network; fresh /tmp"
        )
