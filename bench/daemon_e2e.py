#!/usr/bin/env python3
"""End-to-end: does the daemon learn from feedback, over real HTTP, as well as the engine alone?

    python bench/daemon_e2e.py --scenario FILE --budget N --seed S --json OUT
    python bench/daemon_e2e.py --scenario FILE --budget N --seeds 20 --json OUT   # distribution
        [--judge-mode single|pairwise|repeat] [--judge-error P] [--judge-position-bias P]
        [--judge-length-bias P] [--online] [--llm-concurrency N]

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

With `--online` (realistic scenarios) the data arrives during the run as it does in the
engine-only online runs (`gepad_sim._e2e_online`: a quarter first, then `online_batch` tasks
every `online_every` rollouts (`--online-every K` to spread them differently), each as the
user's feedback on the seed prompt's output), and the daemon's own prequential measure is
reported: every example's test-before-train score from `status.get`, its rolling "already
handled" rate and rolling mean score at 10 points of the run, beside the engine-only run's
prequential on the same arrivals.

A flip scenario (a rule with `flips_to`, e.g. realistic-flip) run `--online` is fed by
`gepad_sim._flip_e2e`: batches released from the flip's clock on ask for the new rule, the server
is told the flip (`--flip-budget`, `--drift-error P` for its reflection model's error on the
daemon's contradiction questions, default 0.1), and the run also reports the held-out curve,
the post-flip AUC, whether the final prompt follows the new rule and what the daemon retired,
beside the engine-only gepad and reference gepa on the same flip; `--no-drift` runs the daemon
with `drift_enabled = false`.

OUT: {"daemon_test_score", "engine_test_score", "seed_test_score", "rollouts_used", "swaps",
"prequential" (online), ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from gepad_client import GepadClient
from gepad_sim import (
    TEST_REPEATS,
    OptimizerUnavailableError,
    load_scenario,
    run_named,
    run_optimizer,
    run_seed,
    split_tasks,
)
from gepad_sim._e2e_online import OnlinePlan, curve_points, rolling
from gepad_sim._flip import flip_pairs, flip_task
from gepad_sim._flip_e2e import flip_server_args, flip_summary, run_flip_online
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


async def _feed_tasks(client: GepadClient, user: Any, prompt: str, tasks: Any) -> int:
    """Each task as the user's feedback on what `prompt` did with it.

    The online feed sends the seed prompt's outputs, as the batch feed does: the user's pain
    points with the assistant they started from. (Feedback on the current prompt's own output
    would arrive as a complaint only where that very prompt had just failed, so re-scoring the
    same prompt on it measures little more than the task model's noise.)
    """
    for task in tasks:
        outcome = user.run_task(prompt, task)
        if outcome.missed:
            await client.submit_feedback(
                "thumbs_down", context=task.input, output=outcome.output, comment=outcome.feedback
            )
        else:
            await client.submit_feedback("thumbs_up", context=task.input, output=outcome.output)
    return len(tasks)


async def _online(
    client: GepadClient, scenario: Any, seed: int, budget: int, timeout: float
) -> tuple[int, dict[str, Any]]:
    """Feed online, one `optimizer.run` per segment; returns (examples fed, last status)."""
    split = split_tasks(scenario.tasks, seed)
    params = scenario.realistic.params
    plan = OnlinePlan.make(
        split.train, split.val, start=params.online_start, every=params.online_every,
        batch=params.online_batch,
    )  # fmt: skip
    user = make_lms(scenario, seed + 10_000)
    await client.set_prompt(scenario.seed_prompt)
    fed = await _feed_tasks(client, user, scenario.seed_prompt, plan.first)
    status: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    segments = plan.segments(budget)
    for i, target in enumerate(segments):
        used = (await client.call("optimizer.status"))["components"]["general"]["rollouts"]
        if target > used:
            status = await _optimize(client, target - used, deadline - time.monotonic())
        # Nothing arrives after the last segment: the run would never see it.
        if i < min(len(plan.batches), len(segments) - 1):
            fed += await _feed_tasks(client, user, scenario.seed_prompt, plan.batches[i])
    return fed, status or await client.call("optimizer.status")


def _prequential(status: dict[str, Any], window: int, engine: Any | None) -> dict[str, Any]:
    """The daemon's prequential record, and the engine-only run's on the same arrivals."""
    pre = (status.get("prequential") or {}).get("components", {}).get("general", {})
    history = pre.get("history", [])
    handled = [1.0 if h["handled"] else 0.0 for h in history]
    scores = [float(h["score"]) for h in history]
    out: dict[str, Any] = {
        "window": window,
        "examples": len(history),
        "rollouts": (status.get("prequential") or {}).get("rollouts"),
        "rate_curve": curve_points(rolling(handled, window)),
        "score_curve": curve_points(rolling(scores, window)),
        "rate": sum(handled) / len(handled) if handled else None,
        "history": history,
    }
    if engine is not None and engine.prequential_scores:
        eng = list(engine.prequential_scores)
        eng_handled = [1.0 if v >= 1.0 else 0.0 for v in eng]
        out["engine"] = {
            "mean": engine.prequential,
            "arrivals": len(eng),
            "rate_curve": curve_points(rolling(eng_handled, window)),
            "score_curve": curve_points(rolling(eng, window)),
        }
    return out


async def _optimize(client: GepadClient, budget: int, timeout: float) -> dict[str, Any]:
    before = await client.call("optimizer.status")
    started = before.get("last_run_at")
    await client.call("optimizer.run", {"budget": budget})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
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
    online: bool = False,
    llm_concurrency: int | None = None,
    online_every: int | None = None,
    drift_enabled: bool = True,
    drift_error: float = 0.1,
) -> dict[str, Any]:
    """One seed. `judge_bias`: the simulated judge's (error, position, length) biases;
    `engine=False` skips the engine-only and seed-prompt baselines; `online` feeds the data
    during the run (realistic scenarios)."""
    scenario = load_scenario(scenario_path)
    if online_every is not None and scenario.realistic is not None:
        params = replace(scenario.realistic.params, online_every=online_every)
        scenario = replace(scenario, realistic=replace(scenario.realistic, params=params))
    split = split_tasks(scenario.tasks, seed)
    error, position, length = judge_bias
    flags = (
        "--judge-error", str(error), "--judge-position-bias", str(position),
        "--judge-length-bias", str(length),
    )  # fmt: skip
    # A flip scenario online (`_flip_e2e.py`): the user changes their mind mid-run.
    flipping = online and bool(flip_pairs(scenario))
    if flipping:
        flags += flip_server_args(budget, drift_error)
    flip: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="gepad-e2e-") as tmp:
        work = Path(tmp)
        server = LiveSimServer(scenario_path, seed, work, extra_args=flags).start()
        overrides: dict[str, Any] = {"judge_mode": judge_mode}
        if llm_concurrency is not None:
            overrides["llm_concurrency"] = llm_concurrency
        if not drift_enabled:
            overrides["drift_enabled"] = False
        config = sim_config(server.api_base, **overrides)
        daemon = LiveDaemon(work / "home", config).start()
        try:
            started = time.monotonic()
            async with GepadClient.connect(home=daemon.home, timeout=30) as client:
                if flipping:
                    out = await run_flip_online(
                        client, scenario, seed, budget, timeout, optimize=_optimize,
                        feed_tasks=_feed_tasks,
                    )  # fmt: skip
                    fed, status, flip = out["fed"], out["status"], out["flip"]
                elif online:
                    fed, status = await _online(client, scenario, seed, budget, timeout)
                else:
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
    test = split.test
    if flipping:  # held out after the flip: scored against the new rule
        test = tuple(flip_task(t, flip_pairs(scenario)) for t in split.test)
    daemon_score = judge._uncounted_mean(current["text"], test, TEST_REPEATS)
    engine_score = seed_score = engine_run = None
    if engine:
        engine_run = run_optimizer(
            scenario, run_gepad, name="gepad", seed=seed, budget=budget, online=online
        )
        engine_score = engine_run.test_score
        seed_score = run_optimizer(
            scenario, run_seed, name="seed", seed=seed, budget=budget
        ).test_score
        if flip is not None:
            flip["engine_only"] = _flip_engine_only(scenario, seed, budget, engine_run)
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
        "online": online,
        "online_every": scenario.realistic.params.online_every
        if online and scenario.realistic
        else None,
        "attainable": scenario.sim.attainable,
        "judge": status.get("judge"),
        "prequential": _prequential(status, 20, engine_run),
        "rollouts_used": general["rollouts"],
        "swaps": sum(1 for v in history["versions"] if v["source"] == "optimizer"),
        "examples_fed": fed,
        "optimizer_state": status["state"],
        "last_error": status["last_error"],
        "iterations": general["iteration"],
        "llm_calls": stats.get("by_role", stats),
        "seconds": round(seconds, 1),
        "final_prompt": current["text"],
        **({} if flip is None else {"flip": flip}),
    }


def _flip_engine_only(scenario: Any, seed: int, budget: int, gepad: Any) -> dict[str, Any]:
    """The engine-only gepad and the reference gepa on the same flip scenario, online."""
    out = {"gepad": {"post_flip_auc": gepad.post_flip_auc,
                     "follows_new_rule": gepad.follows_new_rule}}  # fmt: skip
    try:
        ref = run_named(scenario, "reference", seed=seed, budget=budget, online=True)
    except OptimizerUnavailableError as exc:
        out["reference"] = {"unavailable": str(exc)}
        return out
    out["reference"] = {
        "post_flip_auc": ref.post_flip_auc,
        "follows_new_rule": ref.follows_new_rule,
    }
    return out


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
    for key, where in (("rate_curve", None), ("score_curve", None), ("rate_curve", "engine"),
                       ("score_curve", "engine")):  # fmt: skip
        curves = []
        for r in results:
            pre = r.get("prequential") or {}
            pre = pre.get(where, {}) if where else pre
            if pre.get(key):
                curves.append(pre[key])
        if curves and len({len(c) for c in curves}) == 1:
            name = f"{where}_{key}" if where else f"daemon_{key}"
            out[f"prequential_{name}"] = [
                [curves[0][i][0], _quantile([c[i][1] for c in curves], 0.5)]
                for i in range(len(curves[0]))
            ]
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
    flip = result.get("flip")
    if flip is not None:
        ref = flip.get("engine_only", {}).get("reference", {})
        tail += (
            f"; flip: follows new rule {flip['follows_new_rule']}, post-flip AUC "
            f"{flip['post_flip_auc']:.3f} (reference {ref.get('post_flip_auc', float('nan')):.3f})"
            f", {sum(1 for r in flip['retired'] if r['retired'])} retired"
        )
    pre = result.get("prequential") or {}
    if pre.get("rate_curve"):
        curve = " ".join(f"{v:.2f}" for _, v in pre["rate_curve"])
        tail += f"; already handled (rolling {pre['window']}): {curve}"
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
    parser.add_argument("--online", action="store_true", help="feed the data during the run")
    parser.add_argument("--llm-concurrency", type=int, default=None)
    parser.add_argument(
        "--online-every", type=int, default=None, help="rollouts between online arrivals"
    )
    parser.add_argument(
        "--drift-error", type=float, default=0.1,
        help="flip scenarios: the sim reflection model's error on contradiction questions",
    )  # fmt: skip
    parser.add_argument(
        "--no-drift", action="store_true", help="run the daemon with drift_enabled = false"
    )
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    bias = (args.judge_error, args.judge_position_bias, args.judge_length_bias)
    results = []
    for seed in range(args.seed, args.seed + args.seeds):
        result = asyncio.run(
            run(
                args.scenario, args.budget, seed, args.timeout, judge_mode=args.judge_mode,
                judge_bias=bias, engine=not args.no_engine, online=args.online,
                llm_concurrency=args.llm_concurrency, online_every=args.online_every,
                drift_enabled=not args.no_drift, drift_error=args.drift_error,
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
    if any("flip" in r for r in results):
        summary = flip_summary(results)
        print(summary["line"])
        if len(results) > 1:
            report["flip_summary"] = summary
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
