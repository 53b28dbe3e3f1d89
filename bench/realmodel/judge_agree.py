#!/usr/bin/env python3
"""Judge agreement with the code checks, per judge mode, on triples from the learning runs.

    python bench/realmodel/judge_agree.py --api-base http://127.0.0.1:PORT/v1 \
        --runs /tmp/learn --modes single pairwise --n 8 --json OUT

A triple is (request, the user's complaint about the seed prompt's output, a NEW output for
the same request under another prompt), gathered from the learning runs' files (`learn.py`
OUT: seed-*.json and task-cache.json). Truth: the new output meets every rule the complaint
was about (`rules.check`). Each mode grades every triple with the daemon's own `Judge`
(gepad.learning._judging, the prompts gepad sends, through LlmClient, litellm and HTTP), the
rejected output as the pairwise reference. Reports agreement and Cohen's kappa per mode. The
judge here is the raw judge: the daemon's code-check overrule (`_code_checks`) is not applied.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from rules import check, complaint  # noqa: E402


def triples(runs: Path, n: int) -> list[dict[str, Any]]:
    """Triples from the runs: the training requests (the user's own complaint) and the held-out
    requests (a complaint the simulated user would have made about the seed prompt's output),
    each with a new output under a prompt that differs from the seed (gepad's, gepa's)."""
    cache = json.loads((runs / "task-cache.json").read_text(encoding="utf-8"))
    out: list[dict[str, Any]] = []
    seen: set[str] = set()

    def cached(prompt: str, request: str) -> tuple[str, str | None]:
        key = hashlib.sha256(f"{prompt}\x00{request}".encode()).hexdigest()
        return key, cache.get(key)

    for path in sorted(runs.glob("seed-*.json")):
        run = json.loads(path.read_text(encoding="utf-8"))
        seed_prompt = run["seed_prompt"]
        prompts = list(run.get("gepa", {}).get("candidates", []))
        if "daemon" in run:
            prompts.append(run["daemon"]["final_prompt"])
        prompts = [p for p in dict.fromkeys(prompts) if p != seed_prompt]
        cases = [(f["request"], f["output"], f["comment"], f["broken"]) for f in run["feedback"]]
        for request in run.get("heldout_requests", []):
            _, rejected = cached(seed_prompt, request)
            if rejected is None:
                continue
            verdict = check(rejected)
            rng = random.Random(f"{run['seed']}\x00{request}")
            cases.append((request, rejected, complaint(verdict, rng) or "", list(verdict.broken)))
        for request, rejected, words, broken in cases:
            if not words or not broken:
                continue
            for prompt in prompts:
                key, new = cached(prompt, request)
                if new is None or new == rejected or key in seen:
                    continue
                seen.add(key)
                verdict = check(new)
                about = broken[:2]
                truth = verdict.has_code and not set(about) & set(verdict.broken)
                out.append(
                    {"request": request, "complaint": words, "rejected": rejected, "new": new,
                     "truth": truth, "about": about}
                )  # fmt: skip
    # Balance passes and fails where the runs allow it, then cut to n.
    passes = [t for t in out if t["truth"]]
    fails = [t for t in out if not t["truth"]]
    mixed: list[dict[str, Any]] = []
    while (passes or fails) and len(mixed) < n:
        for pool in (passes, fails):
            if pool and len(mixed) < n:
                mixed.append(pool.pop(0))
    return mixed


def kappa(pairs: list[tuple[bool, bool]]) -> tuple[float, float | None]:
    """(agreement, Cohen's kappa) of (judge, truth) pairs; kappa None when undefined."""
    n = len(pairs)
    agree = sum(1 for j, t in pairs if j == t) / n
    pj = sum(1 for j, _ in pairs if j) / n
    pt = sum(1 for _, t in pairs if t) / n
    expected = pj * pt + (1 - pj) * (1 - pt)
    return agree, (None if expected == 1 else (agree - expected) / (1 - expected))


async def grade_all(api_base: str, mode: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    from gepad.learning._judge import REQUEST, RUBRIC, rubric
    from gepad.learning._judging import Judge, JudgeSettings, Reference
    from gepad.llm import LlmCallRecord, LlmClient, LlmSettings

    records: list[LlmCallRecord] = []

    async def record(r: LlmCallRecord) -> None:
        records.append(r)

    settings = LlmSettings(
        task_model="openai/qwen", reflection_model="openai/qwen", api_base=api_base,
        timeout_s=600, stream=True, max_retries=1, max_tokens={"judge": 160},
    )  # fmt: skip
    judge = Judge(LlmClient(settings, record), JudgeSettings(mode=mode))
    started = time.monotonic()
    rows = []
    for t in items:
        user = [("User's complaint", t["complaint"])]
        sections = [
            (REQUEST, t["request"]), *user,
            (RUBRIC, rubric("thumbs_down", user, liked=False)),
        ]  # fmt: skip
        ref = Reference(t["rejected"], liked=False, heading="Rejected output")
        grade = await judge.grade(sections, t["new"], ref)
        rows.append(
            {"truth": t["truth"], "judge": grade.passed, "score": grade.score,
             "verdict": grade.verdict, "explanation": grade.explanation, "about": t["about"]}
        )  # fmt: skip
        print(f"  {mode}: judge {grade.passed} truth {t['truth']} ({grade.verdict})", flush=True)
    agree, k = kappa([(r["judge"], r["truth"]) for r in rows])
    return {
        "mode": mode, "n": len(rows), "agreement": agree, "kappa": k,
        "judge_passes": sum(r["judge"] for r in rows), "true_passes": sum(r["truth"] for r in rows),
        "calls": len(records), "tokens": sum(r.input_tokens + r.output_tokens for r in records),
        "seconds": round(time.monotonic() - started, 1), "rows": rows,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--modes", nargs="+", default=["single", "pairwise"])
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    items = triples(args.runs, args.n)
    if not items:
        print("no triples: run learn.py first", file=sys.stderr)
        return 2
    print(f"{len(items)} triples, {sum(t['truth'] for t in items)} true passes", flush=True)
    results = [asyncio.run(grade_all(args.api_base, m, items)) for m in args.modes]
    for r in results:
        k = "undefined" if r["kappa"] is None else f"{r['kappa']:.3f}"
        print(f"{r['mode']}: agreement {r['agreement']:.3f}, kappa {k}, {r['calls']} calls")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
