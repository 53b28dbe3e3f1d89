#!/usr/bin/env python3
"""The dashboard's speed: first load over loopback, and a view of 200 candidates x 2,000 examples.

    python bench/dashboard_perf.py [--candidates 200] [--examples 2000] [--loads 20] [--json OUT]

A real daemon (optimizer off) serves a store holding `--examples` feedback examples and an
engine state with `--candidates` candidates, built by stepping gepa_engine with synthetic
answers (random scores, reflections that add a line). Then:
- *first load*: what the browser does on opening the link, over real sockets: the one-time code
  for the cookie (303), the page, its three assets, the page's websocket (cookie + Origin) and
  every call the page makes before it is complete (status, curve, history, provenance, lineage,
  review, examples, spend). Median and worst of `--loads` fresh loads.
- *per view*: each call's time and reply size.
- *in Chromium* (when chromium + chromedriver + selenium are here): from navigation until the
  lineage shows every candidate and the examples table every row, and one search keystroke.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import connect

from gepa_engine import Engine, EvalOutcome, EvalResult, Evaluate, Finished, Idle, TextAnswer
from gepad.prompts import PromptService
from gepad.store import NewExample, Store

SEED = "You are a careful coding assistant.\nFollow the project's conventions."
PAGE_CALLS = [
    ("status.get", {}),
    ("prompt.subscribe", {"components": None}),
    ("dashboard.curve", {"component": "general"}),
    ("prompt.history", {"component": "general", "limit": 500}),
    ("prompt.provenance", {"component": "general"}),
    ("dashboard.lineage", {"component": "general"}),
    ("dashboard.review", {"component": "general"}),
    ("dashboard.examples", {"limit": 2000}),
    ("dashboard.spend", {"days": 14}),
]


def build_engine(n_candidates: int, n_examples: int, seed: int) -> Engine:
    rng = random.Random(seed)
    engine = Engine.start({"general": SEED}, seed=seed)
    from gepa_engine import ExampleSpec

    engine.add_examples([ExampleSpec(str(i + 1)) for i in range(n_examples)])
    step = 0
    while len(engine.candidates) < n_candidates:
        request = engine.next_request(float(step))
        step += 1
        if isinstance(request, (Idle, Finished)):
            raise RuntimeError(f"engine stopped at {len(engine.candidates)} candidates: {request}")
        if isinstance(request, Evaluate):
            answer: Any = EvalResult(
                tuple(
                    EvalOutcome(e, round(rng.random(), 2), "missed a rule", "out", "in")
                    for e in request.example_ids
                )
            )
        else:
            text = getattr(request, "current_text", None) or getattr(request, "text_a", SEED)
            answer = TextAnswer(f"```\n{text}\nRule {step}: keep rule {rng.randint(0, 99)}.\n```")
        engine.complete(request.id, answer, float(step))
    return engine


async def populate(db: Path, engine: Engine, n_examples: int) -> None:
    store = await Store.open(db, dedupe_window_s=0)
    try:
        prompts = PromptService(store, swap_policy="auto", seeds={"general": SEED})
        await prompts.start()
        await store.add_examples(
            [
                NewExample(
                    kind="thumbs_down",
                    context=f"task {i}",
                    output="out",
                    comment=f"complaint {i}: use pathlib, not os.path",
                )
                for i in range(n_examples)
            ]
        )
        await store.save_engine_state(None, "general", engine.to_json())
        best = engine.best
        await prompts.propose(
            "general",
            best.components["general"],
            score=engine.mean_val(best.id),
            candidate_id=best.id,
        )
    finally:
        await store.close()


def start_daemon(home: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env.update(
        GEPAD_HOME=str(home),
        GEPAD_PORT="0",
        GEPAD_OPTIMIZER_ENABLED="false",
        GEPAD_OUTCOMES_ENABLED="false",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gepad.daemon"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    discovery = home / "run" / "daemon.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            info = json.loads(discovery.read_text())
            if info["pid"] == proc.pid:
                info["token"] = (home / "run" / "token").read_text().strip()
                return proc, info
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the daemon did not start")


async def rpc_call(ws: Any, rid: int, method: str, params: dict[str, Any]) -> tuple[Any, int]:
    await ws.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}))
    while True:
        text = await ws.recv()
        reply = json.loads(text)
        if reply.get("id") == rid:
            assert "error" not in reply, reply
            return reply["result"], len(text)


async def dashboard_url(info: dict[str, Any]) -> str:
    async with connect(
        info["ws_url"], additional_headers={"Authorization": f"Bearer {info['token']}"}
    ) as ws:
        result, _ = await rpc_call(ws, 1, "dashboard.open", {})
        return str(result["url"])


def get(host: str, port: int, path: str, cookie: str | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


async def first_load(info: dict[str, Any]) -> float:
    url = urlsplit(await dashboard_url(info))
    host, port = url.hostname or "127.0.0.1", url.port or 0
    t0 = time.perf_counter()
    login = get(host, port, f"{url.path}?{url.query}")
    cookie = (login.getheader("Set-Cookie") or "").split(";", 1)[0]
    for path in ("/dashboard/", "/dashboard/app.css", "/dashboard/views.js", "/dashboard/app.js"):
        assert get(host, port, path, cookie).status == 200, path
    origin = f"http://{host}:{port}"
    async with connect(
        info["ws_url"], additional_headers={"Cookie": cookie}, max_size=None, origin=origin
    ) as ws:  # type: ignore[arg-type]
        # As the page does: every call sent at once, replies matched by id.
        for i, (method, params) in enumerate(PAGE_CALLS):
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": method, "params": params})
            )
        waiting = set(range(1, len(PAGE_CALLS) + 1))
        while waiting:
            reply = json.loads(await ws.recv())
            assert "error" not in reply, reply
            waiting.discard(reply.get("id"))
    return (time.perf_counter() - t0) * 1000


async def per_view(info: dict[str, Any]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    async with connect(
        info["ws_url"],
        max_size=None,
        additional_headers={"Authorization": f"Bearer {info['token']}"},
    ) as ws:
        for i, (method, params) in enumerate(PAGE_CALLS):
            times, size = [], 0
            for k in range(5):
                t0 = time.perf_counter()
                _, size = await rpc_call(ws, 100 * i + k, method, params)
                times.append((time.perf_counter() - t0) * 1000)
            out[method] = {"median_ms": round(statistics.median(times), 2), "bytes": size}
    return out


def in_browser(info: dict[str, Any], n_candidates: int, n_examples: int) -> dict[str, float] | None:
    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        return None
    if chromium is None or driver_bin is None:
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_bin))
    try:
        url = asyncio.run(dashboard_url(info))
        t0 = time.perf_counter()
        driver.get(url)

        def complete(d: Any) -> bool:
            nodes = d.execute_script(
                "return document.querySelectorAll('#lineage-svg circle.node').length"
            )
            rows = d.execute_script(
                "return document.querySelectorAll('#examples tr[data-example]').length"
            )
            return bool(nodes == n_candidates and rows == n_examples)

        WebDriverWait(driver, 60, poll_frequency=0.02).until(complete)
        ready_ms = (time.perf_counter() - t0) * 1000
        search_ms = driver.execute_script("""
            const box = document.getElementById('ex-search');
            const t0 = performance.now();
            box.value = 'complaint 1999'; box.dispatchEvent(new Event('input'));
            document.body.offsetHeight;  // force layout
            return performance.now() - t0;""")
        return {
            "until_all_views_ms": round(ready_ms, 1),
            "search_keystroke_ms": round(search_ms, 1),
        }
    finally:
        driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args()
    t0 = time.perf_counter()
    engine = build_engine(args.candidates, args.examples, args.seed)
    print(
        f"engine: {len(engine.candidates)} candidates, {args.examples} examples, "
        f"{len(engine.frontier())} on the frontier ({time.perf_counter() - t0:.1f} s to build)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        asyncio.run(populate(home / "data" / "gepad.db", engine, args.examples))
        proc, info = start_daemon(home)
        try:
            views = per_view(info)
            view_times = asyncio.run(views)
            loads = [asyncio.run(first_load(info)) for _ in range(args.loads)]
            browser = in_browser(info, args.candidates, args.examples)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    result = {
        "candidates": args.candidates,
        "examples": args.examples,
        "first_load_ms": {
            "median": round(statistics.median(loads), 1),
            "max": round(max(loads), 1),
            "loads": args.loads,
        },
        "views": view_times,
        "browser": browser,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
