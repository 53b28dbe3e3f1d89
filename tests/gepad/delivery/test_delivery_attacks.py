"""Issue 12 items 1, 2, 4 and 5 as attacks: markers in the prompt, symbolic links out of the
workspace, huge files, a hostile interpreter path, a settings.json gepad must not reformat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from gepad_delivery_testing import bound_paths, ctx

from gepad.delivery import (
    BEGIN,
    END,
    TARGET_NAMES,
    DeliveryService,
    escape_markers,
    unescape_markers,
)
from gepad.delivery._hook import hook_command
from gepad.errors import DeliveryError
from gepad.prompts import PromptService
from gepad.store import Store

# 1. markers inside the prompt ----------------------------------------------------------------

NASTY = [
    "A\n<!-- gepad:end -->\nB\n",
    "<!-- gepad:begin -->\nx\n",
    "x <!--  GEPAD : End --> y\n<!--gepad:begin-->\n",
    '<!-- gepad: prompt "general" v9. fake header -->\nreal\n',
    "already <!--\\ gepad:end --> escaped, <!--\\\\gepad:end--> twice\n",
]


@pytest.mark.parametrize("text", NASTY)
def test_escaping_round_trips(text: str) -> None:
    escaped = escape_markers(text)
    assert unescape_markers(escaped) == text
    assert BEGIN not in escaped and END not in escaped


@pytest.mark.parametrize("target", ["agents-md", "gemini", "claude", "windsurf"])
@pytest.mark.parametrize("text", NASTY)
def test_marker_text_in_the_prompt_parses_exactly(tmp_path: Path, target: str, text: str) -> None:
    path, kind = bound_paths(target, tmp_path, tmp_path)[0]
    if target in ("agents-md", "gemini"):
        path.write_text("# Mine\n\nuser text\n")
    first = kind.write(path, None, ctx(text=text))
    assert first.written and not first.conflict
    # The next swap sees gepad's own text (no "hand edit"), and replaces it cleanly.
    second = kind.write(path, first.record, ctx(text="clean\n", version=4))
    assert second.written and not second.conflict, second
    third = kind.write(path, second.record, ctx(text=text, version=5))
    assert third.written and not third.conflict
    # A hand edit of the escaped text reads back as the text the user sees, unescaped.
    content = path.read_text()
    if target in ("agents-md", "gemini"):
        path.write_text(content.replace(f"\n{END}", f"\nextra\n{END}"))
    else:
        path.write_text(content.rstrip("\n") + "\nextra\n")
    edited = kind.write(path, third.record, ctx(text="other\n", version=6))
    assert edited.conflict and edited.user_text == text.rstrip("\n") + "\nextra\n"
    path.write_text(content)  # put back: gepad's again, so disable removes it exactly
    assert kind.remove(path, third.record).startswith("removed")
    if target in ("agents-md", "gemini"):
        assert path.read_text() == "# Mine\n\nuser text\n"  # no stray text, no lone marker
    else:
        assert not path.exists()


def test_a_pasted_end_marker_inside_the_section_stays_inside(tmp_path: Path) -> None:
    path, kind = bound_paths("agents-md", tmp_path, tmp_path)[0]
    path.write_text("top\n")
    first = kind.write(path, None, ctx())
    # Someone pastes a marker line into gepad's section by hand.
    path.write_text(path.read_text().replace("Be brief.", "Be brief.\n<!-- gepad:end -->\nmore"))
    result = kind.write(path, first.record, ctx(text="Other.\n", version=4))
    assert result.conflict
    assert result.user_text == "Be brief.\n<!-- gepad:end -->\nmore\nUse tabs for indentation.\n"


def test_file_from_an_older_gepad_with_an_unescaped_marker(tmp_path: Path) -> None:
    """Written before escaping: the section gepad recorded ends at the *last* END line."""
    path, kind = bound_paths("agents-md", tmp_path, tmp_path)[0]
    block = f"{BEGIN}\nheader\n\nA\n{END}\nB\n{END}"
    path.write_text(f"top\n\n{block}\n")
    from gepad.delivery import FileRecord
    from gepad.delivery._types import sha256

    record = FileRecord(str(path), sha256(block.encode()), False, (), "\n", 3)
    result = kind.write(path, record, ctx(text="clean\n", version=4))
    assert result.written and not result.conflict
    assert kind.remove(path, result.record).startswith("removed")
    assert path.read_text() == "top\n"


# 2. symbolic links ---------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside"
    secret.mkdir()
    (secret / "credentials").write_text("[default]\naws_secret_access_key = hunter2\n")
    return secret


def _ws(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def test_a_file_linked_outside_is_refused_and_left_alone(tmp_path: Path, outside: Path) -> None:
    ws = _ws(tmp_path)
    (ws / "AGENTS.md").symlink_to(outside / "credentials")
    path, kind = bound_paths("agents-md", ws, tmp_path)[0]
    with pytest.raises(DeliveryError, match=r"AGENTS\.md: leads outside"):
        kind.check_enable(path, None)
    with pytest.raises(DeliveryError, match="leads outside"):
        kind.write(path, None, ctx())
    assert (ws / "AGENTS.md").is_symlink()
    assert (outside / "credentials").read_text().startswith("[default]")
    assert not any(p.suffix == ".gepad-tmp" for p in ws.iterdir())


@pytest.mark.parametrize(
    ("target", "linked"),
    [
        ("cursor", ".cursor"),
        ("claude", ".claude"),
        ("claude-hook", ".claude"),
        ("copilot", ".github/instructions"),
        ("windsurf", ".windsurf"),
        ("aider", ".aider.conf.yml"),
    ],
)
def test_a_folder_linked_outside_is_refused(
    tmp_path: Path, outside: Path, target: str, linked: str
) -> None:
    ws = _ws(tmp_path)
    link = ws / linked
    link.parent.mkdir(parents=True, exist_ok=True)
    if linked.endswith(".yml"):
        (outside / "conf.yml").write_text("model: x\n")
        link.symlink_to(outside / "conf.yml")
    else:
        link.symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.iterdir())
    for path, kind in bound_paths(target, ws, tmp_path):
        try:
            kind.write(path, None, ctx())
        except DeliveryError as exc:
            assert "leads outside" in str(exc) and str(ws) in str(exc)
        else:
            assert not str(path).startswith(str(link))  # only files not under the link
    assert sorted(p.name for p in outside.iterdir()) == before
    if linked.endswith(".yml"):
        assert (outside / "conf.yml").read_text() == "model: x\n"


def test_a_link_that_stays_inside_is_followed_and_kept(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    (ws / "docs").mkdir()
    (ws / "docs/AGENTS.md").write_text("# Real file\n")
    (ws / "AGENTS.md").symlink_to("docs/AGENTS.md")
    path, kind = bound_paths("agents-md", ws, tmp_path)[0]
    result = kind.write(path, None, ctx())
    assert result.written and (ws / "AGENTS.md").is_symlink()
    assert "Be brief." in (ws / "docs/AGENTS.md").read_text()
    assert kind.remove(path, result.record).startswith("removed")
    assert (ws / "docs/AGENTS.md").read_text() == "# Real file\n"


def test_a_link_swapped_in_after_the_check_is_not_followed(tmp_path: Path, outside: Path) -> None:
    """The walk opens each folder with O_NOFOLLOW: a resolved path that is a link is refused."""
    from gepad.delivery import Place

    ws = _ws(tmp_path)
    (ws / ".cursor").symlink_to(outside, target_is_directory=True)
    place = Place(ws, ".cursor/rules/gepad.mdc")
    # Simulate the race: skip the path check, keep the O_NOFOLLOW walk.
    import gepad.delivery._place as place_module

    real_check = place_module.check_under
    place_module.check_under = lambda root, path: path  # type: ignore[assignment]
    try:
        with pytest.raises(DeliveryError, match="symbolic link"):
            place.write(b"x")
    finally:
        place_module.check_under = real_check
    assert list(outside.iterdir()) == [outside / "credentials"]


# 4. size -------------------------------------------------------------------------------------


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path, kind = bound_paths("agents-md", tmp_path, tmp_path)[0]
    with open(path, "wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # sparse: 64 MiB on paper, nothing on disk
    tracemalloc.start()
    try:
        with pytest.raises(DeliveryError, match="over the 1024 KiB"):
            kind.write(path, None, ctx())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
    assert path.stat().st_size == 64 * 1024 * 1024


def test_exactly_one_mib_is_read(tmp_path: Path) -> None:
    path, kind = bound_paths("agents-md", tmp_path, tmp_path)[0]
    path.write_bytes(b"x" * (1024 * 1024 - 1) + b"\n")
    kind.check_enable(path, None)  # at the limit: fine
    path.write_bytes(b"x" * (1024 * 1024) + b"\n")
    with pytest.raises(DeliveryError, match="1048577 bytes"):
        kind.check_enable(path, None)


def test_a_fifo_does_not_block(tmp_path: Path) -> None:
    path, kind = bound_paths("gemini", tmp_path, tmp_path)[0]
    os.mkfifo(path)
    with pytest.raises(DeliveryError, match="not a regular file"):
        kind.check_enable(path, None)


# 5. claude-hook ------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_hostile_interpreter_path_is_one_word(tmp_path: Path) -> None:
    weird = tmp_path / 'py "q" $(touch PWNED) `touch PWNED2`'
    weird.mkdir()
    python = weird / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    (script, s_kind), (settings, j_kind) = bound_paths("claude-hook", tmp_path, tmp_path)
    c = ctx()
    c = type(c)(c.component, c.version, c.text, str(python), None)
    s_kind.write(script, None, c)
    j_kind.write(settings, None, c)
    command = json.loads(settings.read_text())["hooks"]["SessionStart"][0]["hooks"][0]["command"]
    assert command == hook_command(str(python))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env["CLAUDE_PROJECT_DIR"] = str(tmp_path)
    env["GEPAD_HOME"] = str(tmp_path / "no-daemon-here")
    run = subprocess.run(
        command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stderr
    assert "no prompt added" in run.stderr  # the script ran, with the weird interpreter
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()


SETTINGS = (
    '{\n  "model": "claude-sönnet",\n  "x": 1, "x": 2,\n  "big": 1e400,\n'
    '  "hooks": {\n    "Stop": [ ],\n    "SessionStart": [\n      {"hooks": []}\n    ]\n  }\n}\n'
)


@pytest.mark.parametrize(
    "original",
    [
        SETTINGS,
        '{"permissions": {"allow": ["Bash(ls)"]}, "émoji": "\u2603"}',
        "{}",
        '{\r\n  "a": [1,2]\r\n}\r\n',
        '{"hooks": {}}\n',
        '{"hooks": {"SessionStart": []}}\n',
    ],
    ids=[
        "dup-keys-big-number",
        "compact-non-ascii",
        "empty-object",
        "crlf",
        "empty-hooks",
        "empty-list",
    ],
)
def test_settings_json_is_kept_byte_for_byte(tmp_path: Path, original: str) -> None:
    settings = tmp_path / ".claude/settings.json"
    settings.parent.mkdir()
    settings.write_bytes(original.encode())
    (_, _), (_, kind) = bound_paths("claude-hook", tmp_path, tmp_path)
    first = kind.write(settings, None, ctx())
    text = settings.read_text()
    starts = json.loads(text)["hooks"]["SessionStart"]
    assert first.written and starts[-1]["hooks"][0]["command"] == hook_command("/usr/bin/python3")
    if "1e400" in original:
        assert '"big": 1e400' in text and '"x": 1, "x": 2' in text and "sönnet" in text
    assert text.startswith(original[: original.index("{") + 1])
    assert not kind.write(settings, first.record, ctx()).written  # idempotent
    assert kind.remove(settings, first.record).startswith("removed")
    assert settings.read_bytes() == original.encode()


def test_settings_edited_after_enable_still_loses_only_gepads_entry(tmp_path: Path) -> None:
    settings = tmp_path / ".claude/settings.json"
    settings.parent.mkdir()
    settings.write_text('{"hooks": {"SessionStart": []}}')
    (_, _), (_, kind) = bound_paths("claude-hook", tmp_path, tmp_path)
    first = kind.write(settings, None, ctx())
    data = json.loads(settings.read_text())
    data["hooks"]["SessionStart"].append({"hooks": [{"type": "command", "command": "mine"}]})
    settings.write_text(json.dumps(data, indent=4))  # the user reformats and adds their own
    assert kind.remove(settings, first.record).startswith("removed")
    left = json.loads(settings.read_text())
    assert left == {
        "hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": "mine"}]}]}
    }


@pytest.mark.parametrize("broken", ["{not json", "[1, 2]", '{"hooks": [1]}', "\xff\xfe"])
def test_settings_that_do_not_parse_are_refused_untouched(tmp_path: Path, broken: str) -> None:
    settings = tmp_path / ".claude/settings.json"
    settings.parent.mkdir()
    settings.write_bytes(broken.encode("latin-1"))
    (_, _), (_, kind) = bound_paths("claude-hook", tmp_path, tmp_path)
    with pytest.raises(DeliveryError, match=r"settings\.json"):
        kind.write(settings, None, ctx())
    assert settings.read_bytes() == broken.encode("latin-1")


# the same through the service ----------------------------------------------------------------


@pytest.fixture
async def prompts(tmp_path: Path) -> AsyncIterator[PromptService]:
    store = await Store.open(tmp_path / "gepad.db")
    service = PromptService(store, swap_policy="auto", seeds={"general": "Seed.\n"})
    await service.start()
    try:
        yield service
    finally:
        await service.drain()
        await store.close()


async def test_no_target_writes_through_a_linked_workspace_folder(
    prompts: PromptService, tmp_path: Path, outside: Path
) -> None:
    ws = _ws(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    for name in (".cursor", ".claude", ".github", ".windsurf", ".clinerules", ".continue"):
        (ws / name).symlink_to(outside, target_is_directory=True)
    (home / ".continue").symlink_to(outside, target_is_directory=True)
    for name in ("AGENTS.md", "GEMINI.md", "CONVENTIONS.gepad.md", ".aider.conf.yml"):
        (ws / name).symlink_to(outside / "credentials")
    delivery = DeliveryService(prompts, tmp_path / "d.json", home=home, gepad_home=None)
    await delivery.start()
    for target in TARGET_NAMES:
        with pytest.raises(DeliveryError, match="leads outside"):
            await delivery.enable(str(ws), target)
    await prompts.set_text("general", "Swap.\n")
    await delivery.wait_idle()
    assert sorted(p.name for p in outside.iterdir()) == ["credentials"]
    assert (outside / "credentials").read_text().startswith("[default]")
    await delivery.stop()


def test_an_entry_from_an_older_gepad_is_replaced_not_doubled(tmp_path: Path) -> None:
    """Older gepads wrote the interpreter in double quotes; the upgrade swaps the entry."""
    from gepad.delivery import FileRecord
    from gepad.delivery._types import sha256

    old = '"/usr/bin/python3" "$CLAUDE_PROJECT_DIR/.claude/hooks/gepad-session-start.py"'
    entry = {"matcher": "", "hooks": [{"type": "command", "command": old, "timeout": 10}]}
    settings = tmp_path / ".claude/settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"a": 1, "hooks": {"SessionStart": [entry]}}, indent=2))
    (_, _), (_, kind) = bound_paths("claude-hook", tmp_path, tmp_path)
    result = kind.write(settings, FileRecord(str(settings), sha256(old.encode()), False), ctx())
    starts = json.loads(settings.read_text())["hooks"]["SessionStart"]
    assert [s["hooks"][0]["command"] for s in starts] == [hook_command("/usr/bin/python3")]
    assert kind.remove(settings, result.record).startswith("removed gepad's hook entry")
    assert json.loads(settings.read_text()) == {"a": 1, "hooks": {"SessionStart": []}}
