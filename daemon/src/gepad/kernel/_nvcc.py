"""CUDA through nvcc: compile (no GPU needed), parse errors and ptxas resources, build feedback.

The compile line is ``nvcc -arch=sm_XX -Xptxas -v -Xptxas -warn-spills -Xptxas -warn-lmem-usage``
(ptxas spells the long forms ``--warn-on-spills`` and ``--warn-on-local-memory-usage``; the short
ones are accepted by ptxas 13 and older releases alike). ``-Xptxas -v`` makes ptxas print, per
kernel, its registers, spill stores/loads, stack frame, shared and constant memory, which
`parse_ptxas` turns into `KernelResources`.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from gepad.kernel._diagnostics import parse_diagnostics
from gepad.kernel._occupancy import arch_limits, occupancy
from gepad.kernel._sandbox import Limits, compile_limits, run_sandboxed
from gepad.kernel._toolchain import CompileResult, KernelResources, Missing, ToolchainInfo

__all__ = [
    "EntryPointCheck",
    "NvccConfig",
    "NvccToolchain",
    "format_feedback",
    "parse_ptxas",
]

_log = logging.getLogger(__name__)

OutputKind = Literal["object", "cubin", "ptx", "shared"]
_SUFFIX: dict[str, str] = {"object": ".o", "cubin": ".cubin", "ptx": ".ptx", "shared": ".so"}
_HOW_TO_INSTALL = (
    "install the CUDA Toolkit (https://developer.nvidia.com/cuda-downloads, or the "
    "'cuda-toolkit' package of your distribution) and put nvcc on PATH, or set the nvcc path in "
    "gepad's kernel settings. Compiling needs no GPU."
)


@dataclass(frozen=True, slots=True)
class NvccConfig:
    """How to call nvcc. `nvcc` None means: look it up on PATH."""

    nvcc: str | None = None
    arch: str = "sm_80"
    timeout_s: float = 120.0
    max_errors: int = 5
    block_size: int = 256
    maxrregcount: int | None = None
    extra_flags: tuple[str, ...] = ()
    limits: Limits = field(default_factory=compile_limits)
    output_limit: int = 64_000

    def __post_init__(self) -> None:
        if not re.fullmatch(r"sm_\d+[a-z]?", self.arch):
            raise ValueError(f"NvccConfig.arch must look like sm_80, got {self.arch!r}")
        if self.timeout_s <= 0:
            raise ValueError("NvccConfig.timeout_s must be positive")
        if self.max_errors < 1:
            raise ValueError("NvccConfig.max_errors must be at least 1")
        if self.block_size < 1:
            raise ValueError("NvccConfig.block_size must be at least 1")
        if self.maxrregcount is not None and self.maxrregcount < 1:
            raise ValueError("NvccConfig.maxrregcount must be at least 1")


@dataclass(frozen=True, slots=True)
class EntryPointCheck:
    """Whether an object exports the launcher with C linkage. `ok` None: could not check."""

    name: str
    ok: bool | None
    message: str


_ENTRY = re.compile(r"Compiling entry function '(?P<name>[^']+)' for '(?P<arch>[^']+)'")
_PROPS = re.compile(r"Function properties for (?P<name>\S+)")
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
        if m := _ENTRY.search(line):
            current = m["name"]
            entries.add(current)
        elif m := _PROPS.search(line):
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


class NvccToolchain:
    """Compile CUDA with nvcc in the sandbox. No GPU is needed for anything here."""

    def __init__(self, config: NvccConfig | None = None) -> None:
        self._config = config or NvccConfig()

    @property
    def name(self) -> str:
        return "nvcc"

    @property
    def config(self) -> NvccConfig:
        return self._config

    def _binary(self) -> str | None:
        if self._config.nvcc is not None:
            path = Path(self._config.nvcc)
            return str(path) if path.is_file() else shutil.which(self._config.nvcc)
        return shutil.which("nvcc")

    async def detect(self) -> ToolchainInfo | Missing:
        binary = self._binary()
        if binary is None:
            where = f"configured path {self._config.nvcc!r}" if self._config.nvcc else "PATH"
            return Missing("nvcc", f"no nvcc found on {where}", _HOW_TO_INSTALL)
        res = await run_sandboxed([binary, "--version"], timeout_s=30, output_limit=8000)
        if not res.ok:
            return Missing(
                "nvcc",
                f"{binary} --version failed (exit {res.returncode}): {res.output.strip()[:300]}",
                _HOW_TO_INSTALL,
            )
        m = re.search(r"release (\S+), V(\S+)", res.stdout)
        version = m[2] if m else res.stdout.strip().splitlines()[-1]
        return ToolchainInfo(name="nvcc", path=binary, version=version)

    def command(
        self,
        binary: str,
        source_name: str,
        output_name: str,
        *,
        output: OutputKind = "object",
        arch: str | None = None,
    ) -> list[str]:
        """The nvcc argv for one compile (pure; exposed for tests and for the docs)."""
        cfg = self._config
        argv = [
            binary,
            f"-arch={arch or cfg.arch}",
            "-Xptxas",
            "-v",
            "-Xptxas",
            "-warn-spills",
            "-Xptxas",
            "-warn-lmem-usage",
        ]
        if cfg.maxrregcount is not None:
            argv.append(f"-maxrregcount={cfg.maxrregcount}")
        argv += list(cfg.extra_flags)
        kind_flags: dict[str, list[str]] = {
            "object": ["-c"],
            "cubin": ["-cubin"],
            "ptx": ["-ptx"],
            "shared": ["-O3", "-shared", "-Xcompiler", "-fPIC"],
        }
        argv += kind_flags[output]
        argv += [source_name, "-o", output_name]
        return argv

    async def compile(
        self,
        source: str,
        *,
        workdir: Path | None = None,
        output: OutputKind = "object",
        filename: str = "kernel.cu",
        arch: str | None = None,
    ) -> CompileResult:
        """Compile `source`. The artifact is kept only when `workdir` is given (else None)."""
        if workdir is None:
            with tempfile.TemporaryDirectory(prefix="gepad-nvcc-") as tmp:
                result = await self._compile_in(Path(tmp), source, output, filename, arch)
            return replace(result, artifact=None)
        return await self._compile_in(workdir, source, output, filename, arch)

    async def _compile_in(
        self, workdir: Path, source: str, output: OutputKind, filename: str, arch: str | None
    ) -> CompileResult:
        target = arch or self._config.arch
        binary = self._binary()
        if binary is None:
            missing = Missing("nvcc", "no nvcc found", _HOW_TO_INSTALL)
            return CompileResult(
                toolchain="nvcc",
                ok=False,
                returncode=127,
                timed_out=False,
                duration_s=0.0,
                command=(),
                diagnostics=(),
                log=missing.message,
                target=target,
            )
        src = workdir / filename
        src.write_text(source, encoding="utf-8")
        artifact = workdir / (Path(filename).stem + _SUFFIX[output])
        artifact.unlink(missing_ok=True)  # a stale one must not pass for this compile's output
        argv = self.command(binary, src.name, artifact.name, output=output, arch=target)
        res = await run_sandboxed(
            argv,
            cwd=workdir,
            timeout_s=self._config.timeout_s,
            limits=self._config.limits,
            output_limit=self._config.output_limit,
        )
        log = res.output
        if res.timed_out:
            log += f"\n[gepad: nvcc killed after {self._config.timeout_s:g} s]"
        demangled = await _demangle(
            [m["name"] for m in _ENTRY.finditer(log)] + [m["name"] for m in _PROPS.finditer(log)]
        )
        ok = res.ok and artifact.is_file()
        return CompileResult(
            toolchain="nvcc",
            ok=ok,
            returncode=res.returncode,
            timed_out=res.timed_out,
            duration_s=res.duration_s,
            command=tuple(argv),
            diagnostics=parse_diagnostics(log),
            log=log,
            target=target,
            artifact=artifact if ok else None,
            kernels=parse_ptxas(log, demangled),
        )

    async def check_entry_point(
        self, obj: Path, name: str, *, kernels: Sequence[KernelResources] = ()
    ) -> EntryPointCheck:
        """Does `obj` define `name` as a C-linkage host function (what ctypes will look up)?"""
        if any(k.name == name and k.is_entry for k in kernels):
            return EntryPointCheck(
                name,
                False,
                f"entry point {name} is a __global__ kernel; it must be a host function that "
                f'launches the kernel (extern "C" void {name}(...) {{ kernel<<<grid, block>>>'
                f"(...); }})",
            )
        nm = shutil.which("nm")
        if nm is None:
            return EntryPointCheck(name, None, "nm (binutils) not found: entry point not checked")
        res = await run_sandboxed(
            [nm, "-g", "--defined-only", "-P", str(obj)], timeout_s=30, output_limit=400_000
        )
        if not res.ok:
            return EntryPointCheck(name, None, f"nm failed: {res.output.strip()[:300]}")
        symbols = [ln.split()[0] for ln in res.stdout.splitlines() if ln.split()]
        if name in symbols:
            return EntryPointCheck(name, True, f"entry point {name} is exported with C linkage")
        mangled = [s for s in symbols if s.startswith("_Z") and f"{len(name)}{name}" in s]
        if mangled:
            return EntryPointCheck(
                name,
                False,
                f"entry point {name} not found: the object defines it with C++ linkage "
                f'({mangled[0]}); declare it extern "C" so it can be found by name',
            )
        return EntryPointCheck(
            name,
            False,
            f"entry point {name} not found: the object does not define a function {name}",
        )


async def _demangle(names: Sequence[str]) -> dict[str, str]:
    """Readable names for C++-mangled symbols, via c++filt when it is installed."""
    mangled = sorted({n for n in names if n.startswith("_Z")})
    tool = shutil.which("c++filt")
    if not mangled or tool is None:
        return {}
    try:
        res = await run_sandboxed(
            [tool], timeout_s=10, stdin="\n".join(mangled).encode(), output_limit=200_000
        )
    except (TimeoutError, OSError):  # pragma: no cover - c++filt vanished mid-call
        return {}
    lines = res.stdout.splitlines()
    if not res.ok or len(lines) != len(mangled):
        return {}
    return dict(zip(mangled, lines, strict=True))


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
