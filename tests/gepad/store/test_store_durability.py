"""`kill -9` in the middle of a burst loses nothing that was acknowledged."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gepad.store import NewExample, Store

# Four concurrent writers, like a daemon serving several clients; an id is printed only after
# add_example returned, i.e. after COMMIT: that line is the acknowledgement.
CHILD = r"""
import asyncio, sys
from pathlib import Path
from gepad.store import NewExample, Store

async def main() -> None:
    store = await Store.open(Path(sys.argv[1]), dedupe_window_s=0)
    out = sys.stdout

    async def writer(w: int) -> None:
        for i in range(100_000):
            res = await store.add_example(
                NewExample(
                    kind="comment", context=f"w{w} #{i}", output="x" * 300, comment=f"{w}:{i}"
                )
            )
            out.write(f"{res.example_id} {w}:{i}\n")
            out.flush()

    print("ready", flush=True)
    await asyncio.gather(*(writer(w) for w in range(4)))

asyncio.run(main())
"""


def _kill_mid_burst(db: Path, acks_before_kill: int) -> list[str]:
    """Run the writer child, SIGKILL it after that many acks; return every complete ack line."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.strip() == "ready", (first, proc.stderr.read() if proc.stderr else "")
        deadline = time.monotonic() + 60
        while len(lines) < acks_before_kill and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert len(lines) == acks_before_kill, "the child stopped writing before the kill"
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # Lines printed before the kill but not read yet are acknowledgements too; a torn last line
    # (no newline) is not.
    return [ln.rstrip("\n") for ln in lines] + rest.split("\n")[:-1]


def test_every_acknowledged_example_survives_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "gepad.db"
    acked: dict[int, str] = {}
    for line in _kill_mid_burst(db, 400):
        eid, tag = line.split(" ")
        acked[int(eid)] = tag
    assert len(acked) >= 400

    con = sqlite3.connect(db)
    try:
        stored = dict(con.execute("SELECT id, comment FROM examples").fetchall())
    finally:
        con.close()
    missing = sorted(eid for eid, tag in acked.items() if stored.get(eid) != tag)
    assert not missing, f"acknowledged but lost after kill -9: {missing[:10]}"
    # At most one in-flight commit per writer can exist beyond the acknowledged ones.
    assert len(acked) <= len(stored) <= len(acked) + 4
    assert len(stored) < 400_000  # it really was killed mid-burst


async def test_the_store_reopens_cleanly_after_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "gepad.db"
    acked = _kill_mid_burst(db, 50)
    store = await Store.open(db)
    try:
        assert await store.list_examples(limit=1)  # readable
        res = await store.add_example(NewExample(kind="thumbs_up", comment="after the crash"))
        assert res.created and res.example_id > len(acked) - 4
        total = sum((await store.count_examples_by_kind()).values())
        assert total >= len(acked) + 1
    finally:
        await store.close()
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
