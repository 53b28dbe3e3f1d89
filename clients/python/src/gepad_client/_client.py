"""`GepadClient`: one websocket connection to the daemon, JSON-RPC 2.0 over it.

Calls may run concurrently over the one connection: each gets its own id and a future that
the single reader task resolves when the matching reply arrives. Notifications
(`prompt.changed`) go to every `Subscription` whose components match.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from gepad_client._discovery import discover
from gepad_client._errors import (
    CallTimeout,
    ConnectError,
    ConnectionLost,
    GepadClientError,
    RequestTooLarge,
    RpcError,
)
from gepad_client._loopback import ALLOW_NON_LOOPBACK_ENV, is_loopback_ws_url, non_loopback_allowed
from gepad_client._subscription import Subscription
from gepad_client._types import (
    Example,
    ExamplesPage,
    FeedbackResult,
    GenerationResult,
    PromptHistory,
    PromptState,
    Status,
)

__all__ = ["GepadClient", "Subscription"]

_log = logging.getLogger(__name__)

# Replies such as `examples.list` can be far larger than the daemon's inbound limit.
_MAX_REPLY_BYTES = 256 * 1024 * 1024

_HTTP_REASONS = {
    401: "the daemon refused the token (HTTP 401); restart it or check {run}/token",
    403: "the daemon refused this Origin (HTTP 403); add it to allowed_origins in config.toml",
    503: "the daemon is at its connection limit (HTTP 503); raise max_connections or retry",
}


class _Connect:
    """What `GepadClient.connect()` returns: awaitable, or an async context manager."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._client: GepadClient | None = None

    def __await__(self) -> Generator[Any, None, GepadClient]:
        return GepadClient.open(**self._kwargs).__await__()

    async def __aenter__(self) -> GepadClient:
        self._client = await GepadClient.open(**self._kwargs)
        return self._client

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.close()


class GepadClient:
    """A connection to the gepad daemon.

    ```python
    async with GepadClient.connect() as c:
        state = await c.get_prompt()
    ```
    """

    def __init__(
        self,
        ws: ClientConnection,
        *,
        timeout: float,
        ws_url: str,
        max_message_bytes: int | None = None,
    ) -> None:
        self._ws = ws
        self._timeout = timeout
        self.ws_url = ws_url
        # The daemon's inbound limit: a bigger request is refused here, with a message that
        # names the limit, instead of the daemon closing the connection (code 1009).
        self.max_message_bytes = max_message_bytes
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subscriptions: list[Subscription] = []
        self._lost: str | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read_loop())

    # -- opening and closing -------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        home: Path | None = None,
        *,
        timeout: float = 5.0,
        url: str | None = None,
        token: str | None = None,
        origin: str | None = None,
        allow_non_loopback: bool | None = None,
    ) -> _Connect:
        """Connect to the daemon found through `daemon.json` (or to `url` with `token`).

        `home` stands for `GEPAD_HOME`; without it the environment decides. `timeout` bounds
        the handshake and, by default, every call. The token is sent only to a loopback
        address unless `allow_non_loopback` is true (None: `GEPAD_ALLOW_NON_LOOPBACK`
        decides). Use with `async with` or `await`.
        """
        return _Connect(
            home=home,
            timeout=timeout,
            url=url,
            token=token,
            origin=origin,
            allow_non_loopback=allow_non_loopback,
        )

    @classmethod
    async def open(
        cls,
        home: Path | None = None,
        *,
        timeout: float = 5.0,
        url: str | None = None,
        token: str | None = None,
        origin: str | None = None,
        allow_non_loopback: bool | None = None,
    ) -> GepadClient:
        """Like `connect`, as a plain coroutine; the caller must `await client.close()`."""
        run_hint = "the runtime dir"
        limit: int | None = None
        if url is None:
            info = discover(home)
            url, token, run_hint = info.ws_url, info.token, str(info.runtime_dir)
            limit = info.max_message_bytes
        if allow_non_loopback is None:
            allow_non_loopback = non_loopback_allowed()
        if token and not allow_non_loopback and not is_loopback_ws_url(url):
            raise ConnectError(
                f"{url} is not a loopback address; gepad sends its token only to this machine "
                f"(set {ALLOW_NON_LOOPBACK_ENV}=true if the daemon really listens elsewhere)"
            )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            ws = await ws_connect(
                url,
                additional_headers=headers,
                origin=cast(Any, origin),
                open_timeout=timeout,
                max_size=_MAX_REPLY_BYTES,
                compression=None,
                proxy=None,
                user_agent_header="gepad-client",
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            reason = _HTTP_REASONS.get(status, f"the daemon refused the connection (HTTP {status})")
            raise ConnectError(f"{url}: {reason.format(run=run_hint)}") from None
        except InvalidURI as exc:
            raise ConnectError(f"{url!r} is not a websocket URL: {exc}") from None
        except TimeoutError:
            raise ConnectError(f"{url}: no handshake within {timeout} s") from None
        except (OSError, InvalidHandshake) as exc:
            raise ConnectError(f"cannot connect to {url}: {exc}") from None
        return cls(ws, timeout=timeout, ws_url=url, max_message_bytes=limit)

    async def close(self) -> None:
        """Close the connection; waiting calls fail with `ConnectionLost`."""
        await self._ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._lost is not None

    # -- the JSON-RPC layer ----------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Call `method` with named `params`; returns the `result`, raises `RpcError`."""
        request_id = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = dict(params)
        encoded = json.dumps(message)
        if self.max_message_bytes is not None:
            # len(str) <= len(utf-8 bytes): encode only when the cheap bound does not settle it.
            size = len(encoded)
            if size <= self.max_message_bytes < size * 4:
                size = len(encoded.encode("utf-8"))
            if size > self.max_message_bytes:
                raise RequestTooLarge(method, size, self.max_message_bytes)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # Registered before the check: a reader that ends later fails this future itself.
        self._pending[request_id] = future
        limit = self._timeout if timeout is None else timeout
        try:
            if self._lost is not None:
                raise ConnectionLost(self._lost)
            async with asyncio.timeout(limit):
                try:
                    await self._ws.send(encoded)
                except ConnectionClosed as exc:
                    raise ConnectionLost(_describe_close(exc)) from None
                return await future
        except TimeoutError:
            raise CallTimeout(f"{method}: no reply within {limit} s") from None
        finally:
            self._pending.pop(request_id, None)

    async def _read_loop(self) -> None:
        reason = "the connection is closed"
        try:
            async for raw in self._ws:
                self._dispatch(raw)
        except ConnectionClosed as exc:
            reason = _describe_close(exc)
        except Exception as exc:  # the reader must always fail the waiters, never vanish
            _log.exception("gepad client reader failed")
            reason = f"the client reader failed: {exc}"
        else:
            code = self._ws.close_code
            if code is not None and code != 1000:
                reason = f"the daemon closed the connection (code {code} {self._ws.close_reason})"
        finally:
            self._lost = reason
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionLost(reason))
            for sub in self._subscriptions:
                sub._end()

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            _log.warning("ignoring a message from the daemon that is not JSON")
            return
        for item in message if isinstance(message, list) else [message]:
            if isinstance(item, dict):
                self._dispatch_one(item)

    def _dispatch_one(self, item: dict[str, Any]) -> None:
        if "id" not in item:
            if item.get("method") == "prompt.changed" and isinstance(item.get("params"), dict):
                for sub in list(self._subscriptions):
                    sub._deliver(item["params"])
            return
        future = self._pending.get(item["id"]) if isinstance(item["id"], int) else None
        if future is None or future.done():
            if item.get("error"):
                _log.warning("unmatched error reply from the daemon: %s", item["error"])
            return
        error = item.get("error")
        if isinstance(error, dict):
            future.set_exception(
                RpcError(
                    int(error.get("code", -32603)),
                    str(error.get("message", "unknown error")),
                    error.get("data"),
                )
            )
        else:
            future.set_result(item.get("result"))

    def _drop_subscription(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(sub)

    # -- typed methods ---------------------------------------------------------------------

    async def get_status(self) -> Status:
        return cast(Status, await self.call("status.get"))

    async def get_prompt(self, component: str = "general") -> PromptState:
        return cast(PromptState, await self.call("prompt.get", {"component": component}))

    async def prompt_history(self, component: str = "general", *, limit: int = 20) -> PromptHistory:
        params = {"component": component, "limit": limit}
        return cast(PromptHistory, await self.call("prompt.history", params))

    async def set_prompt(self, text: str, *, component: str = "general") -> PromptState:
        params = {"component": component, "text": text}
        return cast(PromptState, await self.call("prompt.set", params))

    async def rollback(self, version: int, *, component: str = "general") -> PromptState:
        params = {"component": component, "version": version}
        return cast(PromptState, await self.call("prompt.rollback", params))

    async def pin(self, pinned: bool = True, *, component: str = "general") -> PromptState:
        params = {"component": component, "pinned": pinned}
        return cast(PromptState, await self.call("prompt.pin", params))

    async def approve(self, version: int, *, component: str = "general") -> PromptState:
        params = {"component": component, "version": version}
        return cast(PromptState, await self.call("prompt.approve", params))

    async def submit_feedback(self, kind: str, **fields: Any) -> FeedbackResult:
        """Record feedback of `kind` (`thumbs_down`, `correction`, ...; hyphens are accepted).

        Fields that are None are left out, so optional arguments can be passed through.
        """
        params = {k: v for k, v in fields.items() if v is not None}
        params["kind"] = kind.replace("-", "_")
        return cast(FeedbackResult, await self.call("feedback.submit", params))

    async def list_examples(
        self, *, limit: int = 50, kind: str | None = None, cursor: str | None = None
    ) -> ExamplesPage:
        """One page, newest first; a page may hold fewer than `limit` (the reply is capped):
        follow `next_cursor` for more. Long text fields are cut (`truncated`)."""
        params: dict[str, Any] = {"limit": limit}
        if kind is not None:
            params["kind"] = kind.replace("-", "_")
        if cursor is not None:
            params["cursor"] = cursor
        return cast(ExamplesPage, await self.call("examples.list", params))

    async def get_example(self, example_id: int) -> Example:
        """One example with every field whole."""
        return cast(Example, await self.call("examples.get", {"id": example_id}))

    async def record_generation(self, output: str, **fields: Any) -> GenerationResult:
        params = {k: v for k, v in fields.items() if v is not None}
        params["output"] = output
        return cast(GenerationResult, await self.call("generation.record", params))

    async def subscribe(self, components: Sequence[str] | None = ("general",)) -> Subscription:
        """Subscribe to `prompt.changed` for `components` (None: all); returns the iterator.

        The subscription is registered before the request is sent, so no notification that
        follows the daemon's reply can be missed.
        """
        wanted = None if components is None else frozenset(components)
        sub = Subscription(self, wanted)
        self._subscriptions.append(sub)
        try:
            params = {"components": None if components is None else list(components)}
            result = await self.call("prompt.subscribe", params)
        except GepadClientError:
            self._drop_subscription(sub)
            raise
        if isinstance(result, dict) and isinstance(result.get("subscribed"), list):
            sub.subscribed = [str(c) for c in result["subscribed"]]
        return sub


def _describe_close(exc: ConnectionClosed) -> str:
    frame = exc.rcvd or exc.sent
    if frame is None:
        return "the connection to the daemon was lost"
    if frame.code == 1009:
        return "the daemon closed the connection: a message was too big (code 1009)"
    return f"the connection to the daemon closed (code {frame.code} {frame.reason})".rstrip()
