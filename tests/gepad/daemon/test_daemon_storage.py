"""A damaged database or a full disk: the daemon says so, with the path and what to do, and
writes nothing (issue 12, items 9 and 10). Real daemons, a real corrupt file, a real full
tmpfs (mounted here when the test runs as root; skipped with the reason otherwise)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gepad_daemon_harness import daemon_env, run_to_exit, start

from gepad_client import GepadClient, RpcError

GEPAD = str(Path(sys.executable).with_name("gepad"))


def _corrupt_home(home: Path) -> Path:
    """A daemon's database with real rows, then random bytes over its middle pages."""
    d = start(home)
    try:

        async def fill() -> None:
            async with GepadClient.connect(home=home) as c:
                for i in range(150):
                    await c.submit_feedback("thumbs_up", output=f"{i} " + "o" * 400)

        asyncio.run(fill())
    finally:
        d.stop()
    db = home / "data" / "gepad.db"
    size = db.stat().st_size
    assert size > 10 * 4096
    rnd = random.Random(7)
    with db.open("r+b") as fh:
        for start_at in range(2 * 4096, size - 4096, 3 * 4096):
            fh.seek(start_at + 64)
            fh.write(rnd.randbytes(2048))
    return db


@pytest.mark.timeout(120)
def test_a_corrupt_database_stops_the_start_and_doctor_says_why(tmp_path: Path) -> None:
    home = tmp_path / "gepad"
    db = _corrupt_home(home)
    before = hashlib.sha256(db.read_bytes()).hexdigest()

    refused = run_to_exit(home)
    assert refused.returncode == 1, refused.stderr
    assert "cannot start: " in refused.stderr and str(db) in refused.stderr
    assert "the database is corrupt" in refused.stderr
    assert "mkdir -p corrupt && mv gepad.db* corrupt/" in refused.stderr
    assert "Traceback" not in refused.stderr

    env = daemon_env(home, None)
    started = subprocess.run([GEPAD, "start"], env=env, capture_output=True, text=True, timeout=90)
    said = started.stdout + started.stderr
    assert started.returncode != 0
    assert "the database is corrupt" in said and str(db) in said, said
    assert "did not become ready" not in said

    doctor = subprocess.run([GEPAD, "doctor"], env=env, capture_output=True, text=True, timeout=60)
    assert doctor.returncode == 1
    assert "the database is corrupt" in doctor.stdout, doctor.stdout
    assert "mkdir -p corrupt" in doctor.stdout
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    """Write until the filesystem has no block left (unbuffered, so nothing waits to flush)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    return filler


@pytest.mark.timeout(120)
def test_a_full_disk_is_reported_as_disk_full_to_clients_and_on_restart(
    small_tmpfs: Path,
) -> None:
    home = small_tmpfs / "gepad"
    d = start(home)
    try:

        async def submit_on_full_disk() -> str:
            async with GepadClient.connect(home=home) as c:
                await c.submit_feedback("thumbs_up", output="before")
                _fill(small_tmpfs)
                with pytest.raises(RpcError) as caught:
                    for i in range(50):
                        await c.submit_feedback("comment", comment=f"{i} " + "c" * 60_000)
                status = await c.get_status()  # the daemon is still serving
                assert status["pid"] == d.pid
                return caught.value.message

        message = asyncio.run(submit_on_full_disk())
        assert "internal error" not in message
        assert "disk full" in message and str(home / "data" / "gepad.db") in message, message
    finally:
        d.stop()
    again = run_to_exit(home, timeout=60)
    assert again.returncode != 0
    assert "disk full" in again.stderr and str(small_tmpfs) in again.stderr, again.stderr
    assert "Traceback" not in again.stderr
