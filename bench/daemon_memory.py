#!/usr/bin/env python3
"""The daemon's memory after learning, and what the model worker costs per call.

    python bench/daemon_memory.py [--budget 120] [--settle-s 300] [--inprocess-settle-s 120]
        [--idle-s 90] [--calls 40] [--modes worker,inprocess] [--json OUT]

Memory: a real daemon (`python -m gepad.daemon`) against the simulated server, once with
`llm_worker = true` (the default: model calls in a subprocess that exits after `--idle-s`
idle seconds) and once with `llm_worker = false` (litellm loaded in the daemon). Each is
sampled from /proc: idle before any model call, after a first model call (which loads
litellm; timed apart, so `run_s` compares the runs themselves), every second during a run of
`--budget` rollouts, then every `--sample-s` seconds for `--settle-s` seconds after it. The
daemon's RSS and the worker's (while one runs) are reported separately; the summary gives the
first time after the run at which the daemon (and daemon + worker) is under 100 MB.

Latency: the same LlmClient in this process, calling the simulated server (no added latency,
cache off) in-process and through an `LlmWorker`, alternating call by call after a warm-up of
each, sequentially and in batches at concurrency 4: the worker's overhead per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gepad.llm import LlmClient, LlmSettings, LlmWorker, WorkerSettings
from gepad_client import GepadClient
from gepad_sim import load_scenario, split_tasks
from gepad_sim._live import LiveDaemon, LiveSimServer, sim_config

os.environ.setdefault("OPENAI_API_KEY", "sk-sim-not-a-secret")
SCENARIO = Path(__file__).resolve().parent / "scenarios" / "python-style.toml"
WORKER_MODULE = b"gepad.llm._worker_main"
BAR_MB = 100.0


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def workers_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) != parent or stat[0] == "Z":
                continue
            if WORKER_MODULE in (entry / "cmdline").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def sample(daemon_pid: int, t: float, phase: str) -> dict[str, Any]:
    daemon = rss_mb(daemon_pid) or 0.0
    workers = [w for w in (rss_mb(p) for p in workers_of(daemon_pid)) if w is not None]
    return {
        "t_s": round(t, 1),
        "phase": phase,
        "daemon_mb": round(daemon, 1),
        "worker_mb": round(sum(workers), 1) if workers else None,
        "total_mb": round(daemon + sum(workers), 1),
    }


async def memory(
    server: LiveSimServer, work: Path, *, worker: bool, budget: int, settle_s: float,
    sample_s: float, idle_s: float, rep: int,
) -> dict[str, Any]:  # fmt: skip
    mode = "worker" if worker else "inprocess"
    config = sim_config(server.api_base, llm_worker=worker, llm_worker_idle_s=idle_s)
    # A fresh home each time: a second run in the same one would be answered by the cache.
    daemon = LiveDaemon(work / f"home-{mode}-{rep}", config).start()
    timeline: list[dict[str, Any]] = []
    try:
        await asyncio.sleep(3)
        timeline.append(sample(daemon.pid, 0.0, "idle-before"))
        scenario = load_scenario(SCENARIO)
        async with GepadClient.connect(home=daemon.home, timeout=120) as client:
            # The first model call loads litellm (in the worker, or in the daemon): timed on
            # its own, so run_s compares the runs themselves.
            t0 = time.monotonic()
            await client.call("assist.run", {"instruction": "Say hello.", "context": "x = 1"})
            first_call_s = time.monotonic() - t0
            timeline.append(sample(daemon.pid, 0.0, "after-first-call"))
            for task in split_tasks(scenario.tasks, 0).train:
                await client.submit_feedback(
                    "thumbs_down", context=task.input, output="followed: none", comment="too vague"
                )
            started = time.monotonic()
            await client.call("optimizer.run", {"budget": budget})
            while True:
                status = await client.call("optimizer.status")
                if status["state"] != "running" and status["last_run_at"] is not None:
                    break
                timeline.append(sample(daemon.pid, time.monotonic() - started, "run"))
                await asyncio.sleep(1.0)
            run_s = time.monotonic() - started
        ended = time.monotonic()
        print(f"  {mode}: run took {run_s:.0f} s; sampling {settle_s:.0f} s", file=sys.stderr)
        while True:
            since = time.monotonic() - ended
            timeline.append(sample(daemon.pid, since, "after"))
            if since >= settle_s:
                break
            await asyncio.sleep(min(sample_s, settle_s - since + 0.01))
    finally:
        daemon.stop()
    after = [s for s in timeline if s["phase"] == "after"]
    during = [s for s in timeline if s["phase"] == "run"]
    return {
        "mode": mode,
        "budget": budget,
        "first_call_s": round(first_call_s, 1),
        "run_s": round(run_s, 1),
        "idle_before_mb": timeline[0]["daemon_mb"],
        "peak_daemon_mb": max(s["daemon_mb"] for s in during + after),
        "peak_worker_mb": max((s["worker_mb"] or 0.0) for s in during + after),
        "right_after_run": after[0],
        "end": after[-1],
        "daemon_under_bar_after_s": _first_under(after, "daemon_mb"),
        "total_under_bar_after_s": _first_under(after, "total_mb"),
        "timeline": timeline,
    }


def _first_under(samples: list[dict[str, Any]], key: str) -> float | None:
    """The first time after the run from which `key` stays under the bar."""
    first = None
    for s in samples:
        if s[key] >= BAR_MB:
            first = None
        elif first is None:
            first = s["t_s"]
    return first


async def latency(server: LiveSimServer, calls: int) -> dict[str, Any]:
    settings = LlmSettings.from_config(sim_config(server.api_base, cache="never"))

    async def discard(_: Any) -> None:
        return None

    worker = LlmWorker(WorkerSettings(idle_s=600))
    clients = {
        "inprocess": LlmClient(settings, discard),
        "worker": LlmClient(settings, discard, attempts=worker),
    }
    times: dict[str, list[float]] = {k: [] for k in clients}
    batch: dict[str, list[float]] = {k: [] for k in clients}
    try:
        for name, client in clients.items():  # loads litellm here, and starts the worker
            await client.complete("task", [{"role": "user", "content": f"warm-up {name}"}])
        for i in range(calls):
            for name, client in clients.items() if i % 2 else reversed(clients.items()):
                messages = [{"role": "user", "content": f"call {i} via {name}"}]
                t0 = time.perf_counter()
                await client.complete("task", messages)
                times[name].append((time.perf_counter() - t0) * 1000)
        for i in range(max(2, calls // 8)):
            for name, client in clients.items():
                t0 = time.perf_counter()
                await asyncio.gather(
                    *(
                        client.complete("task", [{"role": "user", "content": f"b{i}.{j} {name}"}])
                        for j in range(16)
                    )
                )
                batch[name].append((time.perf_counter() - t0) * 1000 / 16)
    finally:
        await worker.aclose()
    out: dict[str, Any] = {"calls_each": calls}
    for name in clients:
        ms = sorted(times[name])
        out[name] = {
            "median_ms": round(statistics.median(ms), 2),
            "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 2),
            "batch16_c4_ms_per_call": round(statistics.median(batch[name]), 2),
        }
    out["overhead_median_ms"] = round(out["worker"]["median_ms"] - out["inprocess"]["median_ms"], 2)
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="gepad-mem-") as tmp:
        work = Path(tmp)
        server = LiveSimServer(SCENARIO, 0, work, latency_ms=0).start()
        try:
            if args.calls:
                out["latency"] = await latency(server, args.calls)
                print(f"  latency: {json.dumps(out['latency'])}", file=sys.stderr)
            out["memory"] = []
            for rep, mode in enumerate(args.modes.split(",")):
                worker = {"worker": True, "inprocess": False}[mode]
                settle = args.settle_s if worker else args.inprocess_settle_s
                out["memory"].append(
                    await memory(
                        server, work, worker=worker, budget=args.budget, settle_s=settle,
                        sample_s=args.sample_s, idle_s=args.idle_s, rep=rep,
                    )
                )  # fmt: skip
        finally:
            server.stop()
    out["load_after"] = os.getloadavg()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=120)
    parser.add_argument("--settle-s", type=float, default=300.0)
    parser.add_argument("--inprocess-settle-s", type=float, default=120.0)
    parser.add_argument("--modes", default="worker,inprocess", help="in order, repeats allowed")
    parser.add_argument("--sample-s", type=float, default=5.0)
    parser.add_argument("--idle-s", type=float, default=90.0)
    parser.add_argument("--calls", type=int, default=40, help="0: skip the latency part")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    out = asyncio.run(main_async(args))
    print(json.dumps({k: v for k, v in out.items() if k != "memory"}, indent=2))
    for m in out.get("memory", []):
        print(json.dumps({k: v for k, v in m.items() if k != "timeline"}, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
