"""PromptService: seeds, proposals under each policy, approve, reject, rollback, edit, pin."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from gepad_prompts_testing import SEEDS, MakeService

from gepad.errors import (
    InvalidPromptError,
    PromptError,
    PromptVersionError,
    UnknownComponentError,
)
from gepad.prompts import MAX_TEXT_BYTES, PromptService, PromptState
from gepad.store import Store


def _statuses(db: Path, component: str) -> dict[int, str]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT version, status FROM prompt_versions WHERE component = ?", (component,)
        ).fetchall()
        return dict(rows)
    finally:
        con.close()


async def test_start_seeds_each_component_once(make_service: MakeService, store: Store) -> None:
    service = await make_service()
    assert service.components() == ["general", "kernel"]
    for name, text in SEEDS.items():
        state = service.current(name)
        assert (state.version, state.text, state.source, state.score) == (1, text, "seed", None)
        assert (state.pinned, state.pending) == (False, None)
    # A second start with other seed text does not add versions: the component exists.
    again = PromptService(store, swap_policy="auto", seeds={"general": "different"})
    await again.start()
    assert again.current("general").text == SEEDS["general"]
    assert [v.version for v in await again.history("general")] == [1]


async def test_current_of_an_unknown_component(make_service: MakeService) -> None:
    service = await make_service()
    with pytest.raises(UnknownComponentError, match="nope"):
        service.current("nope")


async def test_propose_auto_swaps(make_service: MakeService, db_path: Path) -> None:
    service = await make_service("auto")
    out = await service.propose("general", "Be terse.", score=0.7, candidate_id="cand-1")
    assert out.action == "swapped"
    assert out.version.version == 2 and out.version.status == "current"
    assert out.state == service.current("general")
    assert (out.state.version, out.state.text, out.state.source, out.state.score) == (
        2,
        "Be terse.",
        "optimizer",
        0.7,
    )
    assert _statuses(db_path, "general") == {1: "superseded", 2: "current"}
    assert service.current("kernel").version == 1  # other components untouched


async def test_propose_review_holds_as_pending(make_service: MakeService, db_path: Path) -> None:
    service = await make_service("review")
    out = await service.propose("general", "Be terse.", score=0.7, candidate_id=None)
    assert out.action == "pending"
    state = service.current("general")
    assert state.version == 1 and state.text == SEEDS["general"]
    assert state.pending is not None
    assert (state.pending.version, state.pending.score, state.pending.text) == (
        2,
        0.7,
        "Be terse.",
    )
    newer = await service.propose("general", "Be terser.", score=0.8, candidate_id=None)
    assert newer.action == "pending" and newer.state.pending is not None
    assert newer.state.pending.version == 3
    assert _statuses(db_path, "general") == {1: "current", 2: "superseded", 3: "pending"}


async def test_propose_pinned_is_recorded_but_held(
    make_service: MakeService, db_path: Path
) -> None:
    for policy in ("auto", "review"):
        service = await make_service(policy)
        before = await service.pin("kernel", True)
        out = await service.propose("kernel", f"faster ({policy})", score=9.0, candidate_id="x")
        assert out.action == "held"
        assert out.version.status == "held"
        assert service.current("kernel") == before == out.state
        assert before.pending is None
        await service.pin("kernel", False)
    assert list(_statuses(db_path, "kernel").values()).count("held") == 2


async def test_approve_only_the_pending_version(make_service: MakeService, db_path: Path) -> None:
    service = await make_service("review")
    with pytest.raises(PromptVersionError, match="nothing is pending"):
        await service.approve("general", 1)
    await service.propose("general", "Be terse.", score=0.7, candidate_id=None)
    with pytest.raises(PromptVersionError, match="the pending version is 2"):
        await service.approve("general", 1)
    with pytest.raises(PromptVersionError, match="not pending"):
        await service.approve("general", 5)
    state = await service.approve("general", 2)
    assert (state.version, state.text, state.pending) == (2, "Be terse.", None)
    assert service.current("general") == state
    assert _statuses(db_path, "general") == {1: "superseded", 2: "current"}
    with pytest.raises(PromptVersionError):
        await service.approve("general", 2)  # no longer pending


async def test_reject_pending(make_service: MakeService, db_path: Path) -> None:
    service = await make_service("review")
    await service.propose("general", "Worse.", score=0.1, candidate_id=None)
    with pytest.raises(PromptVersionError):
        await service.reject("general", 1)
    state = await service.reject("general", 2)
    assert (state.version, state.pending) == (1, None)
    assert _statuses(db_path, "general") == {1: "current", 2: "rejected"}


async def test_rollback_makes_a_new_version(make_service: MakeService, db_path: Path) -> None:
    service = await make_service("auto")
    await service.propose("general", "v2 text", score=0.5, candidate_id="c2")
    await service.propose("general", "v3 text", score=0.6, candidate_id="c3")
    state = await service.rollback("general", 2)
    assert (state.version, state.text, state.source, state.score) == (4, "v2 text", "rollback", 0.5)
    history = await service.history("general")
    assert [(v.version, v.source, v.status) for v in history] == [
        (4, "rollback", "current"),
        (3, "optimizer", "superseded"),
        (2, "optimizer", "superseded"),
        (1, "seed", "superseded"),
    ]
    assert history[0].candidate_id == "c2"
    with pytest.raises(PromptVersionError, match="already the current"):
        await service.rollback("general", 4)
    with pytest.raises(PromptVersionError, match="does not exist"):
        await service.rollback("general", 40)
    seed_again = await service.rollback("general", 1)
    assert (seed_again.version, seed_again.text) == (5, SEEDS["general"])


async def test_rollback_to_the_pending_version_is_refused(make_service: MakeService) -> None:
    service = await make_service("review")
    await service.propose("general", "pending text", score=None, candidate_id=None)
    with pytest.raises(PromptVersionError, match="approve it instead"):
        await service.rollback("general", 2)


async def test_set_text_is_a_user_edit_even_when_pinned(make_service: MakeService) -> None:
    service = await make_service("review")
    await service.propose("general", "pending text", score=0.9, candidate_id=None)
    await service.pin("general", True)
    state = await service.set_text("general", "My own words.")
    assert (state.version, state.text, state.source, state.pinned) == (
        3,
        "My own words.",
        "user-edit",
        True,
    )
    assert state.pending is not None and state.pending.version == 2  # left pending


async def test_set_text_creates_a_valid_new_component(make_service: MakeService) -> None:
    service = await make_service()
    state = await service.set_text("rust-style", "Prefer iterators.")
    assert (state.component, state.version, state.source) == ("rust-style", 1, "user-edit")
    assert "rust-style" in service.components()
    with pytest.raises(UnknownComponentError):
        await service.propose("brand-new", "text", score=None, candidate_id=None)
    for bad in ("Rust", "1abc", "a" * 33, "has space", ""):
        with pytest.raises(InvalidPromptError) as info:
            await service.set_text(bad, "x")
        assert info.value.field == "component"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        ("x" * (MAX_TEXT_BYTES + 1), "64 KiB"),
        ("é" * (MAX_TEXT_BYTES // 2 + 1), "64 KiB"),  # counted in UTF-8 bytes
        ("bad \udc80 surrogate", "Unicode"),
        (None, "string"),
    ],
)
async def test_text_validation(make_service: MakeService, text: object, reason: str) -> None:
    service = await make_service()
    for call in (
        lambda: service.set_text("general", text),  # type: ignore[arg-type]
        lambda: service.propose("general", text, score=None, candidate_id=None),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidPromptError, match=reason) as info:
            await call()
        assert info.value.field == "text"
    assert service.current("general").version == 1
    ok = await service.set_text("general", "x" * MAX_TEXT_BYTES)
    assert ok.version == 2


async def test_argument_validation(make_service: MakeService, store: Store) -> None:
    service = await make_service()
    with pytest.raises(InvalidPromptError, match="score"):
        await service.propose("general", "t", score=float("nan"), candidate_id=None)
    with pytest.raises(InvalidPromptError, match="candidate_id"):
        await service.propose("general", "t", score=None, candidate_id="")
    with pytest.raises(InvalidPromptError, match="version"):
        await service.rollback("general", 0)
    with pytest.raises(InvalidPromptError, match="limit"):
        await service.history("general", limit=0)
    with pytest.raises(PromptError, match="pinned"):
        await service.pin("general", "yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidPromptError, match="swap_policy"):
        PromptService(store, swap_policy="sometimes", seeds={})  # type: ignore[arg-type]
    with pytest.raises(InvalidPromptError, match="component"):
        PromptService(store, swap_policy="auto", seeds={"Bad": "x"})
    with pytest.raises(InvalidPromptError, match="text"):
        PromptService(store, swap_policy="auto", seeds={"general": " "})
    assert [v.version for v in await service.history("general")] == [1]


async def test_calls_before_start_are_refused(store: Store) -> None:
    service = PromptService(store, swap_policy="auto", seeds=SEEDS)
    with pytest.raises(PromptError, match="not started"):
        await service.set_text("general", "x")
    with pytest.raises(PromptError, match="not started"):
        await service.propose("general", "x", score=None, candidate_id=None)


async def test_pin_and_unpin(make_service: MakeService) -> None:
    service = await make_service("auto")
    seen: list[PromptState] = []
    service.subscribe(seen.append)
    pinned = await service.pin("general", True)
    assert pinned.pinned and pinned.version == 1
    assert (await service.pin("general", True)) == pinned  # no change, no notification
    out = await service.propose("general", "new", score=1.0, candidate_id=None)
    assert out.action == "held" and service.current("general").version == 1
    unpinned = await service.pin("general", False)
    assert not unpinned.pinned
    out = await service.propose("general", "newer", score=1.0, candidate_id=None)
    assert out.action == "swapped" and out.state.version == 3
    assert [(s.version, s.pinned) for s in seen] == [(1, True), (1, False), (3, False)]


async def test_history_newest_first_with_limit(make_service: MakeService) -> None:
    service = await make_service("auto")
    for i in range(5):
        await service.propose("general", f"t{i}", score=i / 10, candidate_id=None)
    assert [v.version for v in await service.history("general")] == [6, 5, 4, 3, 2, 1]
    assert [v.version for v in await service.history("general", limit=2)] == [6, 5]
    with pytest.raises(UnknownComponentError):
        await service.history("missing")


async def test_restart_restores_current_pinned_and_pending(db_path: Path) -> None:
    store = await Store.open(db_path)
    service = PromptService(store, swap_policy="review", seeds=SEEDS)
    await service.start()
    await service.set_text("general", "edited")
    await service.propose("general", "proposed", score=0.4, candidate_id="p")
    await service.pin("kernel", True)
    before = dict(service.states())
    await store.close()

    store = await Store.open(db_path)
    try:
        service = PromptService(store, swap_policy="review", seeds=SEEDS)
        await service.start()
        assert dict(service.states()) == before
        general = service.current("general")
        assert general.text == "edited" and general.pending is not None
        assert general.pending.version == 3
        assert service.current("kernel").pinned
        # The restored pending version can still be approved.
        assert (await service.approve("general", 3)).text == "proposed"
    finally:
        await store.close()


async def test_every_change_is_logged_as_an_event(make_service: MakeService, store: Store) -> None:
    service = await make_service("review")
    await service.propose("general", "p", score=None, candidate_id=None)
    await service.approve("general", 2)
    await service.pin("general", True)
    await service.propose("general", "q", score=None, candidate_id=None)
    kinds = [e.kind for e in await store.events(limit=10)]
    assert kinds[:4] == ["prompt.held", "prompt.pin", "prompt.approve", "prompt.pending"]
    assert kinds.count("prompt.seed") == 2


async def test_changes_from_inside_a_store_transaction_are_refused(
    make_service: MakeService, store: Store
) -> None:
    service = await make_service("auto")
    async with store.transaction() as tx:
        assert store.in_transaction()
        with pytest.raises(PromptError, match="after it commits"):
            await service.propose("general", "x", score=None, candidate_id=None)
        await store.save_engine_state(tx, "general", "{}")
    assert not store.in_transaction()
    out = await service.propose("general", "x", score=None, candidate_id=None)
    assert out.action == "swapped"
