"""A reader never sees a half-written state; a cancelled caller never desynchronises memory."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from gepad_prompts_testing import MakeService

from gepad.errors import PromptVersionError
from gepad.prompts import PromptState
from gepad.store import Store


def _consistent(state: PromptState) -> bool:
    # Each proposal below has text "t-<i>" and score <i>: a state mixing two versions breaks that.
    return state.text == SEED or state.text == f"t-{int(state.score or 0)}"


SEED = "You are a careful coding assistant."


async def test_readers_in_threads_and_tasks_see_whole_states_in_order(
    make_service: MakeService, store: Store
) -> None:
    service = await make_service("auto")
    stop = threading.Event()
    problems: list[str] = []
    reads = [0]

    def thread_reader() -> None:
        last = 0
        while not stop.is_set():
            state = service.current("general")
            reads[0] += 1
            if not _consistent(state):
                problems.append(f"torn state {state}")
            if state.version < last:
                problems.append(f"went back from v{last} to v{state.version}")
            last = state.version
            time.sleep(0)  # let the event loop have the GIL between reads

    async def task_reader() -> None:
        last = 0
        while not stop.is_set():
            state = service.current("general")
            if not _consistent(state) or state.version < last:
                problems.append(f"task saw {state} after v{last}")
            last = state.version
            await asyncio.sleep(0)

    threads = [threading.Thread(target=thread_reader) for _ in range(2)]
    for t in threads:
        t.start()
    tasks = [asyncio.create_task(task_reader()) for _ in range(4)]
    try:
        await asyncio.gather(
            *(
                service.propose("general", f"t-{i}", score=i, candidate_id=None)
                for i in range(1, 151)
            )
        )
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        await asyncio.gather(*tasks)
    assert not problems, problems[:5]
    assert reads[0] > 0
    final = service.current("general")
    assert final.version == 151
    history = await store.prompt_versions("general", limit=200)
    assert [v.version for v in history] == list(range(151, 0, -1))
    assert [v.status for v in history].count("current") == 1


async def test_a_cancelled_caller_still_gets_its_change_published(
    make_service: MakeService, store: Store
) -> None:
    service = await make_service("auto")
    seen: list[int] = []
    service.subscribe(lambda s: seen.append(s.version))
    for _ in range(5):
        task = asyncio.create_task(service.propose("general", "x", score=None, candidate_id=None))
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # now inside the store transaction
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await service.drain()
    state = await store.component_state("general")
    assert state is not None
    assert service.current("general").version == state.current_version == 6
    assert seen == [2, 3, 4, 5, 6]


async def test_store_survives_many_concurrent_mutations_on_several_components(
    make_service: MakeService, db_path: Path
) -> None:
    service = await make_service("review")

    async def churn(component: str) -> None:
        for i in range(10):
            out = await service.propose(component, f"{component}-{i}", score=i, candidate_id=None)
            if i % 3 == 0:
                try:
                    await service.approve(component, out.version.version)
                except PromptVersionError:
                    # Another churner on this component proposed in between: refused, correctly.
                    assert service.current(component).pending != out.version.version

    await asyncio.gather(churn("general"), churn("kernel"), churn("general"))
    for component in ("general", "kernel"):
        history = await service.history(component, limit=100)
        statuses = [v.status for v in history]
        assert statuses.count("current") == 1
        assert statuses.count("pending") <= 1
        current = service.current(component)
        assert next(v for v in history if v.status == "current").version == current.version
