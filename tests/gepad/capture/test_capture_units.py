"""Pure pieces of capture: the package surface, the spool entry and transcript readers,
Continue's event mapping, and the store's source column and same-verdict rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gepad.capture
from gepad.capture import example_from_event, from_spooled, last_user_request
from gepad.errors import InvalidFieldError
from gepad.store import NewExample, NewGeneration, Store


def test_the_public_surface_is_exactly_all() -> None:
    exported = gepad.capture.__all__
    public = {
        name
        for name, value in vars(gepad.capture).items()
        if not name.startswith("_") and type(value).__name__ != "module" and name != "annotations"
    }
    assert sorted(exported) == sorted(public)
    assert len(set(exported)) == len(exported)


def test_a_spooled_entry_that_is_not_usable_records_nothing(tmp_path: Path) -> None:
    def entry(**hook: object) -> dict[str, object]:
        base = {"tool_name": "Edit", "cwd": str(tmp_path)}
        return {"at": 1.0, "hook": {**base, **hook}, "file_text": None}

    good = {"file_path": str(tmp_path / "a.py"), "new_string": "x = 1\n"}
    assert len(from_spooled(entry(tool_input=good), lambda f: "general")) == 1
    for bad in (
        entry(tool_input={**good, "file_path": "relative.py"}),
        entry(tool_input=good, cwd="relative"),
        entry(tool_input="not an object"),
        entry(tool_input={**good, "new_string": ""}),  # a deletion
        entry(tool_name="Read", tool_input=good),
        {"hook": "nope"},
    ):
        assert from_spooled(bad, lambda f: "general") == [], bad
    # No file text (too big, unreadable): recorded, not trackable.
    [cap] = from_spooled(entry(tool_input=good), lambda f: "general")
    assert cap.before is None and cap.after is None


def test_the_request_is_read_up_to_the_size_the_hook_saw(tmp_path: Path) -> None:
    talk = tmp_path / "t.jsonl"
    first = json.dumps({"type": "user", "message": {"role": "user", "content": "first ask"}})
    later = json.dumps({"type": "user", "message": {"role": "user", "content": "later ask"}})
    talk.write_text(first + "\n" + "{torn" + "\n")
    size = talk.stat().st_size
    with talk.open("a") as fh:
        fh.write(later + "\n")
    assert last_user_request(str(talk), size) == "first ask"
    assert last_user_request(str(talk), None) == "later ask"
    assert last_user_request(str(tmp_path / "missing.jsonl"), None) == ""
    assert last_user_request("", None) == ""


def test_continue_events_without_text_are_skipped() -> None:
    no_code = {"eventName": "editOutcome", "schema": "0.2.0", "accepted": True, "filepath": "x"}
    assert example_from_event("editOutcome", no_code) is None
    assert example_from_event("chatFeedback", {"prompt": "p", "completion": "c"}) is None
    assert example_from_event("tokensGenerated", {"prompt": "p"}) is None


async def test_store_keeps_the_source_and_one_verdict_per_generation(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "gepad.db", dedupe_window_s=0)
    try:
        gid = await store.record_generation(NewGeneration(output="a = 1\n"))
        from_lsp = NewExample(
            kind="correction",
            context="Instruction: x",
            output="a = 1\n",
            corrected="a = 2\n",
            file="file:///p/a.py",
            generation_id=gid,
            source="lsp",
        )
        from_tracker = NewExample(
            kind="correction",
            context="x",
            output="a = 1\n",
            corrected="a = 2\n",
            file="/p/a.py",
            generation_id=gid,
            source="claude-code",
        )
        first = await store.add_example(from_lsp)
        second = await store.add_example(from_tracker)
        assert first.created and not second.created
        assert second.example_id == first.example_id
        # Another correction of the same generation is new feedback.
        other = NewExample(
            kind="correction", output="a = 1\n", corrected="a = 3\n", generation_id=gid
        )
        assert (await store.add_example(other)).created
        row = await store.get_example(first.example_id)
        assert row is not None and row.source == "lsp"
        with pytest.raises(InvalidFieldError, match="source"):
            await store.add_example(NewExample(kind="thumbs_up", source="elsewhere"))
    finally:
        await store.close()
