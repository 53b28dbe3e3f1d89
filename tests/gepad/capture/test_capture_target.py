"""The `claude-capture` delivery target's files: the hook entry spliced into the user's
`.claude/settings.local.json` and taken out byte for byte, the script and the slash command
owned whole, nothing written through a link out of the workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gepad.delivery import TARGETS, Place, RenderContext
from gepad.delivery._claude_capture import CAPTURE_SETTINGS, capture_command
from gepad.errors import DeliveryConflictError, DeliveryError

CTX = RenderContext("general", 3, "Be brief.\n", "/opt/py env/bin/python3", "/tmp/gepad-home")


def _files(ws: Path) -> list[tuple[Place, object]]:
    return list(TARGETS["claude-capture"].paths(ws, ws))


def _write_all(ws: Path) -> list[object]:
    return [kind.write(place, None, CTX).record for place, kind in _files(ws)]  # type: ignore[attr-defined]


def _remove_all(ws: Path, records: list[object]) -> list[str]:
    # As delivery disables: last written, first removed.
    pairs = list(zip(_files(ws), records, strict=True))
    return [kind.remove(place, record) for (place, kind), record in reversed(pairs)][::-1]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "user_text",
    [
        '{\n    "permissions": {"allow": ["Bash(ls:*)"]},\n    "note": "café 1e400"\n}\n',
        '{"hooks": {"PostToolUse": [{"matcher": "Write", "hooks": '
        '[{"type": "command", "command": "prettier --write"}]}]}}',
        '{\r\n  "hooks": {\r\n    "Stop": []\r\n  }\r\n}\r\n',
    ],
)
def test_settings_entry_goes_in_and_out_byte_for_byte(tmp_path: Path, user_text: str) -> None:
    ws = tmp_path / "ws"
    (ws / ".claude").mkdir(parents=True)
    settings = ws / CAPTURE_SETTINGS
    settings.write_bytes(user_text.encode())
    records = _write_all(ws)
    data = json.loads(settings.read_text())
    ours = data["hooks"]["PostToolUse"][-1]
    assert ours["matcher"] == "Edit|Write|MultiEdit"
    # The interpreter path is one shell word, whatever it holds.
    assert ours["hooks"][0]["command"] == capture_command(CTX.python)
    assert ours["hooks"][0]["command"].startswith("'/opt/py env/bin/python3' ")
    # Everything the user had is still there.
    before = json.loads(user_text)
    after = json.loads(settings.read_text())
    after["hooks"]["PostToolUse"].pop()
    if not after["hooks"]["PostToolUse"] and "PostToolUse" not in before.get("hooks", {}):
        del after["hooks"]["PostToolUse"]
    if not after["hooks"] and "hooks" not in before:
        del after["hooks"]
    assert after == before
    # Writing again changes nothing.
    again = [
        kind.write(place, r, CTX) for (place, kind), r in zip(_files(ws), records, strict=True)
    ]  # type: ignore[attr-defined]
    assert not any(w.written for w in again)
    _remove_all(ws, records)
    assert settings.read_bytes() == user_text.encode()
    assert not (ws / ".claude" / "hooks").exists()
    assert not (ws / ".claude" / "commands").exists()


def test_files_gepad_created_are_all_removed(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    records = _write_all(ws)
    script = ws / ".claude" / "hooks" / "gepad-capture.py"
    assert script.stat().st_mode & 0o111
    assert "/tmp/gepad-home" in script.read_text()
    command = (ws / ".claude" / "commands" / "gepad-feedback.md").read_text()
    assert (
        "GEPAD_HOME=/tmp/gepad-home '/opt/py env/bin/python3' -m gepad.cli capture last" in command
    )
    assert "mcp__gepad__record_feedback" in command and "$ARGUMENTS" in command
    assert _remove_all(ws, records) == ["removed"] * 3
    assert list(ws.iterdir()) == []


def test_refusals_leave_the_users_files_alone(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / ".claude" / "hooks").mkdir(parents=True)
    mine = ws / ".claude" / "hooks" / "gepad-capture.py"
    mine.write_text("# the user's own script\n")
    place, kind = _files(ws)[0]
    with pytest.raises(DeliveryConflictError):
        kind.check_enable(place, None)  # type: ignore[attr-defined]
    bad = ws / CAPTURE_SETTINGS
    bad.write_text("{ not json")
    place, kind = _files(ws)[1]
    with pytest.raises(DeliveryError, match="not valid JSON"):
        kind.write(place, None, CTX)  # type: ignore[attr-defined]
    assert bad.read_text() == "{ not json"
    assert mine.read_text() == "# the user's own script\n"


def test_a_link_out_of_the_workspace_is_not_followed(tmp_path: Path) -> None:
    """The attack: `.claude` is a link to a folder outside the workspace."""
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    ws.mkdir()
    outside.mkdir()
    (ws / ".claude").symlink_to(outside)
    for place, kind in _files(ws):
        with pytest.raises(DeliveryError):
            kind.write(place, None, CTX)  # type: ignore[attr-defined]
    assert list(outside.iterdir()) == []
