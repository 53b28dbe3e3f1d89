"""Secrets planted in feedback never reach the model server with `redact = "always"`, while
the daemon's own database keeps the raw text.

The secrets are realistic fakes built at run time (the repository holds none): an AWS access
key id, a GitHub token and a password inside a database URL. What a local model receives under
the default `redact = "auto"` (the raw text) is checked in test_learning_kinds.py, whose daemon
runs with the default.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gepad_learning_testing import (
    db_rows,
    fake_secrets,
    live_stack,
    run_optimizer,
    scenario,
    secret_thumbs_down,
    server_text,
)

pytestmark = pytest.mark.timeout(90)

SC = scenario()


async def test_redact_always_masks_every_secret_sent_but_the_store_keeps_them(
    tmp_path: Path,
) -> None:
    secrets = fake_secrets(1)
    with live_stack(tmp_path, redact="always") as stack:
        async with stack.connect() as client:
            for task in SC.tasks[:3]:
                await client.submit_feedback("thumbs_down", **secret_thumbs_down(SC, task, secrets))
            status = await run_optimizer(client, 12)
            assert status["state"] == "idle", status
            assert status["components"]["general"]["rollouts"] > 0
        stats = stack.server.stats()
        # The server keeps its last 256 requests: all of them, so nothing escaped the check.
        assert 0 < stats["requests"] < 256
        by_role = stats["by_role"]
        assert by_role["task"] > 0 and by_role["judge"] > 0 and by_role["reflect"] > 0
        received = server_text(stack.server)
    for kind, secret in secrets.items():
        assert secret not in received, f"the {kind} reached the model server"
        # Masked, not dropped: the text around it was sent, with a placeholder.
        assert f"[REDACTED:{kind}]" in received
    assert "postgres://app:[REDACTED:url-password]@db.internal" in received

    db = stack.db_path
    raw = "\n".join(
        f"{r['context']}\n{r['comment']}" for r in db_rows(db, "SELECT * FROM examples")
    )
    for secret in secrets.values():
        assert secret in raw  # the store keeps the user's raw text, locally
    local_copies = [
        *(r["error"] or "" for r in db_rows(db, "SELECT error FROM llm_calls")),
        *(f"{r['key']} {r['value']}" for r in db_rows(db, "SELECT key, value FROM cache")),
        stack.log_path.read_text(errors="replace"),
    ]
    for text in local_copies:
        for secret in secrets.values():
            assert secret not in text
