"""Continue's dev-data files into examples: new lines of one file, one transaction a chunk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gepad.store import Store

from ._continue import event_name, example_from_event
from ._jsonl import parse_lines, read_new

__all__ = ["continue_files", "ingest_continue_file"]


async def ingest_continue_file(store: Store, path: Path) -> tuple[int, int]:
    """(examples created, lines read) from what was appended to `path` since last time."""
    name = event_name(path)
    assert name is not None
    created = 0
    lines = 0
    while True:
        mark = await store.capture_mark("continue", f"offset:{path}")
        chunk = await asyncio.to_thread(read_new, path, None if mark is None else mark.value)
        if chunk is None or (mark is not None and mark.value == chunk.position):
            return created, lines
        async with store.transaction() as tx:
            for key, event in parse_lines(chunk.lines, str(path)):
                if await store.capture_mark("continue", f"ev:{key}", tx=tx):
                    continue
                example = example_from_event(name, event)
                if example is not None:
                    created += (await store.add_example(example, tx=tx)).created
                await store.put_capture_mark(tx, "continue", f"ev:{key}", {"at": 0})
            await store.put_capture_mark(tx, "continue", f"offset:{path}", chunk.position)
        lines += len(chunk.lines)
        if not chunk.more:
            return created, lines


def continue_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.rglob("*.jsonl") if event_name(p) is not None and not p.is_symlink()
    )
