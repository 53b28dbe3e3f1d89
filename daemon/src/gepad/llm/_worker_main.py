"""The model worker process: `python -m gepad.llm._worker_main`, started by `LlmWorker`.

It loads litellm, says it is ready, then runs every call it is sent as its own task (so calls
multiplex) with the same `InProcessAttempts` the daemon would use, and answers each with one
frame. Its stdout carries only frames: file descriptor 1 is pointed at stderr before anything
else runs, so a stray print (litellm's banner) cannot corrupt the protocol. Logs go to stderr,
which the daemon reads and logs. It exits when its stdin closes (the daemon stopped it, or
died) or when its parent process changes; it opens no listener of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

from ._attempt import AttemptCancelled, AttemptFailed, InProcessAttempts
from ._redact import Redactor
from ._retry import Failure, safe_error_text
from ._worker_wire import (
    WireError,
    answer_to_wire,
    encode_frame,
    failure_to_wire,
    read_frame,
)

__all__ = ["main"]

log = logging.getLogger(__name__)

_LOG_LEVEL_ENV = "GEPAD_WORKER_LOG_LEVEL"
_THIRD_PARTY_LEVEL_ENV = "GEPAD_WORKER_THIRD_PARTY_LEVEL"
_PARENT_POLL_S = 2.0
_EXIT_GRACE_S = 5.0


class _Worker:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._write_lock = asyncio.Lock()
        self._redactor = Redactor()
        self._runner = InProcessAttempts(self._redactor)
        self._tasks: dict[int, asyncio.Task[None]] = {}

    async def send(self, message: dict[str, Any]) -> None:
        frame = encode_frame(message)
        async with self._write_lock:
            self._writer.write(frame)
            await self._writer.drain()

    async def start(self) -> None:
        self._runner.litellm()
        await self.send({"op": "ready", "pid": os.getpid()})

    def dispatch(self, message: dict[str, Any]) -> None:
        op, call_id = message.get("op"), message.get("id")
        if not isinstance(call_id, int) or isinstance(call_id, bool):
            raise WireError(f"a {op!r} message has no integer id")
        if op == "call":
            if call_id in self._tasks:
                raise WireError(f"call id {call_id} is already running")
            task = asyncio.create_task(self._call(call_id, message))
            self._tasks[call_id] = task
            task.add_done_callback(lambda _: self._tasks.pop(call_id, None))
        elif op == "cancel":
            running = self._tasks.get(call_id)
            if running is not None:
                running.cancel()
        else:
            raise WireError(f"unknown op {op!r}")

    async def _call(self, call_id: int, message: dict[str, Any]) -> None:
        reply: dict[str, Any] = {"id": call_id}
        try:
            kwargs = message.get("kwargs")
            if not isinstance(kwargs, dict) or not isinstance(kwargs.get("model"), str):
                raise ValueError("a call needs kwargs with a model")
            answer = await self._runner.attempt(
                kwargs,
                prompt_chars=int(message.get("prompt_chars") or 0),
                timeout_s=float(message["timeout_s"]),
                stall_s=float(message["stall_s"]),
                stream=bool(message.get("stream")),
            )
            reply["ok"] = answer_to_wire(answer)
        except AttemptFailed as exc:
            reply["failed"] = failure_to_wire(exc.failure, exc.output_tokens)
        except AttemptCancelled as exc:
            reply["cancelled"] = {"output_tokens": exc.output_tokens}
        except asyncio.CancelledError:
            reply["cancelled"] = {"output_tokens": 0}
        except Exception as exc:
            log.exception("a call failed inside the model worker")
            text = (
                f"the model worker could not make the call: {safe_error_text(exc, self._redactor)}"
            )
            reply["failed"] = failure_to_wire(Failure("error", False, None, text), 0)
        with contextlib.suppress(ConnectionError, OSError):
            await self.send(reply)

    async def finish(self) -> None:
        """Cancel what still runs (its callers get "cancelled") and wait a little for it."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=_EXIT_GRACE_S)


async def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(_PARENT_POLL_S)
    log.warning("the daemon (pid %d) is gone; the model worker exits", parent)


async def _serve(protocol_fd: int, parent: int) -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", buffering=0)
    )
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(protocol_fd, "wb", buffering=0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    worker = _Worker(writer)
    await worker.start()
    orphaned = asyncio.create_task(_watch_parent(parent))
    code = 0
    try:
        while True:
            next_frame = asyncio.create_task(read_frame(reader))
            done, _ = await asyncio.wait({next_frame, orphaned}, return_when="FIRST_COMPLETED")
            if orphaned in done:
                next_frame.cancel()
                break
            message = next_frame.result()
            if message is None:
                break
            worker.dispatch(message)
    except WireError as exc:
        log.error("the daemon sent a bad frame (%s); the model worker exits", exc)
        code = 2
    finally:
        orphaned.cancel()
        await worker.finish()
        with contextlib.suppress(Exception):
            writer.close()
    return code


def _level(variable: str) -> str:
    level = os.environ.get(variable, "WARNING").strip().upper()
    return level if level in logging.getLevelNamesMapping() else "WARNING"


def main() -> int:
    # Keep the real stdout for frames; anything printed from now on goes to stderr.
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout.flush()  # whatever was buffered for stdout goes to stderr now
    sys.stdout = sys.stderr
    # The daemon stops the worker itself: a Ctrl-C in the daemon's terminal is not for us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    # Third-party loggers may log request bodies or headers: WARNING unless the daemon's are
    # lower (log_third_party).
    root.setLevel(_level(_THIRD_PARTY_LEVEL_ENV))
    logging.getLogger("gepad").setLevel(_level(_LOG_LEVEL_ENV))
    try:
        return asyncio.run(_serve(protocol_fd, os.getppid()))
    except (BrokenPipeError, ConnectionResetError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
