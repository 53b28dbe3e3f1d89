"""Kernel-coding mode: real toolchains (nvcc, Peano) as the metric for the `kernel` component.

Compiling and running always happen in sandboxed subprocesses (`run_sandboxed`), never in the
daemon; nvcc runs in a bubblewrap jail where one works (`Containment` says which).
Compile-only feedback needs nvcc and no GPU; correctness and timing need a GPU and torch
(the ``kernel`` extra) and run in a separate harness process. See docs/kernel.md.
"""

from gepad.kernel._diagnostics import Diagnostic, parse_diagnostics
from gepad.kernel._evaluate import KernelEvaluation, evaluate_cuda, kernel_score, speed_term
from gepad.kernel._example import KernelExampleScore, is_kernel_example, score_kernel_example
from gepad.kernel._findings import Finding, StaticReport
from gepad.kernel._gpu import (
    GpuConfig,
    GpuInfo,
    GpuRunner,
    GpuRunResult,
    detect_gpu,
    format_run_feedback,
)
from gepad.kernel._jail import Containment, Jail
from gepad.kernel._npu import (
    NpuConfig,
    PeanoToolchain,
    format_npu_feedback,
    parse_frame_warnings,
    parse_stack_usage,
)
from gepad.kernel._nvcc import EntryPointCheck, NvccConfig, NvccToolchain
from gepad.kernel._nvcc_feedback import format_feedback, parse_ptxas
from gepad.kernel._occupancy import ARCHITECTURES, ArchLimits, Occupancy, arch_limits, occupancy
from gepad.kernel._preprocessed import PreprocessedUnit, parse_preprocessed
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
    ENV_ALLOWED,
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
from gepad.kernel._solve import (
    BUDGET_PRESETS,
    KERNEL_SEED_PROMPT,
    ProblemResult,
    SolveReport,
    extract_source,
    llm_reflector,
    llm_writer,
    parse_budget,
    simulated_reflector,
    simulated_writer,
    solve,
)
from gepad.kernel._static_checks import (
    Verdict,
    check_compiled,
    check_cuda_source,
    check_preprocessed,
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
from gepad.kernel._wrapper_checks import check_python_wrapper

__all__ = [
    "ARCHITECTURES",
    "BUDGET_PRESETS",
    "DEFAULT_TOLERANCE",
    "ENV_ALLOWED",
    "HINTS",
    "KERNEL_SEED_PROMPT",
    "STATEMENTS",
    "ArchLimits",
    "CompileResult",
    "Containment",
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
    "Jail",
    "KernelEvaluation",
    "KernelExampleScore",
    "KernelProblem",
    "KernelResources",
    "Limits",
    "Missing",
    "NpuConfig",
    "NvccConfig",
    "NvccToolchain",
    "Occupancy",
    "PeanoToolchain",
    "PreprocessedUnit",
    "ProblemResult",
    "SandboxResult",
    "SolveReport",
    "StackUsage",
    "Statement",
    "StaticReport",
    "Suggestion",
    "Toolchain",
    "ToolchainInfo",
    "Verdict",
    "WriterChoices",
    "arch_limits",
    "check_compiled",
    "check_cuda_source",
    "check_preprocessed",
    "check_python_wrapper",
    "choices_for",
    "compile_limits",
    "default_env",
    "detect_gpu",
    "evaluate_cuda",
    "extract_source",
    "format_feedback",
    "format_npu_feedback",
    "format_run_feedback",
    "gpu_run_limits",
    "is_kernel_example",
    "judge_speedup",
    "kernel_score",
    "llm_reflector",
    "llm_writer",
    "load_problem",
    "load_problems",
    "occupancy",
    "parse_budget",
    "parse_diagnostics",
    "parse_frame_warnings",
    "parse_preprocessed",
    "parse_problem",
    "parse_ptxas",
    "parse_stack_usage",
    "run_sandboxed",
    "score_kernel_example",
    "shipped_problems",
    "simulated_reflection",
    "simulated_reflector",
    "simulated_writer",
    "solve",
    "speed_term",
    "statements_in",
    "suggest",
    "write_kernel",
]
