"""bench/daemon_e2e.py is reproducible: the same seed gives the same numbers.

Two short runs of the real stack (simulated server and daemon as processes, real websocket),
side by side; everything but the wall time must be identical.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "bench" / "scenarios" / "python-style.toml"
REALISTIC = ROOT / "bench" / "scenarios" / "realistic-python.toml"


def _e2e() -> ModuleType:
    spec = importlib.util.spec_from_file_location("daemon_e2e", ROOT / "bench" / "daemon_e2e.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("daemon_e2e", module)
    spec.loader.exec_module(module)
    return module


def _one(module: ModuleType, seed: int) -> dict[str, Any]:
    result: dict[str, Any] = asyncio.run(
        module.run(SCENARIO, 16, seed, 120.0, judge_bias=(0.1, 0.0, 0.0), engine=False)
    )
    return _timeless(result)


def _timeless(result: dict[str, Any]) -> dict[str, Any]:
    """The run without its wall-clock times (the seconds, each prequential score's time)."""
    result.pop("seconds")
    for point in result["prequential"]["history"]:
        point.pop("t")
    return result


@pytest.mark.timeout(240)
def test_the_same_seed_gives_the_same_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sim-not-a-secret")
    module = _e2e()
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda s: _one(module, s), (3, 3))
    assert first["rollouts_used"] > 0 and first["judge"]["cost"]
    assert first == second


def _realistic(module: ModuleType, seed: int) -> dict[str, Any]:
    # Several requests in flight at once (task and judge calls of a minibatch, the
    # prequential scoring of new examples): the realistic LMs' answers must not depend on the
    # order they arrive in.
    result: dict[str, Any] = asyncio.run(
        module.run(
            REALISTIC, 48, seed, 180.0, engine=False, online=True, llm_concurrency=4,
            online_every=12,
        )
    )  # fmt: skip
    return _timeless(result)


@pytest.mark.timeout(400)
def test_a_realistic_online_run_with_concurrent_requests_repeats_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sim-not-a-secret")
    module = _e2e()
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda s: _realistic(module, s), (5, 5))
    assert first["rollouts_used"] > 0 and first["swaps"] > 0
    assert first["llm_calls"]["task"] > first["rollouts_used"]  # scoring rollouts too
    assert first["prequential"]["examples"] == first["examples_fed"]
    assert first == second


def test_distribution_reports_median_p10_p90() -> None:
    module = _e2e()
    runs = [
        {"seed": s, "daemon_test_score": d, "engine_test_score": 0.5, "seed_test_score": 0.1}
        for s, d in enumerate([0.1 * i for i in range(1, 11)])
    ]
    d = module.distribution(runs)
    assert d["seeds"] == list(range(10))
    assert d["daemon_test_score"]["median"] == pytest.approx(0.55)
    assert d["daemon_test_score"]["p10"] == pytest.approx(0.19)
    assert d["daemon_test_score"]["p90"] == pytest.approx(0.91)
    assert d["ratio"]["min"] == pytest.approx(0.2)
