#!/usr/bin/env python3
"""Benchmark optimizers against the simulated user.

    python bench/simuser.py --scenario FILE [--scenario FILE ...] \\
        --optimizers gepad,greedy,reference,seed --budget N --seeds K --json OUT

Seeds are 0..K-1. The summary table goes to stdout, one progress line per finished run to
stderr, and the runs to OUT as {"runs": [{scenario, optimizer, seed, budget, rollouts_used,
test_score, rollouts_to_90, curve}]}. A bad scenario, an unknown or unavailable optimizer, or bad
arguments exit with status 2 before any run starts; a run that raises is reported on stderr, the
others still run, and the command exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Any

# Run as `python bench/simuser.py`, this folder is sys.path[0] and gepad_sim imports from it.
from gepad_sim import (
    OptimizerUnavailableError,
    RunResult,
    Scenario,
    ScenarioError,
    check_runnable,
    format_paired,
    format_table,
    load_scenario,
    paired_diffs,
    resolve_optimizer,
    run_named,
    summarise,
)

MAX_JOBS = 2

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="simuser.py",
        description="Run optimizers against the simulated user and report held-out scores.",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        required=True,
        metavar="FILE",
        help="scenario TOML file (repeat for several)",
    )
    parser.add_argument(
        "--optimizers",
        default="gepad,greedy,reference,seed",
        help="comma-separated optimizers: gepad, greedy, reference, seed (default: all four)",
    )
    parser.add_argument("--budget", type=int, default=600, help="rollouts per run (default 600)")
    parser.add_argument("--seeds", type=int, default=5, help="run seeds 0..K-1 (default 5)")
    parser.add_argument("--json", metavar="OUT", help="write the runs to this JSON file")
    parser.add_argument(
        "--online",
        action="store_true",
        help="online runs (realistic scenarios): data arrives during the run",
    )
    parser.add_argument(
        "--baseline",
        default="reference",
        help="paired differences per seed are reported against this optimizer (default reference)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help=f"worker processes, at most {MAX_JOBS} (default 1)",
    )
    args = parser.parse_args(argv)
    if args.budget < 1:
        parser.error(f"--budget must be at least 1, got {args.budget}")
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    if not 1 <= args.jobs <= MAX_JOBS:
        parser.error(f"--jobs must be between 1 and {MAX_JOBS}, got {args.jobs}")
    names = [n.strip() for n in args.optimizers.split(",")]
    if not all(names):
        parser.error(f"--optimizers has an empty name: {args.optimizers!r}")
    args.optimizer_names = list(dict.fromkeys(names))
    if args.json is not None:
        parent = Path(args.json).resolve().parent
        if not parent.is_dir():
            parser.error(f"--json: the folder {str(parent)!r} does not exist")
    return args


def _load_scenarios(paths: Sequence[str]) -> list[Scenario] | None:
    """All scenarios, or None after printing every file's problems to stderr."""
    scenarios: list[Scenario] = []
    failed = False
    for path in paths:
        try:
            scenario = load_scenario(path)
            check_runnable(scenario)
        except ScenarioError as exc:
            print(f"simuser: bad scenario {exc}", file=sys.stderr)
            failed = True
            continue
        scenarios.append(scenario)
    by_name: dict[str, str] = {}
    for s in scenarios:
        if s.name in by_name:
            print(
                f"simuser: scenarios {by_name[s.name]} and {s.source} share the name "
                f"{s.name!r}; results are keyed by name, so names must differ",
                file=sys.stderr,
            )
            failed = True
        by_name[s.name] = s.source
    return None if failed else scenarios


def _write_json(path: str, results: Sequence[RunResult], failures: Sequence[str]) -> None:
    doc: dict[str, Any] = {"runs": [r.to_json() for r in results]}
    if failures:
        doc["failures"] = list(failures)
    target = Path(path)
    # Write to a sibling temp file and rename, so a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _progress(done: int, total: int, result: RunResult) -> None:
    r90 = "never" if result.rollouts_to_90 is None else str(result.rollouts_to_90)
    print(
        f"[{done:>{len(str(total))}}/{total}] {result.scenario} / {result.optimizer} / "
        f"seed {result.seed}: test {result.test_score:.3f}, r90 {r90}, "
        f"{result.rollouts_used} rollouts, {result.seconds:.2f} s",
        file=sys.stderr,
        flush=True,
    )


Job = tuple[Scenario, str, int]


def _run_all(
    jobs: Sequence[Job], budget: int, workers: int, online: bool = False
) -> tuple[list[RunResult], list[str]]:
    """Run every job; results come back in job order whatever order they finish in."""
    results: dict[int, RunResult] = {}
    failures: list[str] = []

    def finished(index: int, get: Callable[[], RunResult]) -> None:
        scenario, optimizer, seed = jobs[index]
        try:
            result = get()
        except Exception:
            what = f"{scenario.name} / {optimizer} / seed {seed}"
            failures.append(f"{what}: {traceback.format_exc().strip().splitlines()[-1]}")
            print(f"simuser: run {what} failed:\n{traceback.format_exc()}", file=sys.stderr)
            return
        results[index] = result
        _progress(len(results) + len(failures), len(jobs), result)

    if workers == 1:
        for i, (scenario, optimizer, seed) in enumerate(jobs):
            finished(
                i, partial(run_named, scenario, optimizer, seed=seed, budget=budget, online=online)
            )
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures: dict[Future[RunResult], int] = {
                pool.submit(run_named, s, o, seed=k, budget=budget, online=online): i
                for i, (s, o, k) in enumerate(jobs)
            }
            for f in as_completed(futures):
                finished(futures[f], f.result)
    return [results[i] for i in sorted(results)], failures


def _flip_lines(results: Sequence[RunResult]) -> str:
    """Flip scenarios: per scenario x optimizer, the share of final prompts that follow the new
    rule and the mean post-flip area under the held-out curve."""
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for r in results:
        if r.post_flip_auc is not None:
            groups.setdefault((r.scenario, r.optimizer), []).append(r)
    lines = []
    for (scenario, optimizer), runs in groups.items():
        follows = sum(1 for r in runs if r.follows_new_rule)
        auc = sum(r.post_flip_auc or 0.0 for r in runs) / len(runs)
        lines.append(
            f"{scenario}  {optimizer}: {follows}/{len(runs)} final prompts follow the new rule "
            f"({follows / len(runs):.0%}), post-flip AUC {auc:.3f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    scenarios = _load_scenarios(args.scenario)
    if scenarios is None:
        return EXIT_BAD_INPUT
    try:
        for name in args.optimizer_names:
            resolve_optimizer(name)
    except OptimizerUnavailableError as exc:
        print(f"simuser: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT

    jobs: list[Job] = [
        (scenario, optimizer, seed)
        for scenario in scenarios
        for optimizer in args.optimizer_names
        for seed in range(args.seeds)
    ]
    results, failures = _run_all(jobs, args.budget, args.jobs, args.online)
    if results:
        print(format_table(summarise(results)))
        flip = _flip_lines(results)
        if flip:
            print()
            print(flip)
        for measure in ("test_score", "online_auc", "prequential", "post_flip_auc"):
            paired = paired_diffs(results, args.baseline, measure)
            if paired:
                print()
                print(format_paired(paired))
    if args.json is not None:
        _write_json(args.json, results, failures)
    if failures:
        print(f"simuser: {len(failures)} of {len(jobs)} runs failed", file=sys.stderr)
        return EXIT_RUN_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
