"""From one inbound text message to its reply text and its effects on the connection.

The dispatcher owns JSON-RPC semantics (batches, notifications, error mapping) and calls
method handlers; it never touches a socket. Handlers that change the connection's state
(subscriptions) return `Effect`s that the transport applies before sending the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from gepad.server._errors import map_exception
from gepad.server._protocol import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    UNAVAILABLE,
    Invalid,
    Message,
    Request,
    RpcError,
    assemble,
    error_reply,
    parse,
    result_reply,
)

__all__ = ["Dispatcher", "Effect", "MethodSpec", "Outcome", "Result", "Subscribe", "params_error"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Add components to the connection's subscriptions; None means every component."""

    components: frozenset[str] | None


Effect = Subscribe


@dataclass(frozen=True, slots=True)
class Result:
    """A handler's return value when it also has effects on the connection."""

    value: Any
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    reply: str | None
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """`parse_params` turns the raw params object into a typed value (or raises
    ValidationError/RpcError); `run` does the work and returns a JSON-ready value."""

    name: str
    parse_params: Callable[[dict[str, Any]], Any]
    run: Callable[[Any], Awaitable[Any]]


@dataclass(slots=True)
class _Collected:
    replies: list[dict[str, Any] | None] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)


class Dispatcher:
    def __init__(self, methods: Mapping[str, MethodSpec]) -> None:
        self._methods = dict(methods)

    @property
    def method_names(self) -> list[str]:
        return sorted(self._methods)

    async def handle(self, text: str, *, unavailable: str | None = None) -> Outcome:
        """Process one text message. With `unavailable` set (shutting down), every call is
        answered with -32003 and that reason, and nothing runs."""
        message = parse(text)
        collected = _Collected()
        # Batch elements run one after another: a batch is not a way around the
        # per-connection concurrency limit.
        for item in message.items:
            if isinstance(item, Invalid):
                collected.replies.append(item.reply)
            elif unavailable is not None:
                err = RpcError(UNAVAILABLE, unavailable)
                collected.replies.append(_reply_for(item, err))
            else:
                await self._call(item, collected)
        return Outcome(assemble(message, collected.replies), tuple(collected.effects))

    def handle_binary(self) -> Outcome:
        reply = error_reply(
            None, INVALID_REQUEST, "invalid request: binary frames are not supported; send text"
        )
        return Outcome(assemble(Message((Invalid(reply),), False), [reply]))

    async def _call(self, request: Request, collected: _Collected) -> None:
        spec = self._methods.get(request.method)
        if spec is None:
            err = RpcError(METHOD_NOT_FOUND, f"method not found: {request.method!r}")
            collected.replies.append(_reply_for(request, err))
            return
        try:
            params = spec.parse_params(request.params)
            value = await spec.run(params)
        except ValidationError as exc:
            collected.replies.append(_reply_for(request, params_error(exc)))
            return
        except RpcError as exc:
            collected.replies.append(_reply_for(request, exc))
            return
        except Exception as exc:
            mapped = map_exception(exc)
            if mapped is None:
                log.exception("internal error in %s", request.method)
                mapped = RpcError(INTERNAL_ERROR, "internal error (see the daemon log)")
            collected.replies.append(_reply_for(request, mapped))
            return
        if isinstance(value, Result):
            collected.effects.extend(value.effects)
            value = value.value
        collected.replies.append(None if request.notification else result_reply(request.id, value))


def _reply_for(request: Request, err: RpcError) -> dict[str, Any] | None:
    if request.notification:
        return None
    return error_reply(request.id, err.code, err.message, err.data)


def params_error(exc: ValidationError, *, prefix: tuple[str | int, ...] = ()) -> RpcError:
    """-32602 whose message names every offending field."""
    errors: list[dict[str, str]] = []
    for detail in exc.errors(include_url=False):
        loc = (*prefix, *detail["loc"])
        name = ".".join(str(part) for part in loc) or "params"
        if detail["type"] == "extra_forbidden":
            text = "unknown field"
        elif detail["type"] == "missing":
            text = "field required"
        else:
            text = detail["msg"][:1].lower() + detail["msg"][1:]
        errors.append({"field": name, "message": text})
    summary = "; ".join(f"{e['field']!r}: {e['message']}" for e in errors)
    return RpcError(INVALID_PARAMS, f"invalid params: {summary}", {"errors": errors})
