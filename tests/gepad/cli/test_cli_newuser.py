"""What a new user hit first (issue 12, items 18, 19, 22), through the real `gepad` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gepad_client_harness import gepad, prepare_pending, start_daemon, stop_daemon


@pytest.mark.timeout(90)
def test_workspace_list_does_not_crash(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    daemon = start_daemon(tmp_path / "home")
    try:
        empty = gepad(daemon.home, "workspace", "list")
        assert empty.returncode == 0, empty.stderr
        assert "no workspace is watched" in empty.stdout
        assert gepad(daemon.home, "workspace", "add", str(project)).returncode == 0
        listed = gepad(daemon.home, "workspace", "list")
        assert listed.returncode == 0, listed.stderr
        assert "KeyError" not in listed.stderr
        assert str(project) in listed.stdout and "WATCHING" in listed.stdout
        as_json = json.loads(gepad(daemon.home, "workspace", "list", "--json").stdout)
        assert [w["path"] for w in as_json["workspaces"]] == [str(project)]
    finally:
        stop_daemon(daemon)


@pytest.mark.timeout(90)
def test_prompt_diff_against_a_pending_version(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pending = prepare_pending(home, "Pending candidate text.\n", score=0.7)
    daemon = start_daemon(home, env={"GEPAD_SWAP_POLICY": "review"})
    try:
        current = json.loads(gepad(home, "prompt", "--json").stdout)["version"]
        assert pending > current
        for a in (current, 1):
            diff = gepad(home, "prompt", "diff", str(a), str(pending))
            assert diff.returncode == 0, diff.stderr
            assert f"+++ general v{pending}" in diff.stdout
            assert "+Pending candidate text." in diff.stdout
        back = gepad(home, "prompt", "diff", str(pending), str(current))
        assert back.returncode == 0, back.stderr
        assert "-Pending candidate text." in back.stdout
    finally:
        stop_daemon(daemon)


@pytest.mark.timeout(90)
def test_feedback_refuses_an_unknown_component_and_an_oversized_file(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path / "home")
    try:
        prompt = gepad(daemon.home, "prompt", "--component", "nosuch")
        assert prompt.returncode != 0
        refused = gepad(
            daemon.home, "feedback", "comment", "--comment", "hi", "--component", "nosuch"
        )
        assert refused.returncode == prompt.returncode, refused.stderr
        assert "nosuch" in refused.stderr
        big = tmp_path / "comment.txt"
        big.write_text("x" * (2 * 1024 * 1024))
        too_big = gepad(daemon.home, "feedback", "comment", "--comment-file", str(big))
        assert too_big.returncode == 2, too_big.stderr
        assert "1009" not in too_big.stderr
        assert "max_message_bytes" in too_big.stderr and "1.0 MiB" in too_big.stderr
        examples = json.loads(gepad(daemon.home, "examples", "--json").stdout)["examples"]
        assert examples == []  # neither was recorded
        # The connection is fine afterwards: a normal comment goes through.
        ok = gepad(daemon.home, "feedback", "comment", "--comment", "fine")
        assert ok.returncode == 0, ok.stderr
    finally:
        stop_daemon(daemon)


@pytest.mark.timeout(90)
def test_unknown_gepad_variables_are_named_at_start(tmp_path: Path) -> None:
    env = {"GEPAD_BOGUS": "1", "GEPAD_LOGLEVEL": "DEBUG"}
    started = gepad(tmp_path, "start", env=env)
    try:
        assert started.returncode == 0, started.stderr
        assert "GEPAD_BOGUS" in started.stderr and "GEPAD_LOGLEVEL" in started.stderr
        assert "GEPAD_HOME" not in started.stderr and "GEPAD_PORT" not in started.stderr
        log = (tmp_path / "logs" / "gepad.log").read_text()
        assert "GEPAD_BOGUS, GEPAD_LOGLEVEL" in log
    finally:
        assert gepad(tmp_path, "stop").returncode == 0


@pytest.mark.timeout(90)
def test_optimize_now_says_when_no_run_started(tmp_path: Path) -> None:
    # Nothing listens on port 9: the optimizer cannot reach its model.
    config = 'task_model = "openai/nothing-here"\napi_base = "http://127.0.0.1:9/v1"\n'
    daemon = start_daemon(
        tmp_path / "home",
        config=config,
        env={"GEPAD_OPTIMIZER_ENABLED": "true", "OPENAI_API_KEY": "sk-local-test"},
    )
    try:
        result = gepad(daemon.home, "optimize", "--now")
        assert "no run started" in result.stdout, result.stdout + result.stderr
        assert "a run started" not in result.stdout
        as_json = json.loads(gepad(daemon.home, "optimize", "--now", "--json").stdout)
        assert as_json["run_request"].startswith("no run started")
    finally:
        stop_daemon(daemon)


_SLOW_START = """
import os, time
try:
    with open("/proc/self/cmdline", "rb") as f:
        slow = b"gepad.daemon" in f.read()
except OSError:
    slow = False
if slow and os.environ.get("GEPAD_TEST_SLOW_START_S"):
    end = time.monotonic() + float(os.environ["GEPAD_TEST_SLOW_START_S"])
    while time.monotonic() < end:  # a loaded machine: slow, but visibly working
        time.sleep(0.2)
        t = time.process_time() + 0.03
        while time.process_time() < t:
            pass
"""


@pytest.mark.timeout(120)
def test_start_waits_for_a_slow_daemon_that_makes_progress(tmp_path: Path) -> None:
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("needs /proc to slow down only the daemon")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_SLOW_START)
    import os

    env = {
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
        "GEPAD_TEST_SLOW_START_S": "12",
    }
    home = tmp_path / "home"
    started = gepad(home, "start", env=env, timeout=90)
    try:
        assert started.returncode == 0, started.stderr
        assert "gepad started" in started.stdout
    finally:
        gepad(home, "stop")
