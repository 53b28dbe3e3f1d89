"""Correctness and timing on a real GPU, only when one is present.

`detect_gpu` asks ``nvidia-smi`` for the device and a separate Python process whether torch
(the ``kernel`` extra) sees CUDA; the daemon itself never imports torch or touches the driver.
`GpuRunner.run` builds the kernel as a shared library with nvcc for the detected architecture,
then starts `_gpu_harness.py` in the sandbox (own session, timeout kills the group, no
address-space limit since the CUDA driver reserves huge virtual ranges). The harness loads the
library with ctypes, checks several trials with fresh inputs and a NaN-poisoned output buffer,
and times kernel and reference with CUDA events.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gepad.kernel._findings import StaticReport
from gepad.kernel._nvcc import NvccConfig, NvccToolchain
from gepad.kernel._nvcc_feedback import format_feedback
from gepad.kernel._problems import KernelProblem
from gepad.kernel._sandbox import Limits, gpu_run_limits, run_sandboxed
from gepad.kernel._static_checks import Verdict, check_compiled, judge_speedup
from gepad.kernel._toolchain import CompileResult, Missing

__all__ = ["GpuConfig", "GpuInfo", "GpuRunResult", "GpuRunner", "detect_gpu", "format_run_feedback"]

_log = logging.getLogger(__name__)
_HARNESS = Path(__file__).with_name("_gpu_harness.py")
_TORCH_PROBE = (
    "import json, torch; "
    "print(json.dumps({'version': torch.__version__, 'cuda': torch.cuda.is_available()}))"
)
_INSTALL_TORCH = (
    "install the kernel extra with a CUDA build of PyTorch: pip install 'gepad[kernel]' "
    "(see https://pytorch.org/get-started/locally/ for the CUDA wheel index)"
)


@dataclass(frozen=True, slots=True)
class GpuConfig:
    """How GPU runs are done. `python` must be an interpreter that has torch installed."""

    nvcc: NvccConfig = field(default_factory=NvccConfig)
    python: str = sys.executable
    trials: int = 3
    warmup: int = 5
    iters: int = 20
    seed: int = 0
    timeout_s: float = 300.0
    limits: Limits = field(default_factory=gpu_run_limits)

    def __post_init__(self) -> None:
        if self.trials < 1 or self.iters < 1 or self.warmup < 0:
            raise ValueError("GpuConfig needs trials >= 1, iters >= 1 and warmup >= 0")
        if self.limits.address_space_bytes is not None:
            raise ValueError(
                "GpuConfig.limits must not cap the address space (CUDA maps huge ranges)"
            )


@dataclass(frozen=True, slots=True)
class GpuInfo:
    name: str
    compute_capability: str
    arch: str
    torch_version: str


@dataclass(frozen=True, slots=True)
class GpuRunResult:
    """A GPU run. `stage` says how far it got: static, build, setup, load, run, compare, timing,
    done. `static` is the check of the GPU build's own preprocessed source (stage "static" when
    it rejected the kernel, which is then never loaded)."""

    ok: bool
    stage: str
    message: str
    trials: int = 0
    trials_passed: int = 0
    max_abs_error: float | None = None
    kernel_ms: float | None = None
    reference_ms: float | None = None
    speedup: float | None = None
    device: str = ""
    timed_out: bool = False
    build: CompileResult | None = None
    static: StaticReport | None = None

    @property
    def correct(self) -> bool:
        return self.trials > 0 and self.trials_passed == self.trials

    @property
    def verdict(self) -> Verdict | None:
        return judge_speedup(self.speedup) if self.speedup is not None else None


async def detect_gpu(config: GpuConfig | None = None) -> GpuInfo | Missing:
    """The first GPU and a torch that sees it, or what is missing."""
    cfg = config or GpuConfig()
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return Missing(
            "GPU",
            "nvidia-smi is not on PATH, so no NVIDIA GPU and driver are visible",
            "run on a machine with an NVIDIA GPU and its driver; compile-only feedback works "
            "without one",
        )
    res = await run_sandboxed(
        [smi, "--query-gpu=name,compute_cap", "--format=csv,noheader"], timeout_s=30
    )
    first = res.stdout.strip().splitlines()[0] if res.ok and res.stdout.strip() else ""
    m = re.fullmatch(r"(?P<name>.+?),\s*(?P<major>\d+)\.(?P<minor>\d+)", first.strip())
    if m is None:
        return Missing(
            "GPU",
            f"nvidia-smi found no usable GPU (exit {res.returncode}): {res.output.strip()[:300]}",
            "check the NVIDIA driver (nvidia-smi -L should list the GPU)",
        )
    probe = await run_sandboxed([cfg.python, "-I", "-c", _TORCH_PROBE], timeout_s=120)
    try:
        torch_info = json.loads(probe.stdout.strip().splitlines()[-1]) if probe.ok else None
    except (json.JSONDecodeError, IndexError):
        torch_info = None
    if not torch_info:
        return Missing(
            "torch",
            f"{cfg.python} cannot import torch: {probe.output.strip()[-300:]}",
            _INSTALL_TORCH,
        )
    if not torch_info.get("cuda"):
        return Missing(
            "torch",
            f"torch {torch_info.get('version')} does not see CUDA (a CPU-only build?)",
            _INSTALL_TORCH,
        )
    return GpuInfo(
        name=m["name"],
        compute_capability=f"{m['major']}.{m['minor']}",
        arch=f"sm_{m['major']}{m['minor']}",
        torch_version=str(torch_info.get("version")),
    )


def _result_from(payload: dict[str, Any], timed_out: bool) -> GpuRunResult:
    def num(key: str) -> float | None:
        value = payload.get(key)
        return float(value) if isinstance(value, int | float) else None

    ok = bool(payload.get("ok"))
    message = payload.get("error") or ("correct in all trials" if ok else "failed")
    return GpuRunResult(
        ok=ok,
        stage=str(payload.get("stage", "harness")),
        message=str(message),
        trials=int(payload.get("trials", 0)),
        trials_passed=int(payload.get("trials_passed", 0)),
        max_abs_error=num("max_abs_error"),
        kernel_ms=num("kernel_ms"),
        reference_ms=num("reference_ms"),
        speedup=num("speedup"),
        device=str(payload.get("device", "")),
        timed_out=timed_out,
    )


class GpuRunner:
    """Build and run kernels on the GPU described by `info` (from `detect_gpu`)."""

    def __init__(self, info: GpuInfo, config: GpuConfig | None = None) -> None:
        self._info = info
        self._config = config or GpuConfig()
        self._nvcc = NvccToolchain(self._config.nvcc)

    @property
    def info(self) -> GpuInfo:
        return self._info

    async def run(self, source: str, problem: KernelProblem) -> GpuRunResult:
        cfg = self._config
        with tempfile.TemporaryDirectory(prefix="gepad-gpu-") as tmp:
            work = Path(tmp)
            build = await self._nvcc.compile(
                source, workdir=work, output="shared", arch=self._info.arch
            )
            if not build.ok or build.artifact is None:
                return GpuRunResult(False, "build", format_feedback(build), build=build)
            static = check_compiled(build, forbid=problem.forbid)
            if not static.ok:
                return GpuRunResult(False, "static", static.format(), build=build, static=static)
            spec = {
                "library": str(build.artifact),
                "entry": problem.entry.name,
                "args": [
                    {"name": a.name, "kind": a.kind, "index": a.index, "value": a.value}
                    for a in problem.entry.args
                ],
                "reference": problem.reference,
                "dtype": problem.dtype,
                "atol": problem.atol,
                "rtol": problem.rtol,
                "trials": cfg.trials,
                "warmup": cfg.warmup,
                "iters": cfg.iters,
                "seed": cfg.seed,
                "result_path": str(work / "result.json"),
            }
            (work / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
            res = await run_sandboxed(
                [cfg.python, "-I", str(_HARNESS), str(work / "spec.json")],
                cwd=work,
                timeout_s=cfg.timeout_s,
                limits=cfg.limits,
            )
            result_file = work / "result.json"
            if result_file.is_file():
                try:
                    payload = json.loads(result_file.read_text(encoding="utf-8"))
                except json.JSONDecodeError as exc:
                    payload = {"ok": False, "stage": "harness", "error": f"bad result file: {exc}"}
                result = _result_from(payload, res.timed_out)
            else:
                why = (
                    f"killed at the {cfg.timeout_s:g} s limit"
                    if res.timed_out
                    else f"harness died (exit {res.returncode})"
                )
                tail = "\n".join(res.output.strip().splitlines()[-8:])
                result = GpuRunResult(
                    False, "crash", f"{why}\n{tail}".strip(), timed_out=res.timed_out
                )
            return GpuRunResult(
                ok=result.ok,
                stage=result.stage,
                message=result.message,
                trials=result.trials,
                trials_passed=result.trials_passed,
                max_abs_error=result.max_abs_error,
                kernel_ms=result.kernel_ms,
                reference_ms=result.reference_ms,
                speedup=result.speedup,
                device=result.device or self._info.name,
                timed_out=result.timed_out,
                build=build,
                static=static,
            )


def format_run_feedback(result: GpuRunResult) -> str:
    """Short GPU feedback: what failed, or the correctness and the timing verdict."""
    if result.stage == "build":
        return result.message
    if not result.ok:
        return f"GPU run ({result.device or 'GPU'}) failed at {result.stage}: {result.message}"
    lines = [
        f"GPU run ({result.device}): correct in {result.trials_passed}/{result.trials} trials "
        f"(max abs error {result.max_abs_error or 0.0:.2g})"
    ]
    if result.kernel_ms is not None and result.reference_ms is not None:
        lines.append(
            f"time: kernel {result.kernel_ms:.4f} ms, reference {result.reference_ms:.4f} ms "
            f"(median of CUDA-event timings)"
        )
    if result.verdict is not None:
        lines.append(result.verdict.message)
    return "\n".join(lines)
