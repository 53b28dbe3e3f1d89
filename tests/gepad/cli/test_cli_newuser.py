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
