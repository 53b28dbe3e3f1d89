"""CUDA through nvcc: compile (no GPU needed), contained, with its preprocessed source kept.

The compile line is ``nvcc -arch=sm_XX -Xptxas -v -Xptxas -warn-spills -Xptxas -warn-lmem-usage``
(ptxas spells the long forms ``--warn-on-spills`` and ``--warn-on-local-memory-usage``; the short
ones are accepted by ptxas 13 and older releases alike); `gepad.kernel._nvcc_feedback` parses
what it prints.

Every compile is contained (docs/kernel.md, "Safety model"):

1. the include rule of the static checks runs first; a kernel that breaks it is not compiled;
2. nvcc runs in the sandbox, inside the bwrap jail where one works (`gepad.kernel._toolkit`);
3. ``--keep`` leaves the preprocessed host and device sources, which the result carries
   (`CompileResult.preprocessed`) for the static checks;
4. under the guard (no jail), a compile that read a file outside the job directory, the
   toolkit and the system directories, or whose diagnostics name one, has its output withheld:
   those lines could hold the file's contents.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from gepad.kernel._diagnostics import Diagnostic, parse_diagnostics
from gepad.kernel._jail import Containment
from gepad.kernel._nvcc_feedback import ENTRY, PROPERTIES, parse_ptxas
from gepad.kernel._preprocessed import PreprocessedUnit, outside, read_kept, under
from gepad.kernel._sandbox import Limits, compile_limits, run_sandboxed
from gepad.kernel._source_scan import include_findings, normalize, split_code
from gepad.kernel._toolchain import CompileResult, KernelResources, Missing, ToolchainInfo
from gepad.kernel._toolkit import JailMode, NvccSetup, nvcc_setup

__all__ = ["EntryPointCheck", "NvccConfig", "NvccToolchain"]

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
    # "auto": the bwrap jail where it works, else the guard; "bwrap": jail or refuse; "off".
    jail: JailMode = "auto"

    def __post_init__(self) -> None:
        if self.jail not in ("auto", "bwrap", "off"):
            raise ValueError(f"NvccConfig.jail must be auto, bwrap or off, got {self.jail!r}")
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


class NvccToolchain:
    """Compile CUDA with nvcc in the sandbox. No GPU is needed for anything here."""

    def __init__(self, config: NvccConfig | None = None) -> None:
        self._config = config or NvccConfig()
        self._setup: NvccSetup | None = None

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

    async def _prepared(self, binary: str) -> NvccSetup:
        if self._setup is None:
            self._setup = await nvcc_setup(binary, self._config.extra_flags, self._config.jail)
            _log.info("nvcc: %s", self._setup.containment.describe())
        return self._setup

    async def containment(self) -> Containment | Missing:
        """Whether compiles run in the bwrap jail or under the guard only, and why."""
        binary = self._binary()
        if binary is None:
            return Missing("nvcc", "no nvcc found", _HOW_TO_INSTALL)
        return (await self._prepared(binary)).containment

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
        refused = include_findings(split_code(normalize(source))[0])
        setup = await self._prepared(binary)
        if refused:
            diagnostics = tuple(
                Diagnostic("error", f.message, file=filename, line=f.line, style="gnu")
                for f in refused
            )
            log = "\n".join(d.headline() for d in diagnostics)
            return _refused(target, argv, "gepad refused to compile:\n" + log, diagnostics)
        if setup.refusal is not None:
            return _refused(target, argv, setup.refusal)
        keep = workdir / _KEEP_DIR
        shutil.rmtree(keep, ignore_errors=True)
        keep.mkdir()
        argv += ["--keep", "--keep-dir", _KEEP_DIR]
        res = await run_sandboxed(
            argv,
            cwd=workdir,
            timeout_s=self._config.timeout_s,
            limits=self._config.limits,
            output_limit=self._config.output_limit,
            jail=setup.jail,
        )
        try:
            units = read_kept(keep, src)
        finally:
            shutil.rmtree(keep, ignore_errors=True)
        log = res.output
        if setup.jail is None and (read := _read_outside(workdir, setup, units, log)):
            artifact.unlink(missing_ok=True)
            return _refused(
                target,
                argv,
                f"gepad: this compile read {read}, outside the job directory, the CUDA toolkit "
                "and the system directories; its output is withheld",
            )
        if res.timed_out:
            log += f"\n[gepad: nvcc killed after {self._config.timeout_s:g} s]"
        demangled = await _demangle(
            [m["name"] for m in ENTRY.finditer(log)] + [m["name"] for m in PROPERTIES.finditer(log)]
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
            preprocessed=units,
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


_KEEP_DIR = ".gepad-nvcc-keep"


def _refused(
    target: str, argv: Sequence[str], log: str, diagnostics: tuple[Diagnostic, ...] = ()
) -> CompileResult:
    """A compile that did not run (or whose output is withheld): not ok, `log` says why."""
    return CompileResult(
        toolchain="nvcc",
        ok=False,
        returncode=126,
        timed_out=False,
        duration_s=0.0,
        command=tuple(argv),
        diagnostics=diagnostics or (Diagnostic("error", log, tool="gepad", style="tool"),),
        log=log,
        target=target,
    )


def _read_outside(
    workdir: Path, setup: NvccSetup, units: Sequence[PreprocessedUnit], log: str
) -> str:
    """The first file outside what a compile may read that it read or reports on, or ''."""
    roots = (*setup.readable, os.path.realpath(workdir))
    read = outside(units, roots)
    if read:
        return read[0]
    for diagnostic in parse_diagnostics(log):
        if diagnostic.file is not None:
            path = os.path.realpath(os.path.join(workdir, diagnostic.file))
            if not under(path, roots):
                return path
    return ""


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
