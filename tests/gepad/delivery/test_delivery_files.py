"""Each target's file, byte for byte: golden content, idempotence, preservation, removal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gepad_delivery_testing import HEADER, TEXT, Bound, bound_paths, ctx, stamp

from gepad.delivery import BEGIN, END, TARGETS
from gepad.delivery._agents_md import MarkedSection
from gepad.delivery._hook import hook_command
from gepad.delivery._rules import extract_rule_text
from gepad.errors import DeliveryConflictError, DeliveryError

BODY = f"{HEADER}\n\nBe brief.\nUse tabs for indentation.\n"

GOLDEN = {
    "copilot": (
        ".github/instructions/gepad.instructions.md",
        '---\napplyTo: "**"\n---\n' + BODY,
    ),
    "claude": (".claude/rules/gepad.md", BODY),
    "cursor": (
        ".cursor/rules/gepad.mdc",
        "---\ndescription: Coding instructions evolved by gepad\nalwaysApply: true\n---\n" + BODY,
    ),
    "cline": (".clinerules/gepad.md", BODY),
}


def _write(target: str, ws: Path, home: Path, record=None, c=None):  # type: ignore[no-untyped-def]
    ws.mkdir(exist_ok=True)
    home.mkdir(exist_ok=True)
    ((path, kind),) = bound_paths(target, ws, home)
    return path, kind, kind.write(path, record, c or ctx())


@pytest.mark.parametrize("target", sorted(GOLDEN))
def test_rule_file_golden_idempotent_and_removed(target: str, tmp_path: Path) -> None:
    ws, home = tmp_path / "ws", tmp_path / "home"
    ws.mkdir()
    rel, golden = GOLDEN[target]
    path, kind, first = _write(target, ws, home)
    assert path == ws / rel
    assert path.read_text() == golden
    assert first.written and first.record is not None and first.record.created
    before = stamp(path)
    second = kind.write(path, first.record, ctx())
    assert not second.written and stamp(path) == before  # nothing changed: no rewrite
    assert second.record == first.record
    assert kind.remove(path, second.record) == "removed"
    assert not path.exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["home", "ws"]  # its folders are gone


def test_continue_lives_in_home(tmp_path: Path) -> None:
    ws, home = tmp_path / "ws", tmp_path / "home"
    path, _, result = _write("continue", ws, home)
    assert path == home / ".continue/rules/gepad.md"
    assert path.read_text() == "---\nname: gepad\nalwaysApply: true\n---\n" + BODY
    assert result.record is not None


def test_rule_file_keeps_folders_the_user_fills(tmp_path: Path) -> None:
    path, kind, result = _write("claude", tmp_path, tmp_path)
    (tmp_path / ".claude" / "settings.json").write_text("{}")
    assert result.record is not None
    assert kind.remove(path, result.record) == "removed"
    assert (tmp_path / ".claude" / "settings.json").read_text() == "{}"
    assert not (tmp_path / ".claude" / "rules").exists()


def test_rule_file_edit_is_a_conflict_not_overwritten(tmp_path: Path) -> None:
    path, kind, first = _write("cursor", tmp_path, tmp_path)
    edited = path.read_text().replace("Be brief.", "Be very brief.")
    path.write_text(edited)
    result = kind.write(path, first.record, ctx(version=4, text="Something new.\n"))
    assert result.conflict and not result.written
    assert result.user_text == "Be very brief.\nUse tabs for indentation.\n"
    assert path.read_text() == edited
    # Removing refuses to delete the user's edit.
    assert first.record is not None
    assert kind.remove(path, first.record).startswith("kept")
    assert path.read_text() == edited


def test_rule_file_edit_equal_to_the_new_text_is_rewritten(tmp_path: Path) -> None:
    path, kind, first = _write("claude", tmp_path, tmp_path)
    path.write_text("My own words.\r\n")  # header and front matter gone, CRLF: still the text
    result = kind.write(path, first.record, ctx(version=4, text="My own words.\n"))
    assert result.written and not result.conflict
    assert "My own words." in path.read_text() and "v4" in path.read_text()


def test_rule_file_refuses_a_file_it_did_not_write(tmp_path: Path) -> None:
    path = tmp_path / ".clinerules" / "gepad.md"
    path.parent.mkdir()
    path.write_text("mine")
    ((_, kind),) = bound_paths("cline", tmp_path, tmp_path)
    with pytest.raises(DeliveryConflictError, match="did not write it"):
        kind.check_enable(path, None)


def test_extract_rule_text_strips_front_matter_and_header() -> None:
    assert extract_rule_text('---\napplyTo: "**"\n---\n' + BODY) == TEXT
    assert extract_rule_text("\n\njust text\n\n\n") == "just text\n"


# agents-md ---------------------------------------------------------------------------------------

BLOCK = f"{BEGIN}\n{HEADER}\n\nBe brief.\nUse tabs for indentation.\n{END}"


def test_agents_md_new_file_golden_and_removed_entirely(tmp_path: Path) -> None:
    path, kind, first = _write("agents-md", tmp_path, tmp_path)
    assert path.read_text() == BLOCK + "\n"
    assert first.record is not None and first.record.created
    assert kind.remove(path, first.record) == "removed"
    assert not path.exists()


@pytest.mark.parametrize(
    "original",
    [
        b"# Project\n\nRun `make test`.\n",
        b"# Project\r\n\r\nCRLF file.\r\n",
        b"# No trailing newline",
        b"# Ends with a blank line\n\n",
        b"latin-1 \xe9 bytes stay\n",
        b"",
    ],
    ids=["lf", "crlf", "no-final-newline", "blank-end", "not-utf8", "empty"],
)
def test_agents_md_preserves_the_users_bytes(tmp_path: Path, original: bytes) -> None:
    path = tmp_path / "AGENTS.md"
    path.write_bytes(original)
    _, kind, first = _write("agents-md", tmp_path, tmp_path)
    data = path.read_bytes()
    assert data.startswith(original)
    nl = b"\r\n" if b"\r\n" in original else b"\n"
    block = BLOCK.replace("\n", nl.decode()).encode()
    assert block in data
    if nl == b"\r\n":
        assert b"\n" not in data.replace(b"\r\n", b"")  # no bare LF mixed in
    # A swap rewrites only the inside of the markers.
    assert first.record is not None
    path.write_bytes(data + b"User text after the section." + nl)
    second = kind.write(path, first.record, ctx(version=4, text="New rules.\n"))
    assert second.written and second.record is not None
    after = path.read_bytes()
    assert after.startswith(original)
    assert after.endswith(nl + b"User text after the section." + nl)
    assert b"New rules." in after and b"Be brief." not in after
    # Idempotent.
    before = stamp(path)
    third = kind.write(path, second.record, ctx(version=4, text="New rules.\n"))
    assert not third.written and stamp(path) == before
    # Disable: exactly the original plus the user's later line.
    assert third.record is not None
    assert (
        kind.remove(path, third.record) == "removed gepad's section; the rest of the file is kept"
    )
    assert path.read_bytes() == original + b"User text after the section." + nl


def test_agents_md_existing_markers_replaced_in_place(tmp_path: Path) -> None:
    path = tmp_path / "AGENTS.md"
    original = f"top\n{BEGIN}\nold\n{END}\nbottom\n"
    path.write_text(original)
    kind = Bound(MarkedSection(), tmp_path)
    # No record: the old section's text is not gepad's to drop silently.
    result = kind.write(path, None, ctx())
    assert result.conflict and result.user_text == "old\n"
    assert path.read_text() == original
    same = kind.write(path, None, ctx(text="old\n"))
    assert same.written
    assert path.read_text() == f"top\n{BLOCK.replace(TEXT.strip(), 'old')}\nbottom\n"


def test_agents_md_edit_inside_markers_is_a_conflict(tmp_path: Path) -> None:
    path, kind, first = _write("agents-md", tmp_path, tmp_path)
    path.write_text(path.read_text().replace("Be brief.", "Be thorough."))
    result = kind.write(path, first.record, ctx(version=4, text="Other.\n"))
    assert result.conflict
    assert result.user_text == "Be thorough.\nUse tabs for indentation.\n"
    assert "Be thorough." in path.read_text()


def test_agents_md_broken_markers_refused(tmp_path: Path) -> None:
    path = tmp_path / "AGENTS.md"
    path.write_text(f"x\n{BEGIN}\nno end\n")
    with pytest.raises(DeliveryError, match="without"):
        Bound(MarkedSection(), tmp_path).check_enable(path, None)
    with pytest.raises(DeliveryError):
        Bound(MarkedSection(), tmp_path).write(path, None, ctx())
    assert path.read_text() == f"x\n{BEGIN}\nno end\n"


# claude-hook -------------------------------------------------------------------------------------


def test_claude_hook_merges_settings_and_removes_only_its_entry(tmp_path: Path) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    user = {"permissions": {"allow": ["Bash(ls)"]}, "hooks": {"SessionStart": [{"hooks": []}]}}
    settings.write_text(json.dumps(user))
    (script, s_kind), (settings_path, j_kind) = bound_paths("claude-hook", tmp_path, tmp_path)
    assert settings_path == settings
    r1 = s_kind.write(script, None, ctx())
    r2 = j_kind.write(settings, None, ctx())
    assert script.stat().st_mode & 0o111
    assert script.read_text().startswith("#!/usr/bin/python3\n")
    data = json.loads(settings.read_text())
    assert data["permissions"] == user["permissions"]
    assert data["hooks"]["SessionStart"][0] == {"hooks": []}
    assert data["hooks"]["SessionStart"][1]["hooks"][0]["command"] == hook_command(
        "/usr/bin/python3"
    )
    # Idempotent: the entry is not added twice.
    assert not j_kind.write(settings, r2.record, ctx()).written
    assert r1.record is not None and r2.record is not None
    assert j_kind.remove(settings, r2.record).startswith("removed gepad's hook entry")
    assert json.loads(settings.read_text()) == user
    assert s_kind.remove(script, r1.record) == "removed"
    assert not script.exists() and not script.parent.exists()


def test_claude_hook_settings_created_by_gepad_are_deleted(tmp_path: Path) -> None:
    (_, _), (settings, kind) = bound_paths("claude-hook", tmp_path, tmp_path)
    result = kind.write(settings, None, ctx())
    assert result.record is not None and result.record.created
    assert kind.remove(settings, result.record) == "removed"
    assert not settings.exists() and not (tmp_path / ".claude").exists()


def test_claude_hook_refuses_broken_settings(tmp_path: Path) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text("{not json")
    (_, _), (_, kind) = bound_paths("claude-hook", tmp_path, tmp_path)
    with pytest.raises(DeliveryError, match="not valid JSON"):
        kind.check_enable(settings, None)
    assert settings.read_text() == "{not json"


def test_cli_target_names_match_the_daemon() -> None:
    from gepad.cli._parser import DELIVERY_TARGETS

    assert tuple(DELIVERY_TARGETS) == tuple(TARGETS)
