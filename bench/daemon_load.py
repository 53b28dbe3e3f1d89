#!/usr/bin/env python3
"""Load-test a real gepad daemon against issue 3's performance targets.

    python bench/daemon_load.py [--json OUT]

Starts `python -m gepad.daemon` in a temporary GEPAD_HOME (GEPAD_PORT=0, default config
except that the learning loop is off unless `--optimizer` is given: with no model reachable it
would only load the LLM stack and fail), then measures, in this order:

1. idle RSS (VmRSS from /proc/PID/status after start + 5 s idle) and idle CPU (utime+stime
   from /proc/PID/stat consumed over a 10 s window with no client connected);
2. `gepad status` whole-process wall time, median of 20 runs (after one warm-up run);
3. `prompt.get` latency with 50 concurrent clients, each on its own connection making 200
   calls: first back-to-back (a closed loop: all 50 always have a call in flight, so this is
   a throughput test), then paced (each client starts a call every 20 ms, staggered: 2,500
   calls/s in total); the daemon's and this process's CPU time per call are reported too;
4. sustained `feedback.submit`: 8 connections, 3000 distinct submissions in total, each
   awaited (the daemon replies only after the row is committed);
5. swap to notification: 50 subscribers on their own connections; another connection calls
   `prompt.set` 20 times, 100 ms apart; per swap, the time from sending `prompt.set` until
   the last of the 50 subscribers has received the matching `prompt.changed`.

All clients use `gepad_client` and run in this one process, on the same machine as the
daemon: measured latencies include the client side. Prints a table with the targets and
writes every figure to OUT as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gepad_client import GepadClient

START_TIMEOUT_S = 30.0
_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Settings:
    status_runs: int
    clients: int
    calls: int
    interval_ms: float
    feedback: int
    feedback_connections: int
    subscribers: int
    swaps: int
    idle_s: float
    cpu_window_s: float


# -- the daemon process ----------------------------------------------------------------------


def start_daemon(
    home: Path, *, optimizer: bool = False
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env.update(
        GEPAD_HOME=str(home),
        GEPAD_PORT="0",
        GEPAD_OPTIMIZER_ENABLED="true" if optimizer else "false",
    )
    stderr = (home / "bench-daemon-stderr.txt").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gepad.daemon"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    stderr.close()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the daemon exited with {proc.returncode}; see {stderr.name}")
        try:
            info = json.loads((home / "run" / "daemon.json").read_text())
        except (OSError, ValueError):
            info = {}
        if info.get("pid") == proc.pid:
            return proc, info
        time.sleep(0.02)
    proc.kill()
    raise SystemExit("the daemon did not become ready in time")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


# -- measurements ----------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def gepad_command() -> list[str]:
    script = shutil.which("gepad", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "gepad.cli"]


def measure_status(home: Path, runs: int) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env["GEPAD_HOME"] = str(home)
    command = [*gepad_command(), "status"]
    timings = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, timeout=30)
        elapsed = (time.perf_counter() - t0) * 1000
        if done.returncode != 0:
            raise SystemExit(f"`gepad status` failed: {done.stderr.decode()}")
        if i:  # the first run warms the OS file cache and the .pyc files
            timings.append(elapsed)
    return {
        "command": " ".join(command),
        "runs": runs,
        "median_ms": statistics.median(timings),
        "min_ms": min(timings),
        "max_ms": max(timings),
    }


async def measure_prompt_get(
    home: Path, pid: int, clients: int, calls: int, *, interval_ms: float = 0.0
) -> dict[str, Any]:
    """Closed loop when `interval_ms` is 0; else each client starts a call every interval."""
    connections = [await GepadClient.open(home, timeout=30) for _ in range(clients)]
    start = asyncio.Event()
    interval = interval_ms / 1000

    async def one(index: int, client: GepadClient) -> list[float]:
        await start.wait()
        # Spread the paced clients over one interval so they do not fire in lockstep.
        next_at = time.perf_counter() + interval * index / clients
        latencies = []
        for _ in range(calls):
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval
            t0 = time.perf_counter()
            await client.get_prompt("general")
            latencies.append((time.perf_counter() - t0) * 1000)
        return latencies

    try:
        tasks = [asyncio.create_task(one(i, c)) for i, c in enumerate(connections)]
        cpu0, own0 = cpu_seconds(pid), time.process_time()
        t0 = time.perf_counter()
        start.set()
        per_client = await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        daemon_cpu, own_cpu = cpu_seconds(pid) - cpu0, time.process_time() - own0
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    latencies = [x for chunk in per_client for x in chunk]
    return {
        "clients": clients,
        "calls_per_client": calls,
        "interval_ms": interval_ms or None,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
        "throughput_per_s": len(latencies) / wall,
        # CPU per call: what bounds a closed loop when both sides share the machine's cores.
        "daemon_cpu_us_per_call": 1e6 * daemon_cpu / len(latencies),
        "client_cpu_us_per_call": 1e6 * own_cpu / len(latencies),
    }


async def measure_feedback(home: Path, pid: int, total: int, connections: int) -> dict[str, Any]:
    clients = [await GepadClient.open(home, timeout=30) for _ in range(connections)]
    run_tag = f"{time.time_ns()}"

    async def worker(index: int, client: GepadClient) -> list[float]:
        latencies = []
        for n in range(index, total, connections):
            t0 = time.perf_counter()
            reply = await client.submit_feedback(
                "thumbs_down",
                comment=f"load test {run_tag} #{n}",
                output="def f(x):\n    return x\n",
                language="python",
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            if reply["duplicate"]:
                raise SystemExit(f"submission {n} was taken for a duplicate")
        return latencies

    try:
        cpu0 = cpu_seconds(pid)
        t0 = time.perf_counter()
        per_conn = await asyncio.gather(*(worker(i, c) for i, c in enumerate(clients)))
        wall = time.perf_counter() - t0
        daemon_cpu = cpu_seconds(pid) - cpu0
    finally:
        await asyncio.gather(*(c.close() for c in clients))
    latencies = [x for chunk in per_conn for x in chunk]
    return {
        "connections": connections,
        "submissions": total,
        "seconds": wall,
        "per_second": total / wall,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "daemon_cpu_us_per_call": 1e6 * daemon_cpu / total,
    }


async def measure_swaps(home: Path, subscribers: int, swaps: int) -> dict[str, Any]:
    clients = [await GepadClient.open(home, timeout=30) for _ in range(subscribers)]
    editor = await GepadClient.open(home, timeout=30)
    received: list[dict[str, float]] = [{} for _ in clients]

    async def listen(index: int, client: GepadClient) -> None:
        subscription = await client.subscribe(["general"])
        async for state in subscription:
            received[index][state["text"]] = time.perf_counter()

    listeners = [asyncio.create_task(listen(i, c)) for i, c in enumerate(clients)]
    try:
        await asyncio.sleep(0.5)  # every subscribe call answered
        latencies = []
        for n in range(swaps):
            text = f"Benchmark prompt, swap {n} of {time.time_ns()}.\n"
            t0 = time.perf_counter()
            await editor.set_prompt(text)
            deadline = time.monotonic() + 10
            while not all(text in r for r in received):
                if time.monotonic() > deadline:
                    missing = sum(text not in r for r in received)
                    raise SystemExit(f"swap {n}: {missing} subscribers got no notification")
                await asyncio.sleep(0.001)
            latencies.append((max(r[text] for r in received) - t0) * 1000)
            await asyncio.sleep(0.1)
    finally:
        await asyncio.gather(*(c.close() for c in [*clients, editor]))
        await asyncio.gather(*listeners, return_exceptions=True)
    return {
        "subscribers": subscribers,
        "swaps": swaps,
        "median_ms": statistics.median(latencies),
        "max_ms": max(latencies),
    }


# -- report ----------------------------------------------------------------------------------


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    status, get, paced = results["status"], results["prompt_get"], results["prompt_get_paced"]
    paced_rate = paced["clients"] * 1000 / paced["interval_ms"]
    feedback, swap, idle = results["feedback"], results["swap"], results["idle"]
    return [
        ("`gepad status` whole-process median", "< 300 ms",
         f"{status['median_ms']:.0f} ms", status["median_ms"] < 300),
        (f"`prompt.get` p99, {get['clients']} clients, closed loop", "< 5 ms",
         f"{get['p99_ms']:.2f} ms (p50 {get['p50_ms']:.2f}, "
         f"{get['throughput_per_s']:.0f} calls/s)", get["p99_ms"] < 5),
        (f"`prompt.get` p99, {paced['clients']} clients paced, {paced_rate:.0f} calls/s",
         "< 5 ms", f"{paced['p99_ms']:.2f} ms (p50 {paced['p50_ms']:.2f})",
         paced["p99_ms"] < 5),
        ("Sustained `feedback.submit`, ack after commit", ">= 300/s",
         f"{feedback['per_second']:.0f}/s", feedback["per_second"] >= 300),
        (f"Swap -> all {swap['subscribers']} subscribers notified", "< 50 ms",
         f"median {swap['median_ms']:.1f} ms, max {swap['max_ms']:.1f} ms",
         swap["max_ms"] < 50),
        ("Idle daemon RSS", "< 100 MB", f"{idle['rss_mb']:.1f} MB", idle["rss_mb"] < 100),
        (f"Idle CPU over {idle['cpu_window_s']:.0f} s", "≈ 0",
         f"{idle['cpu_s']:.3f} s CPU ({idle['cpu_percent']:.2f} %)",
         idle["cpu_percent"] < 0.5),
    ]  # fmt: skip


def print_table(results: dict[str, Any]) -> None:
    table = rows(results)
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    header = ("Measure", "Target", "Measured")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  Result")
    for measure, target, measured, ok in table:
        cells = (measure, target, measured)
        line = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        print(f"{line}  {'pass' if ok else 'FAIL'}")


async def run_load(home: Path, pid: int, settings: Settings) -> dict[str, Any]:
    return {
        "prompt_get": await measure_prompt_get(home, pid, settings.clients, settings.calls),
        "prompt_get_paced": await measure_prompt_get(
            home, pid, settings.clients, settings.calls, interval_ms=settings.interval_ms
        ),
        "feedback": await measure_feedback(
            home, pid, settings.feedback, settings.feedback_connections
        ),
        "swap": await measure_swaps(home, settings.subscribers, settings.swaps),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="daemon_load.py", description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="OUT", help="write every figure to this JSON file")
    parser.add_argument("--status-runs", type=int, default=20)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument(
        "--interval-ms", type=float, default=20.0, help="paced prompt.get: ms between calls"
    )
    parser.add_argument("--feedback", type=int, default=3000)
    parser.add_argument("--feedback-connections", type=int, default=8)
    parser.add_argument("--subscribers", type=int, default=50)
    parser.add_argument("--swaps", type=int, default=20)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle before RSS")
    parser.add_argument("--cpu-window", type=float, default=10.0, help="idle CPU window (s)")
    parser.add_argument(
        "--optimizer",
        action="store_true",
        help="leave the learning loop on (it starts after a few examples and loads the LLM "
        "stack); by default it is off, so that only issue 3's daemon is measured",
    )
    args = parser.parse_args(argv)
    settings = Settings(
        status_runs=args.status_runs,
        clients=args.clients,
        calls=args.calls,
        interval_ms=args.interval_ms,
        feedback=args.feedback,
        feedback_connections=args.feedback_connections,
        subscribers=args.subscribers,
        swaps=args.swaps,
        idle_s=args.idle,
        cpu_window_s=args.cpu_window,
    )
    # The machine may be shared: the load average says how much of it the run really had.
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gepad-load-") as tmp:
        home = Path(tmp)
        proc, info = start_daemon(home, optimizer=args.optimizer)
        try:
            time.sleep(settings.idle_s)
            idle_rss = rss_mb(proc.pid)
            cpu0 = cpu_seconds(proc.pid)
            time.sleep(settings.cpu_window_s)
            idle_cpu = cpu_seconds(proc.pid) - cpu0
            results: dict[str, Any] = {
                "idle": {
                    "rss_mb": idle_rss,
                    "cpu_window_s": settings.cpu_window_s,
                    "cpu_s": idle_cpu,
                    "cpu_percent": 100 * idle_cpu / settings.cpu_window_s,
                },
                "status": measure_status(home, settings.status_runs),
            }
            results.update(asyncio.run(run_load(home, proc.pid, settings)))
            results["rss_after_load_mb"] = rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
    results["optimizer_enabled"] = args.optimizer
    results["daemon_exit_code"] = proc.returncode
    results["daemon_version"] = info.get("version")
    results["machine"] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": load_at_start,
        "load_average_at_end": os.getloadavg(),
    }
    results["checks"] = [
        {"measure": m, "target": t, "measured": v, "pass": ok} for m, t, v, ok in rows(results)
    ]
    print_table(results)
    get = results["prompt_get"]
    print(
        f"RSS after the load {results['rss_after_load_mb']:.1f} MB; daemon exit code "
        f"{proc.returncode}; prompt.get CPU per call: daemon "
        f"{get['daemon_cpu_us_per_call']:.0f} us, client {get['client_cpu_us_per_call']:.0f} us; "
        f"load average {load_at_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end "
        f"on {os.cpu_count()} CPUs"
    )
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
