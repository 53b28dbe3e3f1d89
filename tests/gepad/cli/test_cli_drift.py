"""Users change their minds: contradiction detection, retirement with a reason, restore and
`gepad forget`, through a real daemon that reaches the simulated models over HTTP.

The simulated server plays the flip scenario (`realistic-flip`, single quotes flip to double
quotes); its reflection model answers the daemon's contradiction and forget templates from its
knowledge of the rules, with no error (`--drift-error 0`), so each test knows what it answers.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gepad_client_harness import gepad

from gepad_client import GepadClient
from gepad_sim import Scenario, load_scenario
from gepad_sim._live import BENCH, LiveDaemon, LiveSimServer, sim_config

pytestmark = pytest.mark.timeout(180)

SCENARIO = BENCH / "scenarios" / "realistic-flip.toml"


@dataclass
class Stack:
    server: LiveSimServer
    daemon: LiveDaemon
    scenario: Scenario

    @property
    def home(self) -> Path:
        return self.daemon.home

    def rule(self, rid: str) -> Any:
        return next(r for r in self.scenario.rules if r.id == rid)

    def task_input(self, n: int) -> str:
        return self.scenario.tasks[n].input


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    server = LiveSimServer(
        SCENARIO, 0, tmp_path, extra_args=("--flip-budget", "600", "--drift-error", "0")
    ).start()
    daemon = LiveDaemon(tmp_path / "home", sim_config(server.api_base))
    try:
        daemon.start()
        yield Stack(server, daemon, load_scenario(SCENARIO))
    finally:
        try:
            daemon.stop()
        finally:
            server.stop()


def _call(stack: Stack, method: str, params: dict[str, Any] | None = None) -> Any:
    async def go() -> Any:
        async with GepadClient.connect(home=stack.home, timeout=30) as c:
            return await c.call(method, params or {})

    return asyncio.run(go())


def _submit(stack: Stack, kind: str, **fields: Any) -> int:
    async def go() -> int:
        async with GepadClient.connect(home=stack.home, timeout=30) as c:
            return int((await c.submit_feedback(kind, **fields))["example_id"])

    return asyncio.run(go())


def _complain(stack: Stack, n: int, rid: str) -> int:
    return _submit(
        stack, "thumbs_down", context=stack.task_input(n), output="[answer 1]",
        comment=stack.rule(rid).feedback,
    )  # fmt: skip


def _optimize(stack: Stack, budget: int = 12) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with GepadClient.connect(home=stack.home, timeout=30) as c:
            before = (await c.call("optimizer.status"))["last_run_at"]
            await c.call("optimizer.run", {"budget": budget})
            for _ in range(1200):
                await asyncio.sleep(0.05)
                status: dict[str, Any] = await c.call("optimizer.status")
                if status["last_run_at"] not in (None, before) and status["state"] != "running":
                    return status
        raise AssertionError("the optimizer run did not end")

    return asyncio.run(go())


def _events(stack: Stack, kind: str) -> list[dict[str, Any]]:
    db = stack.home / "data" / "gepad.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(
            "SELECT payload FROM events WHERE kind = ? ORDER BY id", (kind,)
        ).fetchall()
    finally:
        conn.close()
    return [json.loads(r[0]) for r in rows]


def _engine(stack: Stack) -> dict[str, Any]:
    db = stack.home / "data" / "gepad.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        (state,) = conn.execute(
            "SELECT state_json FROM engine_state WHERE component = 'general'"
        ).fetchone()
    finally:
        conn.close()
    return dict(json.loads(state))


def _engine_retired(stack: Stack) -> set[str]:
    return set(_engine(stack)["retired"])


def _active_ids(stack: Stack) -> set[int]:
    return {e["id"] for e in _call(stack, "examples.list", {"limit": 200})["examples"]}


def test_contradiction_retires_the_older_example_with_a_reason_and_restore_undoes_it(
    stack: Stack,
) -> None:
    _call(stack, "prompt.set", {"component": "general", "text": "Be brief."})
    old = _complain(stack, 2, "single_quotes")
    unrelated = _complain(stack, 5, "snake_case")
    _optimize(stack)
    assert _call(stack, "examples.retired")["retired"] == []  # nothing contradicts yet

    new = _complain(stack, 9, "double_quotes")
    status = _optimize(stack)
    retired = _call(stack, "examples.retired")["retired"]
    assert [r["id"] for r in retired] == [old]
    assert retired[0]["by_example"] == new
    assert retired[0]["decided_by"] == "model:openai/sim-reflect"
    assert retired[0]["retired"] is True
    assert "opposite" in retired[0]["reason"]
    assert _active_ids(stack) >= {unrelated, new}
    assert old not in _active_ids(stack)
    assert str(old) in _engine_retired(stack)  # the engine dropped it too
    # The best prompt, rewritten so the newer feedback replaces the older, joins the candidates.
    bodies = "\n".join(e["body"] for e in stack.server.received(limit=1000)["requests"])
    assert "each NEW piece of feedback below replaces the older one" in bodies
    single, double = stack.rule("single_quotes"), stack.rule("double_quotes")
    rewrites = [
        c["components"]["general"]
        for c in _engine(stack)["candidates"]
        if double.statement in c["components"]["general"]
        and single.statement not in c["components"]["general"]
    ]
    assert rewrites
    (event,) = _events(stack, "example.retired")
    assert event["id"] == old and event["by_example"] == new and event["component"] == "general"
    recent = status["drift"]["recent_retirements"]
    assert [(r["id"], r["restored"]) for r in recent] == [(old, False)]
    assert status["drift"]["model_calls"] >= 2  # one check per run, on new feedback only

    shown = gepad(stack.home, "status")
    assert shown.returncode == 0, shown.stderr
    assert "Retired lately" in shown.stdout and f"#{old} " in shown.stdout
    listing = gepad(stack.home, "examples", "--retired")
    assert listing.returncode == 0, listing.stderr
    assert f"newer: #{new}" in listing.stdout and "model:openai/sim-reflect" in listing.stdout

    restored = gepad(stack.home, "examples", "restore", str(old))
    assert restored.returncode == 0, restored.stderr
    assert "restored" in restored.stdout
    assert old in _active_ids(stack)
    assert str(old) not in _engine_retired(stack)  # the engine has it back at once
    assert _events(stack, "example.restored")[-1]["decided_by"] == "user"
    after = _call(stack, "status.get")["optimizer"]["drift"]["recent_retirements"]
    assert [(r["id"], r["restored"]) for r in after] == [(old, True)]
    assert _call(stack, "examples.retired")["retired"][0]["retired"] is False
    again = gepad(stack.home, "examples", "restore", str(old))
    assert again.returncode == 0 and "nothing changed" in again.stdout
    missing = gepad(stack.home, "examples", "restore")
    assert missing.returncode == 2 and "needs an example id" in missing.stderr


def test_a_correction_that_undoes_an_earlier_one_retires_it_without_a_model_call(
    stack: Stack,
) -> None:
    first = _submit(
        stack, "correction", context="Write a helper that clamps a value.",
        output="def clamp(x):\n\treturn max(0, min(x, 1))\n",
        corrected="def clamp(x):\n    return max(0, min(x, 1))\n",
    )  # fmt: skip
    other = _submit(
        stack, "correction", context="Write a helper that doubles a value.",
        output="def double(x):\n    return x * 2\n",
        corrected="def double(x: int) -> int:\n    return x * 2\n",
    )  # fmt: skip
    undo = _submit(
        stack, "correction", context="Write a helper that squares a value.",
        output="def square(x):\n    return x * x\n",
        corrected="def square(x):\n\treturn x * x\n",
    )  # fmt: skip
    _optimize(stack)
    retired = _call(stack, "examples.retired")["retired"]
    assert [(r["id"], r["decided_by"], r["by_example"]) for r in retired] == [
        (first, "undo-diff", undo)
    ]
    assert _active_ids(stack) >= {other, undo}


def test_a_garbage_answer_is_rejected_with_its_reason_and_retires_nothing(stack: Stack) -> None:
    _complain(stack, 2, "single_quotes")
    _optimize(stack)
    _complain(stack, 9, "double_quotes")
    # The drift check's call and its one retry get garbage; the run itself goes on.
    stack.server.control(fault="garbage", roles=["reflect"], count=2)
    status = _optimize(stack)
    assert _call(stack, "examples.retired")["retired"] == []
    assert "general:" in (status["drift"]["last_rejected"] or "")
    shown = gepad(stack.home, "status")
    assert "last contradiction check rejected" in shown.stdout


def test_forget_asks_first_then_retires_and_proposes_a_prompt_without_the_rule(
    stack: Stack,
) -> None:
    quotes = stack.rule("single_quotes").statement
    _call(
        stack,
        "prompt.set",
        {"component": "general", "text": f"You are a coding assistant.\n{quotes}"},
    )
    about = [_complain(stack, 2, "single_quotes"), _complain(stack, 12, "single_quotes")]
    keep = _complain(stack, 5, "snake_case")

    asked = gepad(stack.home, "forget", "single quotes")  # stdin is not a terminal
    assert asked.returncode == 2 and "--yes" in asked.stderr
    assert str(about[0]) in asked.stdout and str(about[1]) in asked.stdout  # shown first
    assert _active_ids(stack) >= {*about, keep}  # nothing changed
    assert _events(stack, "example.retired") == []

    done = gepad(stack.home, "forget", "single quotes", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"#{about[0]}" in done.stdout and f"#{about[1]}" in done.stdout
    assert not set(about) & _active_ids(stack) and keep in _active_ids(stack)
    reasons = {e["id"]: e for e in _events(stack, "example.retired")}
    assert set(reasons) == set(about)
    assert reasons[about[0]]["decided_by"] == "user"
    assert reasons[about[0]]["reason"] == 'forget "single quotes"'
    state = _call(stack, "prompt.get")
    assert state["pending"] is not None and quotes not in state["pending"]["text"]
    assert "You are a coding assistant." in state["pending"]["text"]
    assert quotes in state["text"]  # the current version waits for the user's approval

    by_id = gepad(stack.home, "forget", "snake case", "--ids", str(keep), "--yes", "--json")
    assert by_id.returncode == 0, by_id.stderr
    assert json.loads(by_id.stdout)["retired"] == [keep]


def test_forget_bad_input_gets_clear_errors(stack: Stack) -> None:
    blank = gepad(stack.home, "forget", "   ", "--yes")
    assert blank.returncode == 2 and "say which rule" in blank.stderr
    bad_ids = gepad(stack.home, "forget", "tabs", "--ids", "3,x", "--yes")
    assert bad_ids.returncode == 2 and "'x' is not an example id" in bad_ids.stderr
    unknown = gepad(stack.home, "forget", "tabs", "--ids", "999", "--yes")
    assert unknown.returncode == 1 and "no active example" in unknown.stderr
    component = gepad(stack.home, "forget", "tabs", "--component", "nosuch", "--yes")
    assert component.returncode != 0 and "nosuch" in component.stderr
