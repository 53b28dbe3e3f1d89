"""`gepad prompt ...` through the real command against a real daemon."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gepad_client_harness import RunningDaemon, gepad, prepare_pending, start_daemon, stop_daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    running = start_daemon(tmp_path_factory.mktemp("prompt-home"))
    yield running
    stop_daemon(running)


def _json(home: Path, *args: str) -> dict:  # type: ignore[type-arg]
    result = gepad(home, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_show_human_and_json(daemon: RunningDaemon) -> None:
    state = _json(daemon.home, "prompt")
    assert set(state) == {
        "component",
        "version",
        "text",
        "score",
        "source",
        "created_at",
        "pinned",
        "pending",
    }
    shown = gepad(daemon.home, "prompt", "show")
    assert shown.returncode == 0
    assert shown.stdout.startswith(f"general v{state['version']}")
    assert state["text"].strip() in shown.stdout
    # --component and --json are accepted before the action too.
    assert _json(daemon.home, "prompt", "--component", "general", "show") == state


def test_set_history_diff_rollback(daemon: RunningDaemon, tmp_path: Path) -> None:
    before = _json(daemon.home, "prompt")
    new_text = tmp_path / "prompt.txt"
    new_text.write_text("Prefer small functions.\nName things plainly.\n")
    set_ = gepad(daemon.home, "prompt", "set", "--file", str(new_text))
    assert set_.returncode == 0, set_.stderr
    edited = before["version"] + 1
    assert set_.stdout.strip() == f"general is now v{edited} (user edit)"

    from_stdin = gepad(daemon.home, "prompt", "set", "--file", "-", "--json", stdin="From stdin.\n")
    assert from_stdin.returncode == 0
    assert json.loads(from_stdin.stdout)["text"] == "From stdin.\n"

    history = _json(daemon.home, "prompt", "history", "--limit", "3")
    versions = [v["version"] for v in history["versions"]]
    assert versions == [edited + 1, edited, before["version"]]
    assert history["versions"][1]["source"] == "user-edit"
    table = gepad(daemon.home, "prompt", "history").stdout
    header = ["VERSION", "STATUS", "SOURCE", "SCORE", "CREATED", "TEXT"]
    assert table.splitlines()[0].split() == header
    assert f"v{edited}" in table

    diff = gepad(daemon.home, "prompt", "diff", str(before["version"]), str(edited))
    assert diff.returncode == 0
    assert f"+++ general v{edited}" in diff.stdout
    assert "+Prefer small functions." in diff.stdout
    as_json = _json(daemon.home, "prompt", "diff", str(edited))  # B defaults to current
    assert as_json["b"] == edited + 1 and "-Prefer small functions." in as_json["diff"]
    same = gepad(daemon.home, "prompt", "diff", str(edited), str(edited))
    assert "have the same text" in same.stdout

    rolled = gepad(daemon.home, "prompt", "rollback", str(edited))
    assert rolled.returncode == 0
    assert rolled.stdout.strip() == f"general rolled back to v{edited}'s text as v{edited + 2}"
    now = _json(daemon.home, "prompt")
    assert (now["version"], now["source"]) == (edited + 2, "rollback")
    assert now["text"] == new_text.read_text()


def test_pin_and_unpin(daemon: RunningDaemon) -> None:
    pinned = gepad(daemon.home, "prompt", "pin")
    assert pinned.returncode == 0
    assert pinned.stdout.startswith("general pinned at v")
    assert _json(daemon.home, "prompt")["pinned"] is True
    status = gepad(daemon.home, "status").stdout
    assert "yes" in status.split("Prompts", 1)[1]
    unpinned = _json(daemon.home, "prompt", "unpin")
    assert unpinned["pinned"] is False


def test_bad_input_gets_clear_messages(daemon: RunningDaemon, tmp_path: Path) -> None:
    missing = gepad(daemon.home, "prompt", "set", "--file", str(tmp_path / "nope.txt"))
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr.strip() == f"gepad: --file {tmp_path / 'nope.txt'}: no such file"

    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    refused = gepad(daemon.home, "prompt", "set", "--file", str(empty))
    assert refused.returncode == 2, refused.stderr
    assert "text" in refused.stderr

    not_a_number = gepad(daemon.home, "prompt", "rollback", "three")
    assert not_a_number.returncode == 2
    assert "expected a positive whole number, got 'three'" in not_a_number.stderr
    zero = gepad(daemon.home, "prompt", "rollback", "0")
    assert zero.returncode == 2

    unknown_version = gepad(daemon.home, "prompt", "rollback", "999")
    assert unknown_version.returncode == 1
    assert "999" in unknown_version.stderr
    unknown_diff = gepad(daemon.home, "prompt", "diff", "1", "999")
    assert unknown_diff.returncode == 1
    assert "general has no version 999" in unknown_diff.stderr

    unknown_component = gepad(daemon.home, "prompt", "--component", "nope")
    assert unknown_component.returncode == 1
    assert "unknown prompt component 'nope'" in unknown_component.stderr

    nothing_pending = gepad(daemon.home, "prompt", "approve", "1")
    assert nothing_pending.returncode == 1
    assert "pending" in nothing_pending.stderr
    for result in (missing, refused, not_a_number, unknown_version, nothing_pending):
        assert "Traceback" not in result.stderr


def test_approve_in_review_mode(tmp_path: Path) -> None:
    pending_version = prepare_pending(tmp_path, "Reviewed candidate prompt.\n", score=0.75)
    daemon = start_daemon(tmp_path, env={"GEPAD_SWAP_POLICY": "review"})
    try:
        state = _json(tmp_path, "prompt")
        assert state["pending"]["version"] == pending_version
        assert state["pending"]["score"] == 0.75
        shown = gepad(tmp_path, "prompt").stdout
        assert f"pending: v{pending_version} (score 0.750)" in shown
        status = gepad(tmp_path, "status")
        assert f"v{pending_version} (score 0.750) awaiting approval" in status.stdout
        assert "review" in status.stdout

        wrong = gepad(tmp_path, "prompt", "approve", str(pending_version + 1))
        assert wrong.returncode == 1

        approved = gepad(tmp_path, "prompt", "approve", str(pending_version))
        assert approved.returncode == 0, approved.stderr
        assert approved.stdout.strip() == (
            f"general v{pending_version} approved; it is now current"
        )
        after = _json(tmp_path, "prompt")
        assert after["version"] == pending_version
        assert after["text"] == "Reviewed candidate prompt.\n"
        assert after["pending"] is None
        diff = gepad(tmp_path, "prompt", "diff", "1")
        assert "+Reviewed candidate prompt." in diff.stdout
    finally:
        stop_daemon(daemon)
