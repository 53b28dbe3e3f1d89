#!/usr/bin/env python3
"""Kernel mode: test-time search with the simulated writer and the real nvcc (issue 7).

    python bench/kernel_solve.py [--budget small|medium|large|N] [--seeds 3] [--json OUT]
                                 [PROBLEM ...]

For each engine seed it runs `gepad.kernel.solve` over the problems (default: the five shipped
ones) and reports the share of problems whose kernel passes the static checks and compiles with
the launcher exported, under the seed prompt and under the evolved prompt, plus the per-problem
table of the first seed. Feedback comes from the real nvcc; a GPU run is added when one is
detected (correctness and speedup columns), otherwise those columns say "not run".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
from pathlib import Path
from typing import Any

from gepad.kernel import (
    GpuInfo,
    GpuRunner,
    Missing,
    NvccToolchain,
    detect_gpu,
    load_problem,
    parse_budget,
    shipped_problems,
    simulated_reflector,
    simulated_writer,
    solve,
)


def _problems(specs: list[str]) -> list[Any]:
    shipped = {p.name: p for p in shipped_problems()}
    if not specs:
        return list(shipped.values())
    return [shipped[s] if s in shipped else load_problem(Path(s)) for s in specs]


async def _main(args: argparse.Namespace) -> int:
    problems = _problems(args.problems)
    nvcc = NvccToolchain()
    found = await nvcc.detect()
    if isinstance(found, Missing):
        print(found.message, file=sys.stderr)
        return 1
    gpu_info = await detect_gpu()
    gpu = GpuRunner(gpu_info) if isinstance(gpu_info, GpuInfo) else None
    budget = parse_budget(args.budget, len(problems))
    runs: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        report = await solve(
            problems,
            budget,
            writer=simulated_writer,
            reflector=simulated_reflector,
            nvcc=nvcc,
            gpu=gpu,
            seed=seed,
        )
        runs.append({"seed": seed, **report.to_json()})
        n = len(problems)
        print(
            f"seed {seed}: compiled + static-clean {sum(r.clean for r in report.seed)}/{n} -> "
            f"{sum(r.clean for r in report.evolved)}/{n}; {report.rollouts}/{budget} rollouts, "
            f"{report.compiles} toolchain runs, {report.seconds:.1f} s ({report.stop_reason})"
        )
    first = runs[0]
    print("\n| problem | seed prompt | evolved prompt | correct | speedup | rollouts | found at |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for s, e, b in zip(first["seed"], first["evolved"], first["best"], strict=True):

        def clean(r: dict[str, Any]) -> str:
            ok = r["static_ok"] and r["compiled"]
            return f"{'clean' if ok else 'no'} ({r['score']:.2f})"

        correct = "not run" if b["correct"] is None else str(b["correct"]).lower()
        speed = "-" if b["speedup"] is None else f"{b['speedup']:.2f}x"
        print(
            f"| {s['problem']} | {clean(s)} | {clean(e)} | {correct} | {speed} | "
            f"{b['rollouts']} | {b['found_at']} |"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {
                    "budget": budget,
                    "nvcc": getattr(found, "version", str(found)),
                    "gpu": None if gpu is None else str(gpu_info),
                    "machine": platform.platform(),
                    "runs": runs,
                },
                indent=2,
            )
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problems", nargs="*", help="shipped names or TOML paths (all shipped)")
    parser.add_argument("--budget", default="small")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json")
    return asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
