"""Helpers for the capture tests: the installed hook run as Claude Code runs it, payloads
shaped like Claude Code's documented PostToolUse input, a transcript, git, waiting."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from gepad.delivery import RenderContext
from gepad.delivery._claude_capture import render_capture_script

T = TypeVar("T")


async def wait_for(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 15.0, what: str = "condition"
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def install_hook(folder: Path, gepad_home: Path) -> Path:
    """The hook script exactly as the `claude-capture` target writes it."""
    ctx = RenderContext("general", 1, "", sys.executable, str(gepad_home))
    script = folder / "gepad-capture.py"
    script.write_text(render_capture_script(ctx))
    script.chmod(0o755)
    return script


def transcript(path: Path, request: str) -> Path:
    """A Claude Code transcript: JSON lines, the user's request, then tool traffic."""
    lines = [
        {"type": "user", "message": {"role": "user", "content": "an older request"}},
        {"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text"}]}},
        {"type": "user", "isMeta": True, "message": {"role": "user", "content": "<meta>"}},
        {
            "type": "user",
            "message": {"role": "user", "content": [{"type": "text", "text": request}]},
        },
        {
            "type": "user",
            "message": {"role": "user", "content": [{"type": "tool_result", "content": "ok"}]},
        },
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def post_tool_use(
    cwd: Path, tool: str, tool_input: dict[str, Any], transcript_path: Path | None
) -> dict[str, Any]:
    """Claude Code's PostToolUse hook input (hooks reference: common fields + tool fields)."""
    return {
        "session_id": "8c35adc1-0000-4000-8000-000000000001",
        "transcript_path": str(transcript_path) if transcript_path else "",
        "cwd": str(cwd),
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_response": {"filePath": tool_input.get("file_path"), "success": True},
        "tool_use_id": "toolu_01",
    }


def run_hook(
    script: Path, payload: dict[str, Any] | str, *, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    base = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    return subprocess.run(
        [sys.executable, str(script)],
        input=data.encode(),
        capture_output=True,
        timeout=30,
        env={**base, **(env or {}), "CLAUDE_PROJECT_DIR": payload_cwd(payload)},
        check=False,
    )


def payload_cwd(payload: dict[str, Any] | str) -> str:
    return str(payload.get("cwd", "/")) if isinstance(payload, dict) else "/"


def git(
    repo: Path, *args: str, author: str = "Dev <dev@example.com>", date: str | None = None
) -> str:
    name, _, email = author.partition(" <")
    dated = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else {}
    env = {
        **dated,
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email.rstrip(">"),
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
