"""The daemon's side of the model worker: litellm in a subprocess that exits when idle.

A daemon that has optimized once would otherwise keep litellm (about 150 MB) loaded for good.
`LlmWorker` starts `python -m gepad.llm._worker_main` on the first attempt, multiplexes every
concurrent attempt over its stdin/stdout (see `_worker_wire`), and closes it once no attempt
has been in flight for `idle_s` seconds; the next attempt starts a new one. Redaction happens
in the client before an attempt gets here: only masked text crosses to the worker.

Failures are the client's usual ones: a worker that dies mid-call fails the calls in flight
as "unavailable" (retried like a dropped connection) with its exit code and last log line; a
worker that does not answer within the call's timeout plus a grace is a "timeout"; a cancelled
call is cancelled in the worker too, and its streamed tokens come back for the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._attempt import TIMEOUT_GRACE_S, AttemptCancelled, AttemptFailed, RawAnswer
from ._retry import Failure
from ._worker_proc import Reply, WorkerProcess
from ._worker_wire import WireError, answer_from_wire, failure_from_wire

__all__ = ["LlmWorker", "WorkerSettings"]

log = logging.getLogger(__name__)

_CANCEL_WAIT_S = 2.0


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """`idle_s`: how long the worker stays up with nothing in flight; `start_timeout_s`: how
    long it may take to load litellm; `reply_grace_s`: added to a call's own timeout before
    the daemon stops waiting for the worker; `stop_timeout_s`: how long a stop waits before
    it kills."""

    idle_s: float = 90.0
    start_timeout_s: float = 120.0
    reply_grace_s: float = 10.0
    stop_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        for name in ("idle_s", "start_timeout_s", "reply_grace_s", "stop_timeout_s"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(
                    f"worker setting {name!r} must be a positive number, got {value!r}"
                )


def _unavailable(text: str) -> AttemptFailed:
    return AttemptFailed(Failure("unavailable", True, None, text))


class LlmWorker:
    """An `AttemptRunner` that makes each attempt in a worker subprocess (started on demand).

    One instance serves every `LlmClient` of a daemon; `aclose()` stops the worker for good.
    """

    def __init__(
        self,
        settings: WorkerSettings | None = None,
        *,
        python: str = sys.executable,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._settings = settings or WorkerSettings()
        self._python = python
        # None: the daemon's environment as it is when a worker starts (API keys included).
        self._env = None if env is None else dict(env)
        self._proc: WorkerProcess | None = None
        self._ids = itertools.count(1)
        self._spawn_lock = asyncio.Lock()
        self._idle: asyncio.TimerHandle | None = None
        self._stops: set[asyncio.Task[None]] = set()
        self._closed = False
        self.starts = 0  # how many worker processes were started (for status and tests)

    @property
    def settings(self) -> WorkerSettings:
        return self._settings

    @property
    def pid(self) -> int | None:
        """The running worker's pid, or None when none runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.alive else None

    async def attempt(
        self,
        kwargs: dict[str, Any],
        *,
        prompt_chars: int,
        timeout_s: float,
        stall_s: float,
        stream: bool,
    ) -> RawAnswer:
        if self._closed:
            raise _unavailable("the model worker is shut down (the daemon is stopping)")
        self._cancel_idle()
        try:
            proc = await self._ready_proc()
        except BaseException:
            self._arm_idle()  # a start abandoned by its caller must not keep a worker for good
            raise
        call_id = next(self._ids)
        reply: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        proc.pending[call_id] = reply
        message = {
            "op": "call",
            "id": call_id,
            "kwargs": kwargs,
            "prompt_chars": prompt_chars,
            "timeout_s": timeout_s,
            "stall_s": stall_s,
            "stream": stream,
        }
        try:
            try:
                await proc.send(message)
            except WireError as exc:
                raise AttemptFailed(
                    Failure("error", False, None, f"too large for the model worker: {exc}")
                ) from None
            except (ConnectionError, OSError):
                await proc.wait_exit()
                raise _unavailable(proc.crash_text()) from None
            limit = timeout_s + TIMEOUT_GRACE_S + self._settings.reply_grace_s
            done, _ = await asyncio.wait({reply}, timeout=limit)
            if not done:
                await self._send_cancel(proc, call_id)
                raise AttemptFailed(
                    Failure(
                        "timeout", True, None, f"the model worker gave no answer in {limit:g} s"
                    )
                )
            return self._answer(reply.result())
        except asyncio.CancelledError:
            raise AttemptCancelled(await self._cancel(proc, call_id, reply)) from None
        finally:
            proc.pending.pop(call_id, None)
            self._arm_idle()

    async def aclose(self) -> None:
        """Stop the worker (calls in flight fail as unavailable) and start no new one."""
        self._closed = True
        self._cancel_idle()
        proc = self._proc
        if proc is not None:
            self._begin_stop(proc)
        if self._stops:
            await asyncio.wait(set(self._stops))

    # ------------------------------------------------------------------ calls

    def _answer(self, reply: Reply) -> RawAnswer:
        if isinstance(reply, str):
            raise _unavailable(reply)
        try:
            if "ok" in reply:
                return answer_from_wire(reply["ok"])
            if "failed" in reply:
                failure, tokens = failure_from_wire(reply["failed"])
                raise AttemptFailed(failure, tokens)
        except WireError as exc:
            raise AttemptFailed(Failure("error", False, None, f"model worker: {exc}")) from None
        # "cancelled" without our asking: the worker was stopped under the call.
        raise _unavailable("the model worker stopped during the call")

    async def _send_cancel(self, proc: WorkerProcess, call_id: int) -> None:
        with contextlib.suppress(ConnectionError, OSError, WireError):
            await proc.send({"op": "cancel", "id": call_id})

    async def _cancel(self, proc: WorkerProcess, call_id: int, reply: asyncio.Future[Reply]) -> int:
        """Cancel the call in the worker; the tokens it had streamed (0 if it cannot say)."""
        if not reply.done() and proc.alive:
            await self._send_cancel(proc, call_id)
            await asyncio.wait({reply}, timeout=_CANCEL_WAIT_S)
        if not reply.done():
            return 0
        result = reply.result()
        if isinstance(result, str):
            return 0
        for key in ("cancelled", "failed", "ok"):
            value = result.get(key)
            if isinstance(value, dict):
                tokens = value.get("output_tokens")
                if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0:
                    return tokens
        return 0

    # ------------------------------------------------------------------ lifecycle

    async def _ready_proc(self) -> WorkerProcess:
        async with self._spawn_lock:
            proc = self._proc
            if proc is None or not proc.alive or proc.stopping:
                proc = await self._spawn()
        if not proc.ready.done():
            # Not cancelled with the caller: a later call may still use this start.
            done, _ = await asyncio.wait({proc.ready}, timeout=self._settings.start_timeout_s)
            if not done:
                self._begin_stop(proc)
                raise _unavailable(
                    f"the model worker did not start within {self._settings.start_timeout_s:g} s"
                    f" (last log line: {proc.last_line()})"
                )
        why = proc.ready.result()
        if why is not None:
            raise _unavailable(why)
        return proc

    async def _spawn(self) -> WorkerProcess:
        env = dict(os.environ if self._env is None else self._env)
        env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"  # no price-table download at import
        env["PYTHONUNBUFFERED"] = "1"  # its log lines arrive as they are written
        # The worker logs at the daemon's levels: gepad's own, and the third-party loggers'
        # (WARNING unless log_third_party), which httpx stands for.
        env["GEPAD_WORKER_LOG_LEVEL"] = logging.getLevelName(
            logging.getLogger("gepad").getEffectiveLevel()
        )
        env["GEPAD_WORKER_THIRD_PARTY_LEVEL"] = logging.getLevelName(
            logging.getLogger("httpx").getEffectiveLevel()
        )
        try:
            proc = await WorkerProcess.spawn(self._python, env, self._gone)
        except OSError as exc:
            raise _unavailable(
                f"could not start the model worker ({self._python}): {exc}"
            ) from None
        self._proc = proc
        self.starts += 1
        log.info("started the model worker (pid %d)", proc.pid)
        return proc

    def _gone(self, proc: WorkerProcess) -> None:
        if self._proc is proc:
            self._proc = None

    def _cancel_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _arm_idle(self) -> None:
        proc = self._proc
        if proc is None or proc.pending or self._closed:
            return
        self._cancel_idle()
        self._idle = asyncio.get_running_loop().call_later(
            self._settings.idle_s, self._on_idle, proc
        )

    def _on_idle(self, proc: WorkerProcess) -> None:
        self._idle = None
        if self._proc is proc and not proc.pending:
            log.info("the model worker was idle for %g s; stopping it", self._settings.idle_s)
            self._begin_stop(proc)

    def _begin_stop(self, proc: WorkerProcess) -> None:
        if proc.stopping:
            return
        proc.stopping = True
        if self._proc is proc:
            self._proc = None  # the next call starts a fresh worker at once
        task = asyncio.create_task(proc.stop(self._settings.stop_timeout_s))
        self._stops.add(task)
        task.add_done_callback(self._stops.discard)
