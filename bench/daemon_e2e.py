#!/usr/bin/env python3
"""End-to-end: does the daemon learn from feedback, over real HTTP, as well as the engine alone?

    python bench/daemon_e2e.py --scenario FILE --budget N --seed S --json OUT

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
from gepad_sim import TEST_REPEATS, SimLMs, load_scenario, run_optimizer, run_seed, split_tasks
from gepad_sim._live import LiveDaemon, LiveSimServer, sim_config
from gepad_sim.engine_driver import run_gepad


async def _feed(client: GepadClient, scenario: Any, seed: int) -> int:
    split = split_tasks(scenario.tasks, seed)
    # What the user saw: the seed prompt's outputs, from the user's own random stream.
    user = SimLMs(scenario, seed + 10_000)
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


async def run(scenario_path: Path, budget: int, seed: int, timeout: float) -> dict[str, Any]:
    scenario = load_scenario(scenario_path)
    split = split_tasks(scenario.tasks, seed)
    with tempfile.TemporaryDirectory(prefix="gepad-e2e-") as tmp:
        work = Path(tmp)
        server = LiveSimServer(scenario_path, seed, work).start()
        daemon = LiveDaemon(work / "home", sim_config(server.api_base)).start()
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
    judge = SimLMs(scenario, seed + 20_000)
    daemon_score = judge._uncounted_mean(current["text"], split.test, TEST_REPEATS)
    engine = run_optimizer(scenario, run_gepad, name="gepad", seed=seed, budget=budget)
    seed_run = run_optimizer(scenario, run_seed, name="seed", seed=seed, budget=budget)
    general = status["components"]["general"]
    return {
        "scenario": scenario.name,
        "seed": seed,
        "budget": budget,
        "daemon_test_score": daemon_score,
        "engine_test_score": engine.test_score,
        "seed_test_score": seed_run.test_score,
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", required=True, type=Path)
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.scenario, args.budget, args.seed, args.timeout))
    ratio = result["daemon_test_score"] / max(result["engine_test_score"], 1e-9)
    print(
        f"{result['scenario']}: daemon {result['daemon_test_score']:.3f}  "
        f"engine-only {result['engine_test_score']:.3f}  seed {result['seed_test_score']:.3f}  "
        f"(daemon/engine {ratio:.0%}; {result['rollouts_used']} rollouts, {result['swaps']} swaps, "
        f"{result['seconds']} s)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
