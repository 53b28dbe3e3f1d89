"""One kernel through every stage: static checks, compile + entry point, GPU run; score + feedback.

Score (in [0, 1]; each stage counts only if the one before passed):

    score = 0.25 * static + 0.25 * compiled + 0.30 * correct + 0.20 * speed

* static:   the anti-cheat checks pass (`check_cuda_source` with the problem's forbid list on
            the raw text, then `check_compiled` on the preprocessed source of each build)
* compiled: nvcc succeeds and the object exports the launcher under its C name (nm)
* correct:  every GPU trial matches the reference at the problem's tolerance
* speed:    clip((log2(speedup) + 1) / 3, 0, 1): 0 at 0.5x, 1/3 at parity, 2/3 at 2x, 1 at 4x;
            a speedup flagged for review (>10x, or not a positive number) gets the parity value
            1/3 until a person has looked at it

Without a GPU the last two terms are 0 and the feedback says correctness was not checked, so on
a CPU-only machine the best score is 0.5 and it means "passes the static checks and compiles".
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from gepad.kernel._findings import StaticReport
from gepad.kernel._gpu import GpuRunner, GpuRunResult, format_run_feedback
from gepad.kernel._nvcc import EntryPointCheck, NvccToolchain
from gepad.kernel._nvcc_feedback import format_feedback
from gepad.kernel._problems import KernelProblem
from gepad.kernel._static_checks import check_compiled, check_cuda_source, judge_speedup
from gepad.kernel._toolchain import CompileResult

__all__ = ["KernelEvaluation", "evaluate_cuda", "kernel_score", "speed_term"]

WEIGHTS = {"static": 0.25, "compiled": 0.25, "correct": 0.30, "speed": 0.20}
# Of the "compiled" weight, what nvcc alone earns before the launcher is found exported: a fix
# that gets past the compiler but not yet the linkage check is progress the search can see.
OBJECT_SHARE = 0.4


def speed_term(speedup: float | None) -> float:
    """The speed part of the score, in [0, 1] (see the module doc)."""
    if speedup is None:
        return 0.0
    if judge_speedup(speedup).flagged:
        return 1.0 / 3.0
    return min(1.0, max(0.0, (math.log2(speedup) + 1.0) / 3.0))


def kernel_score(
    *,
    static_ok: bool,
    compiled: bool,
    correct: bool | None,
    speedup: float | None,
    object_built: bool = False,
) -> float:
    """The staged score; later stages count only when the earlier ones passed.

    `compiled` means nvcc succeeded *and* the launcher is exported; `object_built` alone (nvcc
    succeeded, the launcher is missing) earns part of the compiled weight.
    """
    score = 0.0
    if not static_ok:
        return score
    score += WEIGHTS["static"]
    if not compiled:
        return score + (WEIGHTS["compiled"] * OBJECT_SHARE if object_built else 0.0)
    score += WEIGHTS["compiled"]
    if not correct:
        return score
    score += WEIGHTS["correct"]
    return score + WEIGHTS["speed"] * speed_term(speedup)


@dataclass(frozen=True, slots=True)
class KernelEvaluation:
    problem: str
    static: StaticReport
    compile: CompileResult | None
    entry: EntryPointCheck | None
    run: GpuRunResult | None
    score: float
    feedback: str

    @property
    def static_ok(self) -> bool:
        return self.static.ok

    @property
    def compiled(self) -> bool:
        return (
            self.compile is not None
            and self.compile.ok
            and self.entry is not None
            and self.entry.ok is not False
        )

    @property
    def correct(self) -> bool | None:
        """True/False after a GPU run; None when correctness was not checked."""
        return None if self.run is None else self.run.correct

    @property
    def speedup(self) -> float | None:
        return None if self.run is None else self.run.speedup


async def evaluate_cuda(
    source: str,
    problem: KernelProblem,
    *,
    nvcc: NvccToolchain,
    gpu: GpuRunner | None = None,
    no_gpu_reason: str = "no GPU on this machine",
) -> KernelEvaluation:
    """Run `source` through the stages for `problem` and build its score and feedback."""
    static = check_cuda_source(source, forbid=problem.forbid)
    parts: list[str] = []
    if not static.ok:
        parts.append(static.format())
        return KernelEvaluation(problem.name, static, None, None, None, 0.0, "\n".join(parts))
    with tempfile.TemporaryDirectory(prefix="gepad-eval-") as tmp:
        compiled = await nvcc.compile(source, workdir=Path(tmp))
        preprocessed = check_compiled(compiled, forbid=problem.forbid)
        if not preprocessed.ok:
            return KernelEvaluation(
                problem.name,
                preprocessed,
                replace(compiled, artifact=None),
                None,
                None,
                0.0,
                preprocessed.format(),
            )
        entry: EntryPointCheck | None = None
        parts.append(
            format_feedback(
                compiled, block_size=problem.block_size, max_errors=nvcc.config.max_errors
            )
        )
        if compiled.ok and compiled.artifact is not None:
            entry = await nvcc.check_entry_point(
                compiled.artifact, problem.entry.name, kernels=compiled.kernels
            )
            if entry.ok is not True:
                parts.append(entry.message + f"\nexpected: {problem.prototype()}")
    run: GpuRunResult | None = None
    exported = compiled.ok and entry is not None and entry.ok is not False
    if exported and gpu is not None:
        run = await gpu.run(source, problem)
        if run.static is not None and not run.static.ok:  # the GPU build's own preprocessing
            return KernelEvaluation(
                problem.name,
                run.static,
                replace(compiled, artifact=None),
                entry,
                run,
                0.0,
                run.static.format(),
            )
        parts.append(format_run_feedback(run))
    elif exported:
        parts.append(f"correctness and speed: not checked ({no_gpu_reason})")
    score = kernel_score(
        static_ok=True,
        compiled=exported,
        object_built=compiled.ok,
        correct=None if run is None else run.correct,
        speedup=None if run is None else run.speedup,
    )
    return KernelEvaluation(
        problem=problem.name,
        static=static,
        compile=replace(compiled, artifact=None),
        entry=entry,
        run=run,
        score=score,
        feedback="\n".join(parts),
    )
