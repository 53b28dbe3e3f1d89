"""An OpenAI-compatible chat-completions server that plays the simulated user over real HTTP.

The daemon talks to it through litellm's real `openai/` path, so retries, timeouts, error
mapping and parsing are exercised for real; the model name picks the role (`sim-task`,
`sim-reflect`, `sim-merge`, `sim-judge`) and one scenario's simulated LMs answer all of them.
Each answer's randomness comes from the request itself (seed, role, messages and an occurrence
counter per identical request: `SimRoles`), never from the order requests arrive in, so a run is
reproducible however its calls overlap. Fault modes, latency and the judge's biases
(`JudgeBias`: error, position and length bias) are set at start or through `POST /control`.

Requests that get a fault never reach the simulated LMs: a 429, a 500, garbage or a truncated
answer counts no rollout and no occurrence, so once a fault clears the run goes on exactly as if
the faulted calls had never been made. A `slow` request that
outlives its sleep (30 s by default) is then answered normally; one whose client gave up is
cancelled and draws nothing.

`empty` answers with no text at all; `off_task` makes the task model answer another task of the
scenario flawlessly (an answer that avoids every complaint but is not what was asked; the other
roles get garbage).

`refuse` closes the listening socket (and every open connection) so new connections are refused.
`POST /control` cannot reach a server that refuses, so `refuse` always needs `count`, read as
seconds: the server stops listening and starts again on the same port after that many seconds.

The server binds loopback addresses only: its control endpoints and its log of every request
received are for local tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import random
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, get_args

from aiohttp import web

from gepad_sim._errors import SimError
from gepad_sim._scenario import Scenario
from gepad_sim._server_judge import JudgeBias
from gepad_sim._server_roles import (
    MODEL_ROLES,
    Role,
    RoleAnswer,
    SimRoles,
    parse_condense_prompt,
    parse_merge_prompt,
    parse_reflection_prompt,
    role_for_model,
)
from gepad_sim._server_wire import (
    BadRequest,
    ChatRequest,
    completion_json,
    completion_tokens,
    error_json,
    parse_chat,
)

__all__ = [
    "COMPLETIONS_PATH",
    "FAULT_MODES",
    "SLOW_SECONDS",
    "SimServer",
    "SimServerConfig",
    "SimServerError",
    "bind_address",
    "completion_tokens",
]

_log = logging.getLogger(__name__)

COMPLETIONS_PATH: Final = "/v1/chat/completions"
FAULT_MODES: Final = (
    "slow", "429", "500", "garbage", "truncated", "refuse", "empty", "off_task",
)  # fmt: skip
SLOW_SECONDS: Final = 30.0
"""How long a `slow` request sleeps: past any sane client timeout."""

_ROLES: Final[tuple[Role, ...]] = get_args(Role)
_MAX_BODY = 16 * 1024 * 1024
_RECEIVED_BODY_CHARS = 64 * 1024
_MAX_REFUSE_SECONDS = 600.0
_REBIND_TRIES = 50
_REBIND_PAUSE_S = 0.1
_SHUTDOWN_TIMEOUT_S = 1.0
_JUNK_WORDS = (
    "lorem", "zzt", "qux", "blorp", "fnord", "wibble", "ack", "###", "~~", "frob", "glarch",
    "xyzzy", "plugh", "<<", "%%", "nonce", "quux", "splat", "::", "barf",
)  # fmt: skip


class SimServerError(SimError):
    """The simulated server cannot do what it was asked (a bad bind address, a bad fault)."""


@dataclass(frozen=True, slots=True)
class SimServerConfig:
    """How one server starts. `fault_count` is requests for most modes, seconds for `refuse`;
    `fault_roles` limits the fault to some roles (None: all)."""

    scenario: Scenario
    seed: int
    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: float = 0.0
    fault: str | None = None
    fault_count: float | None = None
    fault_roles: tuple[Role, ...] | None = None
    slow_s: float = SLOW_SECONDS
    received_keep: int = 256
    judge_bias: JudgeBias = field(default_factory=JudgeBias)
    # A flip scenario: the online budget that decides which tasks are flipped (`_flip.py`),
    # and how often the reflection model errs on the daemon's drift questions.
    flip_budget: int | None = None
    drift_error: float = 0.0


def bind_address(host: str) -> str:
    """The loopback address to bind for `host`; anything that is not loopback is refused."""
    if host == "localhost":
        # Binding "localhost" would bind 127.0.0.1 and ::1, on two different ports when port=0.
        return "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise SimServerError(
            f"--host {host!r} is not an IP address; the simulated server binds loopback only "
            "(127.0.0.1, ::1 or localhost)"
        ) from None
    if not addr.is_loopback:
        raise SimServerError(
            f"refusing to bind {host!r}: it is not a loopback address, and the simulated "
            "server's control endpoints and request log must stay on this machine"
        )
    return str(addr)


def _check_fault(
    fault: object, count: object, roles: object
) -> tuple[str | None, float | None, tuple[Role, ...] | None]:
    """Validated (fault, count, roles); raises SimServerError naming the bad field."""
    if fault is not None and fault not in FAULT_MODES:
        raise SimServerError(
            f"fault: unknown mode {fault!r} (known: {', '.join(FAULT_MODES)}, or null)"
        )
    if count is not None:
        if fault is None:
            raise SimServerError("count: a count applies to a fault, and no fault was given")
        if isinstance(count, bool) or not isinstance(count, int | float):
            raise SimServerError(f"count: must be a number, not {type(count).__name__}")
        if fault == "refuse":
            if not (0 < count <= _MAX_REFUSE_SECONDS) or not math.isfinite(count):
                raise SimServerError(
                    f"count: for refuse it is seconds, in (0, {_MAX_REFUSE_SECONDS:g}]; got {count}"
                )
        elif not isinstance(count, int) or count < 1:
            raise SimServerError(f"count: must be a whole number of requests >= 1, got {count}")
    elif fault == "refuse":
        raise SimServerError(
            "count: refuse needs a count (seconds): a server that refuses connections cannot "
            "be told to stop refusing"
        )
    checked_roles: tuple[Role, ...] | None = None
    if roles is not None:
        if not isinstance(roles, list | tuple) or not roles:
            raise SimServerError("roles: must be a non-empty list of role names, or null")
        bad = [r for r in roles if r not in _ROLES]
        if bad:
            raise SimServerError(f"roles: unknown role(s) {bad!r} (known: {', '.join(_ROLES)})")
        checked_roles = tuple(roles)
    return fault, count, checked_roles


def _check_latency(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SimServerError(f"latency_ms: must be a number, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise SimServerError(f"latency_ms: must be finite and >= 0, got {value}")
    return float(value)


def _check_judge(value: object) -> JudgeBias:
    """A judge bias from `POST /control`'s `judge` object; raises SimServerError when bad."""
    if not isinstance(value, dict):
        raise SimServerError("judge: must be an object of error_prob, position_bias, length_bias")
    known = {"error_prob", "position_bias", "length_bias"}
    unknown = sorted(set(value) - known)
    if unknown:
        raise SimServerError(
            f"judge: unknown key(s) {unknown!r} (known: {', '.join(sorted(known))})"
        )
    try:
        return JudgeBias(**value)
    except SimError as exc:
        raise SimServerError(str(exc)) from None


class _Fault:
    """The current fault and how many more requests it applies to."""

    __slots__ = ("mode", "remaining", "roles")

    def __init__(self) -> None:
        self.mode: str | None = None
        self.remaining: int | None = None
        self.roles: tuple[Role, ...] | None = None

    def set(self, mode: str | None, count: int | None, roles: tuple[Role, ...] | None) -> None:
        self.mode, self.remaining, self.roles = mode, count, roles

    def take(self, role: Role) -> str | None:
        """The fault for this request, if any; a counted fault clears itself when used up."""
        mode = self.mode
        if mode is None or mode == "refuse" or (self.roles is not None and role not in self.roles):
            return None
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                self.set(None, None, None)
        return mode

    def to_json(self) -> dict[str, Any]:
        roles = None if self.roles is None else list(self.roles)
        return {"fault": self.mode, "remaining": self.remaining, "roles": roles}


class SimServer:
    """One simulated server on a loopback port. `start()` binds; `stop()` shuts it down."""

    def __init__(self, config: SimServerConfig) -> None:
        self._config = config
        self._bind_host = bind_address(config.host)
        self._initial_latency = _check_latency(config.latency_ms)
        fault, count, roles = _check_fault(
            config.fault, config.fault_count, list(config.fault_roles or ()) or None
        )
        self._initial_fault = (fault, count, roles)
        self._latency_s = self._initial_latency / 1000
        self._fault = _Fault()
        self._roles = SimRoles(
            config.scenario, config.seed, config.judge_bias,
            flip_budget=config.flip_budget, drift_error=config.drift_error,
        )  # fmt: skip
        self._seed = config.seed
        self._junk = random.Random(f"garbage-{config.seed}")
        self._received: deque[dict[str, Any]] = deque(maxlen=max(1, config.received_keep))
        self._counts: Counter[str] = Counter()
        self._by_role: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._seq = 0
        self._port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._refuse_task: asyncio.Task[None] | None = None
        self._failed = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def host(self) -> str:
        return self._bind_host

    @property
    def base_url(self) -> str:
        """The `api_base` to give an OpenAI-compatible client."""
        host = f"[{self._bind_host}]" if ":" in self._bind_host else self._bind_host
        return f"http://{host}:{self._port}/v1"

    @property
    def failed(self) -> asyncio.Event:
        """Set when the server could not listen again after a `refuse` period."""
        return self._failed

    @property
    def roles(self) -> SimRoles:
        return self._roles

    async def start(self) -> int:
        """Bind and start serving; returns the port. An initial `refuse` fault begins now."""
        app = web.Application(client_max_size=_MAX_BODY, middlewares=[self._errors])
        app.router.add_post(COMPLETIONS_PATH, self._completions)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/stats", self._stats)
        app.router.add_get("/received", self._received_view)
        app.router.add_post("/control", self._control)
        app.router.add_post("/reset", self._reset)
        # handler_cancellation: a client that gives up on a slow request cancels its sleep.
        runner = web.AppRunner(
            app,
            handler_cancellation=True,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self._bind_host, self._config.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            self._runner = None
            raise SimServerError(
                f"cannot listen on {self._bind_host}:{self._config.port}: {exc.strerror or exc}"
            ) from exc
        self._site = site
        self._port = int(runner.addresses[0][1])
        await self._apply_fault(*self._initial_fault)
        return self._port

    async def stop(self) -> None:
        task, self._refuse_task = self._refuse_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # -- state ----------------------------------------------------------------------------------

    async def set_fault(
        self,
        fault: str | None,
        count: float | None = None,
        roles: Sequence[Role] | None = None,
    ) -> None:
        """Set (or clear, with None) the fault mode; raises SimServerError when invalid."""
        roles_in = None if roles is None else list(roles)
        await self._apply_fault(*_check_fault(fault, count, roles_in))

    def set_latency(self, latency_ms: float) -> None:
        self._latency_s = _check_latency(latency_ms) / 1000

    def reset(self, seed: int | None = None) -> None:
        """A fresh random stream (same seed unless given), cleared counts, log and fault, and
        the latency the server started with. A refuse period under way runs to its end."""
        self._seed = self._config.seed if seed is None else seed
        self._roles = SimRoles(
            self._config.scenario, self._seed, self._config.judge_bias,
            flip_budget=self._config.flip_budget, drift_error=self._config.drift_error,
        )  # fmt: skip
        self._junk = random.Random(f"garbage-{self._seed}")
        self._received.clear()
        for counter in (self._counts, self._by_role, self._by_status, self._faults):
            counter.clear()
        self._fault.set(None, None, None)
        self._latency_s = self._initial_latency / 1000

    def stats(self) -> dict[str, Any]:
        sim = self._roles.sim
        return {
            "scenario": self._config.scenario.name,
            "seed": self._seed,
            "requests": self._counts["requests"],
            "by_role": {role: self._by_role[role] for role in _ROLES},
            "by_status": dict(sorted(self._by_status.items())),
            "rollouts": sim.rollouts,
            "unknown_tasks": self._counts["unknown_tasks"],
            "reflection_calls": sim.reflection_calls,
            "merge_calls": sim.merge_calls,
            "judge_calls": self._roles.judge_calls,
            "unparsed": {role: self._counts[f"unparsed_{role}"] for role in _ROLES[1:]},
            "faults_injected": {mode: self._faults[mode] for mode in FAULT_MODES},
            "cancelled": self._counts["cancelled"],
            "latency_ms": self._latency_s * 1000,
            "judge": self._roles.judge_bias.to_json(),
            **self._fault.to_json(),
        }

    async def _apply_fault(
        self,
        fault: str | None,
        count: float | None,
        roles: tuple[Role, ...] | None,
        *,
        keep: object = None,
    ) -> None:
        """`keep`: the connection asking for the fault, which closes once it has its answer."""
        if fault != "refuse":
            self._fault.set(fault, None if count is None else int(count), roles)
            return
        assert count is not None
        self._faults["refuse"] += 1
        if self._refuse_task is not None and not self._refuse_task.done():
            return  # already refusing; that period is not extended
        # Stopped before the caller hears back, so its very next connection is refused.
        await self._stop_listening(keep)
        self._refuse_task = asyncio.get_running_loop().create_task(
            self._listen_again_after(float(count))
        )

    async def _stop_listening(self, keep: object) -> None:
        runner, site, self._site = self._runner, self._site, None
        if runner is None or site is None:
            return
        await site.stop()
        # Keep-alive connections would otherwise go on working through the refusal.
        if runner.server is not None:
            for conn in runner.server.connections:
                if conn is not keep:
                    conn.force_close()

    async def _listen_again_after(self, seconds: float) -> None:
        _log.info("refusing connections for %.3g s", seconds)
        await asyncio.sleep(seconds)
        runner = self._runner
        if runner is None:
            return
        for attempt in range(_REBIND_TRIES):
            site = web.TCPSite(runner, self._bind_host, self._port)
            try:
                await site.start()
            except OSError as exc:
                _log.warning(
                    "cannot listen again on port %d (try %d): %s", self._port, attempt, exc
                )
                await asyncio.sleep(_REBIND_PAUSE_S)
                continue
            self._site = site
            _log.info("listening again on %s", self.base_url)
            return
        _log.error("gave up listening again on port %d", self._port)
        self._failed.set()

    # -- HTTP -----------------------------------------------------------------------------------

    @web.middleware
    async def _errors(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Every error as OpenAI-style JSON; completion requests counted by status."""
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = web.json_response(
                error_json(
                    f"{exc.reason}: {request.method} {request.path}",
                    "invalid_request_error",
                    None,
                    None,
                ),
                status=exc.status,
            )
        except asyncio.CancelledError:
            if request.path == COMPLETIONS_PATH:
                self._counts["cancelled"] += 1
            raise
        except Exception:
            _log.exception("request %s %s failed", request.method, request.path)
            response = web.json_response(
                error_json("internal error in the simulated server", "server_error", None, None),
                status=500,
            )
        if request.path == COMPLETIONS_PATH:
            self._by_status[str(response.status)] += 1
        return response

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        self._counts["requests"] += 1
        self._seq += 1
        seq = self._seq
        text = (await request.read()).decode("utf-8", errors="replace")
        entry: dict[str, Any] = {
            "seq": seq,
            "model": None,
            "messages": None,
            "body": text[:_RECEIVED_BODY_CHARS],
            "body_truncated": len(text) > _RECEIVED_BODY_CHARS,
        }
        self._received.append(entry)
        try:
            try:
                body = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BadRequest(f"the request body is not valid JSON: {exc}", None) from None
            if isinstance(body, dict) and isinstance(body.get("model"), str):
                entry["model"] = body["model"]
            chat = parse_chat(body)
        except BadRequest as exc:
            return web.json_response(
                error_json(exc.message, "invalid_request_error", exc.param, None), status=400
            )
        entry["messages"] = [{"role": r, "content": c} for r, c in chat.messages]
        role = role_for_model(chat.model)
        if role is None:
            known = ", ".join(MODEL_ROLES)
            return web.json_response(
                error_json(
                    f"The model `{chat.model}` does not exist on the simulated server "
                    f"(known: {known}, optionally prefixed with openai/)",
                    "invalid_request_error",
                    "model",
                    "model_not_found",
                ),
                status=404,
            )
        self._by_role[role] += 1
        fault = self._fault.take(role)
        if fault is not None:
            self._faults[fault] += 1
            if fault == "slow":
                await asyncio.sleep(self._config.slow_s)
            else:
                return await self._faulted(fault, role, chat, seq)
        answer = self._roles.answer(
            role, chat.system, chat.user, messages=chat.messages, temperature=chat.temperature
        )
        self._count(role, answer)
        await self._delay()
        return self._completion(seq, chat, answer.text, "stop")

    def _count(self, role: Role, answer: RoleAnswer) -> None:
        if answer.unknown_task:
            self._counts["unknown_tasks"] += 1
        if answer.unparsed:
            self._counts[f"unparsed_{role}"] += 1

    async def _delay(self) -> None:
        if self._latency_s > 0:
            await asyncio.sleep(self._latency_s)

    async def _faulted(
        self, fault: str, role: Role, chat: ChatRequest, seq: int
    ) -> web.StreamResponse:
        await self._delay()
        if fault == "429":
            return web.json_response(
                error_json(
                    "Rate limit reached for requests (simulated). Please try again in 0s.",
                    "requests",
                    None,
                    "rate_limit_exceeded",
                ),
                status=429,
                headers={"retry-after": "0"},
            )
        if fault == "500":
            return web.json_response(
                error_json(
                    "The simulated server had an error while processing your request.",
                    "server_error",
                    None,
                    None,
                ),
                status=500,
            )
        if fault == "garbage":
            return self._completion(seq, chat, self._garbage(), "stop")
        if fault == "empty":
            return self._completion(seq, chat, "", "stop")
        if fault == "off_task":
            return self._completion(seq, chat, self._off_task(role, chat.user), "stop")
        return self._completion(seq, chat, _truncated(role, chat.user), "length")

    def _garbage(self) -> str:
        # Letters and symbols but no braces or backticks: never JSON, never a ``` block.
        rng = self._junk
        return " ".join(rng.choice(_JUNK_WORDS) for _ in range(rng.randint(4, 16)))

    def _off_task(self, role: Role, user: str) -> str:
        """A flawless answer to another task of the scenario (garbage for the other roles)."""
        tasks = self._config.scenario.tasks
        asked = user.strip()
        other = next((t for t in tasks if t.input.strip() != asked and t.rules), None)
        if role != "task" or other is None:
            return self._garbage()
        return f"followed: {', '.join(other.rules)}; missed: none"

    def _completion(
        self, seq: int, chat: ChatRequest, content: str, finish_reason: str
    ) -> web.Response:
        return web.json_response(completion_json(seq, chat, content, finish_reason))

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [
                    {"id": name, "object": "model", "created": 0, "owned_by": "gepad-sim"}
                    for name in MODEL_ROLES
                ],
            }
        )

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _received_view(self, request: web.Request) -> web.Response:
        raw = request.query.get("limit")
        entries = list(self._received)
        if raw is not None:
            try:
                limit = int(raw)
            except ValueError:
                limit = -1
            if limit < 0:
                return web.json_response(
                    error_json(
                        f"limit: must be a whole number >= 0, got {raw!r}",
                        "invalid_request_error",
                        "limit",
                        None,
                    ),
                    status=400,
                )
            entries = entries[len(entries) - limit :] if limit else []
        return web.json_response({"requests": entries})

    async def _json_object(self, request: web.Request, allowed: frozenset[str]) -> dict[str, Any]:
        try:
            body = json.loads((await request.read()).decode("utf-8", errors="replace") or "{}")
        except json.JSONDecodeError as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc}", None) from None
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object", None)
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise BadRequest(
                f"unknown key(s) {unknown!r} (allowed: {', '.join(sorted(allowed))})", unknown[0]
            )
        return body

    async def _control(self, request: web.Request) -> web.Response:
        try:
            body = await self._json_object(
                request, frozenset({"fault", "count", "latency_ms", "roles", "judge"})
            )
            latency = _check_latency(body["latency_ms"]) if "latency_ms" in body else None
            bias = _check_judge(body["judge"]) if "judge" in body else None
            checked = (
                _check_fault(body.get("fault"), body.get("count"), body.get("roles"))
                if "fault" in body or "count" in body or "roles" in body
                else None
            )
        except (BadRequest, SimServerError) as exc:
            message = exc.message if isinstance(exc, BadRequest) else str(exc)
            param = exc.param if isinstance(exc, BadRequest) else message.split(":", 1)[0]
            return web.json_response(
                error_json(message, "invalid_request_error", param, None), status=400
            )
        if latency is not None:
            self._latency_s = latency / 1000
        if bias is not None:
            self._roles.set_judge_bias(bias)
        if checked is not None:
            await self._apply_fault(*checked, keep=request.protocol)
        state: Mapping[str, Any] = {
            **self._fault.to_json(),
            "latency_ms": self._latency_s * 1000,
            "judge": self._roles.judge_bias.to_json(),
        }
        if checked is None or checked[0] != "refuse":
            return web.json_response(state)
        response = web.json_response({**state, "fault": "refuse", "remaining": checked[1]})
        response.force_close()  # this connection too: nothing may outlive the refusal
        return response

    async def _reset(self, request: web.Request) -> web.Response:
        try:
            body = await self._json_object(request, frozenset({"seed"}))
            seed = body.get("seed")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                raise BadRequest(f"seed: must be an integer, not {type(seed).__name__}", "seed")
        except BadRequest as exc:
            return web.json_response(
                error_json(exc.message, "invalid_request_error", exc.param, None), status=400
            )
        self.reset(seed)
        return web.json_response(self.stats())


def _truncated(role: Role, prompt: str) -> str:
    """An answer cut off mid-way: half a JSON verdict, or a ``` block that never closes."""
    if role == "judge":
        return '{"verdict": "pa'
    if role == "task":
        return "```\nfollowed: "
    current: str | None = None
    if (parsed := parse_reflection_prompt(prompt)) is not None:
        current = parsed.current
    elif (condensed := parse_condense_prompt(prompt)) is not None:
        current = condensed.current
    elif (merged := parse_merge_prompt(prompt)) is not None:
        current = merged.a
    # The parsed texts are fence-safe already; half of one never closes the block.
    start = current[: max(1, len(current) // 2)] if current else "The new instructions are"
    return f"```\n{start}"
