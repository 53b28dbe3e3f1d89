"""The thin websocket layer: handshake checks, per-connection loops, graceful drain.

Everything about JSON-RPC lives in the dispatcher; this module moves text between sockets
and the dispatcher, applies the dispatcher's effects, and enforces the transport limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import http
import itertools
import logging
import socket
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from gepad.server._dispatch import Dispatcher
from gepad.server._fanout import NotificationHub, Session

__all__ = ["HttpHook", "RpcServer", "ServerLimits"]

log = logging.getLogger(__name__)

CLOSE_SLOW_CONSUMER = 1008


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_connections: int = 64
    max_message_bytes: int = 1_048_576
    # Requests one connection may have running at once; more wait in the socket (backpressure).
    max_inflight_per_connection: int = 32
    notification_queue: int = 256
    notification_queue_chars: int = 1 << 20
    drain_timeout_s: float = 10.0
    close_timeout_s: float = 2.0


class HttpHook(Protocol):
    """Plain HTTP on the same port (the dashboard): consulted before the handshake checks."""

    def handle(self, request: Request, remote: object) -> Response | None:
        """A response for a request that is not a websocket upgrade, else None."""
        ...

    def page_socket(self, headers: Headers, remote: object) -> bool:
        """Whether an upgrade is the dashboard page's own websocket (cookie + own Origin)."""
        ...


class RpcServer:
    """Serves a Dispatcher over websockets on an already-bound listening socket."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        hub: NotificationHub,
        *,
        token: str,
        allowed_origins: Collection[str],
        limits: ServerLimits,
        http_hook: HttpHook | None = None,
    ) -> None:
        self._http = http_hook
        self._dispatcher = dispatcher
        self._hub = hub
        self._token = token.encode()
        self._origins = frozenset(allowed_origins)
        self._limits = limits
        self._server: Server | None = None
        self._admitted: set[ServerConnection] = set()
        self._draining: str | None = None
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._ids = itertools.count(1)
        self._closers: set[asyncio.Task[None]] = set()

    async def start(self, sock: socket.socket) -> None:
        self._server = await serve(
            self._handle,
            sock=sock,
            process_request=self._check_handshake,
            max_size=self._limits.max_message_bytes,
            # Loopback traffic gains nothing from compression and would pay CPU for it.
            compression=None,
            close_timeout=self._limits.close_timeout_s,
        )

    @property
    def connection_count(self) -> int:
        return len(self._live_admitted())

    # -- handshake -----------------------------------------------------------------------

    def _check_handshake(self, conn: ServerConnection, request: Request) -> Response | None:
        headers = request.headers
        page = False
        if self._http is not None:
            served = self._http.handle(request, conn.remote_address)
            if served is not None:
                return served
            # The dashboard's page carries its session cookie instead of the token; any
            # other client goes through the unchanged rules below.
            page = self._http.page_socket(headers, conn.remote_address)
        origins = headers.get_all("Origin")
        if not page and (len(origins) > 1 or (origins and origins[0] not in self._origins)):
            log.warning("refused a handshake from origin %r", origins)
            return conn.respond(http.HTTPStatus.FORBIDDEN, "Origin not allowed\n")
        if not page and not self._authorized(headers):
            response = conn.respond(http.HTTPStatus.UNAUTHORIZED, "Missing or invalid token\n")
            response.headers["WWW-Authenticate"] = 'Bearer realm="gepad"'
            return response
        if self._draining is not None:
            return conn.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "Shutting down\n")
        if len(self._live_admitted()) >= self._limits.max_connections:
            log.warning("refused a connection: %d open", self._limits.max_connections)
            return conn.respond(http.HTTPStatus.SERVICE_UNAVAILABLE, "Too many connections\n")
        # Counted from here, not from the handler, so concurrent handshakes cannot overshoot.
        self._admitted.add(conn)
        return None

    def _authorized(self, headers: Headers) -> bool:
        values = headers.get_all("Authorization")
        if len(values) != 1:
            return False
        scheme, _, credential = values[0].partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(credential.strip().encode(errors="surrogateescape"), self._token)

    def _live_admitted(self) -> set[ServerConnection]:
        # A connection admitted whose handshake then failed never reaches the handler; it is
        # dropped here once closed rather than leaking a slot.
        self._admitted = {c for c in self._admitted if c.state is not State.CLOSED}
        return self._admitted

    # -- connections ---------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        name = f"conn-{next(self._ids)}"
        session = Session(
            name,
            queue_limit=self._limits.notification_queue,
            queue_chars=self._limits.notification_queue_chars,
            on_overflow=lambda _session: self._drop(ws),
        )
        self._hub.add(session)
        pump = asyncio.create_task(self._pump(session, ws))
        slots = asyncio.Semaphore(self._limits.max_inflight_per_connection)
        calls: set[asyncio.Task[None]] = set()
        log.debug("%s open from %s", name, ws.remote_address)
        try:
            async for message in ws:
                await slots.acquire()
                task = asyncio.create_task(self._serve_one(ws, session, message, slots))
                calls.add(task)
                task.add_done_callback(calls.discard)
        except ConnectionClosed:
            pass
        finally:
            self._hub.remove(session)
            pump.cancel()
            # Calls already received still run to completion (a submitted write is carried
            # out even if its reply can no longer be delivered).
            if calls:
                await asyncio.wait(calls)
            self._admitted.discard(ws)
            log.debug("%s closed (%s)", name, ws.close_code)

    async def _serve_one(
        self,
        ws: ServerConnection,
        session: Session,
        message: str | bytes,
        slots: asyncio.Semaphore,
    ) -> None:
        self._inflight += 1
        self._idle.clear()
        try:
            if isinstance(message, bytes):
                outcome = self._dispatcher.handle_binary()
            else:
                outcome = await self._dispatcher.handle(message, unavailable=self._draining)
            session.apply(outcome.effects)
            if outcome.reply is not None:
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(outcome.reply)
        except Exception:
            log.exception("%s: unexpected error serving a message", session.name)
        finally:
            slots.release()
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    async def _pump(self, session: Session, ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await session.pump(ws.send)

    def _drop(self, ws: ServerConnection) -> None:
        task = asyncio.create_task(
            ws.close(CLOSE_SLOW_CONSUMER, "too slow: notification queue overflow")
        )
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    # -- shutdown ------------------------------------------------------------------------

    async def drain(self, reason: str) -> bool:
        """Stop accepting connections and calls; wait for calls in flight. True if all
        finished within the drain timeout."""
        self._draining = reason
        if self._server is not None:
            self._server.server.close()
        try:
            async with asyncio.timeout(self._limits.drain_timeout_s):
                await self._idle.wait()
        except TimeoutError:
            log.error(
                "%d call(s) still running after %.0f s",
                self._inflight,
                self._limits.drain_timeout_s,
            )
            return False
        return True

    async def close(self) -> None:
        """Close every connection (1001 going away) and wait for their handlers."""
        if self._server is None:
            return
        self._server.close()
        try:
            async with asyncio.timeout(self._limits.drain_timeout_s):
                await self._server.wait_closed()
        except TimeoutError:
            log.error("connections did not close in time")
