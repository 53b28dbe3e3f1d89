"""bench/simserver.py as a real subprocess, over real HTTP (and once through litellm)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from gepad_simserver_testing import (
    PYTHON_STYLE,
    LocalRoles,
    SimProc,
    run_simserver,
    start_simserver,
    stop_simserver,
)

from gepa_engine import ReflectiveRecord, parse_instruction_block
from gepa_engine._templates import render_condense, render_merge, render_reflection
from gepad_sim import (
    APOLOGY,
    JUDGE_AVOIDS_ALL,
    UNKNOWN_TASK_OUTPUT,
    load_scenario,
    over_specific_line,
)

SCENARIO = load_scenario(PYTHON_STYLE)
RULES = SCENARIO.rules
TASKS = SCENARIO.tasks
ALL_RULES_PROMPT = "\n".join(r.statement for r in RULES)
MAX_CHARS = 10_000


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProc]:
    server = start_simserver(tmp_path_factory.mktemp("simserver"), seed=0)
    yield server
    code, out, err = stop_simserver(server)
    assert code == 0, err
    assert out == "", "the server prints nothing on stdout"


@pytest.fixture
def server(module_server: SimProc) -> SimProc:
    module_server.reset(0)
    return module_server


def judge_prompt(**sections: str) -> str:
    titles = {
        "complaint": "User's complaint",
        "correction": "User's correction",
        "failure": "Failure message",
        "comment": "User's comment",
        "new": "New output",
    }
    return "\n\n".join(f"## {titles[k]}\n{v}" for k, v in sections.items())


def task_with_rules() -> tuple[Any, Any]:
    task = next(t for t in TASKS if t.rules)
    return task, next(r for r in RULES if r.id == task.rules[0])


# -- roles --------------------------------------------------------------------------------------


def test_task_answers_equal_the_local_roles_call_for_call(server: SimProc) -> None:
    server.reset(11)
    local = LocalRoles(11)
    prompts = [
        SCENARIO.seed_prompt,
        ALL_RULES_PROMPT,
        ALL_RULES_PROMPT + "\n" + over_specific_line(TASKS[3].input),
    ]
    outputs = []
    for i in range(15):
        prompt, task = prompts[i % 3], TASKS[i % len(TASKS)]
        # The ways clients send the same request: prefixed model, content parts, padding.
        model = "openai/sim-task" if i % 2 else "sim-task"
        user: Any = [{"type": "text", "text": task.input}] if i % 5 == 0 else f" {task.input}\n"
        got = server.chat(model, user, system=prompt).content
        assert got == local.answer(model, f" {task.input}\n" if i % 5 else task.input, prompt), i
        outputs.append(got)
    assert len(set(outputs)) > 3, "the calls differ, so equality is a real check"
    stats = server.stats()
    assert stats["rollouts"] == 15 and stats["by_role"]["task"] == 15
    assert stats["by_status"] == {"200": 15} and stats["unknown_tasks"] == 0


def test_unknown_task_input_draws_nothing(server: SimProc) -> None:
    local = LocalRoles(0)
    reply = server.chat("sim-task", "Write me a haiku about autumn.", system=ALL_RULES_PROMPT)
    assert reply.content == UNKNOWN_TASK_OUTPUT
    task = TASKS[0]
    assert server.chat("sim-task", task.input, system=ALL_RULES_PROMPT).content == (
        local.answer("sim-task", task.input, ALL_RULES_PROMPT)
    )
    stats = server.stats()
    assert (stats["unknown_tasks"], stats["rollouts"]) == (1, 1)


def test_reflect_on_engine_prompt_extracts_the_complained_rule(server: SimProc) -> None:
    task, rule = task_with_rules()
    output = f"followed: none; missed: {rule.id}"
    prompt = render_reflection(
        "Be helpful.",
        [ReflectiveRecord("e1", task.input, output, f"Not quite. {rule.feedback}", 0.0)],
    )
    system = "You improve prompts."
    # A seed whose reflection extracts the rule, chosen by the local simulator.
    seed = next(
        s
        for s in range(100)
        if rule.statement in LocalRoles(s).answer("sim-reflect", prompt, system)
    )
    expected = LocalRoles(seed).answer("sim-reflect", prompt, system)
    server.reset(seed)
    answer = server.chat("sim-reflect", prompt, system=system).content
    parsed = parse_instruction_block(answer, max_chars=MAX_CHARS)
    assert parsed.error is None and answer == expected
    assert rule.statement in parsed.text
    stats = server.stats()
    assert stats["reflection_calls"] == 1 and stats["rollouts"] == 0


def test_condense_is_a_reflection_without_records(server: SimProc) -> None:
    long_prompt = ALL_RULES_PROMPT + "\n" + "Be thorough in every answer.\n" * 3
    prompt = render_condense(long_prompt, 200)
    expected = LocalRoles(0).answer("sim-reflect", prompt)
    answer = server.chat("sim-reflect", prompt).content
    assert answer == expected and expected.startswith("```\n")
    text = parse_instruction_block(answer, max_chars=MAX_CHARS).text
    assert text and set(text.splitlines()) <= set(long_prompt.splitlines())


def test_merge_via_merge_and_reflect_models(server: SimProc) -> None:
    a = f"{RULES[0].statement}\n{RULES[1].statement}"
    b = f"{RULES[1].statement}\n{RULES[2].statement}"
    local = LocalRoles(0)
    for model in ("sim-merge", "sim-reflect"):
        answer = server.chat(model, render_merge("Be helpful.", a, b)).content
        assert answer == local.answer(model, render_merge("Be helpful.", a, b)), model
        assert answer.startswith("```\n"), model
    assert server.stats()["merge_calls"] == 2


def test_unparseable_prompts_get_an_apology_the_engine_rejects(server: SimProc) -> None:
    for model in ("sim-reflect", "sim-merge"):
        answer = server.chat(model, "Please make my prompt better: be nice.").content
        assert answer == APOLOGY
        assert parse_instruction_block(answer, max_chars=MAX_CHARS).error is not None
    stats = server.stats()
    assert stats["unparsed"] == {"reflect": 1, "merge": 1, "judge": 0}
    assert stats["reflection_calls"] == stats["merge_calls"] == 0


def test_judge_scores_each_kind_of_user_text(server: SimProc) -> None:
    a, b, c, d = RULES[:4]
    prompt = judge_prompt(
        complaint=a.feedback,
        correction=f"Here is my edit.\n{b.feedback}",
        failure=f"FAILED test_x: {c.feedback}",
        comment=d.feedback,
        new=f"followed: {a.id}, {c.id}; missed: {b.id}, {d.id}",
    )
    verdict = json.loads(server.chat("sim-judge", prompt, temperature=0).content)
    assert verdict == {
        "verdict": "fail",
        "score": 0.5,
        "explanation": f"{b.feedback} {d.feedback}",
    }
    for section, rule in (("complaint", a), ("correction", b), ("failure", c), ("comment", d)):
        ok = judge_prompt(**{section: rule.feedback, "new": f"followed: {rule.id}"})
        assert json.loads(server.chat("sim-judge", ok).content) == {
            "verdict": "pass",
            "score": 1.0,
            "explanation": JUDGE_AVOIDS_ALL,
        }, section
        bad = judge_prompt(**{section: rule.feedback, "new": f"followed: none; missed: {rule.id}"})
        assert json.loads(server.chat("sim-judge", bad).content) == {
            "verdict": "fail",
            "score": 0.0,
            "explanation": rule.feedback,
        }, section
    missing = json.loads(server.chat("sim-judge", judge_prompt(complaint=a.feedback)).content)
    assert missing["verdict"] == "fail" and missing["score"] == 0
    assert "New output" in missing["explanation"]
    stats = server.stats()
    assert stats["judge_calls"] == 10 and stats["unparsed"]["judge"] == 1
    assert stats["rollouts"] == 0


def test_models_list(server: SimProc) -> None:
    reply = server.request("GET", "/v1/models")
    assert reply.status == 200
    assert [m["id"] for m in reply.json()["data"]] == [
        "sim-task",
        "sim-reflect",
        "sim-merge",
        "sim-judge",
    ]


def test_completion_shape_and_token_usage(server: SimProc) -> None:
    task = TASKS[0]
    body = server.chat("openai/sim-task", task.input, system="one two three").json()
    assert body["object"] == "chat.completion" and body["model"] == "openai/sim-task"
    assert body["id"].startswith("chatcmpl-") and isinstance(body["created"], int)
    (choice,) = body["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    words_in = len(f"one two three {task.input}".split())
    words_out = len(choice["message"]["content"].split())
    usage = body["usage"]
    assert usage["prompt_tokens"] == -(-words_in * 4 // 3)
    assert usage["completion_tokens"] == -(-words_out * 4 // 3)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


# -- observation --------------------------------------------------------------------------------


def test_received_keeps_the_last_requests_as_sent(server: SimProc) -> None:
    for word in ("alpha", "bravo", "charlie"):
        server.chat("sim-judge", judge_prompt(new=f"followed: none {word}"), system=f"sys {word}")
    server.request("POST", "/v1/chat/completions", raw=b"{not json PLANTED-xyz")
    reply = server.request("GET", "/received?limit=3")
    assert reply.status == 200
    entries = reply.json()["requests"]
    assert len(entries) == 3
    assert [e["messages"][0]["content"] for e in entries[:2]] == ["sys bravo", "sys charlie"]
    assert "charlie" in entries[1]["messages"][1]["content"]
    assert entries[1]["model"] == "sim-judge"
    assert entries[2]["messages"] is None and "PLANTED-xyz" in entries[2]["body"]
    everything = server.request("GET", "/received").json()["requests"]
    assert len(everything) == 4 and "alpha" in json.dumps(everything[0])
    assert server.request("GET", "/received?limit=0").json() == {"requests": []}
    for bad in ("-1", "x"):
        reply = server.request("GET", f"/received?limit={bad}")
        assert reply.status == 400 and reply.json()["error"]["param"] == "limit"


def test_reset_restarts_the_stream_and_clears_counts(server: SimProc) -> None:
    task = TASKS[1]
    first = server.chat("sim-task", task.input, system=ALL_RULES_PROMPT).content
    server.control(fault="500", count=3, latency_ms=5)
    server.reset(0)
    stats = server.stats()
    assert stats["requests"] == 0 and stats["rollouts"] == 0 and stats["fault"] is None
    assert stats["latency_ms"] == 0
    assert server.request("GET", "/received").json() == {"requests": []}
    assert server.chat("sim-task", task.input, system=ALL_RULES_PROMPT).content == first


# -- faults -------------------------------------------------------------------------------------


def test_429_burst_then_recovery_draws_nothing_from_the_stream(server: SimProc) -> None:
    task = TASKS[2]
    expected = LocalRoles(0).answer("sim-task", task.input, ALL_RULES_PROMPT)
    state = server.control(fault="429", count=2)
    assert state.status == 200 and state.json()["fault"] == "429"
    for _ in range(2):
        reply = server.chat("sim-task", task.input, system=ALL_RULES_PROMPT)
        assert reply.status == 429 and reply.headers["retry-after"] == "0"
        assert reply.json()["error"]["code"] == "rate_limit_exceeded"
    assert server.chat("sim-task", task.input, system=ALL_RULES_PROMPT).content == expected
    stats = server.stats()
    assert stats["faults_injected"]["429"] == 2 and stats["fault"] is None
    assert stats["by_status"] == {"200": 1, "429": 2} and stats["rollouts"] == 1


def test_500_then_recovery(server: SimProc) -> None:
    server.control(fault="500", count=1)
    reply = server.chat("sim-judge", judge_prompt(new="followed: none"))
    assert reply.status == 500 and reply.json()["error"]["type"] == "server_error"
    ok = judge_prompt(new="followed: none")
    assert json.loads(server.chat("sim-judge", ok).content)["verdict"] == "pass"


def test_fault_limited_to_roles_until_cleared(server: SimProc) -> None:
    server.control(fault="500", roles=["judge"])
    for _ in range(2):
        assert server.chat("sim-judge", judge_prompt(new="followed: none")).status == 500
        assert server.chat("sim-task", TASKS[0].input).status == 200
    assert server.control(fault=None).json()["fault"] is None
    assert server.chat("sim-judge", judge_prompt(new="followed: none")).status == 200


def test_garbage_is_neither_json_nor_a_block(server: SimProc) -> None:
    server.control(fault="garbage", count=3)
    judge = server.chat("sim-judge", judge_prompt(new="followed: none")).content
    with pytest.raises(json.JSONDecodeError):
        json.loads(judge)
    reflect = server.chat("sim-reflect", render_reflection("Be helpful.", [])).content
    assert "```" not in reflect
    assert parse_instruction_block(reflect, max_chars=MAX_CHARS).error is not None
    task = server.chat("sim-task", TASKS[0].input, system=ALL_RULES_PROMPT).content
    assert "followed:" not in task and task.strip()
    assert (
        json.loads(server.chat("sim-judge", judge_prompt(new="followed: none")).content)["score"]
        == 1.0
    )
    stats = server.stats()
    assert stats["faults_injected"]["garbage"] == 3 and stats["rollouts"] == 0


def test_truncated_answers_then_recovery(server: SimProc) -> None:
    server.control(fault="truncated", count=2)
    body = server.chat("sim-judge", judge_prompt(new="followed: none")).json()
    content = body["choices"][0]["message"]["content"]
    assert content.startswith('{"verdict": "') and body["choices"][0]["finish_reason"] == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)
    reflect = server.chat("sim-reflect", render_reflection(ALL_RULES_PROMPT, [])).content
    assert reflect.startswith("```\n") and reflect.count("```") == 1
    # A cut answer keeps its complete lines; the line cut mid-way is dropped.
    salvaged = parse_instruction_block(reflect, max_chars=MAX_CHARS).text
    assert salvaged is not None and salvaged.splitlines() == reflect.splitlines()[1:-1]
    answer = server.chat("sim-reflect", render_reflection(ALL_RULES_PROMPT, [])).content
    assert parse_instruction_block(answer, max_chars=MAX_CHARS).error is None


def wait_for(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_slow_outlasts_the_client_timeout_then_recovers(server: SimProc) -> None:
    server.control(fault="slow", count=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        server.chat("sim-task", TASKS[0].input, system=ALL_RULES_PROMPT, timeout=0.4)
    assert time.monotonic() - started < 2
    # The client hung up: the server cancels the sleeping request, which drew nothing.
    assert wait_for(lambda: server.stats()["cancelled"] == 1)
    expected = LocalRoles(0).answer("sim-task", TASKS[0].input, ALL_RULES_PROMPT)
    started = time.monotonic()
    assert server.chat("sim-task", TASKS[0].input, system=ALL_RULES_PROMPT).content == expected
    assert time.monotonic() - started < 1
    stats = server.stats()
    assert stats["faults_injected"]["slow"] == 1 and stats["rollouts"] == 1


def connect_refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_refuse_closes_the_port_for_count_seconds(server: SimProc) -> None:
    # A keep-alive connection opened before the fault must not go on working through it.
    kept = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        kept.request("GET", "/v1/models")
        assert kept.getresponse().read() and kept.sock is not None
        reply = server.control(fault="refuse", count=0.8)
        assert reply.status == 200 and reply.json()["fault"] == "refuse"
        started = time.monotonic()
        assert connect_refused(server.port)
        with pytest.raises(ConnectionRefusedError):
            server.chat("sim-task", TASKS[0].input)
        with pytest.raises(ConnectionError):
            kept.request("GET", "/v1/models")
            kept.getresponse().read()
    finally:
        kept.close()
    assert wait_for(lambda: not connect_refused(server.port), timeout=5)
    assert time.monotonic() - started >= 0.5
    assert server.chat("sim-task", TASKS[0].input).status == 200
    stats = server.stats()
    assert stats["faults_injected"]["refuse"] == 1 and stats["fault"] is None


def test_latency_delays_every_completion_concurrently(server: SimProc) -> None:
    assert server.control(latency_ms=300).json()["latency_ms"] == 300
    inputs = [t.input for t in TASKS[:4]]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        timed = list(pool.map(lambda text: timed_chat(server, text), inputs))
    wall = time.monotonic() - started
    assert all(seconds >= 0.29 for seconds in timed)
    assert wall < 0.9, f"4 calls with 300 ms each took {wall:.2f} s: not concurrent"
    server.control(latency_ms=0)
    assert timed_chat(server, inputs[0]) < 0.25


def timed_chat(server: SimProc, text: str) -> float:
    started = time.monotonic()
    assert server.chat("sim-task", text).status == 200
    return time.monotonic() - started


# -- bad input ----------------------------------------------------------------------------------

USER = {"role": "user", "content": "hi"}


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        (b"{nope", None, "not valid JSON"),
        ([1, 2], None, "JSON object"),
        ({"messages": [USER]}, "model", "model"),
        ({"model": 3, "messages": [USER]}, "model", "model"),
        ({"model": "sim-task"}, "messages", "messages"),
        ({"model": "sim-task", "messages": "hi"}, "messages", "messages"),
        ({"model": "sim-task", "messages": []}, "messages", "messages"),
        ({"model": "sim-task", "messages": ["hi"]}, "messages[0]", "object"),
        ({"model": "sim-task", "messages": [{"content": "x"}]}, "messages[0].role", "role"),
        ({"model": "sim-task", "messages": [{"role": "user"}]}, "messages[0].content", "content"),
        ({"model": "sim-task", "messages": [{"role": "user", "content": 5}]}, "messages[0].content", "string"),  # noqa: E501
        ({"model": "sim-task", "messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content[0].text", "text"),  # noqa: E501
        ({"model": "sim-task", "messages": [{"role": "system", "content": "x"}]}, "messages", "user"),  # noqa: E501
        ({"model": "sim-task", "messages": [USER], "stream": True}, "stream", "stream"),
        ({"model": "sim-task", "messages": [USER], "temperature": "hot"}, "temperature", "number"),
        ({"model": "sim-task", "messages": [USER], "max_tokens": 1.5}, "max_tokens", "number"),
    ],
)  # fmt: skip
def test_bad_requests_are_400_naming_the_field(
    server: SimProc, body: Any, param: str | None, words: str
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = server.request("POST", "/v1/chat/completions", raw=raw)
    assert reply.status == 400
    error = reply.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert words in error["message"]
    assert server.request("GET", "/v1/models").status == 200, "the server is still up"


def test_unknown_model_route_and_method(server: SimProc) -> None:
    reply = server.chat("gpt-4o", "hi")
    assert reply.status == 404
    error = reply.json()["error"]
    assert "gpt-4o" in error["message"] and error["code"] == "model_not_found"
    assert server.request("GET", "/nothing").status == 404
    assert server.request("GET", "/v1/chat/completions").status == 405
    assert server.stats()["by_status"] == {"404": 1, "405": 1}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"fault": "flaky"}, "fault"),
        ({"fault": "refuse"}, "count"),
        ({"count": 2}, "count"),
        ({"fault": "500", "count": 0}, "count"),
        ({"fault": "500", "count": 1.5}, "count"),
        ({"fault": "500", "roles": ["planner"]}, "roles"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": "fast"}, "latency_ms"),
        ({"faults": "500"}, "faults"),
    ],
)
def test_bad_control_requests(server: SimProc, body: dict[str, Any], param: str) -> None:
    reply = server.control(**body)
    assert reply.status == 400 and reply.json()["error"]["param"] == param
    assert server.stats()["fault"] is None


# -- the command --------------------------------------------------------------------------------


def test_command_flags_fault_count_latency_and_sigint(tmp_path: Path) -> None:
    server = start_simserver(
        tmp_path, "--latency-ms", "150", "--fault", "500", "--fault-count", "1", seed=3
    )
    try:
        started = time.monotonic()
        assert server.chat("sim-task", TASKS[0].input).status == 500
        assert time.monotonic() - started >= 0.14
        started = time.monotonic()
        got = server.chat("sim-task", TASKS[0].input, system=ALL_RULES_PROMPT).content
        assert time.monotonic() - started >= 0.14
        assert got == LocalRoles(3).answer("sim-task", TASKS[0].input, ALL_RULES_PROMPT)
    finally:
        code, out, err = stop_simserver(server, signal.SIGINT)
    assert code == 0 and out == ""
    assert f"listening on http://127.0.0.1:{server.port}/v1" in err


def test_command_refuse_at_start_then_listens(tmp_path: Path) -> None:
    server = start_simserver(tmp_path, "--fault", "refuse", "--fault-count", "0.6")
    try:
        assert connect_refused(server.port)
        assert wait_for(lambda: not connect_refused(server.port))
        assert server.chat("sim-task", TASKS[0].input).status == 200
        assert server.stats()["faults_injected"]["refuse"] == 1
    finally:
        code, _, err = stop_simserver(server)
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--host", "0.0.0.0"], "not a loopback address"),
        (["--host", "10.1.2.3"], "not a loopback address"),
        (["--host", "example.com"], "loopback only"),
        (["--fault", "refuse"], "refuse needs a count"),
        (["--fault", "500", "--fault-count", "0"], "count"),
        (["--fault-roles", "planner", "--fault", "500"], "unknown role"),
    ],
)
def test_command_refuses_bad_arguments(tmp_path: Path, args: list[str], words: str) -> None:
    port_file = tmp_path / "port"
    proc = run_simserver(
        "--scenario", str(PYTHON_STYLE), "--seed", "0", "--port-file", str(port_file), *args
    )
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and proc.stdout == ""
    assert not port_file.exists()


def test_command_rejects_a_bad_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nseed_prompt = ""\nbogus = 1\n', encoding="utf-8")
    proc = run_simserver("--scenario", str(bad), "--seed", "0")
    assert proc.returncode == 2 and "bogus" in proc.stderr


# -- litellm's real HTTP path -------------------------------------------------------------------


async def test_litellm_real_http_path(server: SimProc) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    local = LocalRoles(0)
    common: dict[str, Any] = {
        "api_base": server.api_base,
        "api_key": "sk-test",
        "timeout": 10,
        "num_retries": 0,
        "max_retries": 0,
    }
    task = TASKS[0]
    response = await litellm.acompletion(
        model="openai/sim-task",
        messages=[
            {"role": "system", "content": ALL_RULES_PROMPT},
            {"role": "user", "content": task.input},
        ],
        temperature=0,
        **common,
    )
    assert response.choices[0].message.content == local.answer(
        "sim-task", task.input, ALL_RULES_PROMPT
    )
    assert response.usage.total_tokens > 0

    rule = RULES[0]
    prompt = judge_prompt(complaint=rule.feedback, new=f"followed: {rule.id}")
    response = await litellm.acompletion(
        model="openai/sim-judge",
        messages=[{"role": "user", "content": prompt}],
        response_format={"type": "json_object"},
        **common,
    )
    assert json.loads(response.choices[0].message.content)["verdict"] == "pass"

    server.control(fault="429", count=1)
    with pytest.raises(litellm.RateLimitError):
        await litellm.acompletion(
            model="openai/sim-task", messages=[{"role": "user", "content": task.input}], **common
        )
    server.control(fault="500", count=1)
    with pytest.raises(litellm.InternalServerError):
        await litellm.acompletion(
            model="openai/sim-task", messages=[{"role": "user", "content": task.input}], **common
        )
    server.control(fault="slow", count=1)
    with pytest.raises(litellm.Timeout):
        await litellm.acompletion(
            model="openai/sim-task",
            messages=[{"role": "user", "content": task.input}],
            **{**common, "timeout": 0.3},
        )
    server.control(fault="refuse", count=0.5)
    # litellm 1.106 maps a refused connection on the openai/ path to InternalServerError.
    with pytest.raises((litellm.APIConnectionError, litellm.InternalServerError)) as refused:
        await litellm.acompletion(
            model="openai/sim-task", messages=[{"role": "user", "content": task.input}], **common
        )
    assert "Connection error" in str(refused.value)
    assert wait_for(lambda: not connect_refused(server.port))
    response = await litellm.acompletion(
        model="openai/sim-task", messages=[{"role": "user", "content": task.input}], **common
    )
    assert response.choices[0].message.content.startswith("followed: ")
    stats = server.stats()
    assert stats["by_status"] == {"200": 3, "429": 1, "500": 1}
    assert stats["faults_injected"]["slow"] == stats["faults_injected"]["refuse"] == 1
    received = server.request("GET", "/received?limit=1").json()["requests"][0]
    assert received["model"] == "sim-task", "litellm strips its provider prefix"
