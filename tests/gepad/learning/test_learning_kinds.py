"""Every feedback kind, end to end, in a daemon in review mode.

One example of each kind is submitted over the websocket, then the optimizer runs through the
simulated server. The tests check what the judge received for each kind, that the engine state
the daemon persisted holds a score for each, and that the better prompt found from them waits
for review as `pending` while the current prompt stays as it was until the user approves.
(One daemon serves both: starting one costs seconds, most of them litellm's import.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from gepad_learning_testing import (
    Stack,
    db_rows,
    engine_state,
    fake_secrets,
    feed_thumbs_down,
    judge_prompts,
    live_stack,
    llm_outcomes,
    run_optimizer,
    scenario,
    secret_thumbs_down,
    seed_output,
    server_text,
)

from gepad.learning import unified_diff

pytestmark = pytest.mark.timeout(90)

SC = scenario()
RULES = {r.id: r for r in SC.rules}
TASKS = {t.id: t for t in SC.tasks}

THUMBS_DOWN = RULES["snake_case"].feedback + " " + RULES["type_hints"].feedback
ORIGINAL = "def syncReport(n):\n    print('%d files copied' % n)\n"
CORRECTED = "def sync_report(n):\n    log.info(f'{n} files copied')\n"
CORRECTION_COMMENT = RULES["fstrings"].feedback
COMMENT = RULES["pytest_style"].feedback
TEST_MESSAGE = "AssertionError: Ctrl-C was swallowed. " + RULES["no_bare_except"].feedback
DIAGNOSTICS = "config.py:2: error: missing return type. " + RULES["pathlib"].feedback
SUBMISSIONS: dict[str, dict[str, Any]] = {
    "thumbs_down": {
        "context": TASKS["t01"].input,
        "output": seed_output(TASKS["t01"]),
        "comment": THUMBS_DOWN,
    },
    "thumbs_up": {
        "context": TASKS["t09"].input,
        "output": seed_output(TASKS["t09"], followed=("snake_case",)),
    },
    "correction": {
        "context": TASKS["t03"].input,
        "output": ORIGINAL,
        "corrected": CORRECTED,
        "comment": CORRECTION_COMMENT,
    },
    "comment": {
        "context": TASKS["t04"].input,
        "output": seed_output(TASKS["t04"]),
        "comment": COMMENT,
    },
    "test_result": {
        "context": TASKS["t06"].input,
        "output": seed_output(TASKS["t06"]),
        "test": "test_retry.py::test_env",
        "passed": False,
        "message": TEST_MESSAGE,
    },
    "compile_result": {
        "context": TASKS["t02"].input,
        "output": seed_output(TASKS["t02"]),
        "tool": "mypy",
        "ok": False,
        "diagnostics": DIAGNOSTICS,
    },
}
# More complaints, so that the run has something to improve on for the review test.
EXTRA_TASKS = [TASKS[t] for t in ("t05", "t07", "t08", "t10")]
# And one carrying fake secrets: the simulated server is on 127.0.0.1, a local model, so the
# default `redact = "auto"` sends them as they are.
SECRETS = fake_secrets(7)


@dataclass
class Learned:
    stack: Stack
    ids: dict[str, int]
    seed: dict[str, Any]
    status: dict[str, Any]
    notices: list[dict[str, Any]]
    judge_prompts: list[dict[str, str]]
    requests: int
    received: str


async def _learn(stack: Stack) -> Learned:
    async with stack.connect() as client:
        seed = dict(await client.get_prompt())
        subscription = await client.subscribe(["general"])
        ids = {}
        for kind, fields in SUBMISSIONS.items():
            ids[kind] = (await client.submit_feedback(kind, **fields))["example_id"]
        await feed_thumbs_down(client, SC, EXTRA_TASKS)
        secret = secret_thumbs_down(SC, TASKS["t11"], SECRETS)
        ids["secret"] = (await client.submit_feedback("thumbs_down", **secret))["example_id"]
        status = await run_optimizer(client, 60)
        notices = []
        while True:
            try:
                notices.append(dict(await subscription.get(timeout=0.5)))
            except TimeoutError:  # CallTimeout: nothing more arrived
                break
    stats = stack.server.stats()
    return Learned(
        stack,
        ids,
        seed,
        status,
        notices,
        judge_prompts(stack.server),
        stats["requests"],
        server_text(stack.server),
    )


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Learned]:
    with live_stack(tmp_path_factory.mktemp("kinds"), swap_policy="review") as stack:
        yield asyncio.run(_learn(stack))


def test_each_kind_reaches_the_judge_with_its_sections(learned: Learned) -> None:
    status = learned.status
    assert status["state"] == "idle", status
    assert status["last_error"] is None
    assert sum(status["components"]["general"]["examples"].values()) == len(learned.ids) + len(
        EXTRA_TASKS
    )
    assert learned.requests < 256  # the server's request log kept every request
    prompts = learned.judge_prompts
    assert prompts, "the judge was never asked"
    assert all(p.get("New output") for p in prompts)

    def asked(**want: str) -> list[dict[str, str]]:
        return [p for p in prompts if all(p.get(k) == v for k, v in want.items())]

    assert asked(**{"User's complaint": THUMBS_DOWN, "Rejected output": seed_output(TASKS["t01"])})
    diff = unified_diff(ORIGINAL, CORRECTED)
    assert diff.startswith("--- assistant\n+++ user\n")
    assert "-    print('%d files copied' % n)" in diff.splitlines()
    assert "+    log.info(f'{n} files copied')" in diff.splitlines()
    assert asked(**{"User's correction": diff, "User's comment": CORRECTION_COMMENT})
    assert asked(**{"User's comment": COMMENT, "Earlier output": seed_output(TASKS["t04"])})
    assert asked(**{"Failure message": TEST_MESSAGE})
    assert asked(**{"Failure message": DIAGNOSTICS})
    liked = asked(**{"Output the user liked": SUBMISSIONS["thumbs_up"]["output"]})
    assert liked
    assert all(not set(p) & {"User's complaint", "User's comment"} for p in liked)


def test_each_kind_is_scored_in_the_persisted_engine_state(learned: Learned) -> None:
    state = engine_state(learned.stack.db_path)
    by_candidate: dict[str, dict[str, float]] = {}
    for table in ("train_scores", "val_scores"):
        for cid, by_example in state[table].items():
            by_candidate.setdefault(cid, {}).update(by_example)
    scored = {e for scores in by_candidate.values() for e in scores}
    assert {str(i) for i in learned.ids.values()} <= scored
    budget = state["budget"]
    assert budget["rollouts"] == learned.status["components"]["general"]["rollouts"] > 0
    assert budget["unscored_rollouts"] == 0

    # The thumbs-up guard grades regressions: the liked output followed snake_case, which the
    # seed prompt does not state, so the seed prompt loses it (0.0). The seed prompt also
    # fails every complaint (a correction keeps some credit for similarity).
    up = str(learned.ids["thumbs_up"])
    liked = [s[up] for s in by_candidate.values() if up in s]
    assert liked and set(liked) <= {0.0, 1.0}
    seed_id = next(c["id"] for c in state["candidates"] if c["origin"] == "seed")
    assert by_candidate[seed_id].get(up, 0.0) == 0.0
    complaints = {
        str(learned.ids[k]) for k in ("thumbs_down", "comment", "test_result", "compile_result")
    }
    seed_scores = {e: v for e, v in by_candidate[seed_id].items() if e in complaints}
    assert seed_scores and set(seed_scores.values()) == {0.0}

    outcomes = llm_outcomes(learned.stack.db_path)
    assert set(outcomes) <= {"ok", "cached"}
    assert outcomes["ok"] == learned.requests


def test_a_local_model_receives_the_raw_text_under_redact_auto(learned: Learned) -> None:
    for secret in SECRETS.values():
        assert secret in learned.received
    assert "[REDACTED:" not in learned.received
    rows = db_rows(
        learned.stack.db_path,
        "SELECT context, comment FROM examples WHERE id = ?",
        (learned.ids["secret"],),
    )
    assert SECRETS["aws-access-key-id"] in rows[0]["comment"]
    assert SECRETS["github-token"] in rows[0]["context"]


async def test_review_mode_holds_the_new_best_as_pending_until_approved(learned: Learned) -> None:
    seed, best = learned.seed, learned.status["components"]["general"]["best_candidate"]
    assert seed["source"] == "seed" and seed["pending"] is None
    assert best != "c0", "the run found no better prompt to hold"
    best_text = next(
        c["components"]["general"]
        for c in engine_state(learned.stack.db_path)["candidates"]
        if c["id"] == best
    )
    # Subscribers heard of the pending version while the current one stayed.
    pending_notices = [n for n in learned.notices if n["pending"] is not None]
    assert pending_notices
    assert all(n["version"] == seed["version"] for n in learned.notices)
    assert pending_notices[-1]["pending"]["text"] == best_text

    async with learned.stack.connect() as client:
        held = await client.get_prompt()
        assert (held["version"], held["text"], held["source"]) == (
            seed["version"],
            seed["text"],
            "seed",
        )
        pending = held["pending"]
        assert pending is not None and pending["text"] == best_text != seed["text"]
        versions = {v["version"]: v for v in (await client.prompt_history())["versions"]}
        proposed = versions[pending["version"]]
        assert (proposed["source"], proposed["status"], proposed["candidate_id"]) == (
            "optimizer",
            "pending",
            best,
        )
        assert versions[seed["version"]]["status"] == "current"

        approved = await client.approve(pending["version"])
        assert approved["version"] == pending["version"]
        assert (approved["text"], approved["source"]) == (best_text, "optimizer")
        assert approved["pending"] is None
        assert (await client.get_prompt())["version"] == pending["version"]
