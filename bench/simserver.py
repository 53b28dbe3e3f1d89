#!/usr/bin/env python3
"""A local OpenAI-compatible chat-completions server that plays the simulated user.

    python bench/simserver.py --scenario FILE --seed S [--host 127.0.0.1] [--port 0]
        [--latency-ms N] [--fault MODE [--fault-count K] [--fault-roles R,...]]
        [--slow-s SECONDS] [--judge-error P] [--judge-position-bias P]
        [--judge-length-bias P] [--port-file PATH] [--log-level LEVEL]

Point an OpenAI-compatible client at http://127.0.0.1:PORT/v1 with model `sim-task`,
`sim-reflect`, `sim-merge` or `sim-judge` (litellm: `openai/sim-task` and `api_base`). The server
binds loopback only and runs until SIGTERM or SIGINT. Nothing is printed on stdout; the chosen
port is written to --port-file (atomically) and "listening on http://127.0.0.1:PORT/v1" is
logged to stderr.

Fault modes: slow, 429, 500, garbage, truncated, refuse, empty, off_task. --fault-count K limits
a fault to the next K completion requests (for refuse: K seconds, and it is required, since a
server that refuses connections cannot be told to stop). Faults can also be set at runtime:

    POST /control {"fault": MODE | null, "count": K, "latency_ms": N, "roles": [...],
                   "judge": {"error_prob": P, "position_bias": P, "length_bias": P}}
    POST /reset   {"seed": S}       fresh random stream, counts and request log cleared
    GET  /stats                     counts per role and status, rollouts, faults injected
    GET  /received?limit=N          the last N requests' messages, as received

Exit status: 0 after a signal, 1 when the server could not listen (or listen again after a
refuse period), 2 for bad arguments or a bad scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

# Run as `python bench/simserver.py`, this folder is sys.path[0] and gepad_sim imports from it.
from gepad_sim import (
    FAULT_MODES,
    MODEL_ROLES,
    SLOW_SECONDS,
    ScenarioError,
    SimError,
    SimServer,
    SimServerConfig,
    SimServerError,
    bind_address,
    load_scenario,
)
from gepad_sim._server_judge import JudgeBias

EXIT_OK = 0
EXIT_SERVE_FAILED = 1
EXIT_BAD_INPUT = 2

_log = logging.getLogger("simserver")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="simserver.py",
        description="Serve the simulated user as an OpenAI-compatible chat-completions API.",
    )
    parser.add_argument("--scenario", required=True, metavar="FILE", help="scenario TOML file")
    parser.add_argument("--seed", type=int, required=True, help="seed of the random stream")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added to every completion"
    )
    parser.add_argument("--fault", choices=FAULT_MODES, help="fault mode from the start")
    parser.add_argument(
        "--fault-count",
        type=float,
        metavar="K",
        help="the fault applies to the next K completion requests (refuse: K seconds)",
    )
    parser.add_argument(
        "--fault-roles",
        metavar="ROLES",
        help="comma-separated roles the fault applies to: task, reflect, merge, judge",
    )
    parser.add_argument(
        "--slow-s",
        type=float,
        default=SLOW_SECONDS,
        help=f"how long a slow request sleeps (default {SLOW_SECONDS:g})",
    )
    for flag, what in (
        ("--judge-error", "the judge's verdict is wrong with this probability"),
        ("--judge-position-bias", "a pairwise judge prefers Answer A with this probability"),
        ("--judge-length-bias", "the judge prefers the longer output with this probability"),
    ):
        parser.add_argument(flag, type=float, default=0.0, metavar="P", help=f"{what} (default 0)")
    parser.add_argument(
        "--flip-budget", type=int, metavar="N",
        help="a flip scenario: the tasks an online run of N rollouts asks for after the flip "
        "(and the held-out ones) are the flipped ones",
    )  # fmt: skip
    parser.add_argument(
        "--drift-error", type=float, default=0.0, metavar="P",
        help="the reflection model errs on the daemon's contradiction questions with this "
        "probability (default 0)",
    )  # fmt: skip
    parser.add_argument("--port-file", metavar="PATH", help="write the port here once listening")
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="stderr log level (default INFO)",
    )
    args = parser.parse_args(argv)
    try:
        bind_address(args.host)
    except SimServerError as exc:
        parser.error(str(exc))
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    if args.latency_ms < 0:
        parser.error(f"--latency-ms must be >= 0, got {args.latency_ms:g}")
    if args.slow_s <= 0:
        parser.error(f"--slow-s must be > 0, got {args.slow_s:g}")
    if args.fault_count is not None and args.fault != "refuse":
        if args.fault_count != int(args.fault_count):
            parser.error(
                f"--fault-count must be a whole number of requests, got {args.fault_count:g}"
            )
        args.fault_count = int(args.fault_count)
    roles = None
    if args.fault_roles is not None:
        roles = tuple(r.strip() for r in args.fault_roles.split(","))
        known = set(MODEL_ROLES.values())
        bad = [r for r in roles if r not in known]
        if bad:
            parser.error(
                f"--fault-roles: unknown role(s) {bad} (known: {', '.join(sorted(known))})"
            )
    args.fault_role_tuple = roles
    try:
        args.judge_bias = JudgeBias(
            error_prob=args.judge_error,
            position_bias=args.judge_position_bias,
            length_bias=args.judge_length_bias,
        )
    except SimError as exc:
        parser.error(str(exc))
    if args.flip_budget is not None and args.flip_budget < 1:
        parser.error(f"--flip-budget must be >= 1, got {args.flip_budget}")
    if not 0.0 <= args.drift_error <= 1.0:
        parser.error(f"--drift-error must be in [0, 1], got {args.drift_error}")
    if args.port_file is not None:
        parent = Path(args.port_file).resolve().parent
        if not parent.is_dir():
            parser.error(f"--port-file: the folder {str(parent)!r} does not exist")
    return args


def _write_port_file(path: str, port: int) -> None:
    target = Path(path)
    # A sibling temp file renamed into place: a reader polling for the file never sees half.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.resolve().parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(f"{port}\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def _serve(config: SimServerConfig, port_file: str | None) -> int:
    try:
        server = SimServer(config)
        await server.start()
    except SimServerError as exc:
        _log.error("%s", exc)
        return EXIT_SERVE_FAILED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if port_file is not None:
            _write_port_file(port_file, server.port)
        _log.info("listening on %s", server.base_url)
        waiters = [
            asyncio.ensure_future(stop.wait()),
            asyncio.ensure_future(server.failed.wait()),
        ]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    finally:
        await server.stop()
    if server.failed.is_set():
        return EXIT_SERVE_FAILED
    _log.info("stopped after %d requests", server.stats()["requests"])
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="simserver %(levelname)s %(name)s: %(message)s",
    )
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"simserver: bad scenario {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    config = SimServerConfig(
        scenario=scenario,
        seed=args.seed,
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        fault=args.fault,
        fault_count=args.fault_count,
        fault_roles=args.fault_role_tuple,
        slow_s=args.slow_s,
        judge_bias=args.judge_bias,
        flip_budget=args.flip_budget,
        drift_error=args.drift_error,
    )
    try:
        SimServer(config)
    except SimServerError as exc:
        print(f"simserver: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(config, args.port_file))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
