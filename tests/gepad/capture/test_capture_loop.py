"""Real daemons, Claude Code end to end: `gepad deliver enable --target claude-capture`
installs the hook, the installed script runs with Claude Code's PostToolUse input, the user
fixes Claude's text by hand, the correction becomes an example (source `claude-code`), the
optimizer (against the simulated server) swaps a new prompt in, and `.claude/rules/gepad.md`
holds it. Also: `/gepad-feedback`'s command line, `gepad capture status`, and no duplicate
after a daemon restart."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gepad_capture_testing import post_tool_use, transcript, wait_for

from gepad_client import GepadClient
from gepad_sim import load_scenario
from gepad_sim._live import BENCH, LiveDaemon, LiveSimServer, sim_config

pytestmark = pytest.mark.timeout(180)

SCENARIO = BENCH / "scenarios" / "python-style.toml"
SECRET = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"  # a GitHub token's shape
FAST = {
    "redact": "always",  # the simulated server is local; redact for it too
    "capture_settle_s": 0.3,
    "outcome_debounce_s": 0.1,
    "outcome_rescan_s": 0.2,
    "outcome_settle_s": 1.0,
}


def _cli(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env["GEPAD_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "gepad.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


async def _optimize(client: GepadClient, budget: int) -> dict[str, Any]:
    before = (await client.call("optimizer.status"))["last_run_at"]
    await client.call("optimizer.run", {"budget": budget})

    async def ended() -> dict[str, Any] | None:
        status = await client.call("optimizer.status")
        started = status["last_run_at"] not in (None, before)
        return status if started and status["state"] != "running" else None

    return await wait_for(ended, timeout=90, what="the optimizer run to end")


async def test_full_loop_claude_code_edit_to_correction_to_swap_to_claude_rules(
    tmp_path: Path,
) -> None:
    sc = load_scenario(SCENARIO)
    rules = {r.id: r for r in sc.rules}
    tasks = {t.id: t for t in sc.tasks}
    ws = tmp_path / "proj"
    ws.mkdir()
    server = LiveSimServer(SCENARIO, 0, tmp_path).start()
    daemon = LiveDaemon(tmp_path / "home", sim_config(server.api_base, **FAST))
    try:
        daemon.start()
        for target in ("claude-capture", "claude"):
            done = await asyncio.to_thread(
                _cli, daemon.home, "deliver", "enable", "--workspace", str(ws), "--target", target
            )
            assert done.returncode == 0, done.stderr
        script = ws / ".claude" / "hooks" / "gepad-capture.py"
        settings = json.loads((ws / ".claude" / "settings.local.json").read_text())
        [group] = settings["hooks"]["PostToolUse"]
        assert group["matcher"] == "Edit|Write|MultiEdit"
        assert group["hooks"][0]["command"].endswith(
            '"$CLAUDE_PROJECT_DIR/.claude/hooks/gepad-capture.py"'
        )
        assert (ws / ".claude" / "commands" / "gepad-feedback.md").exists()

        async with GepadClient.connect(home=daemon.home, timeout=20) as client:
            seed = await client.get_prompt()
            assert seed["text"] in (ws / ".claude" / "rules" / "gepad.md").read_text()
            # 1. Claude writes three modules, each for one of the scenario's requests; the
            # hook records them (run the way Claude Code runs it: the settings' command).
            work = {"user_name": ("t01", "snake_case"), "retry": ("t06", "no_bare_except")}
            work["config_reader"] = ("t02", "pathlib")
            fixes = {}
            for name, (task_id, rule) in work.items():
                task = tasks[task_id]
                missed = [rule]
                followed = [r for r in task.rules if r not in missed]
                written = f"followed: {', '.join(followed)}; missed: {', '.join(missed)}\n"
                src = ws / f"{name}.py"
                src.write_text(written)
                talk = transcript(tmp_path / f"{name}.jsonl", task.input)
                payload = post_tool_use(
                    ws, "Write", {"file_path": str(src), "content": written}, talk
                )
                command = group["hooks"][0]["command"].replace("$CLAUDE_PROJECT_DIR", str(ws))
                done = await asyncio.to_thread(
                    subprocess.run,
                    command,
                    shell=True,
                    input=json.dumps(payload).encode(),
                    capture_output=True,
                    timeout=30,
                )
                assert (done.returncode, done.stdout, done.stderr) == (0, b"", b""), done
                fixes[name] = (src, written, rules[rule].feedback)

            async def generations() -> dict[str, Any] | None:
                last = await client.call("capture.last", {"workspace": str(ws)})
                listed = [
                    await client.call("capture.generations", {"file": src.as_uri()})
                    for src, _, _ in fixes.values()
                ]
                ok = last["generation"] and all(g["generations"] for g in listed)
                return last if ok else None

            last = await wait_for(generations, what="three recorded generations")
            assert last["generation"]["file"] == str(ws / "config_reader.py")

            # /gepad-feedback's own command line gives Claude what to pass record_feedback.
            md = (ws / ".claude" / "commands" / "gepad-feedback.md").read_text()
            line = re.search(r"^!`(.*)`$", md, re.MULTILINE)
            assert line is not None
            shown = await asyncio.to_thread(
                subprocess.run,
                line.group(1).replace('"$CLAUDE_PROJECT_DIR"', shlex.quote(str(ws))),
                shell=True,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert shown.returncode == 0, shown.stderr
            gen = json.loads(shown.stdout)["generation"]
            assert gen["generation_id"] == last["generation"]["generation_id"]

            # 2. The user fixes each by hand (saying why in a comment, as people do).
            for src, _written, why in fixes.values():
                src.write_text(f"# {why}\nTOKEN = '{SECRET}'\ndef fixed() -> None:\n    pass\n")

            async def corrections() -> list[dict[str, Any]] | None:
                rows = (await client.call("examples.list", {"kind": "correction"}))["examples"]
                return rows if len(rows) == 3 else None

            rows = await wait_for(corrections, what="three corrections")
            assert {r["source"] for r in rows} == {"claude-code"}
            by_output = {r["output"]: r for r in rows}
            retry = by_output[fixes["retry"][1]]
            assert retry["context"] == tasks["t06"].input
            assert retry["prompt_version"] == seed["version"]
            assert retry["corrected"].startswith("# " + rules["no_bare_except"].feedback)

            # 3. The optimizer learns from them and swaps in a better prompt.
            status = await _optimize(client, 40)
            assert status["last_error"] is None, status
            current = await client.get_prompt()
            assert current["version"] > seed["version"]
            # What Claude Code's capture stored reached the models redacted only.
            sent = json.dumps(await asyncio.to_thread(server.received))
            assert "I renamed getUserName" in sent or "bare except" in sent or "pathlib" in sent
            assert SECRET not in sent and "[REDACTED" in sent

        # 4. .claude/rules/gepad.md holds the new prompt.
        async def delivered() -> str | None:
            text = (ws / ".claude" / "rules" / "gepad.md").read_text()
            return text if current["text"] in text else None

        await wait_for(delivered, what=".claude/rules/gepad.md to hold the swapped prompt")
        learned = [
            r for r in ("snake_case", "no_bare_except", "pathlib")
            if rules[r].statement in current["text"] and rules[r].statement not in seed["text"]
        ]  # fmt: skip
        assert learned, current["text"]

        # gepad capture status, then a restart: nothing recorded twice.
        shown_status = await asyncio.to_thread(_cli, daemon.home, "capture", "status", "--json")
        assert shown_status.returncode == 0, shown_status.stderr
        by = {s["source"]: s for s in json.loads(shown_status.stdout)["sources"]}
        assert by["claude-code"]["captured_today"] == 3
        assert by["claude-code"]["last_error"] is None
        daemon.stop()
        daemon.start()
        async with GepadClient.connect(home=daemon.home, timeout=20) as client:
            await asyncio.sleep(1.0)  # a rescan of the spool, and of the tracked files
            rows = (await client.call("examples.list", {"limit": 100}))["examples"]
            assert len([r for r in rows if r["source"] == "claude-code"]) == 3
            gens = (await client.call("capture.last", {"workspace": str(ws)}))["generation"]
            assert gens["generation_id"] == last["generation"]["generation_id"]
        disabled = await asyncio.to_thread(
            _cli, daemon.home, "deliver", "disable", "--workspace", str(ws),
            "--target", "claude-capture",
        )  # fmt: skip
        assert disabled.returncode == 0, disabled.stderr
        assert not script.exists()
        assert not (ws / ".claude" / "settings.local.json").exists()
        assert not (ws / ".claude" / "commands").exists()
    finally:
        daemon.stop()
        server.stop()
