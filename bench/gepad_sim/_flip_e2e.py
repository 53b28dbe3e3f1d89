"""The end-to-end benchmark on a flip scenario: the user changes their mind mid-run.

The online feed of `_e2e_online.py` (the same arrivals, one `optimizer.run` per segment of
`online_every` rollouts), with the flip of `_flip.py`: the batches released at or after the
flip's clock (`flip_at * budget`) are the flipped tasks, so their complaints ask for the new
rule; the simulated server is started with `--flip-budget` so that its judge and task model
see the same tasks. After every segment the daemon's current prompt is scored on the held-out
tasks (the flipped ones from the flip on) with an uncounted stream of its own: the held-out
curve, whose marks at or after the flip give the post-flip area under the curve. Also reported:
whether the final prompt follows the new rule, and what the daemon retired and why.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from gepad_sim._e2e_online import OnlinePlan
from gepad_sim._flip import flip_pairs, flip_task, follows_new_rule, post_flip_auc
from gepad_sim._harness import TEST_REPEATS, make_lms
from gepad_sim._realistic import RealisticLMs
from gepad_sim._scenario import Scenario, Task
from gepad_sim._split import split_tasks

__all__ = ["flip_server_args", "flip_summary", "run_flip_online"]

Optimize = Callable[[Any, int, float], Awaitable[dict[str, Any]]]
FeedTasks = Callable[[Any, Any, str, Any], Awaitable[int]]


def flip_server_args(budget: int, drift_error: float) -> tuple[str, ...]:
    return ("--flip-budget", str(budget), "--drift-error", str(drift_error))


def _held_out(lms: Any, rng: random.Random, prompt: str, tasks: tuple[Task, ...]) -> float:
    assert isinstance(lms, RealisticLMs)
    return sum(lms.score_with(rng, prompt, tasks) for _ in range(TEST_REPEATS)) / TEST_REPEATS


async def run_flip_online(
    client: Any,
    scenario: Scenario,
    seed: int,
    budget: int,
    timeout: float,
    *,
    optimize: Optimize,
    feed_tasks: FeedTasks,
) -> dict[str, Any]:
    """Feed online with the flip; returns the flip measures, fed count and last status."""
    assert scenario.realistic is not None
    params = scenario.realistic.params
    pairs = flip_pairs(scenario)
    split = split_tasks(scenario.tasks, seed)
    plan = OnlinePlan.make(
        split.train, split.val, start=params.online_start, every=params.online_every,
        batch=params.online_batch,
    )  # fmt: skip
    flip_clock = round(params.flip_at * budget)
    user = make_lms(scenario, seed + 10_000)
    judge = make_lms(scenario, seed + 20_000)
    rng = random.Random(seed + 30_011)
    test_old = tuple(split.test)
    test_new = tuple(flip_task(t, pairs) for t in split.test)
    await client.set_prompt(scenario.seed_prompt)
    fed = await feed_tasks(client, user, scenario.seed_prompt, plan.first)
    curve: list[tuple[int, float]] = []

    async def mark(clock: int) -> None:
        text = (await client.get_prompt())["text"]
        tests = test_new if clock >= flip_clock else test_old
        curve.append((clock, _held_out(judge, rng, text, tests)))

    await mark(0)
    status: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    segments = plan.segments(budget)
    for i, target in enumerate(segments):
        used = (await client.call("optimizer.status"))["components"]["general"]["rollouts"]
        if target > used:
            status = await optimize(client, target - used, deadline - time.monotonic())
        await mark(target)
        # Nothing arrives after the last segment: the run would never see it.
        if i < min(len(plan.batches), len(segments) - 1):
            batch = plan.batches[i]
            if target >= flip_clock:  # released at this clock: asked for after the flip
                batch = tuple(flip_task(t, pairs) for t in batch)
            fed += await feed_tasks(client, user, scenario.seed_prompt, batch)
    status = status or await client.call("optimizer.status")
    final = (await client.get_prompt())["text"]
    retired = (await client.call("examples.retired", {"limit": 200}))["retired"]
    return {
        "fed": fed,
        "status": status,
        "flip": {
            "flip_clock": flip_clock,
            "heldout_curve": curve,
            "post_flip_auc": post_flip_auc(curve, flip_clock, budget),
            "follows_new_rule": follows_new_rule(scenario, final),
            "test_score_new_rule": _held_out(judge, rng, final, test_new),
            "retired": [
                {k: r.get(k) for k in ("id", "decided_by", "by_example", "reason", "retired")}
                for r in retired
            ],
        },
    }


def flip_summary(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Over seeds: the share of final prompts that follow the new rule and the mean post-flip
    AUC, for the daemon and (where run) the engine-only gepad and the reference."""
    runs = [r["flip"] for r in results if "flip" in r]
    out: dict[str, Any] = {"seeds": len(runs)}

    def agg(name: str, rows: list[Mapping[str, Any]]) -> None:
        rows = [x for x in rows if x.get("post_flip_auc") is not None]
        if rows:
            out[name] = {
                "follows_new_rule": sum(1 for x in rows if x.get("follows_new_rule")) / len(rows),
                "post_flip_auc": sum(float(x["post_flip_auc"]) for x in rows) / len(rows),
                "runs": len(rows),
            }

    agg("daemon", runs)
    agg("engine_gepad", [r.get("engine_only", {}).get("gepad", {}) for r in runs])
    agg("reference", [r.get("engine_only", {}).get("reference", {}) for r in runs])
    parts = [
        f"{name}: {v['follows_new_rule']:.0%} follow the new rule, post-flip AUC "
        f"{v['post_flip_auc']:.3f}"
        for name, v in out.items()
        if isinstance(v, dict)
    ]
    out["line"] = f"flip over {len(runs)} seed(s): " + "; ".join(parts)
    return out
