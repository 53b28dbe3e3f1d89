#!/usr/bin/env python3
"""Feedback-to-swap latency: how long after a complaint does the assistant stop doing it?

    python bench/feedback_to_swap.py --scenario bench/scenarios/realistic-python.toml \
        --seed 0 --seeds 3 --latency-ms 1000 --llm-concurrency 4 --every 20 --json OUT

A real daemon (temporary GEPAD_HOME, port 0) with its DEFAULT learning loop (a run of
`optimize_run_rollouts` after `optimize_after_examples` new examples; `--after` and `--rollouts`
change them) against `bench/simserver.py`, which adds `--latency-ms` to every call. The user
works with the assistant: a quarter of the train and validation tasks arrive first, then one
task every `--every` seconds of wall time. For each task the user sees what the *current*
prompt does with it; a miss becomes a thumbs-down with the user's complaint, a hit a thumbs-up.

A complaint is *unhandled* when the prompt current at its arrival scores below the threshold on
its task (the simulator's expected score over TEST_REPEATS samples, `--handled` x attainable;
0.9 x 0.95 by default). Its latency is the time from its arrival to the first prompt version the
optimizer swapped in that scores at or above the threshold on the task; a complaint never
handled by the end of the run (the last arrival plus `--tail` seconds) is censored and counted
as never. Reports the median and p90 over all unhandled complaints (censored ones as infinite).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gepad_client import GepadClient
from gepad_sim import TEST_REPEATS, load_scenario, split_tasks
from gepad_sim._e2e_online import OnlinePlan
from gepad_sim._harness import make_lms
from gepad_sim._live import LiveDaemon, LiveSimServer, sim_config


def _seconds(row: dict[str, Any]) -> float:
    """A row's latency; a complaint never handled counts as infinitely late."""
    return math.inf if row["latency_s"] is None else float(row["latency_s"])


def _quantile(values: list[float], q: float) -> float:
    """Nearest rank (the smallest value with at least q of them at or below it). Not
    daemon_e2e's interpolation: censored complaints count as infinitely late, and inf - inf is
    nan."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


async def _idle(client: GepadClient, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await client.call("optimizer.status"))["state"] != "running":
            return
        await asyncio.sleep(1)


async def run_seed(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    scenario = load_scenario(args.scenario)
    split = split_tasks(scenario.tasks, seed)
    params = scenario.realistic.params if scenario.realistic else None
    start = params.online_start if params else 0.25
    plan = OnlinePlan.make(split.train, split.val, start=start, every=1, batch=1)
    user = make_lms(scenario, seed + 10_000)  # what the user sees
    truth = make_lms(scenario, seed + 20_000)  # the benchmark's scoring, never the daemon's
    threshold = args.handled * scenario.sim.attainable

    def expected(prompt: str, task: Any) -> float:
        return float(truth._uncounted_mean(prompt, (task,), TEST_REPEATS))

    arrivals: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="gepad-f2s-") as tmp:
        work = Path(tmp)
        server = LiveSimServer(args.scenario, seed, work, latency_ms=args.latency_ms).start()
        overrides: dict[str, Any] = {
            "llm_concurrency": args.llm_concurrency,
            "llm_timeout_s": 60,
            "optimize_after_examples": args.after,
            "optimize_run_rollouts": args.rollouts,
        }
        daemon = LiveDaemon(work / "home", sim_config(server.api_base, **overrides)).start()
        started = time.monotonic()
        try:
            async with GepadClient.connect(home=daemon.home, timeout=30) as client:
                await client.set_prompt(scenario.seed_prompt)

                async def arrive(task: Any) -> None:
                    current = await client.get_prompt()
                    outcome = user.run_task(current["text"], task)
                    kind = "thumbs_down" if outcome.missed else "thumbs_up"
                    comment = outcome.feedback if outcome.missed else None
                    await client.submit_feedback(
                        kind, context=task.input, output=outcome.output, comment=comment
                    )
                    arrivals.append(
                        {"at": time.time(), "task": task, "kind": kind,
                         "version": current["version"], "text": current["text"]}
                    )  # fmt: skip

                for task in plan.first:
                    await arrive(task)
                for batch in plan.batches:
                    await asyncio.sleep(args.every)
                    for task in batch:
                        await arrive(task)
                    print(f"  seed {seed}: {len(arrivals)} arrived", file=sys.stderr)
                await asyncio.sleep(args.tail)
                await _idle(client, args.tail)
                history = await client.prompt_history(limit=500)
                status = await client.call("optimizer.status")
        finally:
            daemon.stop()
            server.stop()
    swaps = sorted(
        (v["created_at"], v["version"], v["text"])
        for v in history["versions"]
        if v["source"] == "optimizer"
    )
    rows = []
    for a in arrivals:
        if a["kind"] != "thumbs_down" or expected(a["text"], a["task"]) >= threshold:
            continue
        latency = math.inf
        by = None
        for created, version, text in swaps:
            if created >= a["at"] and expected(text, a["task"]) >= threshold:
                latency, by = created - a["at"], version
                break
        rows.append({"task": a["task"].id, "arrival_version": a["version"],
                     "latency_s": None if by is None else round(latency, 1),
                     "handled_by": by})  # fmt: skip
    latencies = [_seconds(r) for r in rows]
    return {
        "seed": seed,
        "unhandled_complaints": len(rows),
        "never_handled": sum(1 for x in latencies if math.isinf(x)),
        "median_s": _quantile(latencies, 0.5),
        "p90_s": _quantile(latencies, 0.9),
        "swaps": len(swaps),
        "rollouts": status["components"]["general"]["rollouts"],
        "seconds": round(time.monotonic() - started, 1),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--latency-ms", type=int, default=1000)
    parser.add_argument("--llm-concurrency", type=int, default=4)
    parser.add_argument("--every", type=float, default=20.0, help="seconds between arrivals")
    parser.add_argument("--tail", type=float, default=120.0, help="seconds after the last one")
    parser.add_argument("--after", type=int, default=5, help="optimize_after_examples")
    parser.add_argument("--rollouts", type=int, default=200, help="optimize_run_rollouts")
    parser.add_argument("--handled", type=float, default=0.9, help="share of attainable")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = [asyncio.run(run_seed(args, s)) for s in range(args.seed, args.seed + args.seeds)]
    every = [_seconds(r) for res in results for r in res["rows"]]
    summary = {
        "scenario": str(args.scenario), "latency_ms": args.latency_ms,
        "llm_concurrency": args.llm_concurrency, "every_s": args.every,
        "optimize_after_examples": args.after, "optimize_run_rollouts": args.rollouts,
        "unhandled_complaints": len(every),
        "never_handled": sum(1 for x in every if math.isinf(x)),
        "median_s": _quantile(every, 0.5), "p90_s": _quantile(every, 0.9),
        "seeds": results,
    }  # fmt: skip
    for res in results:
        print(
            f"seed {res['seed']}: {res['unhandled_complaints']} unhandled complaints, "
            f"median {res['median_s']:.0f} s, p90 {res['p90_s']:.0f} s, "
            f"never {res['never_handled']}, {res['swaps']} swaps, {res['seconds']} s"
        )
    print(
        f"all: {summary['unhandled_complaints']} complaints, median {summary['median_s']:.0f} s, "
        f"p90 {summary['p90_s']:.0f} s, never handled {summary['never_handled']}"
    )
    if args.json:
        finite = {k: (None if isinstance(v, float) and math.isinf(v) else v)
                  for k, v in summary.items()}  # fmt: skip
        for res in results:
            for key in ("median_s", "p90_s"):
                res[key] = None if math.isinf(res[key]) else res[key]
        args.json.write_text(json.dumps(finite, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
