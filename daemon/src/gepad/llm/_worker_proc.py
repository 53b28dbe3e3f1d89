"""One model worker process: start it, read its answers and its log, say why it ended, stop it.

`LlmWorker` decides when a worker starts and stops and which call waits for which answer;
this module holds what belongs to one process: its pipes, the calls waiting on it, the last
lines it logged (for the error a crash gives), and the way it is stopped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._worker_wire import WireError, encode_frame, read_frame

__all__ = ["WORKER_MODULE", "Reply", "WorkerProcess"]

log = logging.getLogger(__name__)
worker_log = logging.getLogger("gepad.llm.worker")

WORKER_MODULE = "gepad.llm._worker_main"
# A call's answer frame, or (a str) why it will never come.
Reply = dict[str, Any] | str

_KILL_WAIT_S = 2.0
_STDERR_TAIL = 20
_STDERR_LINE_LIMIT = 1024 * 1024
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


@dataclass(eq=False)
class WorkerProcess:
    """One worker process and the calls waiting on it."""

    process: asyncio.subprocess.Process
    ready: asyncio.Future[str | None]  # None once ready, else why it never will be
    pending: dict[int, asyncio.Future[Reply]] = field(default_factory=dict)
    tail: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=_STDERR_TAIL)
    )
    alive: bool = True
    stopping: bool = False
    exit_reason: str | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    async def spawn(
        cls, python: str, env: Mapping[str, str], on_gone: Callable[[WorkerProcess], None]
    ) -> WorkerProcess:
        """Start `python -m gepad.llm._worker_main`; raises OSError when it cannot be run."""
        process = await asyncio.create_subprocess_exec(
            python,
            "-m",
            WORKER_MODULE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env),
            start_new_session=True,  # signals for the daemon's terminal are not for it
            limit=_STDERR_LINE_LIMIT,
        )
        proc = cls(process, asyncio.get_running_loop().create_future())
        proc.tasks.append(asyncio.create_task(proc._read_frames(on_gone)))
        proc.tasks.append(asyncio.create_task(proc._read_stderr()))
        return proc

    @property
    def pid(self) -> int:
        return self.process.pid

    async def send(self, message: dict[str, Any]) -> None:
        frame = encode_frame(message)  # WireError for an oversized call, before any write
        stdin = self.process.stdin
        if not self.alive or stdin is None or stdin.is_closing():
            raise ConnectionResetError("the model worker's stdin is closed")
        async with self.write_lock:
            stdin.write(frame)
            await stdin.drain()

    def last_line(self) -> str:
        return self.tail[-1] if self.tail else "no log output"

    def crash_text(self) -> str:
        if self.stopping:
            return "the model worker was stopped during the call"
        return (
            f"the model worker (pid {self.pid}) exited ({self.exit_reason or 'running'})"
            f" during the call; its last log line: {self.last_line()}"
        )

    async def wait_exit(self) -> None:
        if self.exit_reason is not None:
            return
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout=_KILL_WAIT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            code = await self.process.wait()
        self.exit_reason = f"exit code {code}" if code >= 0 else f"killed by signal {-code}"

    async def stop(self, timeout_s: float) -> None:
        """Close its stdin (it finishes and exits); terminate, then kill, if it lingers."""
        self.stopping = True
        stdin = self.process.stdin
        if stdin is not None:
            with contextlib.suppress(Exception):
                stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout=_KILL_WAIT_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        await asyncio.wait(self.tasks)
        log.info("the model worker (pid %d) stopped", self.pid)

    async def _read_frames(self, on_gone: Callable[[WorkerProcess], None]) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                message = await read_frame(stdout)
                if message is None:
                    break
                if message.get("op") == "ready":
                    if not self.ready.done():
                        self.ready.set_result(None)
                    continue
                call_id = message.get("id")
                waiter = self.pending.get(call_id) if isinstance(call_id, int) else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(message)
        except WireError as exc:
            log.error("the model worker sent a bad frame (%s); stopping it", exc)
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        except Exception:
            log.exception("reading the model worker's answers failed; stopping it")
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        finally:
            self.alive = False
            await self.wait_exit()
            reason = self.crash_text()
            if not self.ready.done():
                self.ready.set_result(reason)
            for waiter in self.pending.values():
                if not waiter.done():
                    waiter.set_result(reason)
            on_gone(self)
            if not self.stopping:
                log.warning("%s", reason)

    async def _read_stderr(self) -> None:
        stderr = self.process.stderr
        assert stderr is not None
        while True:
            try:
                raw = await stderr.readline()
            except ValueError:  # a line over the limit: skip it
                with contextlib.suppress(Exception):
                    await stderr.read(_STDERR_LINE_LIMIT)
                continue
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            self.tail.append(line)
            head, _, rest = line.partition(" ")
            level = _LEVELS.get(head)
            if level is None:
                worker_log.warning("%s", line)
            else:
                worker_log.log(level, "%s", rest)
