"""Every JSON-RPC method and its error paths, through a real websocket to a real daemon."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from gepad_daemon_harness import Daemon, rpc, start

KINDS = ("thumbs_down", "thumbs_up", "correction", "comment", "test_result", "compile_result")
PROMPT_FIELDS = {
    "component",
    "version",
    "text",
    "score",
    "source",
    "created_at",
    "pinned",
    "pending",
}
EXAMPLE_FIELDS = {
    "id", "kind", "component", "workspace", "file", "language", "context", "output", "corrected",
    "comment", "outcome", "generation_id", "prompt_version", "split", "retired", "created_at",
    "source", "truncated",
}  # fmt: skip


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = start(tmp_path_factory.mktemp("methods") / "home")
    yield d
    assert d.stop() == 0, d.stderr()


def fields_named(error: dict[str, Any]) -> set[str]:
    return {e["field"] for e in error["data"]["errors"]}


# -- status and prompts ---------------------------------------------------------------------


async def test_status_get(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        status = await c.call("status.get")
    assert status["pid"] == daemon.pid and status["ws_url"] == daemon.ws_url
    assert status["version"] == daemon.info["version"]
    assert status["started_at"] == daemon.info["started_at"] and status["uptime_s"] >= 0
    assert status["home"] == str(daemon.home)
    assert set(KINDS) <= set(status["examples"])
    assert status["examples_total"] == sum(status["examples"].values())
    assert status["swap_policy"] == "auto"
    assert status["optimizer"]["state"] == "disabled"
    assert "not running" in status["optimizer"]["reason"]
    general = next(s for s in status["components"] if s["component"] == "general")
    assert set(general) == PROMPT_FIELDS


async def test_prompt_get_defaults_to_general_seed(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        state = await c.call("prompt.get")
        explicit = await c.call("prompt.get", {"component": "general"})
    assert set(state) == PROMPT_FIELDS and state == explicit
    assert state["component"] == "general" and state["text"].strip()
    assert state["pinned"] is False and state["pending"] is None


async def test_prompt_get_unknown_and_invalid_component(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        missing = await c.error("prompt.get", {"component": "nosuch"})
        invalid = await c.error("prompt.get", {"component": "Not Valid!"})
        extra = await c.error("prompt.get", {"component": "general", "verbose": True})
    assert missing["code"] == -32001 and "nosuch" in missing["message"]
    assert invalid["code"] == -32602 and fields_named(invalid) == {"component"}
    assert "'component'" in invalid["message"]
    assert extra["code"] == -32602 and fields_named(extra) == {"verbose"}


async def test_prompt_set_history_rollback(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        first = await c.call("prompt.set", {"component": "t-hist", "text": "first text"})
        second = await c.call("prompt.set", {"component": "t-hist", "text": "second text"})
        assert (first["version"], second["version"]) == (1, 2)
        assert second["source"] == "user-edit" and second["text"] == "second text"
        assert (await c.call("prompt.get", {"component": "t-hist"})) == second

        history = await c.call("prompt.history", {"component": "t-hist"})
        assert history["component"] == "t-hist"
        assert [v["version"] for v in history["versions"]] == [2, 1]
        assert set(history["versions"][0]) == {
            "version", "text", "score", "source", "candidate_id", "status", "created_at"
        }  # fmt: skip
        assert history["versions"][0]["status"] == "current"
        one = await c.call("prompt.history", {"component": "t-hist", "limit": 1})
        assert [v["version"] for v in one["versions"]] == [2]

        rolled = await c.call("prompt.rollback", {"component": "t-hist", "version": 1})
        assert rolled["version"] == 3 and rolled["source"] == "rollback"
        assert rolled["text"] == "first text"

        no_version = await c.error("prompt.rollback", {"component": "t-hist", "version": 99})
        to_current = await c.error("prompt.rollback", {"component": "t-hist", "version": 3})
        no_component = await c.error("prompt.rollback", {"component": "zzz", "version": 1})
        bad_limit = await c.error("prompt.history", {"component": "t-hist", "limit": 0})
        empty = await c.error("prompt.set", {"component": "t-hist", "text": "   "})
        missing = await c.error("prompt.set", {"component": "t-hist"})
    assert no_version["code"] == -32001
    assert to_current["code"] == -32002
    assert no_component["code"] == -32001
    assert bad_limit["code"] == -32602 and fields_named(bad_limit) == {"limit"}
    assert empty["code"] == -32602 and fields_named(empty) == {"text"}
    assert (
        missing["code"] == -32602 and missing["message"] == "invalid params: 'text': field required"
    )


async def test_prompt_pin_and_unpin(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        await c.call("prompt.set", {"component": "t-pin", "text": "pin me"})
        pinned = await c.call("prompt.pin", {"component": "t-pin", "pinned": True})
        assert pinned["pinned"] is True
        assert (await c.call("prompt.get", {"component": "t-pin"}))["pinned"] is True
        unpinned = await c.call("prompt.pin", {"component": "t-pin", "pinned": False})
        assert unpinned["pinned"] is False
        not_bool = await c.error("prompt.pin", {"component": "t-pin", "pinned": "yes"})
        unknown = await c.error("prompt.pin", {"component": "t-nope", "pinned": True})
    assert not_bool["code"] == -32602 and fields_named(not_bool) == {"pinned"}
    assert unknown["code"] == -32001


async def test_prompt_approve_without_pending_is_a_conflict(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        await c.call("prompt.set", {"component": "t-appr", "text": "v1"})
        conflict = await c.error("prompt.approve", {"component": "t-appr", "version": 1})
        missing = await c.error("prompt.approve", {"component": "t-appr", "version": 7})
        bad = await c.error("prompt.approve", {"component": "t-appr", "version": -1})
    assert conflict["code"] == -32002 and "pending" in conflict["message"]
    assert missing["code"] == -32001
    assert bad["code"] == -32602 and fields_named(bad) == {"version"}


# -- feedback, examples, generations --------------------------------------------------------

FULL_KIND_PARAMS: dict[str, dict[str, Any]] = {
    "thumbs_down": {"comment": "too verbose"},
    "thumbs_up": {},
    "correction": {"corrected": "x = 2", "comment": "off by one"},
    "comment": {"comment": "use pathlib"},
    "test_result": {"test": "test_add", "passed": False, "message": "assert 1 == 2"},
    "compile_result": {"tool": "mypy", "ok": False, "diagnostics": "a.py:1: error"},
}


@pytest.mark.parametrize("kind", KINDS)
async def test_feedback_submit_every_kind(daemon: Daemon, kind: str) -> None:
    params = {
        "kind": kind,
        "component": "general",
        "workspace": "/w",
        "file": "file:///w/a.py",
        "language": "python",
        "context": f"context for {kind}",
        "output": "x = 1",
        "prompt_version": 1,
        **FULL_KIND_PARAMS[kind],
    }
    async with rpc(daemon) as c:
        first = await c.call("feedback.submit", params)
        again = await c.call("feedback.submit", params)
        listed = await c.call("examples.list", {"kind": kind, "limit": 5})
    assert first["duplicate"] is False and first["example_id"] >= 1
    assert again == {"example_id": first["example_id"], "duplicate": True}
    row = next(e for e in listed["examples"] if e["id"] == first["example_id"])
    assert set(row) == EXAMPLE_FIELDS
    assert row["kind"] == kind and row["file"] == "file:///w/a.py" and row["retired"] is False
    assert row["context"] == f"context for {kind}" and row["prompt_version"] == 1
    assert row["source"] is None  # a client that does not say which it is
    if kind == "test_result":
        assert row["outcome"] == {"test": "test_add", "passed": False, "message": "assert 1 == 2"}
    if kind == "compile_result":
        assert row["outcome"] == {"tool": "mypy", "ok": False, "diagnostics": "a.py:1: error"}
    if kind == "correction":
        assert (row["corrected"], row["comment"]) == ("x = 2", "off by one")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "correction"}, "corrected"),
        ({"kind": "comment"}, "comment"),
        ({"kind": "test_result", "test": "t"}, "passed"),
        ({"kind": "test_result", "test": "t", "passed": "yes"}, "passed"),
        ({"kind": "compile_result", "ok": True}, "tool"),
        ({"kind": "thumbs_up", "comment": "not a thumbs_up field"}, "comment"),
        ({"kind": "thumbs_down", "rating": 3}, "rating"),
        ({"kind": "thumbs_down", "component": "Bad Name"}, "component"),
        ({"kind": "thumbs_down", "generation_id": "7"}, "generation_id"),
        ({"kind": "thumbs_down", "output": 5}, "output"),
        ({"kind": "sideways"}, "kind"),
        ({"comment": "no kind"}, "kind"),
    ],
)
async def test_feedback_submit_bad_params_name_the_field(
    daemon: Daemon, params: dict[str, Any], field: str
) -> None:
    async with rpc(daemon) as c:
        error = await c.error("feedback.submit", params)
    assert error["code"] == -32602
    assert field in fields_named(error) and f"'{field}'" in error["message"]


async def test_feedback_strings_are_capped(daemon: Daemon) -> None:
    big = "x" * (256 * 1024 + 1)
    async with rpc(daemon) as c:
        error = await c.error("feedback.submit", {"kind": "thumbs_down", "context": big})
    assert error["code"] == -32602 and fields_named(error) == {"context"}
    assert "262144" in error["message"]


async def test_generation_record_and_link(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        gen = await c.call(
            "generation.record",
            {"output": "def f(): pass", "instruction": "write f", "language": "python",
             "model": "ollama/qwen2.5-coder:7b", "prompt_version": 1},
        )  # fmt: skip
        assert isinstance(gen["generation_id"], int) and gen["generation_id"] >= 1
        linked = await c.call(
            "feedback.submit",
            {
                "kind": "correction",
                "generation_id": gen["generation_id"],
                "corrected": "def f(): ...",
            },
        )
        rows = (await c.call("examples.list", {"kind": "correction", "limit": 50}))["examples"]
        dangling = await c.error(
            "feedback.submit", {"kind": "thumbs_down", "generation_id": 10_000_000}
        )
        no_output = await c.error("generation.record", {"instruction": "x"})
    row = next(r for r in rows if r["id"] == linked["example_id"])
    assert row["generation_id"] == gen["generation_id"]
    assert dangling["code"] == -32001
    assert no_output["code"] == -32602 and fields_named(no_output) == {"output"}


async def test_examples_list_limit_order_and_validation(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        ids = [
            (await c.call("feedback.submit", {"kind": "comment", "comment": f"note {i}"}))[
                "example_id"
            ]
            for i in range(3)
        ]
        newest = await c.call("examples.list", {"limit": 2})
        default = await c.call("examples.list")
        bad_kind = await c.error("examples.list", {"kind": "praise"})
        too_many = await c.error("examples.list", {"limit": 1_000_000})
    assert [e["id"] for e in newest["examples"]] == [ids[2], ids[1]]
    assert len(default["examples"]) <= 50 and default["examples"][0]["id"] == ids[2]
    assert bad_kind["code"] == -32602 and fields_named(bad_kind) == {"kind"}
    assert too_many["code"] == -32602 and fields_named(too_many) == {"limit"}


# -- subscriptions --------------------------------------------------------------------------


async def test_prompt_changed_reaches_every_subscriber(daemon: Daemon) -> None:
    async with (
        rpc(daemon) as a,
        rpc(daemon) as b,
        rpc(daemon) as everything,
        rpc(daemon) as other,
        rpc(daemon) as writer,
    ):
        await writer.call("prompt.set", {"component": "t-sub", "text": "start"})
        await writer.call("prompt.set", {"component": "t-other", "text": "start"})
        for sub in (a, b):
            assert (await sub.call("prompt.subscribe", {"components": ["t-sub"]})) == {
                "subscribed": ["t-sub"],
                "all": False,
            }
        everything_reply = await everything.call("prompt.subscribe", {"components": None})
        assert everything_reply["all"] is True and "t-sub" in everything_reply["subscribed"]
        await other.call("prompt.subscribe", {"components": ["t-other"]})

        state = await writer.call("prompt.set", {"component": "t-sub", "text": "changed!"})
        for sub in (a, b, everything):
            note = await sub.next_notification()
            assert note["params"] == state and "id" not in note
        # `other` subscribed to t-other only: the first thing it sees is t-other's change.
        other_state = await writer.call("prompt.set", {"component": "t-other", "text": "hi"})
        assert (await other.next_notification())["params"] == other_state
        pinned = await writer.call("prompt.pin", {"component": "t-sub", "pinned": True})
        assert (await a.next_notification())["params"] == pinned


async def test_subscribe_defaults_to_general(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        assert (await c.call("prompt.subscribe")) == {"subscribed": ["general"], "all": False}
        bad = await c.error("prompt.subscribe", {"components": ["ok", "NOT OK"]})
    assert bad["code"] == -32602 and fields_named(bad) == {"components.1"}


# -- JSON-RPC framing -----------------------------------------------------------------------


async def test_parse_error_and_invalid_requests(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        parse = await c.raw("{not json")
        assert parse["error"]["code"] == -32700 and parse["id"] is None
        cases: list[tuple[Any, Any]] = [
            ([], None),
            (42, None),
            ({"method": "status.get", "id": 1}, 1),
            ({"jsonrpc": "2.0", "id": 2}, 2),
            ({"jsonrpc": "2.0", "method": 5, "id": 3}, 3),
            ({"jsonrpc": "2.0", "method": "status.get", "id": {"x": 1}}, None),
            ({"jsonrpc": "2.0", "method": "status.get", "id": True}, None),
            ({"jsonrpc": "2.0", "method": "status.get", "id": 4, "extra": 1}, 4),
            ({"jsonrpc": "2.0", "method": "status.get", "params": 3, "id": 5}, 5),
        ]
        for bad, expected_id in cases:
            reply = await c.raw(json.dumps(bad))
            assert reply["error"]["code"] == -32600, (bad, reply)
            assert reply["id"] == expected_id, (bad, reply)
        call = {"jsonrpc": "2.0", "method": "prompt.get", "params": ["general"], "id": 9}
        positional = await c.raw(json.dumps(call))
        assert positional["error"]["code"] == -32602 and positional["id"] == 9
        nan = await c.raw('{"jsonrpc": "2.0", "method": "status.get", "id": NaN}')
        assert nan["error"]["code"] == -32700
        binary = await c.raw(b'{"jsonrpc": "2.0", "method": "status.get", "id": 1}')
        assert binary["error"]["code"] == -32600 and "binary" in binary["error"]["message"]


async def test_unknown_method_names_it(daemon: Daemon) -> None:
    async with rpc(daemon) as c:
        error = await c.error("prompt.explode", {"component": "general"})
    assert error["code"] == -32601 and "prompt.explode" in error["message"]


async def test_batch_and_notifications(daemon: Daemon) -> None:
    batch = [
        {"jsonrpc": "2.0", "method": "prompt.get", "id": "a"},
        {"jsonrpc": "2.0", "method": "no.such", "id": "b"},
        {"jsonrpc": "2.0", "method": "prompt.get"},  # a notification: no reply
        7,
    ]
    async with rpc(daemon) as c:
        replies = await c.raw(json.dumps(batch))
        assert [r["id"] for r in replies] == ["a", "b", None]
        assert "result" in replies[0] and replies[1]["error"]["code"] == -32601
        assert replies[2]["error"]["code"] == -32600
        # A batch of notifications gets no reply at all: the next reply is the next call's.
        await c.raw(json.dumps([{"jsonrpc": "2.0", "method": "status.get"}]), expect_reply=False)
        await c.raw(json.dumps({"jsonrpc": "2.0", "method": "no.such"}), expect_reply=False)
        assert (await c.request("prompt.get"))["result"]["component"] == "general"


async def test_pipelined_calls_on_one_connection(daemon: Daemon) -> None:
    async with daemon.connect() as ws:
        for i in range(40):
            msg = {"jsonrpc": "2.0", "method": "feedback.submit", "id": i,
                   "params": {"kind": "comment", "comment": f"pipelined {i}"}}  # fmt: skip
            await ws.send(json.dumps(msg))
        replies = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(40)]
    assert sorted(r["id"] for r in replies) == list(range(40))
    ids = [r["result"]["example_id"] for r in replies]
    assert len(set(ids)) == 40
