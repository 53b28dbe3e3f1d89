"""A prompt the user sets before anything was learned is the optimizer's seed.

Found with a real model (bench/realmodel/learn.py): the engine had started from the built-in
prompt when the daemon came up, the user's own prompt only joined the pool as a rival, and the
first prompt swapped in was a child of the built-in one, without a word of what the user wrote.
Once rollouts were spent, a user's edit joins the pool instead (the search keeps its results).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gepad_learning_testing import (
    engine_state,
    feed_thumbs_down,
    live_stack,
    run_optimizer,
    scenario,
)

pytestmark = pytest.mark.timeout(120)

USERS_PROMPT = "You answer in Python. Keep it short."
LATER_EDIT = "You answer in Python. Keep it short. Explain nothing."


async def test_the_users_prompt_set_before_any_rollout_is_the_seed(tmp_path: Path) -> None:
    sc = scenario()
    # Without the prequential measure's hold, the engine takes examples as soon as it loads.
    with live_stack(tmp_path, optimize_after_examples=1000, prequential_enabled=False) as stack:
        async with stack.connect() as client:
            builtin = (await client.get_prompt())["text"]
            await feed_thumbs_down(client, sc, list(sc.tasks[:8]))
        # A restart loads the examples into the (fresh) engine, so the prompt change below
        # replaces an engine that already holds them.
        stack.restart()
        assert len(engine_state(stack.db_path)["splits"]) == 8
        async with stack.connect() as client:
            await client.set_prompt(USERS_PROMPT)
            await run_optimizer(client, 12)
            state = engine_state(stack.db_path)
            texts = {c["origin"]: c["components"]["general"] for c in state["candidates"]}
            assert texts["seed"] == USERS_PROMPT
            assert all(c["components"]["general"] != builtin for c in state["candidates"]), (
                "the built-in prompt is still in the pool"
            )
            assert state["budget"]["rollouts"] > 0
            assert len(state["splits"]) == 8  # the next run's sync brought the examples back

            # After rollouts were spent, an edit competes with what was learned.
            await client.set_prompt(LATER_EDIT)
            await run_optimizer(client, 4)
            state = engine_state(stack.db_path)
            origins = {c["components"]["general"]: c["origin"] for c in state["candidates"]}
            assert origins[USERS_PROMPT] == "seed"
            assert origins[LATER_EDIT] == "user-edit"
