#!/usr/bin/env python3
"""End-to-end: does the daemon learn from feedback, over real HTTP, as well as the engine alone?

    python bench/daemon_e2e.py --scenario FILE --budget N --seed S --json OUT
    python bench/daemon_e2e.py --scenario FILE --budget N --seeds 20 --json OUT   # distribution
        [--judge-mode single|pairwise|repeat] [--judge-error P] [--judge-position-bias P]
        [--judge-length-bias P]

Any scenario file works (v1 or realistic). The simulated server derives every answer's
randomness from the request itself, and the daemon's engine is seeded, so the same seed gives
the same numbers (only `seconds` differs); `--seeds K` runs seeds S..S+K-1 one after the other
and reports the median, p10 and p90 of the daemon's, the engine-only and the seed prompt's
held-out scores, and of the daemon/engine ratio.

1. Starts the simulated OpenAI-compatible server and a daemon in a temporary GEPAD_HOME
   pointed at it (every role: task, reflection, merge, judge).
2. Sets the scenario's seed prompt as the user's own prompt, then feeds the scenario's train and
   validation tasks through the real websocket as the user's feedback: a thumbs-down carrying
   the simulated user's complaint about each seed-prompt output (a thumbs-up where the user had
   nothing to complain about). The held-out test tasks are never shown to the daemon.
3. Lets the optimizer spend N rollouts (`optimizer.run`).
4. Scores the prompt that is *current in the daemon* on the held-out test split, beside the
   engine-only score (`bench/simuser.py`'s gepad for the same scenario, budget and seed) and the
   seed prompt's score.

OUT: {"daemon_test_score", "engine_test_score", "seed_test_score", "rollouts_used", "swaps", ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gepad_client import GepadClient
from gepad_sim import TEST_REPEATS, load_scenario, run_optimizer, run_seed, split_tasks
from gepad_sim._harness import make_lms
from gepad_sim._live import LiveDaemon, LiveSimServer, sim_config
from gepad_sim.engine_driver import run_gepad


async def _feed(client: GepadClient, scenario: Any, seed: int) -> int:
    split = split_tasks(scenario.tasks, seed)
    # What the user saw: the seed prompt's outputs, from the user's own random stream.
    user = make_lms(scenario, seed + 10_000)
    await client.set_prompt(scenario.seed_prompt)
    sent = 0
    for task in (*split.train, *split.val):
        outcome = user.run_task(scenario.seed_prompt, task)
        if outcome.missed:
            await client.submit_feedback(
                "thumbs_down", context=task.input, output=outcome.output, comment=outcome.feedback
            )
        else:
            await client.submit_feedback("thumbs_up", context=task.input, output=outcome.output)
        sent += 1
    return sent


async def _optimize(client: GepadClient, budget: int, timeout: float) -> dict[str, Any]:
    before = await client.call("optimizer.status")
    started = before.get("last_run_at")
    await client.call("optimizer.run", {"budget": budget})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        status = await client.call("optimizer.status")
        if status["last_run_at"] != started and status["state"] != "running":
            return status
        print(
            f"  optimizing: {status['components']['general']['rollouts']} rollouts, "
            f"state {status['state']}",
            file=sys.stderr,
        )
    raise TimeoutError(f"the optimizer did not finish within {timeout} s")


async def run(
    scenario_path: Path,
    budget: int,
    seed: int,
    timeout: float,
    *,
    judge_mode: str = "single",
    judge_bias: tuple[float, float, float] = (0.0, 0.0, 0.0),
    engine: bool = True,
) -> dict[str, Any]:
    """One seed. `judge_bias`: the simulated judge's (error, position, length) biases;
    `engine=False` skips the engine-only and seed-prompt baselines."""
    scenario = load_scenario(scenario_path)
    split = split_tasks(scenario.tasks, seed)
    error, position, length = judge_bias
    flags = (
        "--judge-error", str(error), "--judge-position-bias", str(position),
        "--judge-length-bias", str(length),
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="gepad-e2e-") as tmp:
        work = Path(tmp)
        server = LiveSimServer(scenario_path, seed, work, extra_args=flags).start()
        config = sim_config(server.api_base, judge_mode=judge_mode)
        daemon = LiveDaemon(work / "home", config).start()
        try:
            started = time.monotonic()
            async with GepadClient.connect(home=daemon.home, timeout=30) as client:
                fed = await _feed(client, scenario, seed)
                status = await _optimize(client, budget, timeout)
                current = await client.get_prompt()
                history = await client.prompt_history(limit=200)
            seconds = time.monotonic() - started
            stats = server.stats()
        finally:
            daemon.stop()
            server.stop()
    judge = make_lms(scenario, seed + 20_000)
    daemon_score = judge._uncounted_mean(current["text"], split.test, TEST_REPEATS)
    engine_score = seed_score = None
    if engine:
        engine_score = run_optimizer(
            scenario, run_gepad, name="gepad", seed=seed, budget=budget
        ).test_score
        seed_score = run_optimizer(
            scenario, run_seed, name="seed", seed=seed, budget=budget
        ).test_score
    general = status["components"]["general"]
    return {
        "scenario": scenario.name,
        "seed": seed,
        "budget": budget,
        "judge_mode": judge_mode,
        "judge_bias": {"error_prob": error, "position_bias": position, "length_bias": length},
        "daemon_test_score": daemon_score,
        "engine_test_score": engine_score,
        "seed_test_score": seed_score,
        "judge": status.get("judge"),
        "rollouts_used": general["rollouts"],
        "swaps": sum(1 for v in history["versions"] if v["source"] == "optimizer"),
        "examples_fed": fed,
        "optimizer_state": status["state"],
        "last_error": status["last_error"],
        "iterations": general["iteration"],
        "llm_calls": stats.get("by_role", stats),
        "seconds": round(seconds, 1),
        "final_prompt": current["text"],
    }


def _quantile(values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default)."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def distribution(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Median, p10 and p90 of each score over seeds, and the daemon/engine ratio's."""
    out: dict[str, Any] = {"seeds": [r["seed"] for r in results]}
    keys = ("daemon_test_score", "engine_test_score", "seed_test_score")
    for key in keys:
        values = [float(r[key]) for r in results if r.get(key) is not None]
        if values:
            out[key] = {
                "median": _quantile(values, 0.5),
                "p10": _quantile(values, 0.1),
                "p90": _quantile(values, 0.9),
                "mean": sum(values) / len(values),
            }
    ratios = [
        r["daemon_test_score"] / max(r["engine_test_score"], 1e-9)
        for r in results
        if r.get("engine_test_score") is not None
    ]
    if ratios:
        out["ratio"] = {
            "median": _quantile(ratios, 0.5),
            "p10": _quantile(ratios, 0.1),
            "min": min(ratios),
        }
    return out


def _line(result: dict[str, Any]) -> str:
    engine = result["engine_test_score"]
    tail = "" if engine is None else (
        f"  engine-only {engine:.3f}  seed {result['seed_test_score']:.3f}  "
        f"(daemon/engine {result['daemon_test_score'] / max(engine, 1e-9):.0%})"
    )  # fmt: skip
    return (
        f"{result['scenario']} seed {result['seed']}: daemon {result['daemon_test_score']:.3f}"
        f"{tail}; {result['rollouts_used']} rollouts, {result['swaps']} swaps, "
        f"{result['seconds']} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", required=True, type=Path)
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1, help="run seeds SEED..SEED+K-1")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--judge-mode", choices=("single", "pairwise", "repeat"), default="single")
    parser.add_argument("--judge-error", type=float, default=0.0)
    parser.add_argument("--judge-position-bias", type=float, default=0.0)
    parser.add_argument("--judge-length-bias", type=float, default=0.0)
    parser.add_argument("--no-engine", action="store_true", help="skip the engine-only baseline")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    bias = (args.judge_error, args.judge_position_bias, args.judge_length_bias)
    results = []
    for seed in range(args.seed, args.seed + args.seeds):
        result = asyncio.run(
            run(
                args.scenario, args.budget, seed, args.timeout, judge_mode=args.judge_mode,
                judge_bias=bias, engine=not args.no_engine,
            )
        )  # fmt: skip
        print(_line(result))
        results.append(result)
    report: dict[str, Any] = results[0] if len(results) == 1 else {
        "scenario": results[0]["scenario"],
        "scenario_file": str(args.scenario),
        "budget": args.budget,
        "judge_mode": args.judge_mode,
        "distribution": distribution(results),
        "runs": results,
    }  # fmt: skip
    if len(results) > 1:
        d = report["distribution"]
        for key in ("daemon_test_score", "engine_test_score", "seed_test_score", "ratio"):
            if key in d:
                stats = "  ".join(f"{k} {v:.3f}" for k, v in d[key].items())
                print(f"{key}: {stats}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
