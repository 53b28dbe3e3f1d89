"""Where the CUDA toolkit and its host compiler live, and which containment nvcc runs under.

`nvcc_setup` asks nvcc itself (``nvcc --dryrun``, which compiles nothing and reads no source)
for the toolkit's root (``TOP``) and the programs a compile runs (the host compiler, cudafe++,
cicc, ptxas, ...). From those it makes the list of what a compile may read:
``/usr``, the toolkit, the host compiler's install prefix, the nvcc entry point itself and the
loader's files in /etc. That list is what the bwrap jail shows (read-only), and, under the
guard, what every file a compile read must lie in (the kernel's own job directory aside).

The jail is used when ``NvccConfig.jail`` is ``auto`` (the default) and a probe run of bwrap
works, or required with ``bwrap``; ``off`` turns it off.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gepad.kernel._jail import Containment, Jail, system_roots
from gepad.kernel._sandbox import default_env, run_sandboxed

__all__ = ["JailMode", "NvccSetup", "nvcc_setup"]

_log = logging.getLogger(__name__)

JailMode = Literal["auto", "bwrap", "off"]
_INSTALL_BWRAP = "install bubblewrap (apt-get install bubblewrap) for a real jail"
_VARIABLE = re.compile(r"^#\$ (?P<name>[A-Za-z_]\w*)=(?P<value>.*)$")


@dataclass(frozen=True, slots=True)
class NvccSetup:
    """What a compile may read, the jail (None: guard only), and a refusal when one is due."""

    readable: tuple[str, ...]
    jail: Jail | None
    containment: Containment
    refusal: str | None = None


def _inside(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _programs(dryrun: str) -> tuple[str | None, list[str]]:
    """(the toolkit root, the programs the compile would run), resolved, from --dryrun output."""
    top: str | None = None
    search = os.environ.get("PATH", "")
    programs: list[str] = []
    for line in dryrun.splitlines():
        if not line.startswith("#$ "):
            continue
        if variable := _VARIABLE.match(line):
            if variable["name"] == "TOP":
                top = os.path.realpath(variable["value"].strip())
            elif variable["name"] == "PATH":
                search = variable["value"].strip()
            continue
        try:
            first = shlex.split(line[3:])[0]
        except (ValueError, IndexError):
            continue
        if "$" in first:
            continue  # "$CICC_PATH/cicc": inside the toolkit
        found = first if "/" in first else shutil.which(first, path=search)
        if found:
            programs.append(os.path.realpath(found))
    return top, programs


def _readable(binary: str, top: str | None, programs: Sequence[str]) -> tuple[str, ...]:
    roots = list(system_roots())
    if top is not None and not _inside(top, roots):
        roots.append(top)
    for program in programs:
        prefix = str(Path(program).parent.parent)
        if not _inside(program, roots) and prefix != "/":
            roots.append(prefix)
    for entry in (os.path.abspath(binary), os.path.realpath(binary)):
        if not _inside(entry, roots):
            roots.append(entry)
    return tuple(roots)


async def _probe(jail: Jail) -> str | None:
    """None when the jail works here, else why not."""
    true = shutil.which("true", path="/usr/bin:/bin") or "/usr/bin/true"
    with tempfile.TemporaryDirectory(prefix="gepad-jail-probe-") as tmp:
        res = await run_sandboxed(
            jail.argv(Path(tmp), [true]), cwd=Path(tmp), timeout_s=30, output_limit=4000
        )
    if res.ok:
        return None
    return f"bwrap is installed but failed here (exit {res.returncode}): {res.output.strip()[:300]}"


async def nvcc_setup(binary: str, extra_flags: Sequence[str], mode: JailMode) -> NvccSetup:
    """Find the toolkit and decide the containment for compiles with `binary` (see module doc)."""
    with tempfile.TemporaryDirectory(prefix="gepad-nvcc-setup-") as tmp:
        res = await run_sandboxed(
            [binary, "--dryrun", *extra_flags, "-c", "probe.cu", "-o", "probe.o"],
            cwd=Path(tmp),
            timeout_s=30,
            env=default_env(),
            output_limit=200_000,
        )
    top, programs = _programs(res.output)
    if top is None:
        _log.warning("nvcc --dryrun named no toolkit root; the jail may lack the toolkit")
    readable = _readable(binary, top, programs)
    if mode == "off":
        guard = Containment("guard", "the bwrap jail is turned off (NvccConfig.jail = 'off')")
        return NvccSetup(readable, None, guard)
    bwrap = shutil.which("bwrap")
    why = "bwrap (bubblewrap) is not on PATH" if bwrap is None else None
    jail = Jail(bwrap, readable) if bwrap is not None else None
    if jail is not None:
        why = await _probe(jail)
    if why is None and jail is not None:
        return NvccSetup(readable, jail, Containment("jail", jail.describe()))
    guard = Containment("guard", f"{why}; {_INSTALL_BWRAP}")
    refusal = None
    if mode == "bwrap":
        refusal = f"the bwrap jail is required (NvccConfig.jail = 'bwrap') but unusable: {why}"
    return NvccSetup(readable, None, guard, refusal)
