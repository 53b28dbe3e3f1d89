"""The sandbox: own session, fresh directory, group kill on timeout, truncation, rlimits."""

from __future__ import annotations

import asyncio
import resource
import signal
import sys
from pathlib import Path

import pytest
from gepad_kernel_testing import alive, wait_dead

from gepad.kernel import Limits, compile_limits, gpu_run_limits, run_sandboxed

PY = sys.executable


async def test_runs_in_a_fresh_directory_that_is_removed_afterwards() -> None:
    res = await run_sandboxed(
        [PY, "-c", "import os; print(os.getcwd()); print(os.environ['TMPDIR'])"], timeout_s=20
    )
    assert res.ok and not res.timed_out and not res.truncated
    cwd, tmpdir = res.stdout.split()
    assert Path(cwd).name.startswith("gepad-job-")
    assert tmpdir == cwd  # tool scratch files land in the job directory
    assert not Path(cwd).exists()


async def test_own_session_and_process_group() -> None:
    res = await run_sandboxed(
        [PY, "-c", "import os; print(os.getsid(0) == os.getpid(), os.getpgrp() == os.getpid())"],
        timeout_s=20,
    )
    assert res.stdout.split() == ["True", "True"]


async def test_timeout_kills_the_whole_group_including_children(tmp_path: Path) -> None:
    script = "sleep 100 & echo $! > pids; sleep 100 & echo $! >> pids; wait"
    res = await run_sandboxed(["sh", "-c", script], cwd=tmp_path, timeout_s=0.5)
    assert res.timed_out and not res.ok
    assert res.returncode == -signal.SIGKILL
    assert res.duration_s < 5
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    assert len(pids) == 2
    assert wait_dead(pids) == []


async def test_stragglers_are_killed_when_the_main_process_exits(tmp_path: Path) -> None:
    # The background sleep keeps no pipe open, so only the group kill can end it.
    script = "sleep 100 >/dev/null 2>&1 & echo $! > pid; exit 0"
    res = await run_sandboxed(["sh", "-c", script], cwd=tmp_path, timeout_s=10)
    assert res.ok
    pid = int((tmp_path / "pid").read_text())
    assert wait_dead([pid]) == []


async def test_cancellation_kills_the_group(tmp_path: Path) -> None:
    task = asyncio.create_task(
        run_sandboxed(["sh", "-c", "sleep 100 & echo $! > pid; wait"], cwd=tmp_path, timeout_s=60)
    )
    pid_file = tmp_path / "pid"
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.02)
    pid = int(pid_file.read_text())
    assert alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wait_dead([pid]) == []


async def test_output_is_truncated_keeping_head_and_tail() -> None:
    code = "import sys; sys.stdout.write('HEAD' + 'x' * 200000 + 'TAIL')"
    res = await run_sandboxed([PY, "-c", code], timeout_s=20, output_limit=1000)
    assert res.ok and res.truncated
    assert res.stdout.startswith("HEAD")
    assert res.stdout.endswith("TAIL")
    assert "bytes cut" in res.stdout
    cut = 200008 - 1000
    assert f"[... {cut} bytes cut" in res.stdout
    assert len(res.stdout) < 1200


async def test_small_output_is_not_marked_truncated() -> None:
    res = await run_sandboxed([PY, "-c", "print('x' * 100)"], timeout_s=20, output_limit=1000)
    assert not res.truncated and res.stdout == "x" * 100 + "\n"


async def test_rlimits_are_applied_in_the_child() -> None:
    limits = Limits(cpu_s=7, file_size_bytes=1 << 20, address_space_bytes=3 << 30)
    code = (
        "import resource as r; "
        "print(*(r.getrlimit(x)[0] for x in (r.RLIMIT_CPU, r.RLIMIT_FSIZE, r.RLIMIT_AS)))"
    )
    res = await run_sandboxed([PY, "-c", code], timeout_s=20, limits=limits)
    assert res.stdout.split() == ["7", str(1 << 20), str(3 << 30)]


async def test_file_size_limit_stops_a_large_write(tmp_path: Path) -> None:
    code = "open('big', 'wb').write(b'0' * (2 << 20))"
    res = await run_sandboxed(
        [PY, "-c", code], cwd=tmp_path, timeout_s=20, limits=Limits(file_size_bytes=1 << 20)
    )
    assert res.returncode != 0
    assert "File too large" in res.stderr
    assert (tmp_path / "big").stat().st_size <= 1 << 20


async def test_address_space_limit_stops_a_large_allocation() -> None:
    code = "b = bytearray(1 << 30); print('allocated')"
    res = await run_sandboxed(
        [PY, "-c", code], timeout_s=20, limits=Limits(address_space_bytes=512 << 20)
    )
    assert res.returncode != 0 and "MemoryError" in res.stderr


async def test_gpu_runs_get_no_address_space_limit() -> None:
    limits = gpu_run_limits()
    assert limits.address_space_bytes is None
    assert compile_limits().address_space_bytes is not None
    code = "import resource as r; print(r.getrlimit(r.RLIMIT_AS)[0])"
    res = await run_sandboxed([PY, "-c", code], timeout_s=20, limits=limits)
    assert int(res.stdout) == resource.getrlimit(resource.RLIMIT_AS)[0]


async def test_missing_command_reports_exit_127() -> None:
    plain = await run_sandboxed(["/nonexistent/tool"], timeout_s=5)
    wrapped = await run_sandboxed(["/nonexistent/tool"], timeout_s=5, limits=compile_limits())
    for res in (plain, wrapped):
        assert res.returncode == 127
        assert "cannot execute '/nonexistent/tool'" in res.stderr


async def test_stdin_is_passed() -> None:
    res = await run_sandboxed(
        [PY, "-c", "import sys; print(sys.stdin.read()[::-1])"], timeout_s=20, stdin=b"abc"
    )
    assert res.stdout.strip() == "cba"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="cpu_s"):
        Limits(cpu_s=0)
    with pytest.raises(ValueError, match="timeout_s"):
        asyncio.run(run_sandboxed(["true"], timeout_s=0))
    with pytest.raises(ValueError, match="needs a command"):
        asyncio.run(run_sandboxed([], timeout_s=1))


async def test_a_child_holding_the_pipes_does_not_delay_the_result(tmp_path: Path) -> None:
    # The background sleep inherits stdout/stderr; the job must still end when sh exits.
    script = "sleep 100 & echo $! > pid; echo done"
    res = await run_sandboxed(["sh", "-c", script], cwd=tmp_path, timeout_s=20)
    assert res.ok and not res.timed_out
    assert res.stdout == "done\n"
    assert res.duration_s < 5
    assert wait_dead([int((tmp_path / "pid").read_text())]) == []


async def test_secrets_in_the_daemons_environment_do_not_reach_the_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    code = (
        "import os; print(os.environ.get('OPENAI_API_KEY'), os.environ.get('CUDA_VISIBLE_DEVICES'))"
    )
    res = await run_sandboxed([PY, "-c", code], timeout_s=20)
    assert res.stdout.split() == ["None", "0"]
    given = await run_sandboxed([PY, "-c", code], timeout_s=20, env={"OPENAI_API_KEY": "x"})
    assert given.stdout.split() == ["x", "None"]
