#!/usr/bin/env python3
"""Learning benchmark with a real model: does gepad's prompt make the model follow the user?

    python bench/realmodel/learn.py --api-base http://127.0.0.1:PORT/v1 --seeds 0 1 2 \
        --budget 20 --out /tmp/learn        # one JSON per seed: OUT/seed-S.json

Without --api-base it starts `serve.py --model qwen2.5-coder-1.5b` itself. Per seed:

1. The simulated user asks for `--train` of the requests in `tasks.py` (the held-out ones,
   `--heldout` of them, are fixed across seeds and never shown to gepad) with the seed prompt
   as the system message, checks each answer with the code checks of `rules.py`, and sends a
   thumbs-down with a complaint in their own words about up to two broken rules (a thumbs-up
   when nothing is broken) to a REAL daemon (temporary GEPAD_HOME, port 0) over its websocket.
2. The daemon optimises with `optimizer.run` and the given budget; its task, judge and
   reflection model is the real one (litellm -> HTTP -> llama.cpp).
3. Reference `gepa` (pinned 0.1.4) optimises the same seed prompt on the same requests with
   the same model: its metric is the checks' score, its feedback the same complaint text, its
   reflection gepa's own template, the same budget of metric calls.
4. The seed prompt, the daemon's final current prompt and gepa's best are scored on the
   held-out requests by the checks. Calls and tokens per role come from the daemon's
   `llm_calls` table and from this script's own counters.

Task answers this script asks for itself (the user's view, gepa's rollouts, held-out scoring)
are cached by (system prompt, request) in OUT/task-cache.json: at temperature 0 each pair is
sampled once and the same sample is reused (one sample per pair, not an average).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from rules import check, complaint  # noqa: E402
from tasks import TASKS  # noqa: E402

# No literal fence in the seed: with "```python" in it, Qwen-1.5B's reflections returned the
# seed with the fence rewritten, a candidate the gate rightly refused (seed 0, 2026-12-03).
SEED_PROMPT = "You are a helpful Python coding assistant. Put the code in one fenced block."
HELDOUT_ORDER_SEED = 1234
MODEL = "openai/qwen"


class Model:
    """Plain HTTP to the OpenAI-compatible server, with a per-role count of calls and tokens."""

    def __init__(self, api_base: str, cache_path: Path, task_tokens: int) -> None:
        self.api_base = api_base
        self.task_tokens = task_tokens
        self.cache_path = cache_path
        self.cache: dict[str, str] = (
            json.loads(cache_path.read_text(encoding="utf-8")) if cache_path.exists() else {}
        )
        self.usage: dict[str, dict[str, float]] = {}

    def chat(self, role: str, messages: list[dict[str, str]], max_tokens: int) -> str:
        body = json.dumps(
            {"model": "m", "messages": messages, "temperature": 0, "max_tokens": max_tokens}
        ).encode()
        req = urllib.request.Request(
            f"{self.api_base}/chat/completions",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        started = time.monotonic()
        with urllib.request.urlopen(req, timeout=900) as resp:
            data = json.loads(resp.read())
        u = self.usage.setdefault(role, {"calls": 0, "input": 0, "output": 0, "seconds": 0.0})
        u["calls"] += 1
        u["input"] += data.get("usage", {}).get("prompt_tokens", 0)
        u["output"] += data.get("usage", {}).get("completion_tokens", 0)
        u["seconds"] += time.monotonic() - started
        return str(data["choices"][0]["message"]["content"] or "")

    def task(self, role: str, prompt: str, request: str) -> str:
        key = hashlib.sha256(f"{prompt}\x00{request}".encode()).hexdigest()
        if key not in self.cache:
            messages = [{"role": "system", "content": prompt}, {"role": "user", "content": request}]
            self.cache[key] = self.chat(role, messages, self.task_tokens)
            tmp = self.cache_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.cache, indent=0), encoding="utf-8")
            tmp.replace(self.cache_path)
        else:
            self.usage.setdefault(role, {"calls": 0, "input": 0, "output": 0, "seconds": 0.0})
            self.usage[role]["cached"] = self.usage[role].get("cached", 0) + 1
        return self.cache[key]


def split(seed: int, n_train: int, n_heldout: int) -> tuple[list[str], list[str]]:
    order = list(TASKS)
    random.Random(HELDOUT_ORDER_SEED).shuffle(order)
    heldout, rest = order[:n_heldout], order[n_heldout:]
    random.Random(seed).shuffle(rest)
    return rest[:n_train], heldout


def score_prompt(model: Model, prompt: str, requests: list[str]) -> dict[str, Any]:
    rows = []
    for request in requests:
        verdict = check(model.task("heldout", prompt, request))
        rows.append({"request": request, "score": verdict.score, "broken": verdict.broken})
    mean = sum(r["score"] for r in rows) / len(rows)
    return {"score": round(mean, 4), "rows": rows}


# -- the daemon -----------------------------------------------------------------------------------


def daemon_config(api_base: str, args: argparse.Namespace) -> str:
    return "\n".join(
        [
            "port = 0",
            f'task_model = "{MODEL}"',
            f'reflection_model = "{MODEL}"',
            f'api_base = "{api_base}"',
            "optimize_after_examples = 1000000",
            "daily_budget_usd = 0",
            "daily_budget_tokens = 0",
            f"llm_timeout_s = {args.llm_timeout}",
            "llm_stream = true",
            "llm_stall_timeout_s = 120",
            "llm_max_retries = 1",
            "llm_concurrency = 1",
            f'judge_mode = "{args.judge_mode}"',
            f"judge_calibration_per_run = {args.calibration}",
            "prequential_enabled = false",
            "drift_enabled = false",
            "[llm_max_tokens]",
            f"task = {args.task_tokens}",
            "judge = 160",
            f"reflection = {args.reflection_tokens}",
            f"merge = {args.reflection_tokens}",
            "",
        ]
    )


async def run_daemon(
    api_base: str,
    feedback: list[dict[str, str]],
    args: argparse.Namespace,
    work: Path,
    log_copy: Path,
) -> dict[str, Any]:
    from gepad_client import GepadClient
    from gepad_sim._live import LiveDaemon

    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(daemon_config(api_base, args), encoding="utf-8")
    daemon = LiveDaemon(home, {})
    daemon.write_config = lambda: None  # type: ignore[method-assign]
    daemon.start(timeout=120)
    started = time.monotonic()
    try:
        async with GepadClient.connect(home=home, timeout=120) as client:
            await client.set_prompt(SEED_PROMPT)
            for fb in feedback:
                if fb["comment"]:
                    await client.submit_feedback(
                        "thumbs_down", context=fb["request"], output=fb["output"],
                        comment=fb["comment"],
                    )  # fmt: skip
                else:
                    await client.submit_feedback(
                        "thumbs_up", context=fb["request"], output=fb["output"]
                    )
            before = (await client.call("optimizer.status")).get("last_run_at")
            await client.call("optimizer.run", {"budget": args.budget})
            deadline = time.monotonic() + args.run_timeout
            status: dict[str, Any] = {}
            while time.monotonic() < deadline:
                await asyncio.sleep(5)
                status = await client.call("optimizer.status")
                if status.get("last_run_at") not in (None, before) and status["state"] != "running":
                    break
                general = status.get("components", {}).get("general", {})
                print(
                    f"  daemon: {general.get('rollouts')} rollouts, {status['state']}", flush=True
                )
            current = await client.get_prompt()
            history = await client.prompt_history(limit=50)
    finally:
        if daemon.proc is not None:
            daemon.proc.terminate()
            daemon.proc.wait(timeout=60)
    seconds = time.monotonic() - started
    logs = sorted((home / "logs").glob("gepad.log*"), reverse=True)
    text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)
    log_copy.write_text(text, encoding="utf-8")
    # "mode=single judge=pass checks=fail checked=type hints,encoding": values may hold spaces.
    agreement = [
        dict(re.findall(r"(\w+)=(.*?)(?= \w+=|$)", m.group(1)))
        for m in re.finditer(r"judge agreement: (.*)", text)
    ]
    db = home / "data" / "gepad.db"
    with sqlite3.connect(db) as conn:
        calls = conn.execute(
            "SELECT purpose, outcome, COUNT(*), SUM(input_tokens), SUM(output_tokens),"
            " SUM(latency_ms) FROM llm_calls GROUP BY purpose, outcome"
        ).fetchall()
        errors = conn.execute(
            "SELECT purpose, outcome, error FROM llm_calls WHERE error IS NOT NULL"
        ).fetchall()
        events = conn.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind").fetchall()
    versions = [dict(v) for v in history.versions] if hasattr(history, "versions") else history
    return {
        "final_prompt": current["text"] if isinstance(current, dict) else current.text,
        "status": status,
        "history": versions,
        "llm_calls": [
            {
                "purpose": p,
                "outcome": o,
                "calls": n,
                "input_tokens": i,
                "output_tokens": out,
                "seconds": round((ms or 0) / 1000, 1),
            }
            for p, o, n, i, out, ms in calls
        ],
        "errors": [list(e) for e in errors],
        "events": dict(events),
        "judge_vs_checks": agreement,
        "seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-base", help="a running server (default: start serve.py)")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--train", type=int, default=12)
    parser.add_argument("--heldout", type=int, default=6)
    parser.add_argument("--task-tokens", type=int, default=200)
    parser.add_argument("--reflection-tokens", type=int, default=300)
    parser.add_argument("--judge-mode", default="single")
    parser.add_argument("--calibration", type=int, default=0)
    parser.add_argument("--llm-timeout", type=float, default=600)
    parser.add_argument("--run-timeout", type=float, default=5400)
    parser.add_argument("--skip", nargs="*", default=[], choices=["daemon", "gepa"])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    proc = None
    api_base = args.api_base
    if api_base is None:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "serve.py"), "--model", args.model, "--ctx", "8192",
             "--stdin-lifeline"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("api_base="):
            print(f"server did not start: {line!r}", file=sys.stderr)
            return 3
        api_base = line.removeprefix("api_base=")
    try:
        for seed in args.seeds:
            result = run_seed(api_base, seed, args)
            path = args.out / f"seed-{seed}.json"
            path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
            print(
                f"seed {seed}: seed prompt {result['heldout']['seed']['score']:.3f}  "
                f"gepad {_get(result, 'gepad')}  gepa {_get(result, 'gepa')}  "
                f"({result['seconds']} s)",
                flush=True,
            )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


def _get(result: dict[str, Any], arm: str) -> str:
    value = result["heldout"].get(arm)
    return "-" if value is None else f"{value['score']:.3f}"


def run_seed(api_base: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from reference import run_gepa

    started = time.monotonic()
    model = Model(api_base, args.out / "task-cache.json", args.task_tokens)
    train, heldout = split(seed, args.train, args.heldout)
    rng = random.Random(seed)
    feedback = []
    for request in train:
        output = model.task("user", SEED_PROMPT, request)
        verdict = check(output)
        words = complaint(verdict, rng)
        feedback.append(
            {"request": request, "output": output, "comment": words or "",
             "score": verdict.score, "broken": list(verdict.broken)}
        )  # fmt: skip
    print(f"seed {seed}: {sum(1 for f in feedback if f['comment'])} complaints", flush=True)
    result: dict[str, Any] = {
        "seed": seed, "model_api_base": api_base, "budget": args.budget,
        "seed_prompt": SEED_PROMPT, "feedback": feedback, "heldout_requests": heldout,
        "judge_mode": args.judge_mode,
    }  # fmt: skip
    prompts = {"seed": SEED_PROMPT}
    if "daemon" not in args.skip:
        with tempfile.TemporaryDirectory(prefix="gepad-learn-") as tmp:
            log_copy = args.out / f"seed-{seed}-daemon.log"
            daemon = asyncio.run(run_daemon(api_base, feedback, args, Path(tmp), log_copy))
        result["daemon"] = daemon
        prompts["gepad"] = daemon["final_prompt"]
    if "gepa" not in args.skip:
        gepa = run_gepa(model, SEED_PROMPT, feedback, args.budget, seed, args.reflection_tokens)
        result["gepa"] = gepa
        prompts["gepa"] = gepa["best_prompt"]
    result["heldout"] = {arm: score_prompt(model, p, heldout) for arm, p in prompts.items()}
    result["bench_calls"] = model.usage
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
