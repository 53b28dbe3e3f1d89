"""The model probe (no request sent) and the judge's verdict parsing."""

from __future__ import annotations

import asyncio
import socket

from gepad.learning import parse_verdict, unified_diff
from gepad.learning._probe import probe_model


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_probe_reports_an_unreachable_ollama_and_names_it() -> None:
    port = _free_port()
    problem = asyncio.run(probe_model("ollama/qwen2.5-coder:7b", f"http://127.0.0.1:{port}"))
    assert problem is not None and f"127.0.0.1:{port}" in problem and "Ollama" in problem


def test_probe_accepts_a_listening_server() -> None:
    async def check() -> str | None:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await probe_model("openai/sim-task", f"http://127.0.0.1:{port}/v1")

    assert asyncio.run(check()) is None


def test_probe_checks_hosted_keys_in_the_environment_only() -> None:
    missing = asyncio.run(probe_model("anthropic/claude-sonnet-4", None, environ={}))
    assert missing is not None and "ANTHROPIC_API_KEY" in missing
    assert asyncio.run(probe_model("gpt-4o-mini", None, environ={"OPENAI_API_KEY": "x"})) is None


def test_verdicts_are_validated() -> None:
    ok = parse_verdict('Sure: {"verdict": "pass", "score": 1, "explanation": "fixed"}')
    assert ok is not None and ok.score == 1.0 and ok.verdict == "pass"
    for bad in (
        "",
        "not json",
        '{"verdict": "pa',
        '{"verdict": "maybe", "score": 0.5, "explanation": "x"}',
        '{"verdict": "pass", "score": 2, "explanation": "x"}',
        '{"score": 0.5}',
        "[1, 2]",
    ):
        assert parse_verdict(bad) is None, bad


def test_unified_diff_shows_the_users_change() -> None:
    diff = unified_diff("def getName():\n    pass\n", "def get_name():\n    pass\n")
    assert "-def getName():" in diff and "+def get_name():" in diff
