"""The kernel writer sends the configured answer cap, not a fixed one (issue 13: a fixed 4096
let Qwen-1.5B generate for minutes on one CPU thread while llm_max_tokens said 500)."""

from __future__ import annotations

import contextlib
from typing import Any

from gepad.kernel import shipped_problems
from gepad.kernel._solve import llm_writer
from gepad.llm import LlmCallRecord, LlmClient, LlmSettings


class _Captured(Exception):
    pass


async def test_the_writer_leaves_the_cap_to_the_clients_settings(monkeypatch: Any) -> None:
    seen: dict[str, Any] = {}

    async def record(_r: LlmCallRecord) -> None:
        return None

    client = LlmClient(
        LlmSettings(task_model="openai/m", reflection_model="openai/m",
                    api_base="http://127.0.0.1:9/v1", max_tokens={"task": 321}),
        record,
    )  # fmt: skip
    original = client.complete

    async def spy(purpose: str, messages: Any, **kwargs: Any) -> Any:
        seen["purpose"], seen["max_tokens"] = purpose, kwargs.get("max_tokens")
        raise _Captured

    monkeypatch.setattr(client, "complete", spy)
    write = llm_writer(client)
    problem = shipped_problems()[0]
    with contextlib.suppress(_Captured):
        await write("You write CUDA kernels.", problem)
    assert seen == {"purpose": "task", "max_tokens": None}
    assert client._settings.max_tokens_for("task") == 321
    assert original is not None
