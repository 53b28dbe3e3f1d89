"""`gepad kernel solve|eval`: test-time kernel search, and one kernel file through the toolchain.

Neither needs the daemon: both run the toolchains (sandboxed subprocesses) from this process.
Heavy imports (the engine, the kernel package, the LLM client) happen inside the handlers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gepad.cli._errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CliError
from gepad.cli._output import err, out, print_json, table

if TYPE_CHECKING:
    from gepad.kernel import GpuRunner, KernelProblem, NvccToolchain

__all__ = ["resolve_problem", "run"]


def run(args: argparse.Namespace) -> int:
    if args.kernel_action == "solve":
        return asyncio.run(_solve(args))
    return asyncio.run(_eval(args))


def resolve_problem(spec: str) -> KernelProblem:
    """A shipped problem by name, or a problem TOML file by path."""
    from gepad.errors import KernelProblemError
    from gepad.kernel import load_problem, shipped_problems

    shipped = {p.name: p for p in shipped_problems()}
    if spec in shipped:
        return shipped[spec]
    path = Path(spec)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise CliError(f"problem file not found: {spec}", EXIT_USAGE)
        try:
            return load_problem(path)
        except KernelProblemError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    names = ", ".join(sorted(shipped))
    raise CliError(
        f"unknown problem {spec!r}: give a shipped problem ({names}) or a path to a problem TOML",
        EXIT_USAGE,
    )


async def _toolchains(args: argparse.Namespace) -> tuple[NvccToolchain, GpuRunner | None]:
    from gepad.kernel import GpuConfig, GpuInfo, GpuRunner, Missing, NvccConfig, NvccToolchain

    try:
        config = NvccConfig(arch=args.arch)
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    nvcc = NvccToolchain(config)
    found = await nvcc.detect()
    if isinstance(found, Missing):
        raise CliError(found.message, EXIT_FAILURE)
    containment = await nvcc.containment()
    if not isinstance(containment, Missing):
        err(f"compiles run under: {containment.describe()}")
    if args.no_gpu:
        return nvcc, None
    from gepad.kernel import detect_gpu

    gpu_config = GpuConfig(nvcc=config)
    gpu = await detect_gpu(gpu_config)
    if isinstance(gpu, GpuInfo):
        err(f"GPU: {gpu.name} ({gpu.arch}, torch {gpu.torch_version}); correctness is checked")
        return nvcc, GpuRunner(gpu, gpu_config)
    err(f"no GPU run: {gpu.tool}: {gpu.reason}; compile-only feedback", prefix=True)
    return nvcc, None


def _yes_no(value: bool | None) -> str:
    return "not run" if value is None else ("yes" if value else "no")


def _speedup(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


# ---- eval ------------------------------------------------------------------------------------


async def _eval(args: argparse.Namespace) -> int:
    from gepad.kernel import evaluate_cuda

    problem = resolve_problem(args.problem)
    path = Path(args.file)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"kernel file not found: {path}", EXIT_USAGE) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}", EXIT_USAGE) from None
    nvcc, gpu = await _toolchains(args)
    ev = await evaluate_cuda(source, problem, nvcc=nvcc, gpu=gpu)
    passed = ev.static_ok and ev.compiled and ev.correct is not False
    if args.json:
        print_json(
            {
                "file": str(path),
                "problem": problem.name,
                "score": round(ev.score, 4),
                "static_ok": ev.static_ok,
                "compiled": ev.compiled,
                "correct": ev.correct,
                "speedup": ev.speedup,
                "passed": passed,
                "feedback": ev.feedback,
            }
        )
    else:
        out(f"{path} for problem {problem.name}: score {ev.score:.2f}")
        out(
            f"static checks: {'pass' if ev.static_ok else 'rejected'}; "
            f"compiled: {_yes_no(ev.compiled if ev.static_ok else None)}; "
            f"correct: {_yes_no(ev.correct)}; speedup: {_speedup(ev.speedup)}"
        )
        out("")
        out(ev.feedback)
    return EXIT_OK if passed else EXIT_FAILURE


# ---- solve -----------------------------------------------------------------------------------


def _llm_pair() -> tuple[Any, Any]:
    """The task-model writer and the reflection-model reflector, from the daemon's config."""
    from gepad.config import load_config
    from gepad.kernel._solve import llm_reflector, llm_writer
    from gepad.llm import LlmClient, LlmSettings
    from gepad.paths import resolve_paths

    config = load_config(resolve_paths(), os.environ)

    async def discard(_record: object) -> None:
        return None

    llm = LlmClient(LlmSettings.from_config(config), discard)
    return llm_writer(llm), llm_reflector(llm)


def _progress(line: str) -> None:
    sys.stderr.write(f"  {line}\n")


async def _solve(args: argparse.Namespace) -> int:
    from gepad.errors import KernelSolveError, SimWriterError
    from gepad.kernel._solve import (
        KERNEL_SEED_PROMPT,
        parse_budget,
        simulated_reflector,
        simulated_writer,
        solve,
    )

    problems: list[Any] = []
    for spec in args.problems:
        problem = resolve_problem(spec)
        if any(p.name == problem.name for p in problems):
            raise CliError(f"problem {problem.name!r} given more than once", EXIT_USAGE)
        problems.append(problem)
    try:
        budget = parse_budget(args.budget, len(problems))
    except KernelSolveError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if args.simulated:
        writer, reflector = simulated_writer, simulated_reflector
    else:
        writer, reflector = _llm_pair()
    nvcc, gpu = await _toolchains(args)
    seed_prompt = None
    if args.seed_prompt_file:
        try:
            seed_prompt = Path(args.seed_prompt_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot read {args.seed_prompt_file}: {exc}", EXIT_USAGE) from None
    names = ", ".join(p.name for p in problems)
    who = "the simulated writer" if args.simulated else "the configured task model"
    err(f"solving {names} with {who}, budget {budget} rollouts")
    try:
        report = await solve(
            problems,
            budget,
            writer=writer,
            reflector=reflector,
            nvcc=nvcc,
            gpu=gpu,
            progress=_progress,
            seed_prompt=seed_prompt or KERNEL_SEED_PROMPT,
        )
    except (KernelSolveError, SimWriterError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    data = report.to_json()
    if args.json:
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
            return EXIT_OK
        try:
            Path(args.json).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {args.json}: {exc}", EXIT_FAILURE) from None
    rows = [
        (
            r.problem,
            "yes" if r.clean else ("no" if r.static_ok else "rejected"),
            _yes_no(r.correct),
            _speedup(r.speedup),
            f"{r.score:.2f}",
            r.rollouts,
        )
        for r in report.best
    ]
    out(table(("problem", "compiled", "correct", "speedup", "score", "rollouts"), rows))
    seed_clean = sum(r.clean for r in report.seed)
    evolved_clean = sum(r.clean for r in report.evolved)
    n = len(problems)
    out("")
    out(
        f"compiled + static-clean: seed prompt {seed_clean}/{n}, evolved prompt "
        f"{evolved_clean}/{n}; {report.rollouts} of {budget} rollouts, "
        f"{report.compiles} toolchain runs, {report.seconds:.1f} s ({report.stop_reason})"
    )
    if not report.gpu:
        out("correctness and speed: not checked (no GPU run)")
    out("")
    out("evolved prompt:")
    out(report.best_prompt.rstrip())
    if args.json and args.json != "-":
        err(f"report written to {args.json}")
    return EXIT_OK
