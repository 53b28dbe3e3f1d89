"""The end-to-end online feed and the prequential curves (gepad_sim._e2e_online), and the
engine-only run's prequential scores those curves are compared with."""

from __future__ import annotations

from pathlib import Path

import pytest

from gepad_sim import load_scenario, run_optimizer, split_tasks
from gepad_sim._e2e_online import OnlinePlan, curve_points, rolling
from gepad_sim.engine_driver import run_gepad

ROOT = Path(__file__).resolve().parents[2]
REALISTIC = ROOT / "bench" / "scenarios" / "realistic-python.toml"


def test_the_plan_feeds_a_quarter_first_then_batches_alternating_train_and_val() -> None:
    sc = load_scenario(REALISTIC)
    split = split_tasks(sc.tasks, 0)
    plan = OnlinePlan.make(split.train, split.val, start=0.25, every=40, batch=2)
    n_train, n_val = -(-len(split.train) // 4), -(-len(split.val) // 4)
    assert plan.first == (*split.train[:n_train], *split.val[:n_val])
    assert plan.batches[0] == (split.train[n_train], split.val[n_val])
    fed = [t.id for t in plan.first] + [t.id for b in plan.batches for t in b]
    assert sorted(fed) == sorted(t.id for t in (*split.train, *split.val))
    assert all(len(b) == 2 for b in plan.batches[:-1])
    assert plan.segments(100) == [40, 80, 100]
    assert plan.segments(0) == []


def test_rolling_mean_and_curve_points() -> None:
    assert rolling([0, 1, 1, 0, 1], 2) == [0.0, 0.5, 1.0, 0.5, 0.5]
    assert rolling([1.0], 20) == [1.0]
    curve = [i / 23 for i in range(24)]
    points = curve_points(curve)
    assert len(points) == 10 and points[0] == (1, 0.0) and points[-1] == (24, 1.0)
    assert [n for n, _ in points] == sorted({n for n, _ in points})
    assert curve_points([]) == []
    assert curve_points([0.5, 0.7]) == [(1, 0.5), (2, 0.7)]


def test_online_engine_runs_keep_each_arrivals_prequential_score() -> None:
    sc = load_scenario(REALISTIC)
    r = run_optimizer(sc, run_gepad, name="gepad", seed=0, budget=200, online=True)
    assert r.prequential_scores and all(0.0 <= v <= 1.0 for v in r.prequential_scores)
    mean = sum(r.prequential_scores) / len(r.prequential_scores)
    assert r.prequential == pytest.approx(mean)
    batch = run_optimizer(sc, run_gepad, name="gepad", seed=0, budget=200)
    assert batch.prequential_scores == () and batch.prequential is None
