"""Scoring a kernel *example* (the optimizer's `kernel` component) with the toolchain, not a judge.

An example is a kernel example when its component is ``kernel`` or its kind is ``kernel``. Its
fields (docs/kernel.md, "Kernel examples"):

* ``context``: the request, sent to the task model as the user message;
* ``output``: the kernel the assistant wrote before (context for people; not re-scored);
* ``outcome`` (JSON object, every key optional):
  ``problem``: a shipped problem name or a path to a problem TOML: the new kernel is scored
  with `evaluate_cuda` against it, and its brief (reference, launcher prototype) is appended to
  the request; ``diagnostics``: the compiler output the user saw (text or a list of lines),
  quoted in the feedback; ``arch``: the nvcc target (default from the toolchain).

Without a problem the kernel is free-form and scored compile-only:

    score = 0.5 * static + 0.5 * compiled * (1 - 0.2 * spills)

static: `check_cuda_source` passes on the raw text and `check_compiled` on the preprocessed
source (no torch/ATen, no embedded Python, no dlopen, no try/catch, no include from outside);
compiled: nvcc succeeds; spills: some kernel spills registers to local memory. The feedback is
nvcc's parsed errors, or per-kernel registers, spills and occupancy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gepad.errors import KernelProblemError
from gepad.kernel._evaluate import evaluate_cuda
from gepad.kernel._nvcc import NvccToolchain
from gepad.kernel._nvcc_feedback import format_feedback
from gepad.kernel._problems import KernelProblem, load_problem, shipped_problems
from gepad.kernel._static_checks import check_compiled, check_cuda_source
from gepad.kernel._toolchain import Missing

__all__ = ["KERNEL_COMPONENT", "KernelExampleScore", "is_kernel_example", "score_kernel_example"]

KERNEL_COMPONENT = "kernel"
_SPILL_PENALTY = 0.2


def is_kernel_example(component: str, kind: str) -> bool:
    return component == KERNEL_COMPONENT or kind == "kernel"


@dataclass(frozen=True, slots=True)
class KernelExampleScore:
    score: float | None  # None: not scorable here (no nvcc, or the named problem is unusable)
    feedback: str
    problem: str | None


def resolve_example_problem(spec: object) -> KernelProblem:
    """The problem an example's outcome names. Raises KernelProblemError with the reason."""
    if not isinstance(spec, str) or not spec.strip():
        raise KernelProblemError("outcome", "problem", f"must be a problem name, got {spec!r}")
    shipped = {p.name: p for p in shipped_problems()}
    if spec in shipped:
        return shipped[spec]
    path = Path(spec).expanduser()
    if path.is_file():
        return load_problem(path)
    names = ", ".join(sorted(shipped))
    raise KernelProblemError(
        "outcome", "problem", f"{spec!r} is neither a shipped problem ({names}) nor a file"
    )


def request_text(context: str, outcome: Mapping[str, Any]) -> str:
    """The task model's user message: the request, plus the problem's brief when one is named."""
    if "problem" not in outcome:
        return context
    try:
        brief = resolve_example_problem(outcome["problem"]).brief()
    except KernelProblemError:
        return context
    return f"{context.rstrip()}\n\n{brief}" if context.strip() else brief


def _earlier(outcome: Mapping[str, Any]) -> str:
    seen = outcome.get("diagnostics")
    if not seen:
        return ""
    if isinstance(seen, str):
        text = seen
    elif isinstance(seen, list):
        text = "\n".join(map(str, seen))
    else:
        text = json.dumps(seen, ensure_ascii=False)
    return f"Earlier the user's compiler said:\n{text.strip()}\n\n"


async def score_kernel_example(
    source: str, outcome: Mapping[str, Any], *, nvcc: NvccToolchain
) -> KernelExampleScore:
    """Score a newly written kernel for an example with `outcome` (see the module doc)."""
    earlier = _earlier(outcome)
    found = await nvcc.detect()
    if isinstance(found, Missing):
        return KernelExampleScore(None, earlier + found.message, None)
    arch = outcome.get("arch")
    if isinstance(arch, str) and arch != nvcc.config.arch:
        try:
            nvcc = NvccToolchain(replace(nvcc.config, arch=arch))
        except ValueError as exc:
            return KernelExampleScore(None, f"{earlier}example outcome: {exc}", None)
    if "problem" in outcome:
        try:
            problem = resolve_example_problem(outcome["problem"])
        except KernelProblemError as exc:
            return KernelExampleScore(None, f"{earlier}example outcome: {exc}", None)
        ev = await evaluate_cuda(source, problem, nvcc=nvcc)
        return KernelExampleScore(ev.score, earlier + ev.feedback, problem.name)
    static = check_cuda_source(source)
    if not static.ok:
        return KernelExampleScore(0.0, earlier + static.format(), None)
    compiled = await nvcc.compile(source)
    preprocessed = check_compiled(compiled)
    if not preprocessed.ok:
        return KernelExampleScore(0.0, earlier + preprocessed.format(), None)
    feedback = format_feedback(compiled, max_errors=nvcc.config.max_errors)
    score = 0.5
    if compiled.ok:
        spills = any(k.spills for k in compiled.kernels)
        score += 0.5 * (1 - _SPILL_PENALTY * spills)
    return KernelExampleScore(score, earlier + feedback, None)
