#!/usr/bin/env python3
"""Learning-side performance: latency hiding, the response cache, and the daemon's memory.

    python bench/daemon_learning_perf.py [--latency-ms 200] [--settle-s 600] [--json OUT]

Latency: the daemon's own optimizer pieces (store, prompt service, LLM client, metric, one
component's engine) run in this process against the simulated server, which adds
`--latency-ms` to every call. It times one reflective iteration (parent on the minibatch,
reflection, child on the minibatch) and one full validation pass, with the cache off so every
call really goes out. Each rollout is two dependent calls (the task model, then the judge on
its output), so the floor for an iteration is 5 latencies (2 + 1 + 2) and for a validation pass
ceil(V / concurrency) x 2 latencies; sequential calls would take 3x2 + 1 + 3x2 = 13 and 2V.

Cache: the same candidate re-evaluated on the same examples with the cache on makes 0 calls.

Memory: a real daemon's RSS while idle before any LLM work, and `--settle-s` seconds after an
optimizer run ended (the issue asks for 10 minutes: the default).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gepa_engine import EngineConfig, Evaluate, Reflect
from gepad.learning._adapters import BufferedRecorder, StoreCache
from gepad.learning._component import ComponentOptimizer
from gepad.learning._metric import Metric
from gepad.llm import LlmClient, LlmSettings
from gepad.prompts import PromptService
from gepad.store import NewExample, Store
from gepad_client import GepadClient
from gepad_sim import load_scenario, split_tasks
from gepad_sim._live import LiveDaemon, LiveSimServer, sim_config

# The simulated server ignores the key; litellm's OpenAI provider insists on having one.
os.environ.setdefault("OPENAI_API_KEY", "sk-sim-not-a-secret")
SCENARIO = Path(__file__).resolve().parent / "scenarios" / "python-style.toml"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _latency(server: LiveSimServer, work: Path, latency_ms: int) -> dict[str, Any]:
    scenario = load_scenario(SCENARIO)
    split = split_tasks(scenario.tasks, 0)
    concurrency = 4
    store = await Store.open(work / "perf.db")
    prompts = PromptService(store, swap_policy="auto", seeds={"general": scenario.seed_prompt})
    await prompts.start()
    results: dict[str, Any] = {"latency_ms": latency_ms, "concurrency": concurrency}
    for cache in ("never", "auto"):
        settings = LlmSettings.from_config(
            sim_config(server.api_base, cache=cache, llm_concurrency=concurrency)
        )
        recorder = BufferedRecorder()
        llm = LlmClient(settings, recorder, cache=StoreCache(store))
        metric = Metric(llm)
        opt = ComponentOptimizer(
            "general", store=store, prompts=prompts, llm=llm, recorder=recorder, metric=metric,
            config=EngineConfig(reuse_scores=False),
        )  # fmt: skip
        if cache == "never":
            for task in (*split.train, *split.val):
                said = [r.feedback for r in scenario.rules if r.id in task.rules]
                complaint = " ".join(said) or "too vague"
                await store.add_example(
                    NewExample(
                        kind="thumbs_down",
                        context=task.input,
                        output="followed: none",
                        comment=complaint,
                    )
                )
        await opt.load()
        engine = opt.engine
        assert engine is not None
        if cache == "never":
            # Warm-up: litellm loads on the first call (seconds); that is not latency hiding.
            await llm.complete("task", [{"role": "user", "content": "warm-up"}])
            # Full validation pass of the seed.
            req = engine.next_request()
            assert isinstance(req, Evaluate) and req.purpose == "full", req
            started = time.perf_counter()
            answer = await opt._perform(req)
            full_s = time.perf_counter() - started
            engine.complete(req.id, answer)
            v = len(req.example_ids)
            results["full_pass"] = {
                "examples": v,
                "wall_ms": round(full_s * 1000),
                "floor_ms": math.ceil(v / concurrency) * 2 * latency_ms,
                "sequential_ms": 2 * v * latency_ms,
            }
            # One reflective iteration: parent minibatch, reflection, child minibatch.
            started = time.perf_counter()
            phases = []
            while len(phases) < 3:
                req = engine.next_request()
                t0 = time.perf_counter()
                answer = await opt._perform(req)  # type: ignore[arg-type]
                phases.append((type(req).__name__, round((time.perf_counter() - t0) * 1000)))
                engine.complete(req.id, answer)  # type: ignore[union-attr]
                if not isinstance(req, (Evaluate, Reflect)):
                    break
            results["iteration"] = {
                "phases": phases,
                "wall_ms": round((time.perf_counter() - started) * 1000),
                "floor_ms": 5 * latency_ms,
                "sequential_ms": 13 * latency_ms,
            }
        else:
            # The cache: the same candidate on the same examples, twice.
            stats0 = server.stats()
            req = Evaluate(0, "c0", {"general": scenario.seed_prompt},
                           tuple(engine.active_examples("val"))[:5], False, "full")  # fmt: skip
            await opt._perform(req)
            stats1 = server.stats()
            await opt._perform(req)
            stats2 = server.stats()
            results["cache"] = {
                "first_pass_calls": _calls(stats1) - _calls(stats0),
                "repeat_calls": _calls(stats2) - _calls(stats1),
            }
    await store.close()
    return results


def _calls(stats: dict[str, Any]) -> int:
    roles = stats.get("by_role") or stats.get("roles") or {}
    return int(sum(v for v in roles.values() if isinstance(v, int)))


async def _memory(server: LiveSimServer, work: Path, settle_s: float) -> dict[str, Any]:
    daemon = LiveDaemon(work / "home", sim_config(server.api_base)).start()
    try:
        await asyncio.sleep(3)
        idle_before = _rss_mb(daemon.pid)
        scenario = load_scenario(SCENARIO)
        async with GepadClient.connect(home=daemon.home, timeout=30) as client:
            for task in split_tasks(scenario.tasks, 0).train:
                await client.submit_feedback(
                    "thumbs_down", context=task.input, output="followed: none", comment="too vague"
                )
            await client.call("optimizer.run", {"budget": 120})
            while (await client.call("optimizer.status"))["state"] == "running" or (
                await client.call("optimizer.status")
            )["last_run_at"] is None:
                await asyncio.sleep(0.5)
        after_run = _rss_mb(daemon.pid)
        print(f"  memory: waiting {settle_s:.0f} s after the run", file=sys.stderr)
        await asyncio.sleep(settle_s)
        settled = _rss_mb(daemon.pid)
    finally:
        daemon.stop()
    return {
        "idle_before_llm_mb": round(idle_before, 1),
        "right_after_run_mb": round(after_run, 1),
        "after_settle_mb": round(settled, 1),
        "settle_s": settle_s,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gepad-perf-") as tmp:
        work = Path(tmp)
        server = LiveSimServer(SCENARIO, 0, work, latency_ms=args.latency_ms).start()
        try:
            out = await _latency(server, work, args.latency_ms)
            server.control(latency_ms=0)
            out["memory"] = await _memory(server, work, args.settle_s)
        finally:
            server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--settle-s", type=float, default=600.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    out = asyncio.run(main_async(args))
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
