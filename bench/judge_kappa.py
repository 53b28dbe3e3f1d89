#!/usr/bin/env python3
"""How far each judge mode can be trusted: Cohen's kappa against the simulated user's truth.

    python bench/judge_kappa.py --scenario FILE [--trials N] [--seed S] [--json OUT]

The daemon's own `Metric` (every mode of `gepad.learning._judging`) grades rollouts through
litellm against `bench/simserver.py`, once with an unbiased simulated judge and once with the
biases real judges have switched on (error 0.2, position bias 0.3, length bias 0.3; `--bias`
changes them). Each trial is one feedback example of the scenario (a thumbs-down with the
simulated user's complaint about an output that missed every rule of its task, or a thumbs-up
on an output that followed them all) and one candidate prompt that states all or none of the
task's rules, chosen at random. The ground truth is the simulated user's: the new output
follows every rule of the task (so it fixes the complaint, or keeps what was liked). The judge
says yes when its grade passes (pairwise: a win against the rejected output, no loss against the
liked one). Reported per mode: agreement, kappa, judge calls and tokens per rollout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from gepad.learning import JudgeSettings, Metric, cohen_kappa
from gepad.llm import LlmCallRecord, LlmClient, LlmSettings
from gepad.store import Example
from gepad_sim import load_scenario
from gepad_sim._live import LiveSimServer

MODES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("single", {"mode": "single"}),
    ("pairwise", {"mode": "pairwise"}),
    ("repeat x3", {"mode": "repeat", "repeats": 3}),
    ("repeat x5", {"mode": "repeat", "repeats": 5}),
)


def _output(rules: tuple[str, ...], followed: tuple[str, ...]) -> str:
    missed = [r for r in rules if r not in followed]
    return f"followed: {', '.join(followed) or 'none'}; missed: {', '.join(missed) or 'none'}"


def _trials(scenario: Any, n: int, seed: int) -> list[tuple[Example, str]]:
    rng = random.Random(seed)
    by_id = {r.id: r for r in scenario.rules}
    tasks = [t for t in scenario.tasks if t.rules]
    out = []
    for i in range(n):
        task = rng.choice(tasks)
        liked = rng.random() < 0.3
        output = _output(task.rules, task.rules if liked else ())
        comment = None if liked else " ".join(by_id[r].feedback for r in task.rules)
        ex = Example(
            id=i + 1, kind="thumbs_up" if liked else "thumbs_down", component="general",
            workspace=None, file=None, language="python", context=task.input, output=output,
            corrected=None, comment=comment, outcome=None, generation_id=None,
            prompt_version=None, split="unassigned", retired=False, created_at=0.0,
            content_hash=str(i),
        )  # fmt: skip
        stated = task.rules if rng.random() < 0.5 else ()
        # A distinct prompt per trial: no two rollouts are the same request.
        prompt = "\n".join([f"You are assistant #{i}.", *(by_id[r].statement for r in stated)])
        out.append((ex, prompt))
    return out


def _truth(output: str, rules: tuple[str, ...]) -> bool:
    head = output.split(";")[0].removeprefix("followed:")
    followed = {x.strip() for x in head.split(",")}
    return all(r in followed for r in rules)


async def _measure(api_base: str, scenario: Any, trials: list[tuple[Example, str]],
                   judge: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    calls: list[LlmCallRecord] = []

    async def record(call: LlmCallRecord) -> None:
        calls.append(call)

    settings = LlmSettings(
        task_model="openai/sim-task", reflection_model="openai/sim-reflect",
        judge_model="openai/sim-judge", api_base=api_base, timeout_s=20, max_retries=0,
        cache="never",
    )  # fmt: skip
    metric = Metric(LlmClient(settings, record), judge=JudgeSettings(**judge))
    rules_of = {t.input: t.rules for t in scenario.tasks}
    pairs = []
    for ex, prompt in trials:
        result = await metric.rollout(prompt, ex)
        if result.score is None:
            continue
        truth = _truth(result.output, rules_of[ex.context])
        # The metric's score carries the grade; a pass is a full score.
        pairs.append((truth, result.score >= 1.0))
    n = len(pairs)
    cost = next(iter(metric.judge.cost().values()))
    return {
        "rollouts": n,
        "agreement": sum(1 for a, b in pairs if a == b) / n,
        "kappa": cohen_kappa(pairs),
        "judge_calls_per_rollout": cost["calls_per_rollout"],
        "judge_tokens_per_rollout": cost["tokens_per_rollout"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bias", type=float, nargs=3, default=(0.2, 0.3, 0.3),
                        metavar=("ERROR", "POSITION", "LENGTH"))  # fmt: skip
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENAI_API_KEY", "sk-sim-not-a-secret")
    scenario = load_scenario(args.scenario)
    trials = _trials(scenario, args.trials, args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gepad-kappa-") as tmp:
        server = LiveSimServer(args.scenario, args.seed, Path(tmp)).start()
        try:
            for label, bias in (("unbiased", (0.0, 0.0, 0.0)), ("biased", tuple(args.bias))):
                for name, judge in MODES:
                    server.reset()
                    server.control(judge=dict(zip(
                        ("error_prob", "position_bias", "length_bias"), bias, strict=True
                    )))  # fmt: skip
                    row = asyncio.run(_measure(server.api_base, scenario, trials, judge))
                    row.update(judge=label, bias=list(bias), mode=name)
                    rows.append(row)
                    kappa = "n/a" if row["kappa"] is None else f"{row['kappa']:.3f}"
                    print(
                        f"{label:8} {name:10} kappa {kappa}  agreement {row['agreement']:.3f}  "
                        f"{row['judge_calls_per_rollout']:g} judge calls, "
                        f"{row['judge_tokens_per_rollout']:g} tokens per rollout "
                        f"({row['rollouts']} rollouts)"
                    )
        finally:
            server.stop()
    if args.json:
        args.json.write_text(json.dumps({"scenario": scenario.name, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
