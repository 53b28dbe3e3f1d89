"""Test-time kernel search through gepa_engine, `gepad kernel solve|eval`, and kernel examples.

Everything is scored by the real nvcc on real source; the simulated writer only chooses which
prepared variant to write from the statements in the prompt. No GPU here, so the measure is
"passes the static checks and compiles with the launcher exported" (score 0.5 of 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gepad_kernel_testing import needs_nvcc

from gepad.errors import KernelSolveError
from gepad.kernel import (
    KERNEL_SEED_PROMPT,
    NvccToolchain,
    SolveReport,
    extract_source,
    parse_budget,
    score_kernel_example,
    shipped_problems,
    simulated_reflector,
    simulated_writer,
    solve,
    statements_in,
)
from gepad.learning import Metric
from gepad.store import Example

pytestmark = pytest.mark.timeout(90)

GOOD_RELU = """#include <cuda_runtime.h>
__global__ void relu_kernel(const float* x, float* out, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = fmaxf(x[i], 0.0f);
}
extern "C" void launch_relu(const float* x, float* out, int n) {
    relu_kernel<<<(n + 255) / 256, 256>>>(x, out, n);
}
"""
BROKEN_RELU = GOOD_RELU.replace("fmaxf(x[i], 0.0f)", "fmaxf(x[i], 0.0f) + not_declared")


def _gepad(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GEPAD_HOME": str(cwd / "home")}
    return subprocess.run(
        [sys.executable, "-m", "gepad.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )


def test_budgets_and_bad_requests_are_refused_clearly() -> None:
    assert parse_budget("small", 5) == 40
    assert parse_budget("medium", 1) == 20
    assert parse_budget("17", 5) == 17 and parse_budget(3, 1) == 3
    with pytest.raises(KernelSolveError, match="one of small, medium, large: 'huge'"):
        parse_budget("huge", 2)
    with pytest.raises(KernelSolveError, match="at least 1 rollout"):
        parse_budget(0, 2)


async def test_solve_refuses_empty_and_duplicate_problem_lists() -> None:
    relu = shipped_problems()[2]
    kwargs: dict[str, Any] = {
        "writer": simulated_writer,
        "reflector": simulated_reflector,
        "nvcc": NvccToolchain(),
    }
    with pytest.raises(KernelSolveError, match="no problems"):
        await solve([], 10, **kwargs)
    with pytest.raises(KernelSolveError, match=f"more than once: {relu.name}"):
        await solve([relu, relu], 10, **kwargs)


def test_extract_source_takes_the_cuda_block() -> None:
    answer = "Here it is:\n```text\nnotes\n```\n```cuda\n__global__ void k() {}\n```\nDone."
    assert extract_source(answer) == "__global__ void k() {}\n"
    assert extract_source("__global__ void k() {}") == "__global__ void k() {}\n"


def test_extract_source_joins_a_kernel_and_launcher_split_across_blocks() -> None:
    # A real Qwen answer put the kernel and the host launcher in two fenced blocks.
    answer = (
        "Here is the kernel:\n```cuda\n__global__ void relu(float* x) {}\n```\n"
        'And the launcher:\n```cuda\nextern "C" void launch_relu(float* x) {}\n```\n'
    )
    source = extract_source(answer)
    assert "__global__ void relu" in source and 'extern "C" void launch_relu' in source
    # One complete block is taken alone, and a repeated block is not doubled.
    whole = '__global__ void k() {}\nextern "C" void launch_k() {}'
    assert extract_source(f"```cu\nint x;\n```\n```cu\n{whole}\n```") == whole + "\n"
    twice = "```cuda\n__global__ void k() {}\n```\n```cuda\n__global__ void k() {}\n```"
    assert extract_source(twice) == "__global__ void k() {}\n"


def test_extract_source_leaves_out_a_block_that_redefines_the_launcher() -> None:
    # Qwen-1.5B's softmax answer repeated the launcher in a usage block; joining both blocks
    # made nvcc fail with `function "launch_softmax" has already been defined`.
    kernel = (
        "__global__ void softmax_kernel(const float* x, float* y, int n)\n{\n"
        "    if (n > 0) { y[0] = x[0]; }\n}\n"
        "void launch_softmax(const float* x, float* y, int n) {\n"
        "    softmax_kernel<<<1, 256>>>(x, y, n);\n}"
    )
    usage = (
        "void launch_softmax(const float* x, float* y, int n) {\n"
        "    softmax_kernel<<<1, 256>>>(x, y, n);\n}\nint main() { return 0; }"
    )
    helper = "__device__ float warp_max(float v)\n{\n    return v;\n}"
    answer = f"```cuda\n{kernel}\n```\nUsage:\n```cuda\n{usage}\n```\n```cuda\n{helper}\n```"
    source = extract_source(answer)
    assert source.count("void launch_softmax(") == 1
    assert "int main" not in source
    # A block with new definitions only is still joined.
    assert "__device__ float warp_max" in source


@needs_nvcc
async def test_kernel_solve_with_the_simulated_writer_raises_the_clean_share() -> None:
    problems = shipped_problems()
    progress: list[str] = []
    report: SolveReport = await solve(
        problems,
        parse_budget("small", len(problems)),
        writer=simulated_writer,
        reflector=simulated_reflector,
        nvcc=NvccToolchain(),
        progress=progress.append,
    )
    seed_share = report.share_clean(report.seed)
    evolved_share = report.share_clean(report.evolved)
    assert evolved_share > seed_share, (seed_share, evolved_share, report.stop_reason)
    assert seed_share == 0.0 and evolved_share == 1.0
    assert report.seed_prompt == KERNEL_SEED_PROMPT and report.best_prompt != KERNEL_SEED_PROMPT
    # What the engine learned came from real tool output, through its own reflect/accept loop.
    assert statements_in(report.best_prompt) >= {
        "no_legacy_sync",
        "warp_shuffle_sync",
        "extern_c_launcher",
        "no_library_fallback",
    }
    assert report.events.get("accepted", 0) >= 1 and report.events.get("new_best", 0) >= 1
    assert 0 < report.rollouts <= report.budget
    # p:train and p:val share a compile: far fewer toolchain runs than rollouts.
    assert report.compiles < report.rollouts
    for best in report.best:
        assert best.clean and best.score == 0.5 and best.correct is None
        assert 'extern "C" void launch_' in best.source
        assert best.rollouts >= 2 and 0 < best.found_at <= report.rollouts
        assert "not checked" in best.feedback
    seed_feedback = "\n".join(r.feedback for r in report.seed)
    assert 'identifier "cudaThreadSynchronize" is undefined' in seed_feedback
    assert "[library:cublas]" in seed_feedback
    assert any("new best prompt" in line for line in progress)
    json.dumps(report.to_json())  # the --json report is plain JSON


@needs_nvcc
def test_gepad_kernel_eval_on_a_good_and_a_broken_file(tmp_path: Path) -> None:
    (tmp_path / "good.cu").write_text(GOOD_RELU)
    (tmp_path / "bad.cu").write_text(BROKEN_RELU)
    good = _gepad("kernel", "eval", "good.cu", "--problem", "relu", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert "score 0.50" in good.stdout and "compiled: yes" in good.stdout
    assert "relu_kernel(float const*, float*, int):" in good.stdout
    assert "registers" in good.stdout and "occupancy" in good.stdout
    # which containment the compiles ran under is said (issue 12, item 11)
    assert "compiles run under: bwrap jail" in good.stderr or "guard, not a jail" in good.stderr
    bad = _gepad("kernel", "eval", "bad.cu", "--problem", "relu", "--json", cwd=tmp_path)
    assert bad.returncode == 1, bad.stderr
    data = json.loads(bad.stdout)
    assert (data["static_ok"], data["compiled"], data["passed"]) == (True, False, False)
    assert 'kernel.cu(4): error: identifier "not_declared" is undefined' in data["feedback"]
    unknown = _gepad("kernel", "eval", "good.cu", "--problem", "conv9", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown problem 'conv9'" in unknown.stderr
    missing = _gepad("kernel", "eval", "nope.cu", "--problem", "relu", cwd=tmp_path)
    assert missing.returncode == 2 and "kernel file not found: nope.cu" in missing.stderr


@needs_nvcc
def test_gepad_kernel_solve_simulated_writes_a_table_and_a_json_report(tmp_path: Path) -> None:
    res = _gepad(
        "kernel",
        "solve",
        "relu",
        "matmul",
        "--budget",
        "small",
        "--simulated",
        "--json",
        "out.json",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    header = res.stdout.splitlines()[0].split()
    assert header == ["problem", "compiled", "correct", "speedup", "score", "rollouts"]
    rows = {line.split()[0]: line.split() for line in res.stdout.splitlines()[1:3]}
    assert rows["relu"][1:4] == ["yes", "not", "run"] and rows["matmul"][1] == "yes"
    assert "seed prompt 0/2, evolved prompt 2/2" in res.stdout
    assert "budget 16 rollouts" in res.stderr and "rollouts 2/16" in res.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    assert (data["seed_share_clean"], data["evolved_share_clean"]) == (0.0, 1.0)
    assert data["rollouts"] <= data["budget"] == 16 and data["gpu"] is False
    assert [b["problem"] for b in data["best"]] == ["relu", "matmul"]
    assert all('extern "C"' in b["source"] for b in data["best"])
    bad = _gepad("kernel", "solve", "relu", "--budget", "huge", "--simulated", cwd=tmp_path)
    assert bad.returncode == 2 and "budget must be" in bad.stderr


@needs_nvcc
async def test_kernel_examples_are_scored_by_nvcc_not_a_judge(tmp_path: Path) -> None:
    nvcc = NvccToolchain()
    named = await score_kernel_example(
        GOOD_RELU, {"problem": "relu", "diagnostics": ["old: error"]}, nvcc=nvcc
    )
    assert (named.score, named.problem) == (0.5, "relu")
    assert named.feedback.startswith("Earlier the user's compiler said:\nold: error")
    assert "not checked" in named.feedback
    free = await score_kernel_example(BROKEN_RELU, {}, nvcc=nvcc)
    assert free.score == 0.5 and free.problem is None  # static 0.5; the compile failed
    assert 'identifier "not_declared" is undefined' in free.feedback
    cheat = await score_kernel_example("#include <torch/extension.h>\n", {}, nvcc=nvcc)
    assert cheat.score == 0.0 and "torch" in cheat.feedback
    unknown = await score_kernel_example(GOOD_RELU, {"problem": "conv9"}, nvcc=nvcc)
    assert unknown.score is None and "neither a shipped problem" in unknown.feedback


class ScriptedTaskModel:
    """A stand-in for the LLM client's `complete`: answers every task call with one kernel."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.calls: list[tuple[str, list[dict[str, str]]]] = []

    async def complete(self, purpose: str, messages: Any, **_: Any) -> Any:
        self.calls.append((purpose, list(messages)))
        return type("Result", (), {"text": self.answer})()


@needs_nvcc
async def test_the_metric_routes_kernel_examples_to_the_toolchain() -> None:
    model = ScriptedTaskModel(f"Sure:\n```cuda\n{GOOD_RELU}```\n")
    metric = Metric(model, nvcc=NvccToolchain())  # type: ignore[arg-type]
    example = Example(
        id=1,
        kind="kernel",
        component="kernel",
        workspace=None,
        file="relu.cu",
        language="cuda",
        context="Write a ReLU kernel.",
        output="",
        corrected=None,
        comment="keep it simple",
        outcome=json.dumps({"problem": "relu"}),
        generation_id=None,
        prompt_version=None,
        split="val",
        retired=False,
        created_at=0.0,
        content_hash="x",
    )
    result = await metric.rollout("You write CUDA kernels.", example)
    assert result.score == 0.5 and result.output == GOOD_RELU
    assert result.feedback.startswith("The user's comment: keep it simple")
    assert [p for p, _ in model.calls] == ["task"]  # no judge call
    user = model.calls[0][1][1]["content"]
    assert user.startswith("Write a ReLU kernel.") and 'extern "C" void launch_relu' in user
