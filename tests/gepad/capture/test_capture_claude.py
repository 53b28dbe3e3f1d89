"""Claude Code capture, in process: the installed hook script run as a subprocess with
Claude Code's PostToolUse input, the spool ingested into generations, the user's hand edit
becoming a correction, and nothing twice after a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gepad_capture_testing import (
    install_hook,
    post_tool_use,
    run_hook,
    transcript,
    wait_for,
)

from gepad.capture import DELETED_COMMENT, SPOOL_FILE, CaptureService, CaptureSettings, locate
from gepad.store import Store

pytestmark = pytest.mark.timeout(60)

GENERATED = "def get_user_name(user):\n    return user['name']\n"
ORIGINAL = "import os\n\n\ndef getUserName(u):\n    return u['name']\n\n\nPORT = 8080\n"


def _project(tmp_path: Path) -> tuple[Path, Path]:
    ws = tmp_path / "proj"
    ws.mkdir()
    src = ws / "users.py"
    src.write_text(ORIGINAL.replace("def getUserName(u):\n    return u['name']\n", GENERATED))
    return ws, src


async def _examples(store: Store) -> list[object]:
    return list(reversed(await store.list_examples(limit=100, include_retired=True)))


async def test_hook_edit_then_hand_fix_is_a_correction_once(
    tmp_path: Path, store: Store, capture: CaptureService, settings: CaptureSettings
) -> None:
    ws, src = _project(tmp_path)
    script = install_hook(tmp_path, settings.spool_dir.parent)
    talk = transcript(tmp_path / "session.jsonl", "rename getUserName to snake_case")
    payload = post_tool_use(
        ws,
        "Edit",
        {
            "file_path": str(src),
            "old_string": "def getUserName(u):\n    return u['name']\n",
            "new_string": GENERATED,
            "replace_all": False,
        },
        talk,
    )
    done = run_hook(script, payload)
    # Exit 0, and nothing at all on stdout or stderr: Claude Code shows hook output.
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert json.loads((settings.spool_dir / SPOOL_FILE).read_text())["hook"]["tool_name"] == "Edit"

    async def recorded() -> object:
        rows = await store.generations_since(0)
        return rows or None

    [gen] = await wait_for(recorded, what="the generation from the spool")
    assert gen.output == GENERATED
    assert gen.file == str(src) and gen.workspace == str(ws)
    assert gen.instruction == "rename getUserName to snake_case"
    assert capture.generations_for(src.as_uri())[0]["generation_id"] == gen.id

    # The user fixes Claude's text by hand.
    fixed = GENERATED.replace("user['name']", "user.name")
    src.write_text(src.read_text().replace(GENERATED, fixed))

    async def corrected() -> list[object] | None:
        rows = await _examples(store)
        return rows or None

    [example] = await wait_for(corrected, what="the correction")
    assert example.kind == "correction"  # type: ignore[attr-defined]
    assert example.output == GENERATED  # type: ignore[attr-defined]
    assert example.corrected == fixed  # type: ignore[attr-defined]
    assert example.source == "claude-code"  # type: ignore[attr-defined]
    assert example.generation_id == gen.id  # type: ignore[attr-defined]
    assert "rename getUserName" in example.context  # type: ignore[attr-defined]
    assert capture.generations_for(str(src)) == []

    # A restart reads the same spool and the same file: nothing new.
    await capture.stop()
    again = CaptureService(store, settings)
    await again.start()
    try:
        src.write_text(src.read_text() + "\n# touched\n")
        await again.idle()
        assert len(await store.generations_since(0)) == 1
        assert len(await _examples(store)) == 1
    finally:
        await again.stop()
        await capture.start()  # the fixture stops it


async def test_write_deleted_by_hand_is_a_thumbs_down_and_multiedit_records_each_edit(
    tmp_path: Path, store: Store, capture: CaptureService, settings: CaptureSettings
) -> None:
    ws = tmp_path / "proj"
    ws.mkdir()
    script = install_hook(tmp_path, settings.spool_dir.parent)
    new = ws / "notes.py"
    new.write_text("X = 1\n")
    # No transcript at all: tolerated, the request is just unknown.
    missing = tmp_path / "gone.jsonl"
    assert (
        run_hook(
            script,
            post_tool_use(ws, "Write", {"file_path": str(new), "content": "X = 1\n"}, missing),
        ).returncode
        == 0
    )
    multi = ws / "multi.py"
    multi.write_text("a = 10\nb = 20\nc = 30\n")
    edits = [
        {"old_string": "a = 1", "new_string": "a = 10"},
        {"old_string": "c = 3", "new_string": "c = 30"},
    ]
    payload = post_tool_use(ws, "MultiEdit", {"file_path": str(multi), "edits": edits}, None)
    assert run_hook(script, payload).returncode == 0
    # Not a tool gepad records, and garbage on stdin: still exit 0, silently.
    other = run_hook(script, post_tool_use(ws, "Bash", {"command": "ls"}, None))
    garbage = run_hook(script, "{not json")
    assert [(r.returncode, r.stdout, r.stderr) for r in (other, garbage)] == [(0, b"", b"")] * 2

    async def three() -> list[object] | None:
        rows = await store.generations_since(0)
        return rows if len(rows) == 3 else None

    gens = await wait_for(three, what="three generations")
    assert sorted(g.output for g in gens) == ["X = 1\n", "a = 10", "c = 30"]
    assert {g.instruction for g in gens} == {""}

    new.write_text("")  # the user threw Claude's file away

    async def down() -> list[object] | None:
        rows = [e for e in await _examples(store) if e.kind == "thumbs_down"]  # type: ignore[attr-defined]
        return rows or None

    [example] = await wait_for(down, what="the thumbs-down")
    assert example.comment == DELETED_COMMENT  # type: ignore[attr-defined]
    assert example.output == "X = 1\n"  # type: ignore[attr-defined]


async def test_a_second_claude_edit_over_the_first_is_not_a_user_correction(
    tmp_path: Path, store: Store, capture: CaptureService, settings: CaptureSettings
) -> None:
    ws, src = _project(tmp_path)
    script = install_hook(tmp_path, settings.spool_dir.parent)
    first = {"file_path": str(src), "old_string": "x", "new_string": GENERATED}
    assert run_hook(script, post_tool_use(ws, "Edit", first, None)).returncode == 0
    await wait_for(lambda: store.generations_since(0), what="the first generation")
    second_text = GENERATED.replace("user['name']", "user['display_name']")
    src.write_text(src.read_text().replace(GENERATED, second_text))
    second = {"file_path": str(src), "old_string": GENERATED, "new_string": second_text}
    assert run_hook(script, post_tool_use(ws, "Edit", second, None)).returncode == 0
    await capture.idle()

    async def first_done() -> bool:
        return len(capture.generations_for(str(src))) == 1

    await wait_for(first_done, what="the first generation to be superseded")
    assert await _examples(store) == []


def test_locate_finds_the_text_between_the_anchors() -> None:
    text = "a\nb\nNEW\nc\nd\n"
    assert locate(text, "a\nb\n", "c\nd\n") == "NEW\n"
    assert locate(text, "", "c\nd\n") == "a\nb\nNEW\n"
    assert locate(text, "b\n", "") == "NEW\nc\nd\n"
    assert locate(text, "zzz", "c") is None


async def test_the_spool_is_emptied_once_recorded_and_nothing_is_lost(
    tmp_path: Path,
    store: Store,
    capture: CaptureService,
    settings: CaptureSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gepad.capture._claude_ingest as ingest

    monkeypatch.setattr(ingest, "COMPACT_BYTES", 100)
    ws, src = _project(tmp_path)
    script = install_hook(tmp_path, settings.spool_dir.parent)
    spool = settings.spool_dir / SPOOL_FILE
    for i in range(3):
        tool_input = {"file_path": str(src), "old_string": "x", "new_string": f"V{i} = {i}\n"}
        src.write_text(src.read_text() + f"V{i} = {i}\n")
        assert run_hook(script, post_tool_use(ws, "Edit", tool_input, None)).returncode == 0
        await capture.idle()
    assert len(await store.generations_since(0)) == 3
    assert spool.stat().st_size == 0  # compacted after each batch was recorded
    await capture.stop()
    again = CaptureService(store, settings)
    await again.start()
    try:
        await again.idle()
        assert len(await store.generations_since(0)) == 3
    finally:
        await again.stop()
        await capture.start()


async def test_a_failing_test_links_to_what_claude_wrote(
    tmp_path: Path, store: Store, settings: CaptureSettings
) -> None:
    from gepad.config import Config
    from gepad.outcomes import IngestSettings, OutcomeIngester

    ingester = OutcomeIngester(
        store, IngestSettings(globs=Config().watch_globs, debounce_s=0.1, rescan_s=0.1)
    )
    await ingester.start()
    service = CaptureService(store, settings, register_workspace=ingester.add)
    await service.start()
    try:
        ws = tmp_path / "calc"
        ws.mkdir()
        code = "def add(a, b):\n    return a - b\n"
        (ws / "calc.py").write_text(code)
        script = install_hook(tmp_path, settings.spool_dir.parent)
        talk = transcript(tmp_path / "t.jsonl", "write add()")
        payload = post_tool_use(
            ws, "Write", {"file_path": str(ws / "calc.py"), "content": code}, talk
        )
        assert run_hook(script, payload).returncode == 0
        await service.idle()
        [gen] = await store.generations_since(0)
        # Capture registered the project with outcome ingestion: a JUnit report appears.
        assert str(ws) in [w["path"] for w in ingester.listing()["workspaces"]]
        (ws / "junit.xml").write_text(
            '<testsuites><testsuite name="pytest" tests="1" failures="1">'
            '<testcase classname="test_calc" name="test_add" file="test_calc.py">'
            '<failure message="assert 0 == 4">assert add(2, 2) == 4</failure>'
            "</testcase></testsuite></testsuites>"
        )

        async def linked() -> list[object] | None:
            rows = await store.list_examples(limit=10, kind="test_result")
            return rows or None

        [example] = await wait_for(linked, what="the linked test failure")
        assert example.generation_id == gen.id  # type: ignore[attr-defined]
        assert example.output == code  # type: ignore[attr-defined]
        assert example.context == "write add()"  # type: ignore[attr-defined]
        assert example.source == "outcome"  # type: ignore[attr-defined]
    finally:
        await service.stop()
        await ingester.stop()
