"""Notifications: after COMMIT, in commit order, for every visible change, robust to failures."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
from gepad_prompts_testing import MakeService

from gepad.prompts import PromptState


def _committed_current(db: Path, component: str) -> tuple[int | None, int | None, int]:
    """What a separate connection sees: only committed data."""
    con = sqlite3.connect(db)
    try:
        row = con.execute(
            "SELECT current_version, pending_version, pinned FROM components WHERE component = ?",
            (component,),
        ).fetchone()
        return tuple(row)  # type: ignore[return-value]
    finally:
        con.close()


async def test_notified_after_commit_and_after_the_swap(
    make_service: MakeService, db_path: Path
) -> None:
    service = await make_service("review")
    observed: list[tuple[PromptState, tuple[int | None, int | None, int], PromptState]] = []

    def callback(state: PromptState) -> None:
        # At notification time the change is durable and current() already returns it.
        observed.append(
            (state, _committed_current(db_path, state.component), service.current(state.component))
        )

    service.subscribe(callback)
    await service.propose("general", "p", score=0.5, candidate_id=None)  # pending
    await service.approve("general", 2)  # swap
    await service.pin("general", True)  # pin
    await service.set_text("general", "mine")  # edit
    await service.rollback("general", 1)  # rollback
    assert [(s.version, s.pending is not None, s.pinned) for s, _, _ in observed] == [
        (1, True, False),
        (2, False, False),
        (2, False, True),
        (3, False, True),
        (4, False, True),
    ]
    for state, committed, current in observed:
        pending = state.pending.version if state.pending else None
        assert committed == (state.version, pending, int(state.pinned))
        assert current == state


async def test_unsubscribe_stops_notifications(make_service: MakeService) -> None:
    service = await make_service("auto")
    a: list[int] = []
    b: list[int] = []
    unsubscribe_a = service.subscribe(lambda s: a.append(s.version))
    service.subscribe(lambda s: b.append(s.version))
    await service.propose("general", "one", score=None, candidate_id=None)
    unsubscribe_a()
    unsubscribe_a()  # idempotent
    await service.propose("general", "two", score=None, candidate_id=None)
    assert a == [2]
    assert b == [2, 3]


async def test_the_same_callback_twice_is_two_subscriptions(make_service: MakeService) -> None:
    service = await make_service("auto")
    seen: list[int] = []
    first = service.subscribe(seen.append)  # type: ignore[arg-type]
    service.subscribe(seen.append)  # type: ignore[arg-type]
    first()
    await service.propose("general", "one", score=None, candidate_id=None)
    assert len(seen) == 1


async def test_a_failing_subscriber_breaks_nothing(
    make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    service = await make_service("auto")
    before: list[int] = []
    after: list[int] = []
    service.subscribe(lambda s: before.append(s.version))

    def broken(state: PromptState) -> None:
        raise RuntimeError("subscriber bug")

    service.subscribe(broken)
    service.subscribe(lambda s: after.append(s.version))
    with caplog.at_level(logging.ERROR, logger="gepad.prompts"):
        out = await service.propose("general", "one", score=None, candidate_id=None)
    assert out.action == "swapped"
    assert service.current("general").version == 2
    assert before == after == [2]
    assert any("subscriber bug" in (r.exc_text or "") or r.exc_info for r in caplog.records)


async def test_async_subscribers_are_scheduled(make_service: MakeService) -> None:
    service = await make_service("auto")
    got: asyncio.Queue[int] = asyncio.Queue()

    async def callback(state: PromptState) -> None:
        await got.put(state.version)

    service.subscribe(callback)
    await service.propose("general", "one", score=None, candidate_id=None)
    assert await asyncio.wait_for(got.get(), 5) == 2


async def test_held_proposals_and_noop_pins_do_not_notify(make_service: MakeService) -> None:
    service = await make_service("auto")
    await service.pin("general", True)
    seen: list[PromptState] = []
    service.subscribe(seen.append)
    await service.propose("general", "held", score=None, candidate_id=None)
    await service.pin("general", True)
    assert seen == []


async def test_failed_mutation_notifies_nobody(make_service: MakeService) -> None:
    service = await make_service("review")
    seen: list[PromptState] = []
    service.subscribe(seen.append)
    with pytest.raises(Exception, match="not pending"):
        await service.approve("general", 1)
    assert seen == []


async def test_notifications_per_component_follow_commit_order(make_service: MakeService) -> None:
    service = await make_service("auto")
    seen: list[int] = []
    service.subscribe(lambda s: seen.append(s.version) if s.component == "general" else None)
    await asyncio.gather(
        *(service.propose("general", f"t{i}", score=None, candidate_id=None) for i in range(20))
    )
    assert seen == list(range(2, 22))
    assert service.current("general").version == 21
