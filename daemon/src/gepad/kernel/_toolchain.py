"""The small protocol every kernel toolchain follows: detect, then compile (then run, if it can)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from gepad.kernel._diagnostics import Diagnostic
from gepad.kernel._preprocessed import PreprocessedUnit

__all__ = [
    "CompileResult",
    "KernelResources",
    "Missing",
    "StackUsage",
    "Toolchain",
    "ToolchainInfo",
]


@dataclass(frozen=True, slots=True)
class ToolchainInfo:
    """A toolchain that was found and answered its version query."""

    name: str
    path: str
    version: str
    # Other tools found alongside (e.g. ("aiecc.py", "/opt/.../aiecc.py")).
    extras: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Missing:
    """A toolchain that is not usable here: what is missing, and how to get it."""

    tool: str
    reason: str
    how_to_install: str

    @property
    def message(self) -> str:
        return f"{self.tool} is not available: {self.reason}\nTo install: {self.how_to_install}"


@dataclass(frozen=True, slots=True)
class KernelResources:
    """One GPU function's resources as ptxas reports them (`-Xptxas -v`)."""

    name: str
    demangled: str
    is_entry: bool
    registers: int
    spill_stores_bytes: int
    spill_loads_bytes: int
    stack_frame_bytes: int
    shared_bytes: int
    constant_bytes: int
    barriers: int

    @property
    def spills(self) -> bool:
        return self.spill_stores_bytes > 0 or self.spill_loads_bytes > 0


@dataclass(frozen=True, slots=True)
class StackUsage:
    """One function's stack frame, from `-fstack-usage` or a frame-size warning."""

    function: str
    bytes: int
    qualifier: str = "static"


@dataclass(frozen=True, slots=True)
class CompileResult:
    """The outcome of one compile, parsed. `log` is the (truncated) raw compiler output."""

    toolchain: str
    ok: bool
    returncode: int
    timed_out: bool
    duration_s: float
    command: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]
    log: str
    target: str
    artifact: Path | None = None
    kernels: tuple[KernelResources, ...] = ()
    stack: tuple[StackUsage, ...] = ()
    # The preprocessed passes nvcc kept (host and device), for the static checks.
    preprocessed: tuple[PreprocessedUnit, ...] = ()

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")


@runtime_checkable
class Toolchain(Protocol):
    """A compiler for one kind of kernel. Tools that can also execute add their own `run`."""

    @property
    def name(self) -> str: ...

    async def detect(self) -> ToolchainInfo | Missing: ...

    async def compile(self, source: str, *, workdir: Path | None = None) -> CompileResult: ...
