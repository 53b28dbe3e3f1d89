"""The link to the daemon: one `gepad_client` connection, kept up in the background.

A keeper task connects, subscribes to `prompt.changed` for every component, and reconnects
after the daemon goes away; when the daemon is not running and autostart is on it starts one
(`python -m gepad.daemon`, detached, as `gepad start` does). Calls never wait for a start: a
call that finds no daemon fails at once with `DaemonUnavailable`, so feedback is spooled
without delay and replayed when the keeper reconnects (`on_connected`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gepad_client import GepadClient, GepadClientError
from gepad_client import RpcError as ClientRpcError
from gepad_lsp._errors import DaemonUnavailable, RemoteError

__all__ = ["DaemonLink"]

log = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 2.0
_AUTOSTART_EVERY_S = 10.0


class DaemonLink:
    def __init__(
        self,
        *,
        home: Path | None,
        logs_dir: Path,
        autostart: bool,
        on_prompt_changed: Callable[[dict[str, Any]], None],
        on_connected: Callable[[], Awaitable[None]],
        retry_s: float = 1.0,
        call_timeout_s: float = 10.0,
    ) -> None:
        self._home = home
        self._logs_dir = logs_dir
        self._autostart = autostart
        self._on_prompt_changed = on_prompt_changed
        self._on_connected = on_connected
        self._retry_s = retry_s
        self._call_timeout_s = call_timeout_s
        self._client: GepadClient | None = None
        self._connect_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._keeper: asyncio.Task[None] | None = None
        self._last_autostart = -_AUTOSTART_EVERY_S
        self._child: subprocess.Popen[bytes] | None = None
        self.last_error: str | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None and not self._client.closed

    def start(self) -> None:
        if self._keeper is None:
            self._keeper = asyncio.get_running_loop().create_task(self._keep(), name="gepad-link")

    async def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
            self._client = None

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """Call the daemon; `DaemonUnavailable` if it cannot be reached, `RemoteError` if it
        answers with an error."""
        client = await self._ensure_client()
        try:
            return await client.call(method, params, timeout=timeout or self._call_timeout_s)
        except ClientRpcError as exc:
            raise RemoteError(exc.code, exc.message, exc.data) from None
        except GepadClientError as exc:
            self._wake.set()
            raise DaemonUnavailable(f"the gepad daemon did not answer {method}: {exc}") from None

    async def _ensure_client(self) -> GepadClient:
        if self._client is not None and not self._client.closed:
            return self._client
        async with self._connect_lock:
            if self._client is not None and not self._client.closed:
                return self._client
            try:
                client = await GepadClient.open(self._home, timeout=_CONNECT_TIMEOUT_S)
            except GepadClientError as exc:
                self.last_error = str(exc)
                self._wake.set()  # the keeper may start a daemon
                raise DaemonUnavailable(f"the gepad daemon is not reachable: {exc}") from None
            self._client = client
            self.last_error = None
            self._wake.set()  # the keeper subscribes on the new connection
            return client

    async def _keep(self) -> None:
        while True:
            try:
                await self._keep_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the keeper must outlive any one failure
                log.exception("the daemon link failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._retry_s)

    async def _keep_once(self) -> None:
        try:
            client = await self._ensure_client()
        except DaemonUnavailable as exc:
            log.debug("%s", exc)
            self._maybe_autostart()
            return
        try:
            subscription = await client.subscribe(None)
        except GepadClientError as exc:
            log.info("subscribing to prompt changes failed: %s", exc)
            return
        log.info("connected to the gepad daemon at %s", client.ws_url)
        try:
            await self._on_connected()
        except Exception:
            log.exception("handling a new daemon connection failed")
        async for state in subscription:
            try:
                self._on_prompt_changed(dict(state))
            except Exception:
                log.exception("forwarding a prompt change failed")
        log.info("lost the connection to the gepad daemon")

    def _maybe_autostart(self) -> None:
        if not self._autostart:
            return
        if self._child is not None and self._child.poll() is None:
            return  # ours is still starting (or running and not yet answering)
        now = time.monotonic()
        if now - self._last_autostart < _AUTOSTART_EVERY_S:
            return
        self._last_autostart = now
        try:
            self._logs_dir.mkdir(parents=True, exist_ok=True)
            with (self._logs_dir / "daemon.stderr").open("ab") as stderr_file:
                self._child = subprocess.Popen(
                    [sys.executable, "-m", "gepad.daemon"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr_file,
                    start_new_session=True,  # outlives the editor; no signals from its terminal
                    close_fds=True,
                    env=dict(os.environ),
                )
        except OSError as exc:
            log.error("could not start the gepad daemon: %s", exc)
            return
        log.info("started the gepad daemon (pid %d)", self._child.pid)
