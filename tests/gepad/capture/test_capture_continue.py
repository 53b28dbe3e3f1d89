"""Continue's dev data: lines in its documented formats appended to a watched folder become
examples, incrementally, with torn last lines, truncation and restarts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from gepad_capture_testing import wait_for

from gepad.capture import CaptureService, CaptureSettings
from gepad.store import Example, Store

pytestmark = pytest.mark.timeout(60)

BASE = {
    "createdAt": "2026-12-02T17:00:00.000Z",
    "userId": "u-1",
    "userAgent": "Visual Studio Code/1.99 (Continue/1.0.0)",
    "selectedProfileId": "local",
}


def chat_0_2_0(feedback: bool, completion: str) -> dict[str, Any]:
    return {
        **BASE,
        "eventName": "chatFeedback",
        "schema": "0.2.0",
        "prompt": "How do I read a file?",
        "completion": completion,
        "modelTitle": "Qwen",
        "feedback": feedback,
        "sessionId": "0d0c1c3e-0000-4000-8000-000000000001",
    }


def chat_0_1_0(feedback: bool) -> dict[str, Any]:
    return {
        "modelTitle": "Qwen",
        "completionOptions": {},
        "prompt": "Explain this",
        "completion": "It adds numbers.",
        "feedback": feedback,
        "sessionId": "0d0c1c3e-0000-4000-8000-000000000002",
    }


def edit_0_2_0(accepted: bool, completion: str, new_code: str) -> dict[str, Any]:
    return {
        **BASE,
        "eventName": "editOutcome",
        "schema": "0.2.0",
        "prompt": "use pathlib",
        "completion": completion,
        "modelName": "qwen2.5-coder",
        "modelTitle": "Qwen",
        "modelProvider": "ollama",
        "accepted": accepted,
        "previousCode": "open(os.path.join(root, 'a'))",
        "newCode": new_code,
        "previousCodeLines": 1,
        "newCodeLines": 1,
        "lineChange": 0,
        "filepath": "file:///home/me/proj/app.py",
    }


def _append(path: Path, *events: dict[str, Any], torn: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write("".join(json.dumps(e) + "\n" for e in events) + torn)


async def _all(store: Store) -> list[Example]:
    return list(reversed(await store.list_examples(limit=100)))


async def test_continue_events_become_examples_once(
    tmp_path: Path, store: Store, capture: CaptureService, settings: CaptureSettings
) -> None:
    dev = settings.continue_dir
    chat = dev / "0.2.0" / "chatFeedback.jsonl"
    edits = dev / "0.2.0" / "editOutcome.jsonl"
    old_chat = dev / "0.1.0" / "chatFeedback.jsonl"
    # Written before capture is enabled: read too (opt-in means "learn from my history").
    _append(chat, chat_0_2_0(True, "Use pathlib.Path.read_text()."))
    status = await capture.enable("continue", path=str(dev))
    assert status["sources"][1]["enabled"] is True
    await wait_for(lambda: _all(store), what="the first example")

    fenced = "```python\nPath(root, 'a').open()\n```"
    _append(
        edits,
        edit_0_2_0(False, "open(root + '/a')", "open(root + '/a')"),
        edit_0_2_0(True, fenced, "Path(root, 'a').open()"),  # kept as answered: thumbs-up
        edit_0_2_0(True, fenced, "Path(root) / 'a'"),  # the user changed it: correction
    )
    # The writer is in the middle of a line: nothing of it is read yet.
    torn = json.dumps(chat_0_2_0(False, "Use os.open."))
    _append(chat, torn=torn[:40])
    _append(old_chat, chat_0_1_0(False), {"feedback": True})  # the second one has no text

    async def five() -> list[Example] | None:
        rows = await _all(store)
        return rows if len(rows) == 5 else None

    rows = await wait_for(five, what="five examples")
    with chat.open("a") as fh:
        fh.write(torn[40:] + "\n")

    async def six() -> list[Example] | None:
        rows = await _all(store)
        return rows if len(rows) == 6 else None

    rows = await wait_for(six, what="the completed torn line")
    kinds = {(e.kind, e.output, e.corrected) for e in rows}
    assert ("thumbs_up", "Use pathlib.Path.read_text().", None) in kinds
    assert ("thumbs_down", "Use os.open.", None) in kinds
    assert ("thumbs_down", "open(root + '/a')", None) in kinds
    assert ("thumbs_up", "Path(root, 'a').open()", None) in kinds
    assert ("correction", fenced, "Path(root) / 'a'") in kinds
    assert ("thumbs_down", "It adds numbers.", None) in kinds
    assert {e.source for e in rows} == {"continue"}
    correction = next(e for e in rows if e.kind == "correction")
    assert correction.context.startswith("use pathlib")
    assert correction.file == "file:///home/me/proj/app.py"

    # Truncated and rewritten with one old and one new event (rotation): only the new counts.
    chat.write_text(json.dumps(chat_0_2_0(True, "Use pathlib.Path.read_text().")) + "\n")
    _append(chat, chat_0_2_0(True, "Path.open() is fine."))

    async def seven() -> list[Example] | None:
        rows = await _all(store)
        return rows if len(rows) == 7 else None

    await wait_for(seven, what="the event after the truncation")

    # A restart: nothing is read twice.
    await capture.stop()
    again = CaptureService(store, settings)
    await again.start()
    try:
        await again.idle()
        assert len(await _all(store)) == 7
        status = await again.status()
        by = {s["source"]: s for s in status["sources"]}
        assert by["continue"]["captured_today"] == 7
        assert by["continue"]["last_error"] is None
    finally:
        await again.stop()
        await capture.start()


async def test_continue_is_opt_in(
    tmp_path: Path, store: Store, capture: CaptureService, settings: CaptureSettings
) -> None:
    _append(settings.continue_dir / "0.2.0" / "chatFeedback.jsonl", chat_0_2_0(False, "x"))
    await capture.idle()
    assert await _all(store) == []
    with pytest.raises(Exception, match="not an absolute path"):
        await capture.enable("continue", path="relative/dir")
