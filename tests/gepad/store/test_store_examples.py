"""Examples: every field round-trips, bad input is refused whole, duplicates collapse."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from gepad_store_testing import FakeClock

from gepad.errors import InvalidFieldError, NotFoundError
from gepad.store import EXAMPLE_KINDS, NewExample, NewGeneration, Store


def _full(**over: Any) -> NewExample:
    base = NewExample(
        kind="correction",
        component="kernel",
        workspace="/home/u/proj",
        file="file:///home/u/proj/a.py",
        language="python",
        context="write a function that adds two numbers\n\ndef f(): ...",
        output="def add(a, b): return a - b",
        corrected="def add(a, b): return a + b",
        comment="it subtracts",
        outcome={"test": "test_add", "passed": False, "message": "assert 1 == 3"},
        prompt_version=3,
    )
    return dataclasses.replace(base, **over)


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


async def test_every_field_round_trips(store: Store, clock: FakeClock) -> None:
    gid = await store.record_generation(NewGeneration(output="x"))
    res = await store.add_example(_full(generation_id=gid))
    assert res.created
    ex = await store.get_example(res.example_id)
    assert ex is not None
    src = _full(generation_id=gid)
    for name in ("kind", "component", "workspace", "file", "language", "context", "output"):
        assert getattr(ex, name) == getattr(src, name)
    assert (ex.corrected, ex.comment, ex.generation_id) == (src.corrected, src.comment, gid)
    assert ex.outcome_data() == src.outcome
    assert json.loads(ex.outcome or "") == src.outcome
    assert (ex.prompt_version, ex.split, ex.retired) == (3, "unassigned", False)
    assert ex.created_at == clock.now
    assert len(ex.content_hash) == 64
    assert await store.get_example(res.example_id + 1) is None


async def test_defaults_for_a_minimal_example(store: Store) -> None:
    res = await store.add_example(NewExample(kind="thumbs_up"))
    ex = await store.get_example(res.example_id)
    assert ex is not None
    assert (ex.component, ex.context, ex.output, ex.outcome, ex.outcome_data()) == (
        "general",
        "",
        "",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "thumbs_sideways"}, "kind"),
        ({"split": "test"}, "split"),
        ({"component": "General Purpose"}, "component"),
        ({"context": None}, "context"),
        ({"output": 7}, "output"),
        ({"comment": "\ud800 lone surrogate"}, "comment"),
        ({"outcome": "{not json"}, "outcome"),
        ({"outcome": {"x": float("nan")}}, "outcome"),
        ({"outcome": {"x": object()}}, "outcome"),
        ({"prompt_version": 0}, "prompt_version"),
        ({"generation_id": True}, "generation_id"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    store: Store, db_path: Path, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidFieldError) as info:
        await store.add_example(_full(**change))
    assert info.value.field == field
    assert field in str(info.value)
    assert _rows(db_path, "SELECT count(*) FROM examples") == [(0,)]


async def test_unknown_generation_is_refused_and_nothing_written(
    store: Store, db_path: Path
) -> None:
    with pytest.raises(InvalidFieldError, match="no generation with id 99") as info:
        await store.add_example(_full(generation_id=99))
    assert info.value.field == "generation_id"
    assert _rows(db_path, "SELECT count(*) FROM examples") == [(0,)]


async def test_batch_is_one_transaction_all_or_nothing(store: Store, db_path: Path) -> None:
    good = [_full(context=f"c{i}") for i in range(3)]
    with pytest.raises(InvalidFieldError, match="item 3") as info:
        await store.add_examples([*good, _full(generation_id=12345)])
    assert info.value.field == "generation_id"
    assert _rows(db_path, "SELECT count(*) FROM examples") == [(0,)]
    with pytest.raises(InvalidFieldError, match="item 1"):
        await store.add_examples([good[0], _full(kind="nope")])
    results = await store.add_examples(good)
    assert [r.created for r in results] == [True, True, True]
    assert len({r.example_id for r in results}) == 3
    assert await store.add_examples([]) == []


async def test_duplicate_inside_the_window_returns_the_existing_id(
    store: Store, clock: FakeClock, db_path: Path
) -> None:
    first = await store.add_example(_full())
    clock.advance(4.9)
    # Same content with the outcome as JSON text in another key order: still the same example.
    again = await store.add_example(
        _full(outcome='{"passed": false, "message": "assert 1 == 3", "test": "test_add"}')
    )
    assert again.example_id == first.example_id and not again.created
    assert _rows(db_path, "SELECT count(*) FROM examples") == [(1,)]
    clock.advance(0.2)  # 5.1 s after the first: outside the window
    later = await store.add_example(_full())
    assert later.created and later.example_id != first.example_id


async def test_any_differing_field_is_not_a_duplicate(store: Store) -> None:
    first = await store.add_example(_full())
    for change in (
        {"kind": "thumbs_down"},
        {"comment": "it subtracts!"},
        {"file": "file:///other.py"},
        {"outcome": None},
        {"prompt_version": 4},
    ):
        res = await store.add_example(_full(**change))
        assert res.created and res.example_id != first.example_id, change


async def test_duplicate_within_one_batch_collapses(store: Store) -> None:
    a, b = await store.add_examples([_full(), _full()])
    assert a.created and not b.created and a.example_id == b.example_id


async def test_retired_example_is_not_a_duplicate_target(store: Store) -> None:
    first = await store.add_example(_full())
    assert await store.retire_example(first.example_id)
    again = await store.add_example(_full())
    assert again.created and again.example_id != first.example_id


async def test_dedupe_window_zero_disables_it(db_path: Path) -> None:
    store = await Store.open(db_path, dedupe_window_s=0)
    try:
        a = await store.add_example(_full())
        b = await store.add_example(_full())
        assert a.created and b.created and a.example_id != b.example_id
    finally:
        await store.close()


async def test_racing_identical_submissions_become_one(store: Store, db_path: Path) -> None:
    results = await asyncio.gather(*(store.add_example(_full()) for _ in range(20)))
    assert len({r.example_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert _rows(db_path, "SELECT count(*) FROM examples") == [(1,)]


async def test_concurrent_adds_get_distinct_ids_and_all_rows_exist(
    store: Store, db_path: Path
) -> None:
    async def worker(w: int) -> list[int]:
        ids = []
        for i in range(25):
            res = await store.add_example(NewExample(kind="comment", comment=f"{w}/{i}"))
            ids.append(res.example_id)
        return ids

    per_worker = await asyncio.gather(*(worker(w) for w in range(16)))
    ids = [i for ids in per_worker for i in ids]
    assert len(ids) == len(set(ids)) == 400
    rows = _rows(db_path, "SELECT id, comment FROM examples")
    assert {r[0] for r in rows} == set(ids)
    assert {r[1] for r in rows} == {f"{w}/{i}" for w in range(16) for i in range(25)}


async def test_list_newest_first_filters_and_incremental(store: Store) -> None:
    ids = []
    for i, kind in enumerate(["thumbs_up", "comment", "thumbs_up", "correction", "thumbs_up"]):
        ids.append((await store.add_example(NewExample(kind=kind, context=str(i)))).example_id)
    assert [e.id for e in await store.list_examples()] == ids[::-1]
    assert [e.id for e in await store.list_examples(limit=2)] == ids[:2:-1]
    assert [e.id for e in await store.list_examples(kind="thumbs_up")] == [ids[4], ids[2], ids[0]]
    await store.retire_example(ids[2])
    assert [e.id for e in await store.list_examples(kind="thumbs_up")] == [ids[4], ids[0]]
    all_up = await store.list_examples(kind="thumbs_up", include_retired=True)
    assert [e.id for e in all_up] == [ids[4], ids[2], ids[0]]
    assert [e.id for e in await store.list_examples(after_id=ids[1])] == [ids[3], ids[4]]
    assert [e.id for e in await store.list_examples(after_id=0, limit=2)] == ids[:2]
    with pytest.raises(InvalidFieldError, match="limit"):
        await store.list_examples(limit=0)
    with pytest.raises(InvalidFieldError, match="kind"):
        await store.list_examples(kind="thumbs")
    with pytest.raises(InvalidFieldError, match="after_id"):
        await store.list_examples(after_id=-1)


async def test_counts_cover_every_kind(store: Store) -> None:
    assert await store.count_examples_by_kind() == dict.fromkeys(EXAMPLE_KINDS, 0)
    a = await store.add_example(NewExample(kind="thumbs_down", comment="1"))
    await store.add_example(NewExample(kind="thumbs_down", comment="2"))
    await store.add_example(NewExample(kind="kernel"))
    await store.retire_example(a.example_id)
    counts = await store.count_examples_by_kind()
    assert list(counts) == list(EXAMPLE_KINDS)
    assert counts["thumbs_down"] == 1 and counts["kernel"] == 1 and sum(counts.values()) == 2
    assert (await store.count_examples_by_kind(include_retired=True))["thumbs_down"] == 2


async def test_retire_and_split(store: Store) -> None:
    eid = (await store.add_example(NewExample(kind="thumbs_up"))).example_id
    assert await store.retire_example(eid) is True
    assert await store.retire_example(eid) is False  # already retired
    assert await store.retire_example(eid + 100) is False
    await store.set_example_split(eid, "val")
    ex = await store.get_example(eid)
    assert ex is not None and ex.split == "val" and ex.retired
    with pytest.raises(InvalidFieldError) as info:
        await store.set_example_split(eid, "validation")
    assert info.value.field == "split"
    with pytest.raises(NotFoundError):
        await store.set_example_split(eid + 100, "train")
    ex = await store.get_example(eid)
    assert ex is not None and ex.split == "val"
