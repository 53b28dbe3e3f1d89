"""The git capture source: scan an enabled workspace's new commits into corrections."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from gepad.store import NewExample, Store, Tx

from ._git import Hunk, commit_hunks, commit_info, head, is_assistant, new_commits

__all__ = ["GIT_SOURCE", "GitSource"]

log = logging.getLogger(__name__)

GIT_SOURCE: Final = "git"
_DELETED: Final = "deleted by the user in a later commit"


def _lines_prefix(ws: Path, file: str) -> str:
    return f"lines:{ws}|{file}|"


class GitSource:
    def __init__(
        self,
        store: Store,
        patterns: Sequence[str],
        on_examples: Callable[[int], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._clock = clock
        self._patterns = [re.compile(p) for p in patterns]
        self._on_examples = on_examples
        self._lock = asyncio.Lock()

    async def enable(self, ws: Path, tx: Tx) -> dict[str, Any]:
        """Remember HEAD: only commits made after this count (CaptureError if not a repo)."""
        base = await asyncio.to_thread(head, ws)
        value = {"workspace": str(ws), "base": base, "since": int(self._clock())}
        await self._store.put_capture_mark(tx, "enabled", f"git:{ws}", value)
        return value

    async def scan(self, ws: Path, base: str | None, since: int = 0) -> int:
        """Process every commit not seen yet, authored at or after `since` (enable time: a
        rebase that rewrote `base` itself brings older commits back); returns examples made."""
        async with self._lock:
            shas = await asyncio.to_thread(new_commits, ws, base)
            created = 0
            for sha in shas:
                key = f"commit:{ws}|{sha}"
                if await self._store.capture_mark(GIT_SOURCE, key) is not None:
                    continue
                created += await self._commit(ws, sha, key, since)
        if created:
            self._on_examples(created)
        return created

    async def _commit(self, ws: Path, sha: str, key: str, since: int) -> int:
        info = await asyncio.to_thread(commit_info, ws, sha)
        if info.authored_at < since:
            await self._store.put_capture_mark(None, GIT_SOURCE, key, {"before_enable": True})
            return 0
        hunks = await asyncio.to_thread(commit_hunks, ws, sha)
        assistant = is_assistant(info, self._patterns)
        created = 0
        async with self._store.transaction() as tx:
            for hunk in hunks:
                if assistant:
                    await self._remember(tx, ws, info.message, sha, hunk)
                else:
                    created += await self._fix(tx, ws, sha, hunk)
            await self._store.put_capture_mark(
                tx, GIT_SOURCE, key, {"assistant": assistant, "hunks": len(hunks)}
            )
        log.info(
            "git capture: %s %s (%s): %d hunk(s), %d example(s)",
            ws,
            sha[:12],
            "assistant" if assistant else "human",
            len(hunks),
            created,
        )
        return created

    async def _remember(self, tx: Tx, ws: Path, message: str, sha: str, hunk: Hunk) -> None:
        added = [line for line in hunk.added if line.strip()]
        if not added:
            return
        key = _lines_prefix(ws, hunk.file) + Hunk(hunk.file, [], hunk.added).key()
        if await self._store.capture_mark(GIT_SOURCE, key, tx=tx) is not None:
            return  # the same hunk again (a rebase): keep what later commits changed in it
        value = {"file": hunk.file, "lines": hunk.added, "message": message, "commit": sha}
        await self._store.put_capture_mark(tx, GIT_SOURCE, key, value)

    async def _fix(self, tx: Tx, ws: Path, sha: str, hunk: Hunk) -> int:
        removed = {line for line in hunk.removed if line.strip()}
        if not removed:
            return 0
        marks = await self._store.capture_marks(GIT_SOURCE, _lines_prefix(ws, hunk.file), tx=tx)
        hits = [m for m in marks if removed & set(m.value.get("lines", ()))]
        if not hits:
            return 0
        fix_key = f"fix:{ws}|{hunk.key()}"
        if await self._store.capture_mark(GIT_SOURCE, fix_key, tx=tx) is not None:
            return 0  # the same change again (a rebase, a cherry-pick)
        mark = hits[-1]
        lines = list(mark.value.get("lines", ()))
        # Those lines are the human's now: a later change of them is not about the assistant.
        left = [line for line in lines if line not in removed]
        await self._store.put_capture_mark(tx, GIT_SOURCE, mark.key, {**mark.value, "lines": left})
        await self._store.put_capture_mark(tx, GIT_SOURCE, fix_key, {"commit": sha})
        output = "\n".join(hunk.removed) + "\n"
        corrected = "\n".join(hunk.added) + "\n" if hunk.added else None
        message = str(mark.value.get("message", ""))
        context = f"{message}\n\nFile: {hunk.file}\nThe assistant wrote:\n" + "\n".join(lines)
        example = NewExample(
            kind="correction" if corrected is not None else "thumbs_down",
            component="kernel" if hunk.file.endswith((".cu", ".cuh")) else "general",
            workspace=str(ws),
            file=str(ws / hunk.file),
            context=context,
            output=output,
            corrected=corrected,
            comment=None if corrected is not None else _DELETED,
            source=GIT_SOURCE,
        )
        return int((await self._store.add_example(example, tx=tx)).created)
