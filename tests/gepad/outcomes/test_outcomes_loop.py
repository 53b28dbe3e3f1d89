"""Real daemons: `workspace.*` over the websocket, and the full loop (issue 6).

The loop: an assistant edit is recorded (`generation.record`), a test fails (`pytest
--junitxml` into the watched workspace), the failure becomes an example, the optimizer
(against the simulated server) swaps in a new prompt, and AGENTS.md in the workspace holds it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gepad_outcomes_testing import run_pytest, wait_for

from gepad_client import GepadClient, RpcError
from gepad_sim import load_scenario
from gepad_sim._live import BENCH, LiveDaemon, LiveSimServer, sim_config

pytestmark = pytest.mark.timeout(120)

SCENARIO = BENCH / "scenarios" / "python-style.toml"
FAST = {"outcome_debounce_s": 0.1, "outcome_rescan_s": 0.2, "outcome_settle_s": 1.0}


async def test_workspace_methods_over_the_websocket(tmp_path: Path) -> None:
    ws = tmp_path / "proj"
    ws.mkdir()
    daemon = LiveDaemon(tmp_path / "home", {"port": 0, "optimizer_enabled": False, **FAST}).start()
    try:
        async with GepadClient.connect(home=daemon.home, timeout=20) as client:
            assert (await client.call("workspace.list"))["workspaces"] == []
            added = await client.call("workspace.add", {"path": ws.as_uri()})
            assert added["added"] is True
            assert added["workspaces"] == [
                {"path": str(ws), "source": "registered", "watching": True}
            ]
            for bad, why in (
                ("proj", "absolute path"),
                (str(tmp_path / "missing"), "not an existing folder"),
            ):
                with pytest.raises(RpcError) as info:
                    await client.call("workspace.add", {"path": bad})
                assert info.value.code == -32602
                assert why in str(info.value)
            with pytest.raises(RpcError) as info:
                await client.call("workspace.add", {"path": str(ws), "extra": 1})
            assert info.value.code == -32602

            # A report dropped into the registered workspace is ingested (kept, retired: no
            # generation was recorded for it).
            (ws / "build.log").write_text("main.c:3:1: error: expected ';' before '}' token\n")

            async def ingested() -> Any:
                listing = await client.call("workspace.list")
                return listing if listing["ingest"]["examples_unlinked"] == 1 else None

            await wait_for(ingested, what="the unlinked compile outcome")
            removed = await client.call("workspace.remove", {"path": str(ws)})
            assert removed["removed"] is True
            assert removed["workspaces"] == []

        # The command line: `gepad workspace add DIR`, `gepad workspace list --json`.
        added_cli = await asyncio.to_thread(_gepad_cli, daemon.home, "workspace", "add", str(ws))
        assert added_cli.returncode == 0, added_cli.stderr
        assert f"watching {ws}" in added_cli.stdout
        listed = await asyncio.to_thread(_gepad_cli, daemon.home, "workspace", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)["workspaces"] == [
            {"path": str(ws), "source": "registered", "watching": True}
        ]
    finally:
        daemon.stop()
    assert daemon.proc is not None and daemon.proc.returncode == 0


def _module_and_test(rule_feedback: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Per module: the assistant's code, and a test that checks the team's rule on it."""
    return {
        "user_name": (
            "def getUserName(user):\n    return user['display_name']\n",
            "import user_name\n\n\ndef test_snake_case():\n"
            "    assert hasattr(user_name, 'get_user_name'), "
            f"{rule_feedback['snake_case']!r}\n",
        ),
        "retry": (
            "import os\n\n\ndef retry_count():\n    try:\n"
            "        return int(os.environ['RETRIES'])\n    except:\n        return 3\n",
            "import inspect\n\nimport retry\n\n\ndef test_no_bare_except():\n"
            "    assert 'except:' not in inspect.getsource(retry), "
            f"{rule_feedback['no_bare_except']!r}\n",
        ),
        "config_reader": (
            "import os\n\n\ndef read_config(root):\n"
            "    return open(os.path.join(root, 'app.toml')).read()\n",
            "import inspect\n\nimport config_reader\n\n\ndef test_pathlib():\n"
            "    assert 'os.path' not in inspect.getsource(config_reader), "
            f"{rule_feedback['pathlib']!r}\n",
        ),
    }


async def _optimize(client: GepadClient, budget: int) -> dict[str, Any]:
    before = (await client.call("optimizer.status"))["last_run_at"]
    await client.call("optimizer.run", {"budget": budget})

    async def ended() -> dict[str, Any] | None:
        status = await client.call("optimizer.status")
        started = status["last_run_at"] not in (None, before)
        return status if started and status["state"] != "running" else None

    return await wait_for(ended, timeout=60, what="the optimizer run to end")


def _gepad_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env["GEPAD_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "gepad.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_full_loop_failure_to_example_to_swap_to_agents_md(tmp_path: Path) -> None:
    sc = load_scenario(SCENARIO)
    feedback = {r.id: r.feedback for r in sc.rules}
    tasks = {t.id: t for t in sc.tasks}
    instructions = {
        "user_name": tasks["t01"].input,
        "retry": tasks["t06"].input,
        "config_reader": tasks["t02"].input,
    }
    ws = tmp_path / "proj"
    ws.mkdir()
    user_text = "# Project notes\n\nWritten by hand; gepad must leave this alone.\n"
    (ws / "AGENTS.md").write_text(user_text)

    server = LiveSimServer(SCENARIO, 0, tmp_path).start()
    daemon = LiveDaemon(
        tmp_path / "home", sim_config(server.api_base, workspaces=[str(ws)], **FAST)
    )
    try:
        daemon.start()
        enabled = await asyncio.to_thread(
            _gepad_cli, daemon.home, "deliver", "enable", "--workspace", str(ws),
            "--target", "agents-md",
        )  # fmt: skip
        assert enabled.returncode == 0, enabled.stderr
        async with GepadClient.connect(home=daemon.home, timeout=20) as client:
            seed = await client.get_prompt()
            assert seed["text"] in (ws / "AGENTS.md").read_text()

            # 1. The assistant's edits, recorded as the editor bridge records them.
            generation_ids = {}
            for name, (code, test) in _module_and_test(feedback).items():
                (ws / f"{name}.py").write_text(code)
                (ws / f"test_{name}.py").write_text(test)
                recorded = await client.call(
                    "generation.record",
                    {
                        "workspace": ws.as_uri(),
                        "file": (ws / f"{name}.py").as_uri(),
                        "language": "python",
                        "instruction": instructions[name],
                        "output": code,
                        "prompt_version": seed["version"],
                    },
                )
                generation_ids[name] = recorded["generation_id"]

            # 2. The tests fail, as a real pytest run writing JUnit XML into the workspace.
            result = await asyncio.to_thread(run_pytest, ws, ws / "reports" / "junit.xml")
            assert result.returncode == 1, result.stdout + result.stderr
            assert "3 failed" in result.stdout

            # 3. Each failure becomes a test_result example linked to its generation.
            async def examples() -> list[dict[str, Any]] | None:
                rows = (await client.call("examples.list", {"kind": "test_result"}))["examples"]
                return rows if len(rows) == 3 else None

            rows = await wait_for(examples, what="three test_result examples")
            assert {r["generation_id"] for r in rows} == set(generation_ids.values())
            by_generation = {r["generation_id"]: r for r in rows}
            retry = by_generation[generation_ids["retry"]]
            assert retry["context"] == instructions["retry"]
            assert retry["prompt_version"] == seed["version"]
            assert retry["workspace"] == ws.as_uri()
            assert feedback["no_bare_except"] in retry["outcome"]["message"]

            # 4. The optimizer learns from them (the simulated reflection reads the failure
            # messages) and swaps in a better prompt.
            status = await _optimize(client, 40)
            assert status["last_error"] is None, status
            current = await client.get_prompt()
            assert current["version"] > seed["version"]
            history = await client.prompt_history(limit=20)
            swapped = [v for v in history["versions"] if v["version"] == current["version"]]
            assert swapped[0]["source"] == "optimizer"

        # 5. AGENTS.md holds the new prompt between gepad's markers; the user's text is intact.
        async def delivered() -> str | None:
            text = (ws / "AGENTS.md").read_text()
            return text if current["text"] in text else None

        agents = await wait_for(delivered, what="AGENTS.md to hold the swapped prompt")
        assert agents.startswith(user_text)
        section = agents.split("<!-- gepad:begin -->")[1].split("<!-- gepad:end -->")[0]
        assert current["text"] in section
        # What was learned is one of the rules the failing tests enforced.
        statements = {r.id: r.statement for r in sc.rules}
        learned = [
            rule
            for rule in ("snake_case", "no_bare_except", "pathlib")
            if statements[rule] in current["text"] and statements[rule] not in seed["text"]
        ]
        assert learned, current["text"]
    finally:
        daemon.stop()
        server.stop()
