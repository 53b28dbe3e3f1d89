"""GPU correctness and timing. The real runs skip, with the reason, where there is no GPU."""

from __future__ import annotations

import asyncio
import ctypes
import importlib.util
import math
from pathlib import Path
from types import ModuleType

import pytest
from gepad_kernel_testing import needs_nvcc

import gepad.kernel as kernel_pkg
from gepad.kernel import (
    STATEMENTS,
    GpuConfig,
    GpuInfo,
    GpuRunner,
    GpuRunResult,
    Limits,
    Missing,
    NvccToolchain,
    detect_gpu,
    evaluate_cuda,
    format_run_feedback,
    kernel_score,
    shipped_problems,
    speed_term,
    write_kernel,
)

FULL = "\n".join(
    f"- {s.text}" for sid, s in STATEMENTS.items() if sid not in ("legacy_sync_advice",)
)


def _harness() -> ModuleType:
    path = Path(kernel_pkg.__file__).with_name("_gpu_harness.py")
    spec = importlib.util.spec_from_file_location("gepad_gpu_harness", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Shaped:
    """Just enough of a tensor for the harness's argument resolution."""

    def __init__(self, *shape: int, ptr: int = 0) -> None:
        self.shape = shape
        self._ptr = ptr

    def numel(self) -> int:
        return math.prod(self.shape)

    def data_ptr(self) -> int:
        return self._ptr


def test_harness_resolves_launcher_arguments_without_torch() -> None:
    harness = _harness()
    tensors = {"a": _Shaped(61, 47, ptr=4096), "out": _Shaped(61, 53, ptr=8192)}
    assert harness.resolve_int("numel(a)", tensors) == 61 * 47
    assert harness.resolve_int("shape(out, -1)", tensors) == 53
    assert harness.resolve_int(" 7 ", tensors) == 7
    with pytest.raises(ValueError, match="bad integer expression"):
        harness.resolve_int("len(a)", tensors)
    args = [
        {"name": "a", "kind": "input"},
        {"name": "out", "kind": "output"},
        {"name": "m", "kind": "int", "value": "shape(a, 0)"},
        {"name": "big", "kind": "int64", "value": "numel(out)"},
        {"name": "eps", "kind": "float", "value": "1e-5"},
    ]
    a, out, m, big, eps = harness.launcher_values(args, tensors)
    assert (a.value, out.value) == (4096, 8192)
    assert isinstance(m, ctypes.c_int) and m.value == 61
    assert isinstance(big, ctypes.c_longlong) and big.value == 61 * 53
    assert isinstance(eps, ctypes.c_float) and abs(eps.value - 1e-5) < 1e-9
    assert harness.median_ms([3.0, 1.0, 2.0]) == 2.0


def test_gpu_config_refuses_an_address_space_limit() -> None:
    with pytest.raises(ValueError, match="address space"):
        GpuConfig(limits=Limits(address_space_bytes=1 << 30))


def test_score_is_staged() -> None:
    assert kernel_score(static_ok=False, compiled=True, correct=True, speedup=4.0) == 0.0
    assert kernel_score(static_ok=True, compiled=False, correct=None, speedup=None) == 0.25
    assert kernel_score(static_ok=True, compiled=True, correct=None, speedup=None) == 0.5
    assert kernel_score(static_ok=True, compiled=True, correct=False, speedup=9.0) == 0.5
    assert kernel_score(static_ok=True, compiled=True, correct=True, speedup=4.0) == 1.0
    assert speed_term(0.5) == 0.0 and speed_term(8.0) == 1.0
    assert math.isclose(speed_term(1.0), 1 / 3) and math.isclose(speed_term(2.0), 2 / 3)
    # A suspicious speedup earns only the parity value until someone reviews it.
    assert math.isclose(speed_term(150.0), 1 / 3)


def test_run_feedback_reads_the_verdict() -> None:
    ok = GpuRunResult(
        True,
        "done",
        "correct in all trials",
        trials=3,
        trials_passed=3,
        max_abs_error=1e-6,
        kernel_ms=0.01,
        reference_ms=0.2,
        speedup=20.0,
        device="GPU X",
    )
    text = format_run_feedback(ok)
    assert "correct in 3/3 trials" in text and "flagged for review" in text
    bad = GpuRunResult(False, "compare", "trial 1: wrong values (mismatch) at 3 of 16 positions")
    assert "failed at compare: trial 1: wrong values (mismatch)" in format_run_feedback(bad)


async def _gpu_or_skip() -> GpuInfo:
    info = await detect_gpu()
    if isinstance(info, Missing):
        pytest.skip(f"no GPU run possible here: {info.tool}: {info.reason}")
    return info


async def test_detect_gpu_answers_either_way() -> None:
    info = await detect_gpu()
    if isinstance(info, Missing):
        assert info.reason and info.how_to_install
    else:
        assert info.arch.startswith("sm_") and info.torch_version


@needs_nvcc
async def test_shipped_problems_are_correct_on_a_gpu() -> None:
    info = await _gpu_or_skip()
    runner = GpuRunner(info, GpuConfig(trials=3, warmup=3, iters=10))
    nvcc = NvccToolchain()
    for problem in shipped_problems():
        evaluation = await evaluate_cuda(
            write_kernel(FULL, problem), problem, nvcc=nvcc, gpu=runner
        )
        run = evaluation.run
        assert run is not None, evaluation.feedback
        assert run.correct, evaluation.feedback
        assert run.kernel_ms is not None and run.kernel_ms > 0
        assert run.speedup is not None and run.speedup > 0
        assert evaluation.score >= 0.8


@needs_nvcc
async def test_missing_bounds_checks_fail_on_a_gpu() -> None:
    info = await _gpu_or_skip()
    runner = GpuRunner(info, GpuConfig(trials=2, warmup=1, iters=2))
    problem = {p.name: p for p in shipped_problems()}["sum_rows"]
    unguarded = FULL.replace(STATEMENTS["bounds_check"].text, "")
    run = await runner.run(write_kernel(unguarded, problem), problem)
    assert not run.correct
    assert run.stage in ("run", "compare")


@needs_nvcc
async def test_a_hanging_kernel_is_killed_at_its_timeout() -> None:
    info = await _gpu_or_skip()
    problem = {p.name: p for p in shipped_problems()}["relu"]
    spin = (
        "__global__ void spin(volatile int* flag) { while (*flag == *flag) { } }\n"
        'extern "C" void launch_relu(const float* x, float* out, int n) {\n'
        "    spin<<<1, 1>>>((volatile int*)out);\n"
        "    cudaDeviceSynchronize();\n}\n"
    )
    runner = GpuRunner(info, GpuConfig(trials=1, timeout_s=20))
    run = await asyncio.wait_for(runner.run(spin, problem), timeout=120)
    assert not run.ok and run.timed_out


@needs_nvcc
async def test_runner_plumbing_up_to_the_missing_gpu() -> None:
    """Real nvcc builds the .so and the real harness process runs; it stops where CUDA starts."""
    problem = {p.name: p for p in shipped_problems()}["relu"]
    fake_info = GpuInfo(name="none", compute_capability="8.0", arch="sm_80", torch_version="")
    info = await detect_gpu()
    if not isinstance(info, Missing):
        pytest.skip("a GPU is present; the real-GPU tests cover this path")
    run = await GpuRunner(fake_info, GpuConfig(timeout_s=60)).run(
        write_kernel(FULL, problem), problem
    )
    assert run.build is not None and run.build.ok, run.message
    assert "-shared" in run.build.command and "-arch=sm_80" in run.build.command
    assert not run.ok and run.stage == "setup"
    assert "torch is not importable" in run.message or "torch sees no CUDA device" in run.message
    assert "failed at setup" in format_run_feedback(run)


def test_an_object_without_its_launcher_earns_part_of_the_compiled_weight() -> None:
    plain = kernel_score(static_ok=True, compiled=False, correct=None, speedup=None)
    built = kernel_score(
        static_ok=True, compiled=False, correct=None, speedup=None, object_built=True
    )
    linked = kernel_score(static_ok=True, compiled=True, correct=None, speedup=None)
    assert plain < built < linked
