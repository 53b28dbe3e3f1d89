"""`gepad start/stop/status/logs` as real subprocesses against real daemons."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from gepad_client_harness import (
    START_TIMEOUT_S,
    clean_env,
    gepad,
    gepad_command,
    pid_running,
    read_ready,
    stop_daemon,
)


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


def test_start_second_start_status_stop(tmp_path: Path) -> None:
    started = gepad(tmp_path, "start")
    try:
        assert started.returncode == 0, started.stderr
        daemon = read_ready(tmp_path)
        assert daemon is not None and pid_running(daemon.pid)
        assert started.stdout.strip() == f"gepad started (pid {daemon.pid}, {daemon.ws_url})"

        again = gepad(tmp_path, "start")
        assert again.returncode == 0
        assert again.stdout.strip() == (
            f"gepad is already running (pid {daemon.pid}, {daemon.ws_url})"
        )
        assert read_ready(tmp_path) == daemon  # the first one still serves

        status = gepad(tmp_path, "status")
        assert status.returncode == 0, status.stderr
        assert "gepad is running" in status.stdout
        assert str(daemon.pid) in status.stdout and daemon.ws_url in status.stdout
        assert "general" in status.stdout and "seed" in status.stdout

        stopped = gepad(tmp_path, "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.strip() == f"gepad stopped (pid {daemon.pid})"
        assert not pid_running(daemon.pid)
        assert not (tmp_path / "run" / "daemon.json").exists()
    finally:
        if (d := read_ready(tmp_path)) is not None:
            stop_daemon(d)


def test_commands_say_clearly_when_the_daemon_is_not_running(tmp_path: Path) -> None:
    for args in (
        ["status"],
        ["prompt"],
        ["prompt", "history"],
        ["examples"],
        ["feedback", "thumbs-up"],
    ):
        result = gepad(tmp_path, *args)
        assert result.returncode == 3, (args, result.stderr)
        assert result.stderr.startswith("gepad is not running"), result.stderr
        assert result.stderr.count("\n") == 1
        assert result.stdout == ""
        _no_traceback(result)
    as_json = gepad(tmp_path, "status", "--json")
    assert as_json.returncode == 3
    assert json.loads(as_json.stdout) == {"running": False}

    stop = gepad(tmp_path, "stop")
    assert stop.returncode == 0
    assert "not running" in stop.stdout


def test_stop_with_a_stale_discovery_file_does_not_signal_anyone(tmp_path: Path) -> None:
    proc = subprocess.Popen(["true"])
    proc.wait()
    (tmp_path / "run").mkdir(parents=True)
    (tmp_path / "run" / "daemon.json").write_text(
        json.dumps({"pid": proc.pid, "ws_url": "ws://127.0.0.1:9", "started_at": 0})
    )
    result = gepad(tmp_path, "stop")
    assert result.returncode == 0
    assert f"pid {proc.pid}, which is not a running gepad daemon" in result.stdout
    status = gepad(tmp_path, "status")
    assert status.returncode == 3 and f"pid {proc.pid}" in status.stderr


def test_start_reports_a_config_error_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("prot = 7453\n")
    result = gepad(tmp_path, "start")
    assert result.returncode == 2
    assert "prot" in result.stderr and str(tmp_path / "config.toml") in result.stderr
    _no_traceback(result)
    assert read_ready(tmp_path) is None

    (tmp_path / "config.toml").unlink()
    from_env = gepad(tmp_path, "start", env={"GEPAD_SWAP_POLICY": "sometimes"})
    assert from_env.returncode == 2
    assert "GEPAD_SWAP_POLICY" in from_env.stderr


def test_start_foreground_runs_in_this_process_until_sigterm(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*gepad_command(), "start", "--foreground"],
        env=clean_env(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while (ready := read_ready(tmp_path, pid=proc.pid)) is None:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "foreground daemon not ready"
            time.sleep(0.02)
        assert gepad(tmp_path, "status").returncode == 0
        # A second start sees the foreground daemon.
        again = gepad(tmp_path, "start", "--foreground")
        assert again.returncode == 0
        assert f"already running (pid {ready.pid}" in again.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert not (tmp_path / "run" / "daemon.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=15)


def test_logs_shows_the_tail_and_follows(tmp_path: Path) -> None:
    missing = gepad(tmp_path, "logs")
    assert missing.returncode == 1
    assert "no log file" in missing.stderr

    assert gepad(tmp_path, "start").returncode == 0
    try:
        log_file = tmp_path / "logs" / "gepad.log"
        lines = log_file.read_text().splitlines()
        assert lines, "the daemon wrote no log"
        tail = gepad(tmp_path, "logs", "-n", "2")
        assert tail.returncode == 0
        assert tail.stdout.splitlines() == lines[-2:]

        follower = subprocess.Popen(
            [*gepad_command(), "logs", "-f", "-n", "0"],
            env=clean_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(0.5)  # let it reach the end of the file before appending
            with log_file.open("a") as handle:
                handle.write("appended by the test\n")
            assert follower.stdout is not None
            assert follower.stdout.readline() == "appended by the test\n"
        finally:
            follower.send_signal(signal.SIGINT)
            follower.wait(timeout=10)
        assert follower.returncode == 0
    finally:
        assert gepad(tmp_path, "stop").returncode == 0


def test_python_dash_m_works_and_help_lists_every_command(tmp_path: Path) -> None:
    result = gepad(tmp_path, "--help", command=[sys.executable, "-m", "gepad.cli"])
    assert result.returncode == 0
    for command in ("start", "stop", "status", "prompt", "examples", "feedback", "doctor"):
        assert command in result.stdout
    assert "logs" in result.stdout and "service" in result.stdout
    version = gepad(tmp_path, "--version", command=[sys.executable, "-m", "gepad.cli"])
    assert version.returncode == 0 and version.stdout.startswith("gepad ")
    usage = gepad(tmp_path, "frobnicate")
    assert usage.returncode == 2
    assert "invalid choice" in usage.stderr


def test_status_imports_nothing_heavy(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from gepad.cli import main\n"
        "code = main(['status'])\n"
        "heavy = ('litellm', 'openai', 'pydantic', 'aiosqlite', 'gepad.server', 'gepad.store',"
        " 'gepad.daemon', 'gepad.config', 'gepad.prompts', 'gepa_engine')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
        "print(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.stdout.splitlines() == ["[]", "3"], result.stdout + result.stderr
