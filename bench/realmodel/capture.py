"""Capture real answers (task, judge, reflection, merge, kernel) from a real model as fixtures.

    python bench/realmodel/capture.py --model qwen2.5-coder-1.5b \
        --out tests/fixtures/real_answers/qwen2.5-coder-1.5b.json

Starts `serve.py` for the model, sends gepad's own prompts (the engine's reflection and merge
templates, the judge's system prompt and rubric) over plain HTTP at temperature 0 with a
`max_tokens` cap per purpose, and writes every answer with its finish reason and token count.
The fixtures feed the parser tests in tests/gepad/learning/test_learning_real_answers.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from models import MODELS, cached_model  # noqa: E402

SEED = "You are a helpful coding assistant."
TASKS = [
    "Write a Python function that reads a text file and returns the number of lines.",
    "Write a Python function that lists every .py file under a directory, recursively.",
    "Write a Python function that parses 'key=value' lines into a dict.",
    "Write a Python function that returns the n-th Fibonacci number.",
]
COMPLAINTS = [
    "No type hints again. I want type hints on every function, always.",
    "Stop using os.path, use pathlib for paths.",
    "Don't print from library code, return the value.",
    "You forgot encoding='utf-8' when opening the file.",
]
KERNEL = (
    "Write a CUDA C++ kernel `vector_add(const float* a, const float* b, float* c, int n)` "
    "and a host launcher `void launch(const float* a, const float* b, float* c, int n)`. "
    "Answer with one ```cuda block."
)
MAX_TOKENS = {"task": 400, "judge": 160, "reflection": 600, "merge": 500, "kernel": 600}


def chat(api_base: str, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
    body = json.dumps(
        {"model": "m", "messages": messages, "temperature": 0, "max_tokens": max_tokens}
    ).encode()
    req = urllib.request.Request(
        f"{api_base}/chat/completions", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.monotonic()
    with urllib.request.urlopen(req, timeout=600) as resp:
        data = json.loads(resp.read())
    choice = data["choices"][0]
    return {
        "messages": messages,
        "text": choice["message"]["content"],
        "finish_reason": choice.get("finish_reason"),
        "completion_tokens": data.get("usage", {}).get("completion_tokens"),
        "seconds": round(time.monotonic() - started, 2),
    }


def judge_messages(task: str, output: str, complaint: str) -> list[dict[str, str]]:
    sys.path.insert(0, str(HERE.parents[1] / "daemon" / "src"))
    from gepad.learning._judge import JUDGE_SYSTEM, render_sections, rubric

    user = render_sections(
        [
            ("User's request", task),
            ("User's complaint", complaint),
            ("Rubric", rubric("thumbs_down", [("User's complaint", complaint)], liked=False)),
            ("New output", output),
        ]
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


def capture(api_base: str, model: str) -> dict[str, Any]:
    sys.path.insert(0, str(HERE.parents[1] / "gepa_engine" / "src"))
    from gepa_engine._templates import render_merge, render_reflection
    from gepa_engine._types import ReflectiveRecord

    out: dict[str, Any] = {"model": model, "sha256": MODELS[model].sha256, "answers": []}

    def add(purpose: str, messages: list[dict[str, str]]) -> dict[str, Any]:
        answer = chat(api_base, messages, MAX_TOKENS[purpose])
        answer["purpose"] = purpose
        out["answers"].append(answer)
        print(
            f"{purpose}: {answer['completion_tokens']} tokens in {answer['seconds']} s", flush=True
        )
        return answer

    tasks = []
    for task in TASKS:
        a = add("task", [{"role": "system", "content": SEED}, {"role": "user", "content": task}])
        tasks.append((task, a["text"]))
    for (task, output), complaint in zip(tasks, COMPLAINTS, strict=True):
        add("judge", judge_messages(task, output, complaint))
    records = [
        ReflectiveRecord(f"ex{i}", task, output, complaint, 0.0)
        for i, ((task, output), complaint) in enumerate(zip(tasks, COMPLAINTS, strict=True))
    ]
    refl = [
        add("reflection", [{"role": "user", "content": render_reflection(SEED, records[:2])}]),
        add("reflection", [{"role": "user", "content": render_reflection(SEED, records[2:])}]),
    ]
    a_text = refl[0]["text"][:1500].replace("```", "")
    b_text = refl[1]["text"][:1500].replace("```", "")
    add("merge", [{"role": "user", "content": render_merge(SEED, a_text, b_text)}])
    add("kernel", [{"role": "user", "content": KERNEL}])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if cached_model(args.model) is None:
        print(f"run setup.py --model {args.model} first", file=sys.stderr)
        return 2
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "serve.py"), "--model", args.model, "--stdin-lifeline"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("api_base="):
            print(f"server did not start: {line!r}", file=sys.stderr)
            return 3
        data = capture(line.removeprefix("api_base="), args.model)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
