"""Kernel-coding mode: real toolchains (nvcc, Peano) as the metric for the `kernel` component.

Compiling and running always happen in sandboxed subprocesses (`run_sandboxed`), never in the
daemon. Compile-only feedback needs nvcc and no GPU; correctness and timing need a GPU and torch
(the ``kernel`` extra) and run in a separate harness process. See docs/kernel.md.
"""

from gepad.kernel._diagnostics import Diagnostic, parse_diagnostics
from gepad.kernel._evaluate import KernelEvaluation, evaluate_cuda, kernel_score, speed_term
from gepad.kernel._gpu import (
    GpuConfig,
    GpuInfo,
    GpuRunner,
    GpuRunResult,
    detect_gpu,
    format_run_feedback,
)
from gepad.kernel._npu import (
    NpuConfig,
    PeanoToolchain,
    format_npu_feedback,
    parse_frame_warnings,
    parse_stack_usage,
)
from gepad.kernel._nvcc import (
    EntryPointCheck,
    NvccConfig,
    NvccToolchain,
    format_feedback,
    parse_ptxas,
)
from gepad.kernel._occupancy import ARCHITECTURES, ArchLimits, Occupancy, arch_limits, occupancy
from gepad.kernel._problems import (
    DEFAULT_TOLERANCE,
    EntryArg,
    EntryPoint,
    KernelProblem,
    load_problem,
    load_problems,
    parse_problem,
    shipped_problems,
)
from gepad.kernel._sandbox import (
    Limits,
    SandboxResult,
    compile_limits,
    default_env,
    gpu_run_limits,
    run_sandboxed,
)
from gepad.kernel._simwriter import (
    HINTS,
    STATEMENTS,
    Hint,
    Statement,
    Suggestion,
    WriterChoices,
    choices_for,
    simulated_reflection,
    statements_in,
    suggest,
    write_kernel,
)
from gepad.kernel._static_checks import (
    Finding,
    StaticReport,
    Verdict,
    check_cuda_source,
    check_python_wrapper,
    judge_speedup,
)
from gepad.kernel._toolchain import (
    CompileResult,
    KernelResources,
    Missing,
    StackUsage,
    Toolchain,
    ToolchainInfo,
)

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_TOLERANCE",
    "HINTS",
    "STATEMENTS",
    "ArchLimits",
    "CompileResult",
    "Diagnostic",
    "EntryArg",
    "EntryPoint",
    "EntryPointCheck",
    "Finding",
    "GpuConfig",
    "GpuInfo",
    "GpuRunResult",
    "GpuRunner",
    "Hint",
    "KernelEvaluation",
    "KernelProblem",
    "KernelResources",
    "Limits",
    "Missing",
    "NpuConfig",
    "NvccConfig",
    "NvccToolchain",
    "Occupancy",
    "PeanoToolchain",
    "SandboxResult",
    "StackUsage",
    "Statement",
    "StaticReport",
    "Suggestion",
    "Toolchain",
    "ToolchainInfo",
    "Verdict",
    "WriterChoices",
    "arch_limits",
    "check_cuda_source",
    "check_python_wrapper",
    "choices_for",
    "compile_limits",
    "default_env",
    "detect_gpu",
    "evaluate_cuda",
    "format_feedback",
    "format_npu_feedback",
    "format_run_feedback",
    "gpu_run_limits",
    "judge_speedup",
    "kernel_score",
    "load_problem",
    "load_problems",
    "occupancy",
    "parse_diagnostics",
    "parse_frame_warnings",
    "parse_problem",
    "parse_ptxas",
    "parse_stack_usage",
    "run_sandboxed",
    "shipped_problems",
    "simulated_reflection",
    "speed_term",
    "statements_in",
    "suggest",
    "write_kernel",
]
