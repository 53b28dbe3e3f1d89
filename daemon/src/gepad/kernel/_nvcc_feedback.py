"""nvcc's output for people and models: ptxas resources per kernel, and short compile feedback.

``-Xptxas -v`` makes ptxas print, per kernel, its registers, spill stores/loads, stack frame,
shared and constant memory, which `parse_ptxas` turns into `KernelResources`; `format_feedback`
keeps what matters of a compile: the first errors, or one line per kernel with its resources
and occupancy.
"""

from __future__ import annotations

import re

from gepad.kernel._occupancy import arch_limits, occupancy
from gepad.kernel._toolchain import CompileResult, KernelResources

__all__ = ["ENTRY", "PROPERTIES", "format_feedback", "parse_ptxas"]

ENTRY = re.compile(r"Compiling entry function '(?P<name>[^']+)' for '(?P<arch>[^']+)'")
PROPERTIES = re.compile(r"Function properties for (?P<name>\S+)")
_FRAME = re.compile(
    r"(?P<stack>\d+) bytes stack frame, (?P<st>\d+) bytes spill stores, "
    r"(?P<ld>\d+) bytes spill loads"
)
_USED = re.compile(r"Used (?P<regs>\d+) registers")
_BARRIERS = re.compile(r"used (?P<n>\d+) barriers")
_SMEM = re.compile(r"(?P<n>\d+) bytes smem")
_CMEM = re.compile(r"(?P<n>\d+) bytes cmem\[\d+\]")


def parse_ptxas(text: str, demangled: dict[str, str] | None = None) -> tuple[KernelResources, ...]:
    """Per-function resources from ``ptxas -v`` output (functions with a "Used" line)."""
    names = demangled or {}
    frames: dict[str, tuple[int, int, int]] = {}
    entries: set[str] = set()
    used: dict[str, str] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if m := ENTRY.search(line):
            current = m["name"]
            entries.add(current)
        elif m := PROPERTIES.search(line):
            current = m["name"]
        elif (m := _FRAME.search(line)) and current is not None:
            frames[current] = (int(m["stack"]), int(m["st"]), int(m["ld"]))
        elif _USED.search(line) and current is not None:
            used[current] = line
    out: list[KernelResources] = []
    for name, line in used.items():
        stack, stores, loads = frames.get(name, (0, 0, 0))
        regs = _USED.search(line)
        barriers = _BARRIERS.search(line)
        smem = _SMEM.search(line)
        out.append(
            KernelResources(
                name=name,
                demangled=names.get(name, name),
                is_entry=name in entries,
                registers=int(regs["regs"]) if regs else 0,
                spill_stores_bytes=stores,
                spill_loads_bytes=loads,
                stack_frame_bytes=stack,
                shared_bytes=int(smem["n"]) if smem else 0,
                constant_bytes=sum(int(c["n"]) for c in _CMEM.finditer(line)),
                barriers=int(barriers["n"]) if barriers else 0,
            )
        )
    return tuple(out)


def _kernel_line(k: KernelResources, block_size: int, arch: str) -> str:
    parts = [
        f"{k.registers} registers",
        f"{k.shared_bytes} B smem",
        f"{k.stack_frame_bytes} B stack",
    ]
    if k.spills:
        parts.append(
            f"SPILLS {k.spill_stores_bytes} B stores / {k.spill_loads_bytes} B loads "
            "to local memory"
        )
    line = f"{k.demangled}: " + ", ".join(parts)
    try:
        arch_limits(arch)
    except ValueError:
        return line + f"; occupancy not computed (no table for {arch})"
    occ = occupancy(
        registers=k.registers, shared_bytes=k.shared_bytes, block_size=block_size, arch=arch
    )
    return line + f"; {occ.describe()}"


def format_feedback(result: CompileResult, *, block_size: int = 256, max_errors: int = 5) -> str:
    """Short compile feedback for a model: the first errors, or per-kernel resources and spills."""
    if result.timed_out:
        head = f"nvcc ({result.target}): compile killed at its time limit"
        return head + ("\n" + result.errors[0].format() if result.errors else "")
    if not result.ok:
        errors = result.errors
        shown = errors[:max_errors]
        lines = [f"nvcc ({result.target}): compile failed with {len(errors)} error(s)"]
        lines += [d.format() for d in shown]
        if len(errors) > len(shown):
            lines.append(f"... {len(errors) - len(shown)} more error(s) not shown")
        if not errors:
            tail = "\n".join(result.log.strip().splitlines()[-5:])
            lines.append(tail or f"(exit status {result.returncode}, no output)")
        return "\n".join(lines)
    lines = [f"nvcc ({result.target}): compiled in {result.duration_s:.1f} s"]
    entries = [k for k in result.kernels if k.is_entry] or list(result.kernels)
    lines += [_kernel_line(k, block_size, result.target) for k in entries]
    if any(k.spills for k in entries):
        lines.append(
            "hint: spills go to slow local memory; keep fewer values live (smaller per-thread "
            "arrays, less unrolling) or allow more registers"
        )
    shown_warnings = [w for w in result.warnings if w.tool != "ptxas"][:max_errors]
    lines += [w.format(with_context=False) for w in shown_warnings]
    return "\n".join(lines)
