"""Issue 12, item 15: what the daemon writes is the user's alone, and its log holds no bodies.

Real daemons in a temporary GEPAD_HOME; the log test runs one through the simulated
OpenAI-compatible server in bench/.
"""

from __future__ import annotations

import asyncio
import json
import stat
import sys
from pathlib import Path

import pytest
from gepad_daemon_harness import rpc, start

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from gepad_simserver_testing import start_simserver, stop_simserver


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.timeout(90)
def test_database_logs_and_directories_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # What an older gepad (or a careless umask) left behind: all of it world-readable.
    (home / "run").mkdir(parents=True)
    (home / "run").chmod(0o777)
    (home / "run" / "token").write_text("short123\n")
    (home / "logs").mkdir(mode=0o755)
    (home / "logs" / "gepad.log").write_text("old line\n")
    (home / "logs" / "gepad.log").chmod(0o644)
    daemon = start(home)
    try:

        async def go() -> None:
            async with rpc(daemon) as peer:
                await peer.call(
                    "feedback.submit", {"kind": "comment", "comment": "private feedback"}
                )

        asyncio.run(go())
        data = home / "data"
        for name in ("gepad.db", "gepad.db-wal", "gepad.db-shm"):
            assert (data / name).exists(), name
            assert _mode(data / name) == 0o600, name
        assert _mode(home / "logs" / "gepad.log") == 0o600
        for directory in ("data", "logs", "run", "spool"):
            assert _mode(home / directory) == 0o700, directory
        token = (home / "run" / "token").read_text().strip()
        assert token != "short123" and len(token) >= 32
        assert daemon.token == token
    finally:
        daemon.stop()


@pytest.mark.timeout(150)
def test_a_debug_daemon_never_logs_a_request_body(tmp_path: Path) -> None:
    planted = "PLANTED-BODY-3f9c1e-do-not-log"
    server = start_simserver(tmp_path)
    config = (
        'log_level = "DEBUG"\n'
        'task_model = "openai/sim-task"\n'
        f'api_base = "{server.api_base}"\n'
        "llm_timeout_s = 20\n"
        "daily_budget_usd = 0\n"
        "daily_budget_tokens = 0\n"
    )
    home = tmp_path / "home"
    daemon = start(home, config=config, env={"OPENAI_API_KEY": "sk-local-test"})
    try:

        async def go() -> dict[str, object]:
            async with rpc(daemon) as peer:
                # The first model call imports litellm: give it longer than the harness does.
                await peer.ws.send(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": 1,
                            "method": "assist.run",
                            "params": {
                                "instruction": f"Rename the variable. {planted}",
                                "context": f"x = 1  # {planted}",
                                "language": "python",
                            },
                        }
                    )
                )
                reply: dict[str, object] = json.loads(await asyncio.wait_for(peer.ws.recv(), 90))
            return reply

        reply = asyncio.run(go())
        assert "result" in reply, reply  # the model was called: the body went over the wire
    finally:
        daemon.stop()
        stop_simserver(server)
    log = (home / "logs" / "gepad.log").read_text(encoding="utf-8", errors="replace")
    assert " DEBUG " in log  # DEBUG really was on
    assert planted not in log
    assert planted not in daemon.stderr()


@pytest.mark.parametrize("third_party", [False, True])
def test_third_party_loggers_stay_at_warning_unless_asked(
    tmp_path: Path, third_party: bool
) -> None:
    import logging

    from gepad._logging import THIRD_PARTY_LOGGERS, configure_logging

    log_file = tmp_path / "logs" / "gepad.log"
    detach = configure_logging(log_file, level="DEBUG", verbose=False, third_party=third_party)
    try:
        logging.getLogger("openai._base_client").debug("Request options: BODY-%s", third_party)
        logging.getLogger("gepad.test").debug("gepad's own debug line")
        for name in ("openai", "httpx", "litellm", "LiteLLM", "websockets", "aiosqlite"):
            assert name in THIRD_PARTY_LOGGERS
            effective = logging.getLogger(f"{name}.child").getEffectiveLevel()
            assert effective == (logging.DEBUG if third_party else logging.WARNING), name
    finally:
        detach()
    text = log_file.read_text()
    assert "gepad's own debug line" in text
    assert ("BODY-True" in text) is third_party
    assert _mode(log_file) == 0o600
