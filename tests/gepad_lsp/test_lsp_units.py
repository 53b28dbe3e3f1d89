"""The language server's pure parts: span arithmetic, full-text diffs, the spool, settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gepad_lsp import InputError, Spool, component_for, load_settings
from gepad_lsp._errors import DaemonUnavailable, RemoteError
from gepad_lsp._text import Span, check_span, end_of_insert, parse_span, shift_span
from gepad_lsp._tracking import Tracker, full_change_as_edits


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


GEN = Span((5, 4), (6, 2))


@pytest.mark.parametrize(
    ("change", "text", "expected"),
    [
        (Span((0, 0), (0, 0)), "a\nb\n", Span((7, 4), (8, 2))),  # lines inserted above
        (Span((5, 0), (5, 2)), "", Span((5, 2), (6, 2))),  # text removed before, same line
        (Span((1, 0), (3, 0)), "", Span((3, 4), (4, 2))),  # lines removed above
        (Span((6, 2), (6, 2)), "tail", GEN),  # insertion at the end: outside
        (Span((5, 4), (5, 4)), "x", Span((5, 5), (6, 2))),  # insertion at the start: outside
        (Span((9, 0), (9, 3)), "later", GEN),  # below
        (Span((5, 6), (5, 8)), "NEW", Span((5, 4), (6, 2))),  # inside, same length on line 5
        (Span((6, 0), (6, 1)), "\n\n", Span((5, 4), (8, 1))),  # inside, adds lines
        (Span((5, 0), (6, 2)), "all", Span((5, 0), (5, 3))),  # rewrites it and more
        (Span((5, 4), (6, 2)), "", Span((5, 4), (5, 4))),  # deleted exactly
        (Span((6, 1), (7, 0)), "", Span((5, 4), (6, 1))),  # overlaps its end
    ],
)
def test_shift_span(change: Span, text: str, expected: Span) -> None:
    assert shift_span(GEN, change, end_of_insert(change.start, text, units)) == expected


def test_an_insertion_into_an_empty_span_fills_it() -> None:
    empty = Span((2, 3), (2, 3))
    change = Span((2, 3), (2, 3))
    assert shift_span(empty, change, end_of_insert((2, 3), "ab\nc", units)) == Span((2, 3), (3, 1))


def test_end_of_insert_counts_utf16_units_and_every_line_break() -> None:
    assert end_of_insert((1, 2), "é😀", units) == (1, 5)
    assert end_of_insert((1, 2), "a\r\nbc\rd", units) == (3, 1)


def _apply(text: str, span: Span, new: str) -> str:
    lines = text.splitlines(keepends=True)

    def off(pos: tuple[int, int]) -> int:
        return sum(len(x) for x in lines[: pos[0]]) + pos[1]

    return text[: off(span.start)] + new + text[off(span.end) :]


def _position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n"), units(before[before.rfind("\n") + 1 :])


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a\nb\nc\n", "x\na\nb\nC\n"),
        ("same\n", "same\n"),
        ("", "new text\n"),
        ("one two three\n", "one 2 three\nfour\n"),
        ("a\nb\nc\nd\n", "a\nd\n"),
    ],
)
def test_full_change_as_edits_rebuilds_the_new_text(old: str, new: str) -> None:
    text = old
    for span, insert in full_change_as_edits(old, new, _position):
        text = _apply(text, span, insert)
    assert text == new


def test_a_tracked_span_survives_a_full_change_with_edits_around_it() -> None:
    old = "head\nkeep\ngenerated text\nfoot\n"
    new = "new head\nhead\nkeep\ngenerated TEXT\nfoot\nmore\n"
    tracker = Tracker()
    item = tracker.add(
        uri="u",
        span=Span((2, 0), (2, 14)),
        output="generated text",
        component="general",
        context="",
        instruction="",
        created_at=0.0,
    )
    for span, text in full_change_as_edits(old, new, _position):
        tracker.apply_change("u", span, text, units)
    assert _apply(new, Span((0, 0), item.span.start), "").startswith("generated TEXT")
    assert item.span == Span((3, 0), (3, 14))
    assert item.touched


def test_parse_and_check_span_name_the_problem() -> None:
    with pytest.raises(InputError, match=r"'range' must be an LSP range"):
        parse_span([1, 2])
    with pytest.raises(InputError, match=r"'range.end.character' must be a non-negative"):
        parse_span({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": True}})
    span = parse_span({"start": {"line": 1, "character": 0}, "end": {"line": 2, "character": 0}})
    check_span(["a\n", "b\n"], span, units, "range")  # the end of the document is in bounds
    with pytest.raises(InputError, match="line 2, but the document has 2 line"):
        check_span(["a\n", "b\n"], Span((2, 0), (2, 1)), units, "range")


def test_component_by_file() -> None:
    assert component_for("/p/kern.cu", ()) == "kernel"
    assert component_for("/p/kern.CUH", ()) == "kernel"
    assert component_for("/p/ops.py", ()) == "general"
    assert component_for("/p/triton/ops.py", ("*/triton/*",)) == "kernel"
    assert component_for("/p/gemm_kernel.cpp", ("*_kernel.cpp",)) == "kernel"


def test_settings_come_from_config_then_initialization_options(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        'lsp_kernel_globs = ["*.triton"]\nlsp_context_lines = 3\n'
    )
    env = {"GEPAD_HOME": str(tmp_path), "GEPAD_LSP_THUMBS_UP_AFTER_S": "2.5"}
    s = load_settings(None, env)
    assert (s.kernel_globs, s.context_lines, s.thumbs_up_after_s, s.autostart) == (
        ("*.triton",),
        3,
        2.5,
        True,
    )
    assert s.spool_dir == tmp_path / "spool"
    s2 = load_settings({"context_lines": 7, "autostart": False, "bogus": 1}, env)
    assert (s2.context_lines, s2.autostart) == (7, False)


def test_a_broken_config_falls_back_to_defaults(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("lsp_context_lines = [\n")
    s = load_settings(None, {"GEPAD_HOME": str(tmp_path)})
    assert s.context_lines == 10


async def test_spool_replays_in_order_and_keeps_what_was_not_delivered(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    assert not spool.pending()
    for i in range(5):
        spool.append({"kind": "thumbs_up", "output": f"item {i}"})
    assert spool.pending() and len(spool) == 5
    delivered: list[str] = []

    async def flaky(entry: dict[str, Any]) -> None:
        if len(delivered) == 3:
            raise DaemonUnavailable("gone")
        delivered.append(entry["output"])

    with pytest.raises(DaemonUnavailable):
        await spool.replay(flaky)
    assert delivered == ["item 0", "item 1", "item 2"]
    assert [e["output"] for e in spool.entries()] == ["item 3", "item 4"]

    async def ok(entry: dict[str, Any]) -> None:
        delivered.append(entry["output"])

    assert await spool.replay(ok) == 2
    assert delivered[3:] == ["item 3", "item 4"]
    assert not spool.pending() and not spool.path.exists()


async def test_spool_skips_a_torn_line_and_sets_refused_entries_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.append({"kind": "thumbs_up", "output": "a"})
    with spool.path.open("a") as fh:
        fh.write('{"kind": "thumbs_')  # a crash mid-write
    assert [e["output"] for e in spool.entries()] == ["a"]

    async def refuse(entry: dict[str, Any]) -> None:
        spool.set_aside(entry, "-32602: bad")

    assert await spool.replay(refuse) == 1
    aside = [json.loads(x) for x in (tmp_path / "feedback.rejected.jsonl").read_text().splitlines()]
    assert aside == [
        {"reason": "-32602: bad", "params": {"kind": "thumbs_up", "output": "a"}},
        {"reason": "not a JSON object", "line": '{"kind": "thumbs_'},
    ]
    assert RemoteError(-32001, "x").code == -32001


async def test_a_replay_leaves_the_spool_to_a_server_already_replaying(tmp_path: Path) -> None:
    import fcntl
    import os

    spool = Spool(tmp_path)
    spool.append({"kind": "thumbs_up", "output": "a"})
    fd = os.open(tmp_path / "feedback.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another editor's server, mid-replay

        async def deliver(entry: dict[str, Any]) -> None:
            raise AssertionError("must not deliver while another server holds the spool")

        assert await spool.replay(deliver) == 0
        assert len(spool) == 1  # reading needs no lock
    finally:
        os.close(fd)
    delivered: list[dict[str, Any]] = []

    async def ok(entry: dict[str, Any]) -> None:
        delivered.append(entry)

    assert await spool.replay(ok) == 1 and delivered == [{"kind": "thumbs_up", "output": "a"}]


def test_the_server_process_never_loads_the_llm_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, gepad_lsp\n"
        "from gepad_lsp._bridge import Bridge\n"
        "from gepad_lsp._settings import load_settings\n"
        "load_settings()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('litellm', 'openai', 'torch', 'aiosqlite') or m.startswith('gepad.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.strip() == "['gepad.config', 'gepad.errors', 'gepad.paths']"
