"""Git capture with real repositories built by real `git`: an assistant's commit, then a
human's commit changing its lines, is a correction; a rebase, a restart and a second scan
create nothing twice; commits from before `enable` are not looked at."""

from __future__ import annotations

from pathlib import Path

import pytest
from gepad_capture_testing import git

from gepad.capture import CaptureService, CaptureSettings
from gepad.store import Example, Store

pytestmark = pytest.mark.timeout(90)

CLAUDE = "Co-Authored-By: Claude <noreply@anthropic.com>"
AIDER = "Dev (aider) <dev@example.com>"


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text("import os\n\nVERSION = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start", date="2020-01-01T00:00:00Z")
    return repo


def _commit(
    repo: Path, message: str, author: str = "Dev <dev@example.com>", date: str | None = None
) -> str:
    git(repo, "add", "-A", author=author)
    git(repo, "commit", "-q", "-m", message, author=author, date=date)
    return git(repo, "rev-parse", "HEAD")


async def _all(store: Store) -> list[Example]:
    return list(reversed(await store.list_examples(limit=100)))


async def test_assistant_then_human_commit_is_one_correction_even_after_a_rebase(
    tmp_path: Path, store: Store, capture: CaptureService, settings: CaptureSettings
) -> None:
    repo = _repo(tmp_path)
    # An assistant commit from before enabling: history, not looked at.
    (repo / "old.py").write_text("def old():\n    return 1\n")
    _commit(repo, f"old helper\n\n{CLAUDE}", date="2020-01-01T00:00:00Z")
    await capture.enable("git", workspace=str(repo))

    (repo / "users.py").write_text(
        "def getUserName(user):\n    return user['name']\n\n\ndef greet(u):\n    return 'hi'\n"
    )
    _commit(repo, f"Add user helpers\n\n{CLAUDE}")
    # The human changes one of Claude's lines (and the old helper, which is not tracked).
    (repo / "users.py").write_text(
        "def get_user_name(user):\n    return user['name']\n\n\ndef greet(u):\n    return 'hi'\n"
    )
    (repo / "old.py").write_text("def old():\n    return 2\n")
    _commit(repo, "snake_case, as everywhere")
    # An aider commit, then a human deleting its line.
    (repo / "cfg.py").write_text("DEBUG = True\nLEVEL = 3\n")
    _commit(repo, "add config", author=AIDER)
    (repo / "cfg.py").write_text("LEVEL = 3\n")
    _commit(repo, "no debug flag")
    # Plain human work on human lines: nothing.
    (repo / "app.py").write_text("import os\n\nVERSION = 2\n")
    _commit(repo, "bump")

    assert await capture.scan_git() == 2
    rows = await _all(store)
    assert [(e.kind, e.source) for e in rows] == [("correction", "git"), ("thumbs_down", "git")]
    fix, deleted = rows
    assert fix.output == "def getUserName(user):\n"
    assert fix.corrected == "def get_user_name(user):\n"
    assert fix.file == str(repo / "users.py")
    assert fix.context.startswith("Add user helpers")
    assert deleted.output == "DEBUG = True\n" and deleted.corrected is None

    # Scanning again, and a rebase that rewrites every commit id (a new base commit below
    # them), find only known content.
    assert await capture.scan_git() == 0
    base = git(repo, "rev-list", "--max-parents=0", "HEAD")
    git(repo, "checkout", "-q", "-b", "side", base)
    (repo / "README").write_text("readme\n")
    _commit(repo, "readme")
    git(repo, "checkout", "-q", "main")
    git(repo, "rebase", "-q", "side")
    assert await capture.scan_git() == 0

    # A restart: the same.
    await capture.stop()
    again = CaptureService(store, settings)
    await again.start()
    try:
        assert await again.scan_git() == 0
        assert len(await _all(store)) == 2
        # A second human fix of the same assistant hunk is new feedback.
        (repo / "users.py").write_text(
            "def get_user_name(user):\n    return user['name']\n\n\ndef greet(u):\n"
            "    return f'hi {u}'\n"
        )
        _commit(repo, "greet by name")
        assert await again.scan_git() == 1
        status = {s["source"]: s for s in (await again.status())["sources"]}
        assert status["git"]["workspaces"] == [str(repo.resolve())]
        assert status["git"]["captured_today"] == 3
        await again.disable("git", workspace=str(repo))
        assert (await again.status())["sources"][2]["enabled"] is False
    finally:
        await again.stop()
        await capture.start()


async def test_git_enable_refuses_a_folder_that_is_not_a_repository(
    tmp_path: Path, capture: CaptureService
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(Exception, match="not a git repository"):
        await capture.enable("git", workspace=str(plain))
    with pytest.raises(Exception, match="not an existing folder"):
        await capture.enable("git", workspace=str(tmp_path / "missing"))
