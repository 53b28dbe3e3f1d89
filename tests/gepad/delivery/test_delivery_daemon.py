"""Delivery through a real daemon: the CLI, prompt.set rewriting files, conflicts, the hook."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gepad_daemon_harness import Daemon, daemon_env, rpc, start


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    home = tmp_path / "userhome"
    home.mkdir()
    d = start(tmp_path / "gepad", env={"HOME": str(home)})
    try:
        yield d
    finally:
        d.stop()


def gepad(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    env = daemon_env(daemon.home, {"HOME": str(daemon.home.parent / "userhome")})
    return subprocess.run(
        [sys.executable, "-m", "gepad.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


def test_cli_enable_swap_conflict_status_disable(daemon: Daemon, tmp_path: Path) -> None:
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "AGENTS.md").write_bytes(b"# Mine\r\nKeep this.\r\n")
    for target in ("agents-md", "cursor", "continue"):
        done = gepad(daemon, "deliver", "enable", "--workspace", str(ws), "--target", target)
        assert done.returncode == 0, done.stderr
        assert f"to {target}" in done.stdout
    agents = ws / "AGENTS.md"
    assert agents.read_bytes().startswith(b"# Mine\r\nKeep this.\r\n")
    continue_file = tmp_path / "userhome/.continue/rules/gepad.md"
    assert continue_file.exists()

    async def swap_and_edit() -> dict:  # type: ignore[type-arg]
        async with rpc(daemon) as c:
            await c.call("prompt.set", {"component": "general", "text": "Swapped in.\n"})
            wait_for(lambda: b"Swapped in." in agents.read_bytes())
            wait_for(lambda: "Swapped in." in (ws / ".cursor/rules/gepad.mdc").read_text())
            wait_for(lambda: "Swapped in." in continue_file.read_text())
            # The user edits inside the markers: the next swap must not overwrite it, and the
            # edit must not become every workspace's prompt: it is a proposal.
            agents.write_bytes(agents.read_bytes().replace(b"Swapped in.", b"Hand edit."))
            await c.call("prompt.set", {"component": "general", "text": "Second swap.\n"})
            wait_for(lambda: "Second swap." in (ws / ".cursor/rules/gepad.mdc").read_text())
            return await c.call("prompt.get", {"component": "general"})

    state = asyncio.run(swap_and_edit())
    assert state["text"] == "Second swap.\n" and state["source"] == "user-edit"
    wait_for(lambda: gepad_status(daemon)["pending"] is not None)
    pending = gepad_status(daemon)["pending"]
    assert pending["text"] == "Hand edit.\n"
    assert agents.read_bytes().count(b"Hand edit.") == 1
    assert "Hand edit." not in continue_file.read_text()

    status = gepad(daemon, "deliver", "status", "--workspace", str(ws), "--json")
    assert status.returncode == 0, status.stderr
    rows = {r["target"]: r for r in json.loads(status.stdout)["deliveries"]}
    assert rows["agents-md"]["state"] == "conflict"
    assert rows["agents-md"]["conflicts"][0]["version"] == pending["version"]
    assert rows["cursor"]["state"] == "ok"
    human = gepad(daemon, "deliver", "status", "--workspace", str(ws))
    assert f"proposed as v{pending['version']}: `gepad prompt approve" in human.stdout
    # The approval makes it current everywhere and settles the conflict.
    approved = gepad(daemon, "prompt", "approve", str(pending["version"]))
    assert approved.returncode == 0, approved.stderr
    wait_for(lambda: "Hand edit." in continue_file.read_text())
    wait_for(lambda: _rows(daemon, ws)["agents-md"]["state"] == "ok")

    for target in ("agents-md", "cursor", "continue"):
        done = gepad(daemon, "deliver", "disable", "--workspace", str(ws), "--target", target)
        assert done.returncode == 0, done.stderr
        if target == "agents-md":  # only the section went; the file is the user's
            assert "removed gepad's section; the rest of the file is kept" in done.stdout
            assert f"{agents}: removed\n" not in done.stdout
    assert agents.read_bytes() == b"# Mine\r\nKeep this.\r\n"
    assert not (ws / ".cursor").exists() and not continue_file.exists()


def gepad_status(daemon: Daemon) -> dict:  # type: ignore[type-arg]
    done = gepad(daemon, "prompt", "show", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _rows(daemon: Daemon, ws: Path) -> dict:  # type: ignore[type-arg]
    done = gepad(daemon, "deliver", "status", "--workspace", str(ws), "--json")
    return {r["target"]: r for r in json.loads(done.stdout)["deliveries"]}


@pytest.mark.timeout(120)
def test_end_marker_in_a_prompt_repro(daemon: Daemon, tmp_path: Path) -> None:
    """Issue 12 item 1, exactly: a prompt holding the end marker, then a clean one."""
    ws = tmp_path / "project"
    ws.mkdir()
    (ws / "AGENTS.md").write_text("# Mine\n")
    assert (
        gepad(
            daemon, "deliver", "enable", "--workspace", str(ws), "--target", "agents-md"
        ).returncode
        == 0
    )
    for text in ("A\n<!-- gepad:end -->\nB\n", "clean\n"):
        done = subprocess.run(
            [sys.executable, "-m", "gepad.cli", "prompt", "set", "--file", "-"],
            input=text, env=daemon_env(daemon.home, {"HOME": str(daemon.home.parent / "userhome")}),
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        wait_for(lambda text=text: text.splitlines()[-1] in (ws / "AGENTS.md").read_text())
    shown = gepad(daemon, "prompt")
    assert shown.stdout.strip().endswith("clean"), shown.stdout
    state = gepad_status(daemon)
    assert state["text"] == "clean\n" and state["pending"] is None  # no bogus "hand edit"
    assert _rows(daemon, ws)["agents-md"]["state"] == "ok"
    off = gepad(daemon, "deliver", "disable", "--workspace", str(ws), "--target", "agents-md")
    assert off.returncode == 0, off.stderr
    assert (ws / "AGENTS.md").read_text() == "# Mine\n"  # no stray text, no lone marker
    again = gepad(daemon, "deliver", "enable", "--workspace", str(ws), "--target", "agents-md")
    assert again.returncode == 0, again.stderr


def test_cli_errors_are_clear(daemon: Daemon, tmp_path: Path) -> None:
    bad = gepad(
        daemon, "deliver", "enable", "--workspace", str(tmp_path / "nope"), "--target", "claude"
    )
    assert bad.returncode == 2 and "not an existing folder" in bad.stderr
    off = gepad(daemon, "deliver", "disable", "--workspace", str(tmp_path), "--target", "claude")
    assert off.returncode == 2 and "not enabled" in off.stderr
    (tmp_path / ".clinerules").mkdir()
    (tmp_path / ".clinerules/gepad.md").write_text("theirs")
    clash = gepad(daemon, "deliver", "enable", "--workspace", str(tmp_path), "--target", "cline")
    assert clash.returncode == 1 and "did not write it" in clash.stderr
    assert (tmp_path / ".clinerules/gepad.md").read_text() == "theirs"


def test_claude_hook_prints_the_current_prompt(daemon: Daemon, tmp_path: Path) -> None:
    done = gepad(
        daemon, "deliver", "enable", "--workspace", str(tmp_path), "--target", "claude-hook"
    )
    assert done.returncode == 0, done.stderr
    settings = json.loads((tmp_path / ".claude/settings.json").read_text())
    command = settings["hooks"]["SessionStart"][0]["hooks"][0]["command"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env["CLAUDE_PROJECT_DIR"] = str(tmp_path)
    # Claude Code runs the command through a shell, with the hook input on stdin.
    run = subprocess.run(
        command,
        shell=True,
        input=json.dumps({"hook_event_name": "SessionStart", "source": "startup"}),
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr
    output = json.loads(run.stdout)
    assert output["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert "careful coding assistant" in output["hookSpecificOutput"]["additionalContext"]
    daemon.stop()
    down = subprocess.run(command, shell=True, capture_output=True, text=True, env=env, timeout=30)
    assert down.returncode == 0 and down.stdout == "" and "no prompt added" in down.stderr


def test_deliver_status_warns_when_a_prompt_would_be_cut(daemon: Daemon, tmp_path: Path) -> None:
    ws = tmp_path / "project"
    ws.mkdir()
    for target in ("copilot", "windsurf"):
        done = gepad(daemon, "deliver", "enable", "--workspace", str(ws), "--target", target)
        assert done.returncode == 0, done.stderr
    windsurf = ws / ".windsurf/rules/gepad.md"
    before = windsurf.read_bytes()
    long_prompt = "Be thorough. " * 1000 + "\n"  # 13,000 characters

    async def set_long() -> None:
        async with rpc(daemon) as c:
            await c.call("prompt.set", {"component": "general", "text": long_prompt})

    asyncio.run(set_long())
    wait_for(lambda: _rows(daemon, ws)["windsurf"]["state"] == "over-limit")
    human = gepad(daemon, "deliver", "status", "--workspace", str(ws))
    assert "over the limit:" in human.stdout and "Windsurf reads at most 12000" in human.stdout
    assert "warning:" in human.stdout and "Copilot code review reads at most 4000" in human.stdout
    assert windsurf.read_bytes() == before  # not cut: it keeps the last prompt that fitted


def test_rejecting_the_proposal_redelivers_the_file(daemon: Daemon, tmp_path: Path) -> None:
    ws = tmp_path / "project"
    ws.mkdir()
    assert (
        gepad(daemon, "deliver", "enable", "--workspace", str(ws), "--target", "cursor").returncode
        == 0
    )
    rule = ws / ".cursor/rules/gepad.mdc"
    rule.write_text(rule.read_text().replace("careful coding assistant", "sloppy assistant"))

    async def swap() -> None:
        async with rpc(daemon) as c:
            await c.call("prompt.set", {"component": "general", "text": "Kept by gepad.\n"})

    asyncio.run(swap())
    wait_for(lambda: gepad_status(daemon)["pending"] is not None)
    version = gepad_status(daemon)["pending"]["version"]
    assert "sloppy" in rule.read_text()
    rejected = gepad(daemon, "prompt", "reject", str(version))
    assert rejected.returncode == 0, rejected.stderr
    wait_for(lambda: "Kept by gepad." in rule.read_text())
    assert "sloppy" not in rule.read_text()
    wait_for(lambda: _rows(daemon, ws)["cursor"]["state"] == "ok")
