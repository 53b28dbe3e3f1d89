"""`gepad capture ...` against a real daemon: enable, status, disable, and the errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gepad_capture_testing import git

from gepad_sim._live import LiveDaemon

pytestmark = pytest.mark.timeout(90)


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env["GEPAD_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "gepad.cli", "capture", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_capture_commands(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    dev = tmp_path / "dev_data"
    home = tmp_path / "home"
    daemon = LiveDaemon(home, {"port": 0, "optimizer_enabled": False}).start()
    try:
        enabled = _cli(home, "enable", "git", "--workspace", str(repo))
        assert enabled.returncode == 0, enabled.stderr
        assert enabled.stdout.splitlines()[0].split() == [
            "SOURCE", "ENABLED", "TODAY", "LAST", "WHERE",
        ]  # fmt: skip
        assert str(repo) in enabled.stdout
        cont = _cli(home, "enable", "continue", "--path", str(dev), "--json")
        assert cont.returncode == 0, cont.stderr
        by = {s["source"]: s for s in json.loads(cont.stdout)["sources"]}
        assert by["continue"] | {"enabled": True, "path": str(dev)} == by["continue"]
        assert by["git"]["workspaces"] == [str(repo)]
        # Bad input: one line naming the problem, exit 2, and the daemon goes on.
        missing = _cli(home, "enable", "git", "--workspace", str(tmp_path / "missing"))
        assert missing.returncode == 2
        assert missing.stderr.startswith("gepad: ") and "not an existing folder" in missing.stderr
        off = _cli(home, "disable", "git", "--workspace", str(repo), "--json")
        assert off.returncode == 0, off.stderr
        assert json.loads(off.stdout)["sources"][2]["enabled"] is False
        again = _cli(home, "disable", "git", "--workspace", str(repo))
        assert again.returncode == 2 and "not enabled" in again.stderr
    finally:
        daemon.stop()
    stopped = _cli(home, "status")
    assert stopped.returncode == 3 and "gepad is not running" in stopped.stderr
