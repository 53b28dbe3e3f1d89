"""`gepad doctor`'s "models answer" check makes a real tiny completion and tells apart a model
that answers, loops, is slow, unreachable, refusing, or lacks credentials (issue 13, item 4).
Against `_fake_openai.FakeOpenAI` over real HTTP through litellm."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from _fake_openai import FakeOpenAI, Reply

from gepad.cli._check_model import check_models_answer
from gepad.cli._checks import DEFAULT_CHECKS, DoctorContext
from gepad.paths import resolve_paths

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as s:
        yield s


def ctx_for(
    home: Path, api_base: str, *extra: str, env: dict[str, str] | None = None
) -> DoctorContext:
    home.mkdir(parents=True, exist_ok=True)
    lines = ['task_model = "openai/m"', f'api_base = "{api_base}"', "llm_timeout_s = 3", *extra]
    (home / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    environ = {"GEPAD_HOME": str(home), **(env or {})}
    return DoctorContext(resolve_paths(environ), environ)


def test_doctor_runs_the_real_probe() -> None:
    assert check_models_answer.__name__ in [c.__name__ for c in DEFAULT_CHECKS]


def test_a_model_that_answers(server: FakeOpenAI, tmp_path: Path) -> None:
    server.script(Reply(text="OK"))
    result = check_models_answer(ctx_for(tmp_path, server.api_base))
    assert result.ok and "answered" in result.detail, result
    assert server.received[0].body["max_tokens"] == 8  # a tiny completion, really sent


def test_a_refusing_a_looping_and_a_slow_model(server: FakeOpenAI, tmp_path: Path) -> None:
    server.script(Reply(status=404))
    refused = check_models_answer(ctx_for(tmp_path / "a", server.api_base))
    assert not refused.ok and "refusing" in refused.detail

    server.script(Reply(text="la " * 100), Reply(text="la " * 100))
    looping = check_models_answer(ctx_for(tmp_path / "b", server.api_base))
    assert not looping.ok and "looping" in looping.detail

    server.script(Reply(text="OK", delay_s=6.0))
    slow = check_models_answer(ctx_for(tmp_path / "c", server.api_base))
    assert not slow.ok and "slow" in slow.detail and "unreachable" not in slow.detail


def test_unreachable_and_missing_credentials(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = check_models_answer(ctx_for(tmp_path / "a", f"http://127.0.0.1:{port}/v1"))
    assert not gone.ok and "unreachable" in gone.detail

    home = tmp_path / "b"
    home.mkdir()
    (home / "config.toml").write_text('task_model = "gpt-4o-mini"\n', encoding="utf-8")
    environ = {"GEPAD_HOME": str(home)}
    import os

    saved = os.environ.pop("OPENAI_API_KEY", None)
    try:
        missing = check_models_answer(DoctorContext(resolve_paths(environ), environ))
    finally:
        if saved is not None:
            os.environ["OPENAI_API_KEY"] = saved
    assert not missing.ok and "auth-error" in missing.detail and missing.hint
