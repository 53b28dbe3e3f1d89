"""AMD XDNA NPU kernels (as in NPUEval): compile-only feedback from Peano, plus aiecc.py if present.

Peano is AMD's LLVM for the AI Engine (github.com/Xilinx/llvm-aie). A kernel is compiled the way
the mlir-aie examples do it::

    clang++ -O2 -std=c++20 --target=aie2-none-unknown-elf -Wno-parentheses -Wno-attributes
            -Wno-macro-redefined -Wno-empty-body -DNDEBUG [-I <mlir-aie>/include]
            -c kernel.cc -o kernel.o

(``aie2p-none-unknown-elf`` for the NPU2 parts). gepad adds ``-fstack-usage`` (a ``.su`` file
with each function's frame) and ``-Wframe-larger-than=<limit>``: an AIE core's stack is small
(mlir-aie's default is 1 KiB), so the frame size is part of the feedback.

Nothing here has run on real NPU hardware or a real Peano install: the tools are not on any
registry reachable from gepad's build machines. Command construction and output parsing are
tested against a test double that prints clang-format diagnostics.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from gepad.kernel._diagnostics import parse_diagnostics
from gepad.kernel._sandbox import Limits, compile_limits, default_env, run_sandboxed
from gepad.kernel._toolchain import CompileResult, Missing, StackUsage, ToolchainInfo

__all__ = [
    "NpuConfig",
    "PeanoToolchain",
    "format_npu_feedback",
    "parse_frame_warnings",
    "parse_stack_usage",
]

NpuTarget = Literal["aie2", "aie2p"]
_HOW_TO_INSTALL = (
    "install Peano (LLVM for AI Engines, github.com/Xilinx/llvm-aie), e.g. "
    "`python -m pip install llvm-aie -f "
    "https://github.com/Xilinx/llvm-aie/releases/expanded_assets/nightly`, then set gepad's "
    "npu peano_dir to the install folder (the one holding bin/clang++; $PEANO_INSTALL_DIR in the "
    "mlir-aie docs) or put its bin/ first on PATH. For aiecc.py and the AIE API headers install "
    "mlir-aie (github.com/Xilinx/mlir-aie, pip wheels listed in its README). Running kernels "
    "additionally needs a Ryzen AI NPU with the amdxdna driver and XRT."
)
_FRAME_WARNING = re.compile(
    r"stack frame size \((?P<size>\d+)\) exceeds limit \((?P<limit>\d+)\) in (?:function )?"
    r"'(?P<func>[^']+)'"
)


@dataclass(frozen=True, slots=True)
class NpuConfig:
    """Where Peano lives and how to call it. Detection: `peano_dir` first, then PATH."""

    target: NpuTarget = "aie2"
    peano_dir: Path | None = None
    aiecc: str | None = None
    include_dirs: tuple[Path, ...] = ()
    search_path: str | None = None  # PATH to search; None means the process's PATH
    opt_level: str = "-O2"
    std: str = "c++20"
    stack_limit_bytes: int = 1024
    timeout_s: float = 120.0
    max_errors: int = 5
    limits: Limits = field(default_factory=compile_limits)

    def __post_init__(self) -> None:
        if self.target not in ("aie2", "aie2p"):
            raise ValueError(f"NpuConfig.target must be aie2 or aie2p, got {self.target!r}")
        if self.stack_limit_bytes < 1:
            raise ValueError("NpuConfig.stack_limit_bytes must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: object) -> NpuConfig:
        """A config that honours $PEANO_INSTALL_DIR, the variable the mlir-aie docs use."""
        peano = env.get("PEANO_INSTALL_DIR")
        fields: dict[str, object] = {"peano_dir": Path(peano) if peano else None}
        fields.update(overrides)
        return cls(**fields)  # type: ignore[arg-type]


def parse_stack_usage(text: str) -> tuple[StackUsage, ...]:
    """Entries of a clang ``.su`` file: ``file:line:col:function<TAB>bytes<TAB>qualifier``."""
    out: list[StackUsage] = []
    for line in text.splitlines():
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 2 or not parts[1].strip().isdigit():
            continue
        location = parts[0]
        # The function follows the third colon (file:line:col:function); C++ names have colons.
        pieces = location.split(":", 3)
        function = pieces[3] if len(pieces) == 4 else location
        qualifier = parts[2].strip() if len(parts) > 2 else "static"
        out.append(StackUsage(function=function, bytes=int(parts[1]), qualifier=qualifier))
    return tuple(out)


def parse_frame_warnings(text: str) -> tuple[StackUsage, ...]:
    """Frames reported by ``-Wframe-larger-than`` warnings."""
    return tuple(
        StackUsage(function=m["func"], bytes=int(m["size"]), qualifier="static")
        for m in _FRAME_WARNING.finditer(text)
    )


class PeanoToolchain:
    """Compile AIE kernels with Peano's clang++ in the sandbox (compile-only feedback)."""

    def __init__(self, config: NpuConfig | None = None) -> None:
        self._config = config or NpuConfig()
        # The tool found by the last successful detect(), reused by compile().
        self._found: ToolchainInfo | None = None

    @property
    def name(self) -> str:
        return "peano"

    @property
    def config(self) -> NpuConfig:
        return self._config

    def _candidates(self) -> list[tuple[str, str]]:
        """(path, how it was found) for each clang++ worth asking, in order."""
        found: list[tuple[str, str]] = []
        if self._config.peano_dir is not None:
            path = self._config.peano_dir / "bin" / "clang++"
            if path.is_file():
                found.append((str(path), f"peano_dir {self._config.peano_dir}"))
        on_path = shutil.which("clang++", path=self._config.search_path)
        if on_path is not None and all(on_path != p for p, _ in found):
            found.append((on_path, "PATH"))
        return found

    def _aiecc(self) -> str | None:
        if self._config.aiecc is not None:
            return self._config.aiecc if Path(self._config.aiecc).is_file() else None
        return shutil.which("aiecc.py", path=self._config.search_path)

    async def _probe(self, clangxx: str) -> tuple[bool, str]:
        """(supports our target, version or the reason it does not)."""
        targets = await run_sandboxed(
            [clangxx, "-print-targets"], timeout_s=30, output_limit=20_000
        )
        if not targets.ok:
            return False, f"{clangxx} -print-targets failed (exit {targets.returncode})"
        names = {
            ln.split()[0] for ln in targets.stdout.splitlines() if ln.strip() and ln.startswith(" ")
        }
        if self._config.target not in names:
            return False, f"{clangxx} has no {self._config.target} target (not Peano?)"
        version = await run_sandboxed([clangxx, "--version"], timeout_s=30, output_limit=8000)
        first = version.stdout.strip().splitlines()[0] if version.stdout.strip() else "unknown"
        return True, first

    async def detect(self) -> ToolchainInfo | Missing:
        tried: list[str] = []
        for path, how in self._candidates():
            ok, detail = await self._probe(path)
            if ok:
                aiecc = self._aiecc()
                extras = (("aiecc.py", aiecc),) if aiecc else ()
                self._found = ToolchainInfo(name="peano", path=path, version=detail, extras=extras)
                return self._found
            tried.append(f"{path} (via {how}): {detail}")
        where = (
            "; ".join(tried)
            if tried
            else (
                "no clang++ in the configured peano_dir "
                f"({self._config.peano_dir or 'unset'}) or on PATH"
            )
        )
        return Missing(
            f"Peano clang++ for --target={self._config.target}-none-unknown-elf",
            where,
            _HOW_TO_INSTALL,
        )

    def command(self, clangxx: str, source_name: str, output_name: str) -> list[str]:
        """The clang++ argv for one kernel (pure; exposed for tests and for the docs)."""
        cfg = self._config
        argv = [
            clangxx,
            cfg.opt_level,
            f"-std={cfg.std}",
            f"--target={cfg.target}-none-unknown-elf",
            "-Wno-parentheses",
            "-Wno-attributes",
            "-Wno-macro-redefined",
            "-Wno-empty-body",
            "-DNDEBUG",
            "-fstack-usage",
            f"-Wframe-larger-than={cfg.stack_limit_bytes}",
        ]
        for inc in cfg.include_dirs:
            argv += ["-I", str(inc)]
        argv += ["-c", source_name, "-o", output_name]
        return argv

    def aiecc_command(
        self, aiecc: str, design: str, *, xclbin: str = "final.xclbin", insts: str = "insts.bin"
    ) -> list[str]:
        """aiecc.py for a design (an MLIR file placing the kernel), Peano only, no host code."""
        return [
            aiecc,
            "--aie-generate-xclbin",
            "--no-compile-host",
            f"--xclbin-name={xclbin}",
            "--no-xchesscc",
            "--no-xbridge",
            "--aie-generate-npu-insts",
            f"--npu-insts-name={insts}",
            design,
        ]

    async def compile(
        self, source: str, *, workdir: Path | None = None, filename: str = "kernel.cc"
    ) -> CompileResult:
        if workdir is None:
            with tempfile.TemporaryDirectory(prefix="gepad-peano-") as tmp:
                result = await self._compile_in(Path(tmp), source, filename)
            return replace(result, artifact=None)
        return await self._compile_in(workdir, source, filename)

    async def build_design(
        self, kernel_source: str, design_mlir: str, *, workdir: Path
    ) -> CompileResult:
        """Compile the kernel, then run aiecc.py on an MLIR design that places it (no host code).

        Returns the kernel's CompileResult if that fails; otherwise aiecc's, with the xclbin as
        the artifact. aiecc.py missing gives returncode 127 and the install message.
        """
        kernel = await self.compile(kernel_source, workdir=workdir)
        if not kernel.ok:
            return kernel
        target = f"{self._config.target}-none-unknown-elf"
        aiecc = self._aiecc()
        if aiecc is None:
            missing = Missing(
                "aiecc.py (mlir-aie)", "not found on PATH or in config", _HOW_TO_INSTALL
            )
            return CompileResult(
                toolchain="aiecc",
                ok=False,
                returncode=127,
                timed_out=False,
                duration_s=0.0,
                command=(),
                diagnostics=(),
                log=missing.message,
                target=target,
            )
        (workdir / "aie.mlir").write_text(design_mlir, encoding="utf-8")
        xclbin = workdir / "final.xclbin"
        xclbin.unlink(missing_ok=True)  # a stale one must not pass for this build's output
        argv = self.aiecc_command(aiecc, "aie.mlir")
        env = default_env()
        if self._config.peano_dir is not None:
            env["PEANO_INSTALL_DIR"] = str(self._config.peano_dir)
        res = await run_sandboxed(
            argv, cwd=workdir, timeout_s=self._config.timeout_s, limits=self._config.limits, env=env
        )
        ok = res.ok and xclbin.is_file()
        return CompileResult(
            toolchain="aiecc",
            ok=ok,
            returncode=res.returncode,
            timed_out=res.timed_out,
            duration_s=res.duration_s,
            command=tuple(argv),
            diagnostics=parse_diagnostics(res.output),
            log=res.output,
            target=target,
            artifact=xclbin if ok else None,
            stack=kernel.stack,
        )

    async def _compile_in(self, workdir: Path, source: str, filename: str) -> CompileResult:
        target = f"{self._config.target}-none-unknown-elf"
        detected = self._found or await self.detect()
        if isinstance(detected, Missing):
            return CompileResult(
                toolchain="peano",
                ok=False,
                returncode=127,
                timed_out=False,
                duration_s=0.0,
                command=(),
                diagnostics=(),
                log=detected.message,
                target=target,
            )
        src = workdir / filename
        src.write_text(source, encoding="utf-8")
        obj = workdir / (Path(filename).stem + ".o")
        obj.unlink(missing_ok=True)
        obj.with_suffix(".su").unlink(missing_ok=True)
        argv = self.command(detected.path, src.name, obj.name)
        env = default_env()
        if self._config.peano_dir is not None:
            env["PEANO_INSTALL_DIR"] = str(self._config.peano_dir)
        res = await run_sandboxed(
            argv, cwd=workdir, timeout_s=self._config.timeout_s, limits=self._config.limits, env=env
        )
        log = res.output
        su = obj.with_suffix(".su")
        stack = (
            parse_stack_usage(su.read_text(encoding="utf-8", errors="replace"))
            if su.is_file()
            else ()
        )
        # A warning names the bare function; the .su file the full signature of the same one.
        known = [s.function for s in stack]
        stack += tuple(
            s
            for s in parse_frame_warnings(log)
            if not any(
                k == s.function or re.search(rf"\b{re.escape(s.function)}\(", k) for k in known
            )
        )
        ok = res.ok and obj.is_file()
        return CompileResult(
            toolchain="peano",
            ok=ok,
            returncode=res.returncode,
            timed_out=res.timed_out,
            duration_s=res.duration_s,
            command=tuple(argv),
            diagnostics=parse_diagnostics(log),
            log=log,
            target=target,
            artifact=obj if ok else None,
            stack=stack,
        )


def format_npu_feedback(
    result: CompileResult, *, stack_limit_bytes: int = 1024, max_errors: int = 5
) -> str:
    """Short Peano feedback: the first errors, or each function's stack frame against the limit."""
    if result.returncode == 127 and not result.command:
        return result.log
    if result.timed_out:
        return f"Peano ({result.target}): compile killed at its time limit"
    if not result.ok:
        errors = result.errors
        lines = [f"Peano ({result.target}): compile failed with {len(errors)} error(s)"]
        lines += [d.format() for d in errors[:max_errors]]
        if len(errors) > max_errors:
            lines.append(f"... {len(errors) - max_errors} more error(s) not shown")
        if not errors:
            lines.append("\n".join(result.log.strip().splitlines()[-5:]))
        return "\n".join(lines)
    lines = [f"Peano ({result.target}): compiled in {result.duration_s:.1f} s"]
    for s in sorted(result.stack, key=lambda s: -s.bytes):
        over = " - EXCEEDS the stack limit" if s.bytes > stack_limit_bytes else ""
        lines.append(f"{s.function}: {s.bytes} B stack ({s.qualifier}){over}")
    if any(s.bytes > stack_limit_bytes for s in result.stack):
        lines.append(
            f"hint: an AIE core has a {stack_limit_bytes} B stack; move large local arrays to "
            "the kernel's input/output buffers or shrink them"
        )
    lines += [w.format(with_context=False) for w in result.warnings[:max_errors]]
    return "\n".join(lines)
