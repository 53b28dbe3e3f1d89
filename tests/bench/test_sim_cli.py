"""bench/simuser.py and bench/engine_overhead.py as real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIMUSER = ROOT / "bench" / "simuser.py"
OVERHEAD = ROOT / "bench" / "engine_overhead.py"
PYTHON_STYLE = ROOT / "bench" / "scenarios" / "python-style.toml"
RUN_KEYS = {
    "scenario",
    "optimizer",
    "seed",
    "budget",
    "rollouts_used",
    "test_score",
    "rollouts_to_90",
    "curve",
}


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_simuser_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "runs.json"
    proc = run(
        SIMUSER,
        "--scenario", str(PYTHON_STYLE),
        "--optimizers", "seed,reference",
        "--budget", "60",
        "--seeds", "1",
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert set(doc) == {"runs"}
    runs = doc["runs"]
    assert [(r["optimizer"], r["seed"]) for r in runs] == [("seed", 0), ("reference", 0)]
    for r in runs:
        assert set(r) == RUN_KEYS
        assert r["scenario"] == "python-style" and r["budget"] == 60
        assert isinstance(r["rollouts_used"], int) and r["rollouts_used"] > 0
        assert isinstance(r["test_score"], float) and 0.0 <= r["test_score"] <= 1.0
        assert r["rollouts_to_90"] is None or isinstance(r["rollouts_to_90"], int)
        assert r["curve"], "every optimizer reports at least its starting point"
        for point in r["curve"]:
            assert isinstance(point[0], int) and isinstance(point[1], float) and len(point) == 2
    reference = runs[1]
    assert reference["rollouts_used"] >= 60
    # stdout is the table and nothing else: no gepa log lines.
    assert proc.stdout.splitlines()[0].split()[:2] == ["scenario", "optimizer"]
    assert "Iteration" not in proc.stdout
    assert "reference" in proc.stdout and "python-style" in proc.stdout
    assert proc.stderr.count("python-style / ") == 2, "one progress line per run"


def test_simuser_two_workers_give_the_same_runs(tmp_path: Path) -> None:
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}.json"
        proc = run(
            SIMUSER,
            "--scenario", str(PYTHON_STYLE),
            "--optimizers", "reference,seed",
            "--budget", "40",
            "--seeds", "2",
            "--jobs", jobs,
            "--json", str(out),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        outs.append(json.loads(out.read_text(encoding="utf-8")))
    assert outs[0] == outs[1]
    assert [(r["optimizer"], r["seed"]) for r in outs[0]["runs"]] == [
        ("reference", 0), ("reference", 1), ("seed", 0), ("seed", 1),
    ]  # fmt: skip


def test_simuser_bad_scenarios_exit_2_naming_every_file_and_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "bad"\nseed_prompt = "x"\ncolour = 1\n'
        '[[rules]]\nid = "a"\nstatement = "no trigger"\ntriggers = ["zzz"]\nfeedback = "f"\n'
        '[[tasks]]\nid = "t"\ninput = "i"\nrules = ["ghost"]\n',
        encoding="utf-8",
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [", encoding="utf-8")
    out = tmp_path / "never.json"
    proc = run(
        SIMUSER,
        "--scenario", str(bad),
        "--scenario", str(broken),
        "--optimizers", "seed",
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert str(bad) in proc.stderr and str(broken) in proc.stderr
    for needle in ("'colour'", "none of its triggers", "'ghost'", "not valid TOML"):
        assert needle in proc.stderr
    assert not out.exists()


def test_simuser_unknown_optimizer_exits_2(tmp_path: Path) -> None:
    proc = run(SIMUSER, "--scenario", str(PYTHON_STYLE), "--optimizers", "seed,dspy")
    assert proc.returncode == 2
    assert "unknown optimizer 'dspy'" in proc.stderr


def test_simuser_bad_arguments_exit_2() -> None:
    proc = run(SIMUSER, "--scenario", str(PYTHON_STYLE), "--budget", "0")
    assert proc.returncode == 2 and "--budget" in proc.stderr
    proc = run(SIMUSER, "--scenario", str(PYTHON_STYLE), "--jobs", "3")
    assert proc.returncode == 2 and "--jobs" in proc.stderr


def test_engine_overhead_reference_only(tmp_path: Path) -> None:
    out = tmp_path / "overhead.json"
    proc = run(
        OVERHEAD,
        "--reference-only",
        "--candidates", "10",
        "--examples", "50",
        "--repeats", "3",
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert set(doc) == {"gepad_ms_median", "reference_ms_median"}
    assert doc["gepad_ms_median"] is None
    assert doc["reference_ms_median"] > 0
    assert "reference" in proc.stdout and "median" in proc.stdout
