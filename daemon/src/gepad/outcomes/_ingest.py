"""The ingestion service the daemon runs: watch, debounce, parse complete reports, link, store.

Flow for one file: a watch event (re)arms a debounce timer; when it fires the path goes to a
queue that one worker task drains, so reports are processed one at a time. The worker reads
the file, skips it when unchanged (same SHA-256 as last time, or the same size and mtime as
when the workspace was first watched), and parses it. A parse failure is retried until the
file has stopped changing for `settle_s`; only then is it logged (with its path) as malformed
and skipped. A failure of one file never stops the worker.

Storage (docs/outcomes.md): a failure linked to generations becomes one `test_result` /
`compile_result` example per generation, with the generation's id, prompt version, context and
output and the report's message as feedback. A failure that links to nothing is stored too,
but retired in the same transaction: kept for the record, invisible to the optimizer (which
reads only non-retired examples). A test that passes after it failed, with a generation
recorded after the failure (the correction), becomes a positive example linked to that
generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gepad.errors import ReportParseError, WorkspaceError
from gepad.outcomes._diagnostics import parse_compiler_log
from gepad.outcomes._junit import parse_junit
from gepad.outcomes._link import link_generations
from gepad.outcomes._registry import load_registered, normalize_workspace, save_registered
from gepad.outcomes._sarif import parse_sarif
from gepad.outcomes._types import Outcome, ReportFormat
from gepad.outcomes._watch import GlobSet, WorkspaceWatcher
from gepad.store import DEFAULT_COMPONENT, Generation, NewExample, Store

__all__ = ["IngestSettings", "OutcomeIngester", "report_format"]

log = logging.getLogger(__name__)

_MAX_REPORT_BYTES = 32 * 1024 * 1024
_MAX_UNLINKED_PER_REPORT = 50
_MAX_GENERATIONS = 1000


@dataclass(frozen=True, slots=True)
class IngestSettings:
    globs: tuple[str, ...]
    link_window_s: float = 3600.0
    debounce_s: float = 0.5
    settle_s: float = 5.0
    rescan_s: float = 2.0
    max_report_bytes: int = _MAX_REPORT_BYTES
    max_unlinked_per_report: int = _MAX_UNLINKED_PER_REPORT

    @classmethod
    def from_config(cls, config: Any) -> IngestSettings:
        return cls(
            globs=tuple(config.watch_globs),
            link_window_s=config.outcome_link_window_s,
            debounce_s=config.outcome_debounce_s,
            settle_s=config.outcome_settle_s,
            rescan_s=config.outcome_rescan_s,
        )


def report_format(path: Path) -> ReportFormat:
    name = path.name.lower()
    if name.endswith((".sarif", ".sarif.json")):
        return "sarif"
    if name.endswith(".xml"):
        return "junit"
    return "diagnostics"


def _parse(fmt: ReportFormat, data: bytes, where: str) -> tuple[Outcome, ...]:
    if fmt == "junit":
        return parse_junit(data, where=where)
    if fmt == "sarif":
        return parse_sarif(data, where=where)
    return parse_compiler_log(data.decode("utf-8", errors="replace"))


@dataclass(frozen=True, slots=True)
class _Failure:
    outcome: Outcome
    report: Path
    at: float


@dataclass
class _Stats:
    reports: int = 0
    malformed: int = 0
    linked: int = 0
    unlinked: int = 0
    positive: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "reports": self.reports,
            "malformed": self.malformed,
            "examples_linked": self.linked,
            "examples_unlinked": self.unlinked,
            "examples_positive": self.positive,
            "last_error": self.last_error,
        }


class OutcomeIngester:
    """Watches workspaces and turns their test and compiler reports into examples."""

    def __init__(
        self,
        store: Store,
        settings: IngestSettings,
        *,
        config_workspaces: Iterable[str] = (),
        registry_file: Path | None = None,
        on_examples: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._settings = settings
        self._globs = GlobSet(settings.globs)
        self._registry_file = registry_file
        self._on_examples = on_examples
        self._clock = clock
        self._config_ws = [normalize_workspace(w) for w in config_workspaces]
        self._registered: list[Path] = []
        self._watcher: WorkspaceWatcher | None = None
        self._queue: asyncio.Queue[tuple[Path, Path]] = asyncio.Queue()
        self._timers: dict[Path, asyncio.TimerHandle] = {}
        self._queued: set[Path] = set()
        self._busy = False
        self._seen: dict[Path, str] = {}
        self._baseline: dict[Path, tuple[int, int]] = {}
        self._unparsed_since: dict[Path, tuple[str, float]] = {}
        self._failures: dict[tuple[Path, str], _Failure] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stats = _Stats()
        # The watcher's blocking calls run in a worker thread, one at a time.
        self._watch_lock = asyncio.Lock()

    # lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._watcher = WorkspaceWatcher(loop, self._on_event)
        self._watcher.start()
        if self._registry_file is not None:
            self._registered = load_registered(self._registry_file)
        for root in self._roots():
            await self._watch(root)
        self._tasks = [
            asyncio.create_task(self._worker(), name="gepad-outcomes-worker"),
            asyncio.create_task(self._rescan(), name="gepad-outcomes-rescan"),
        ]
        log.info("watching %d workspace(s) for test and compiler reports", len(self._roots()))

    async def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._watcher is not None:
            watcher, self._watcher = self._watcher, None
            await asyncio.to_thread(watcher.stop)

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until no event is debouncing, queued or being processed (for tests and tools)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._timers or self._queued or self._busy or not self._queue.empty():
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("outcome ingestion did not go idle")
            await asyncio.sleep(0.02)

    # workspaces ---------------------------------------------------------------------------------

    def _roots(self) -> list[Path]:
        return list(dict.fromkeys([*self._config_ws, *self._registered]))

    async def _watch(self, root: Path) -> None:
        watcher = self._watcher
        if watcher is None:
            return
        async with self._watch_lock:
            if not await asyncio.to_thread(watcher.add, root):
                log.info("workspace %s does not exist (yet); it is watched once it does", root)
                return
            baseline = await asyncio.to_thread(self._stat_reports, root)
        # Reports already there were written before gepad looked: not ingested unless they change.
        self._baseline.update(baseline)

    def _list_reports(self, root: Path) -> list[Path]:
        return list(self._globs.walk(root))

    def _stat_reports(self, root: Path) -> dict[Path, tuple[int, int]]:
        found: dict[Path, tuple[int, int]] = {}
        for path in self._globs.walk(root):
            with contextlib.suppress(OSError):
                st = path.stat()
                found[path] = (st.st_size, st.st_mtime_ns)
        return found

    def listing(self) -> dict[str, Any]:
        watcher = self._watcher
        config = set(self._config_ws)
        return {
            "workspaces": [
                {
                    "path": str(root),
                    "source": "config" if root in config else "registered",
                    "watching": watcher is not None and watcher.is_watching(root),
                }
                for root in self._roots()
            ],
            "globs": list(self._settings.globs),
            "ingest": self._stats.as_dict(),
        }

    async def add(self, path: str) -> dict[str, Any]:
        root = normalize_workspace(path)
        if not await asyncio.to_thread(root.is_dir):
            raise WorkspaceError(f"workspace {str(root)!r} is not an existing folder")
        added = root not in self._roots()
        if added:
            self._registered.append(root)
            await self._save()
            await self._watch(root)
            log.info("workspace registered: %s", root)
        return {"path": str(root), "added": added, **self.listing()}

    async def remove(self, path: str) -> dict[str, Any]:
        root = normalize_workspace(path)
        if root in self._config_ws:
            raise WorkspaceError(
                f"workspace {str(root)!r} comes from config.toml ('workspaces'); remove it there"
            )
        removed = root in self._registered
        if removed:
            self._registered.remove(root)
            await self._save()
            watcher = self._watcher
            if watcher is not None:
                async with self._watch_lock:
                    await asyncio.to_thread(watcher.remove, root)
            for pending in [p for p in self._timers if root in p.parents]:
                self._timers.pop(pending).cancel()
            log.info("workspace removed: %s", root)
        return {"path": str(root), "removed": removed, **self.listing()}

    async def _save(self) -> None:
        if self._registry_file is None:
            return
        try:
            await asyncio.to_thread(save_registered, self._registry_file, list(self._registered))
        except OSError as exc:
            # The watch itself works; only the next start would not know about it.
            log.warning("cannot save the workspace list to %s: %s", self._registry_file, exc)

    # events -------------------------------------------------------------------------------------

    def _on_event(self, root: Path, path: Path) -> None:
        if self._watcher is None or root not in self._roots():
            return
        try:
            relative = path.relative_to(root).as_posix()
        except ValueError:
            return
        if self._globs.matches(relative):
            self._arm(root, path, self._settings.debounce_s)

    def _appeared(self, root: Path, paths: list[Path]) -> None:
        # A folder deleted and recreated: everything in it is new since we last looked.
        if root not in self._roots():
            return
        for path in paths:
            self._baseline.pop(path, None)
            self._arm(root, path, self._settings.debounce_s)

    def _arm(self, root: Path, path: Path, delay: float) -> None:
        old = self._timers.pop(path, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[path] = loop.call_later(delay, self._fire, root, path)

    def _fire(self, root: Path, path: Path) -> None:
        self._timers.pop(path, None)
        if path not in self._queued:
            self._queued.add(path)
            self._queue.put_nowait((root, path))

    async def _rescan(self) -> None:
        while True:
            await asyncio.sleep(self._settings.rescan_s)
            watcher = self._watcher
            if watcher is None:
                continue
            try:
                async with self._watch_lock:
                    back = await asyncio.to_thread(watcher.check)
                    found = [
                        (root, await asyncio.to_thread(self._list_reports, root)) for root in back
                    ]
            except Exception:
                log.exception("checking the watched workspaces failed")
                continue
            for root, paths in found:
                self._appeared(root, paths)

    async def _worker(self) -> None:
        while True:
            root, path = await self._queue.get()
            self._queued.discard(path)
            self._busy = True
            try:
                await self.process(root, path)
            except Exception as exc:
                self._stats.last_error = f"{path}: {exc}"
                log.exception("ingesting %s failed; the watcher goes on", path)
            finally:
                self._busy = False

    # one report ---------------------------------------------------------------------------------

    async def process(self, root: Path, path: Path) -> int:
        """Ingest one report now (no debounce); returns how many examples were created."""
        read = await asyncio.to_thread(self._read, path)
        if read is None:
            return 0
        signature, data = read
        if self._baseline.pop(path, None) == signature:
            self._baseline[path] = signature
            return 0
        digest = hashlib.sha256(data).hexdigest()
        if self._seen.get(path) == digest:
            return 0
        fmt = report_format(path)
        try:
            outcomes = await asyncio.to_thread(_parse, fmt, data, str(path))
        except ReportParseError as exc:
            self._unparsed(root, path, digest, exc)
            return 0
        self._unparsed_since.pop(path, None)
        self._seen[path] = digest
        self._stats.reports += 1
        return await self._record(root, path, fmt, outcomes)

    def _read(self, path: Path) -> tuple[tuple[int, int], bytes] | None:
        """(size, mtime) and content, or None when gone, too big or unreadable."""
        try:
            st = path.stat()
            if st.st_size > self._settings.max_report_bytes:
                log.warning(
                    "skipping report %s: %d bytes is over the %d-byte limit",
                    path,
                    st.st_size,
                    self._settings.max_report_bytes,
                )
                return None
            return (st.st_size, st.st_mtime_ns), path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            log.warning("cannot read report %s: %s", path, exc)
            return None

    def _unparsed(self, root: Path, path: Path, digest: str, exc: ReportParseError) -> None:
        now = time.monotonic()
        since = self._unparsed_since.get(path)
        if since is None or since[0] != digest:
            since = (digest, now)
            self._unparsed_since[path] = since
        waited = now - since[1]
        if waited < self._settings.settle_s:
            # Maybe still being written: look again once it had time to change.
            delay = min(self._settings.settle_s - waited, max(self._settings.debounce_s, 0.2))
            log.debug("report %s does not parse yet (%s); retrying in %.2f s", path, exc, delay)
            self._arm(root, path, delay)
            return
        self._unparsed_since.pop(path, None)
        self._seen[path] = digest
        self._stats.malformed += 1
        self._stats.last_error = str(exc)
        log.warning("skipping malformed report %s: %s", path, exc)

    async def _record(
        self, root: Path, path: Path, fmt: ReportFormat, outcomes: tuple[Outcome, ...]
    ) -> int:
        now = self._clock()
        outcomes = outcomes + self._fixed_by_absence(root, path, fmt, outcomes)
        relevant = [o for o in outcomes if not o.passed or (root, o.key) in self._failures]
        if not relevant:
            return 0
        generations = await self._store.generations_since(
            now - self._settings.link_window_s, limit=_MAX_GENERATIONS
        )
        since = now - self._settings.link_window_s
        examples: list[tuple[NewExample, bool]] = []
        unlinked = 0
        for outcome in relevant:
            if outcome.passed:
                previous = self._failures.pop((root, outcome.key), None)
                if previous is None:  # the same test twice in one report
                    continue
                fixes = link_generations(
                    outcome, generations, workspace=root, report=path, since=previous.at
                )
                examples.extend((_linked_example(outcome, g, root, path, fmt), True) for g in fixes)
                self._stats.positive += len(fixes)
                continue
            self._failures[(root, outcome.key)] = _Failure(outcome, path, now)
            linked = link_generations(
                outcome, generations, workspace=root, report=path, since=since
            )
            if linked:
                examples.extend(
                    (_linked_example(outcome, g, root, path, fmt), True) for g in linked
                )
            elif unlinked < self._settings.max_unlinked_per_report:
                unlinked += 1
                examples.append((_unlinked_example(outcome, root, path, fmt), False))
        created = await self._store_examples(examples, path)
        if created and self._on_examples is not None:
            self._on_examples(created)
        return created

    def _fixed_by_absence(
        self, root: Path, path: Path, fmt: ReportFormat, outcomes: tuple[Outcome, ...]
    ) -> tuple[Outcome, ...]:
        """Compiler logs and SARIF list only problems: a file's failure missing from the next
        version of the same report means it was fixed."""
        if fmt == "junit":
            return ()
        present = {o.key for o in outcomes}
        fixed = []
        for (ws, key), failure in self._failures.items():
            if ws == root and failure.report == path and key not in present:
                o = failure.outcome
                fixed.append(
                    Outcome(o.kind, o.key, True, "", o.tool, o.files, o.under_test, o.test)
                )
        return tuple(fixed)

    async def _store_examples(self, examples: list[tuple[NewExample, bool]], path: Path) -> int:
        if not examples:
            return 0
        created = 0
        async with self._store.transaction() as tx:
            for example, linked in examples:
                result = await self._store.add_example(example, tx=tx)
                if not result.created:
                    continue
                if linked:
                    created += 1
                else:
                    await self._store.retire_example(result.example_id, tx=tx)
            await self._store.log_event(
                tx,
                "outcomes.report",
                {
                    "report": str(path),
                    "linked": sum(1 for _, linked in examples if linked),
                    "unlinked": sum(1 for _, linked in examples if not linked),
                },
            )
        n_unlinked = sum(1 for _, linked in examples if not linked)
        self._stats.linked += created
        self._stats.unlinked += n_unlinked
        log.info(
            "report %s: %d example(s) linked to generations, %d kept unlinked",
            path,
            created,
            n_unlinked,
        )
        return created


def _outcome_json(outcome: Outcome, path: Path, fmt: ReportFormat, linked: bool) -> dict[str, Any]:
    common = {"report": str(path), "format": fmt, "linked": linked}
    if outcome.kind == "test_result":
        return {
            "test": outcome.test or outcome.key,
            "passed": outcome.passed,
            "message": outcome.message or None,
            **common,
        }
    return {
        "tool": outcome.tool,
        "ok": outcome.passed,
        "diagnostics": outcome.message or None,
        **common,
    }


def _linked_example(
    outcome: Outcome, gen: Generation, root: Path, path: Path, fmt: ReportFormat
) -> NewExample:
    # The rollout replays the example's context as the request: what the assistant was asked.
    context = "\n\n".join(part for part in (gen.instruction, gen.context) if part.strip())
    return NewExample(
        kind=outcome.kind,
        component=gen.component,
        workspace=gen.workspace or str(root),
        file=gen.file,
        language=gen.language,
        context=context,
        output=gen.output,
        outcome=_outcome_json(outcome, path, fmt, True),
        generation_id=gen.id,
        prompt_version=gen.prompt_version,
        source="outcome",
    )


def _unlinked_example(outcome: Outcome, root: Path, path: Path, fmt: ReportFormat) -> NewExample:
    file = outcome.files[0] if outcome.files else None
    return NewExample(
        kind=outcome.kind,
        component=DEFAULT_COMPONENT,
        workspace=str(root),
        file=file,
        outcome=_outcome_json(outcome, path, fmt, False),
        source="outcome",
    )
