"""The spool after a crash: a torn last line never swallows the next entry, an entry glued onto
a torn fragment is recovered, and what is not an entry moves to `feedback.rejected.jsonl`
(never deleted) when the spool is rewritten (issue 12, items 6 and 7)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from gepad_lsp import Spool
from gepad_lsp._errors import DaemonUnavailable


def _rejected(directory: Path) -> list[dict[str, Any]]:
    path = directory / "feedback.rejected.jsonl"
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


async def _replay_all(spool: Spool) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    async def deliver(entry: dict[str, Any]) -> None:
        got.append(entry)

    await spool.replay(deliver)
    return got


async def test_an_append_after_a_torn_line_starts_on_a_fresh_line(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append({"kind": "thumbs_up", "output": "before"})
    with spool.path.open("ab") as fh:
        fh.write(b'{"kind":"thumbs_down","outp')  # a crash mid-append: no newline
    spool.append({"kind": "correction", "output": "after", "corrected": "fixed"})
    raw = spool.path.read_bytes()
    assert raw.endswith(b'\n{"kind":"correction","output":"after","corrected":"fixed"}\n')
    assert [e["output"] for e in spool.entries()] == ["before", "after"]

    got = await _replay_all(spool)
    assert [e["output"] for e in got] == ["before", "after"]
    assert not spool.path.exists()
    assert _rejected(tmp_path) == [
        {"reason": "not a JSON object", "line": '{"kind":"thumbs_down","outp'}
    ]


async def test_an_entry_glued_onto_a_torn_fragment_is_recovered(tmp_path: Path) -> None:
    """What an older gepad left behind: the acknowledged entry concatenated onto the tear."""
    spool = Spool(tmp_path)
    glued = '{"kind":"thumbs_down","comment":"{nested"}' + "\n"
    spool.path.write_text(
        '{"kind":"thumbs_up","output":"one"}\n'
        '{"kind":"thumbs_down","output":{"x":"to'  # torn, with a nested object
        '{"kind":"correction","output":"two","corrected":"2"}\n' + glued,
        encoding="utf-8",
    )
    got = await _replay_all(spool)
    assert [e.get("output") for e in got] == ["one", "two", None]
    assert got[2]["comment"] == "{nested"
    assert _rejected(tmp_path) == [
        {"reason": "not a JSON object", "line": '{"kind":"thumbs_down","output":{"x":"to'}
    ]


async def test_corrupt_lines_are_moved_aside_and_no_good_line_is_lost(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append({"kind": "thumbs_up", "output": "a"})
    with spool.path.open("ab") as fh:
        fh.write(b"garbage \xff\xfe not json\n[1, 2]\n")
    spool.append({"kind": "thumbs_up", "output": "b"})
    spool.append({"kind": "thumbs_up", "output": "c"})
    seen: list[str] = []

    async def stop_after_one(entry: dict[str, Any]) -> None:
        if seen:
            raise DaemonUnavailable("gone again")
        seen.append(entry["output"])

    with contextlib.suppress(DaemonUnavailable):
        await spool.replay(stop_after_one)
    assert seen == ["a"]
    # The rewrite kept both undelivered good lines and moved the bad ones aside, fsync'd.
    assert [e["output"] for e in spool.entries()] == ["b", "c"]
    assert b"garbage" not in spool.path.read_bytes()
    assert _rejected(tmp_path) == [
        {"reason": "not a JSON object", "line": "garbage \ufffd\ufffd not json"},
        {"reason": "not a JSON object", "line": "[1, 2]"},
    ]
    assert os.stat(tmp_path / "feedback.rejected.jsonl").st_mode & 0o777 == 0o600
    got = await _replay_all(spool)
    assert [e["output"] for e in got] == ["b", "c"]
    assert len(_rejected(tmp_path)) == 2  # not moved twice


async def test_a_spool_of_only_junk_is_moved_aside_on_replay(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.path.write_bytes(b'{"kind":"thum')
    assert spool.pending()
    assert await _replay_all(spool) == []
    assert not spool.pending()
    assert _rejected(tmp_path) == [{"reason": "not a JSON object", "line": '{"kind":"thum'}]


async def test_a_daemon_that_is_unavailable_keeps_the_entry_spooled(tmp_path: Path) -> None:
    """-32003 (shutting down, disk full) is not a refusal: the entry stays first in the spool;
    a real refusal (-32602) is set aside."""
    from typing import cast

    from gepad_lsp import LspSettings
    from gepad_lsp._bridge import Bridge
    from gepad_lsp._errors import RemoteError

    settings = LspSettings(home=tmp_path, spool_dir=tmp_path / "spool", logs_dir=tmp_path)
    bridge = Bridge(cast(Any, None), settings)
    bridge.spool.append({"kind": "thumbs_up", "output": "kept"})
    replies = [RemoteError(-32003, "disk full: no space left on device for /x/gepad.db")]

    async def daemon_says(method: str, params: dict[str, Any] | None) -> Any:
        raise replies[0]

    bridge.call = daemon_says  # type: ignore[method-assign]
    with pytest.raises(DaemonUnavailable):  # the callers wait for the next chance
        await bridge.replay()
    assert [e["output"] for e in bridge.spool.entries()] == ["kept"]
    assert not bridge.spool.rejected_path.exists()
    replies[0] = RemoteError(-32602, "invalid params")
    assert await bridge.replay() == 1
    assert not bridge.spool.pending()
    assert _rejected(tmp_path / "spool")[0]["reason"] == "-32602: invalid params"
