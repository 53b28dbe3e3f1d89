"""Git history as feedback, for any assistant: its commits, then the human's fixes of them.

Read with plain `git` subprocesses (never by parsing `.git`). A commit whose author line or
message matches one of the configured patterns (`Co-Authored-By: Claude`, aider's `(aider)`
author suffix, Codex or Copilot agent marks) is the assistant's: the lines it added are
remembered per file. A later commit that matches none of them and removes or rewrites some
of those lines is a correction: output = the assistant's lines it removed, corrected = the
lines it put there (none: a thumbs-down, deleted).

Everything is keyed on content, not on commit ids: the assistant's hunks by the hash of their
added text, a fix by the hash of (file, removed, added). A rebase or force-push that rewrites
the commits therefore finds everything already known and creates nothing twice; a commit id
seen once is skipped afterwards (marks `commit:`), which keeps restarts cheap.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from gepad.errors import CaptureError

__all__ = [
    "DEFAULT_GIT_PATTERNS",
    "Commit",
    "Hunk",
    "commit_hunks",
    "commit_info",
    "head",
    "is_assistant",
    "new_commits",
]

log = logging.getLogger(__name__)

DEFAULT_GIT_PATTERNS: Final = (
    r"(?im)^co-authored-by:\s*claude\b",
    r"(?im)^co-authored-by:[^\n]*\b(codex|copilot)\b",
    r"(?im)^co-authored-by:\s*aider\b",
    r"(?i)\A[^\n]*\(aider\) <",
    r"(?i)\A[^\n]*(copilot-swe-agent|chatgpt-codex-connector|codex)[^\n]*<",
)
_TIMEOUT_S: Final = 30.0
_MAX_COMMITS: Final = 500
_HUNK: Final = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    author: str  # "Name <email>"
    message: str
    authored_at: int = 0  # kept by rebase and cherry-pick, unlike the commit id


@dataclass(slots=True)
class Hunk:
    file: str
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    def key(self) -> str:
        data = "\x00".join([self.file, "\n".join(self.removed), "\n".join(self.added)])
        return hashlib.sha256(data.encode("utf-8", errors="surrogatepass")).hexdigest()


def _git(workspace: Path, *args: str) -> str:
    env = {**os.environ, "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0", "GIT_PAGER": "cat"}
    try:
        done = subprocess.run(
            ["git", "-C", str(workspace), *args],
            capture_output=True,
            timeout=_TIMEOUT_S,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError:
        raise CaptureError("git is not installed (no `git` on PATH)") from None
    except subprocess.TimeoutExpired:
        raise CaptureError(f"git {args[0]} in {workspace} took over {_TIMEOUT_S:.0f} s") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise CaptureError(f"git {args[0]} in {workspace}: {why[-1] if why else 'failed'}")
    return done.stdout.decode("utf-8", errors="replace")


def head(workspace: Path) -> str | None:
    """HEAD's commit id, None in a repository without commits; CaptureError when not one."""
    _git(workspace, "rev-parse", "--git-dir")
    try:
        return _git(workspace, "rev-parse", "--verify", "-q", "HEAD^{commit}").strip() or None
    except CaptureError:
        return None


def new_commits(workspace: Path, base: str | None) -> list[str]:
    """Non-merge commits reachable from HEAD and not from `base`, oldest first."""
    if head(workspace) is None:
        return []
    args = ["rev-list", "--reverse", "--topo-order", "--no-merges", f"--max-count={_MAX_COMMITS}"]
    args.append("HEAD")
    if base:
        try:
            _git(workspace, "cat-file", "-e", f"{base}^{{commit}}")
            args += ["--not", base]
        except CaptureError:
            log.info("git capture: base %s of %s is gone; looking at all of HEAD", base, workspace)
    return _git(workspace, *args).split()


def commit_info(workspace: Path, sha: str) -> Commit:
    raw = _git(workspace, "show", "-s", "--format=%at%x00%an <%ae>%x00%B", sha)
    when, _, rest = raw.partition("\x00")
    author, _, message = rest.partition("\x00")
    return Commit(sha, author.strip(), message.strip(), int(when.strip() or 0))


def is_assistant(commit: Commit, patterns: Sequence[re.Pattern[str]]) -> bool:
    text = f"{commit.author}\n{commit.message}"
    return any(p.search(text) for p in patterns)


def commit_hunks(workspace: Path, sha: str) -> list[Hunk]:
    """The commit's changes against its first parent, as zero-context hunks."""
    raw = _git(
        workspace,
        "show",
        "--format=",
        "--unified=0",
        "--no-color",
        "--no-renames",
        "--no-ext-diff",
        "--first-parent",
        sha,
    )
    hunks: list[Hunk] = []
    file: str | None = None
    old: str | None = None
    current: Hunk | None = None
    for line in raw.splitlines():
        if line.startswith("diff --git "):
            file, old, current = None, None, None
        elif current is None and line.startswith("--- "):
            old = line[6:] if line.startswith("--- a/") else None
        elif current is None and line.startswith("+++ "):
            file = line[6:] if line.startswith("+++ b/") else old  # deleted: the old name
        elif _HUNK.match(line):
            current = Hunk(file) if file is not None else None
            if current is not None:
                hunks.append(current)
        elif current is not None and line.startswith("-"):
            current.removed.append(line[1:])
        elif current is not None and line.startswith("+"):
            current.added.append(line[1:])
    return hunks
