"""The sans-I/O layers in-process: JSON-RPC framing and the dispatcher, no sockets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from gepad.errors import InvalidFieldError, NotFoundError, PromptVersionError, UnknownComponentError
from gepad.server import Dispatcher, MethodSpec, Result, RpcError, Subscribe
from gepad.server._protocol import Invalid, Request, parse


class EchoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    value: int
    label: str = "x"


async def echo(p: EchoParams) -> dict[str, Any]:
    return {"value": p.value, "label": p.label}


async def subscribe(_: EchoParams) -> Result:
    return Result({"ok": True}, (Subscribe(frozenset({"general"})),))


def raiser(exc: Exception) -> MethodSpec:
    async def run(_: Any) -> Any:
        raise exc

    return MethodSpec("boom", lambda params: params, run)


def dispatcher(*extra: MethodSpec) -> Dispatcher:
    specs = [
        MethodSpec("echo", EchoParams.model_validate, echo),
        MethodSpec("sub", EchoParams.model_validate, subscribe),
        *extra,
    ]
    return Dispatcher({s.name: s for s in specs})


async def reply_to(d: Dispatcher, message: Any, **kwargs: Any) -> Any:
    text = message if isinstance(message, str) else json.dumps(message)
    outcome = await d.handle(text, **kwargs)
    return None if outcome.reply is None else json.loads(outcome.reply)


async def test_result_and_named_params() -> None:
    reply = await reply_to(
        dispatcher(), {"jsonrpc": "2.0", "method": "echo", "params": {"value": 3}, "id": 7}
    )
    assert reply == {"jsonrpc": "2.0", "result": {"value": 3, "label": "x"}, "id": 7}


async def test_params_errors_name_every_field() -> None:
    d = dispatcher()
    reply = await reply_to(
        d, {"jsonrpc": "2.0", "method": "echo", "params": {"label": 5, "extra": 1}, "id": "a"}
    )
    error = reply["error"]
    assert error["code"] == -32602 and reply["id"] == "a"
    assert {e["field"] for e in error["data"]["errors"]} == {"value", "label", "extra"}
    assert "'value': field required" in error["message"]
    assert "'extra': unknown field" in error["message"]


async def test_effects_are_returned_not_applied() -> None:
    outcome = await dispatcher().handle(
        json.dumps({"jsonrpc": "2.0", "method": "sub", "params": {"value": 1}, "id": 1})
    )
    assert outcome.effects == (Subscribe(frozenset({"general"})),)
    assert json.loads(outcome.reply or "")["result"] == {"ok": True}


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (UnknownComponentError("x"), -32001),
        (NotFoundError("example 3 not found"), -32001),
        (PromptVersionError("general", 2, "is not pending"), -32002),
        (InvalidFieldError("text", "must not be empty"), -32602),
        (RpcError(-32003, "no model configured"), -32003),
        (ZeroDivisionError("secret detail"), -32603),
    ],
)
async def test_exceptions_map_to_codes(
    exc: Exception, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    reply = await reply_to(dispatcher(raiser(exc)), {"jsonrpc": "2.0", "method": "boom", "id": 1})
    assert reply["error"]["code"] == code
    if code == -32603:
        # Logged with its traceback, but nothing of it reaches the client.
        assert "secret detail" not in json.dumps(reply)
        assert "ZeroDivisionError" in caplog.text
    if code == -32602:
        assert reply["error"]["data"]["errors"] == [
            {"field": "text", "message": "must not be empty"}
        ]


async def test_unavailable_refuses_every_call_without_running_it() -> None:
    ran: list[int] = []

    async def run(_: Any) -> int:
        ran.append(1)
        return 1

    d = dispatcher(MethodSpec("count", lambda p: p, run))
    batch = [{"jsonrpc": "2.0", "method": "count", "id": i} for i in range(3)]
    replies = await reply_to(d, batch, unavailable="shutting down")
    assert [r["error"]["code"] for r in replies] == [-32003] * 3 and ran == []


async def test_notifications_run_but_get_no_reply() -> None:
    ran: list[Any] = []

    async def run(p: Any) -> None:
        ran.append(p)

    d = dispatcher(MethodSpec("note", lambda p: p, run))
    assert await reply_to(d, {"jsonrpc": "2.0", "method": "note", "params": {"a": 1}}) is None
    assert await reply_to(d, {"jsonrpc": "2.0", "method": "missing"}) is None
    assert ran == [{"a": 1}]


def test_parse_shapes() -> None:
    empty = parse("[]")
    assert not empty.batch and isinstance(empty.items[0], Invalid)
    assert empty.items[0].reply is not None and empty.items[0].reply["error"]["code"] == -32600
    single = parse('{"jsonrpc":"2.0","method":"m","id":null}')
    assert single.items == (Request(id=None, notification=False, method="m", params={}),)
    assert parse('{"jsonrpc":"2.0","method":"m"}').items[0].notification  # type: ignore[union-attr]
    too_big = parse(json.dumps([{"jsonrpc": "2.0", "method": "m", "id": i} for i in range(101)]))
    assert isinstance(too_big.items[0], Invalid) and not too_big.batch
    deep = parse("[" * 100_000 + "]" * 100_000)
    assert isinstance(deep.items[0], Invalid)
    assert deep.items[0].reply is not None and deep.items[0].reply["error"]["code"] == -32700


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_parse_never_raises(text: str) -> None:
    message = parse(text)
    assert message.items
    for item in message.items:
        if isinstance(item, Invalid) and item.reply is not None:
            assert item.reply["jsonrpc"] == "2.0" and "error" in item.reply
            json.dumps(item.reply, allow_nan=False)
