"""Anti-cheat static checks and the speedup verdict."""

from __future__ import annotations

import math

import pytest

from gepad.kernel import check_cuda_source, check_python_wrapper, judge_speedup

CLEAN = r"""
#include <cuda_runtime.h>
// A comment mentioning torch::relu and cublasSgemm( is fine.
__global__ void k(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.0f);
}
extern "C" void launch(const float* x, float* y, int n) {
    const char* note = "uses no libraries";
    (void)note;
    k<<<(n + 255) / 256, 256>>>(x, y, n);
}
"""


def _rules(report: object) -> set[str]:
    return {f.rule for f in report.findings}  # type: ignore[attr-defined]


def test_a_clean_kernel_passes() -> None:
    report = check_cuda_source(CLEAN)
    assert report.ok, report.format()
    assert report.format() == "static checks: passed"


def test_torch_in_cuda_is_rejected_always() -> None:
    src = (
        "#include <torch/extension.h>\n"
        "torch::Tensor f(torch::Tensor x) { return at::relu(x); }\n"
        'void g() { AT_DISPATCH_FLOATING_TYPES(t, "g", [&] {}); TORCH_CHECK(true); }\n'
    )
    report = check_cuda_source(src, forbid=())
    assert _rules(report) == {"library:torch"}
    assert {f.line for f in report.findings} == {1, 2, 3}
    assert "reference implementation" in report.format()


def test_forbidden_libraries_follow_the_problem() -> None:
    src = (
        "#include <cublas_v2.h>\n#include <cub/cub.cuh>\n"
        "void f() { cublasSgemm(h, a, b); cub::DeviceReduce::Sum(0, n, x, y, n); }\n"
    )
    strict = check_cuda_source(src, forbid=("cublas", "cub"))
    assert _rules(strict) == {"library:cublas", "library:cub"}
    lenient = check_cuda_source(src, forbid=())
    assert lenient.ok
    with pytest.raises(ValueError, match="unknown libraries"):
        check_cuda_source(src, forbid=("mkl",))


def test_python_embedding_dlopen_and_try_fallbacks_are_rejected() -> None:
    src = (
        "#include <Python.h>\n"
        'void a() { Py_Initialize(); PyRun_SimpleString("import torch\\nprint(1)"); }\n'
        'void b() { void* h = dlopen("libtorch_cuda.so", 2); }\n'
        "void c() { try { launch(); } catch (...) { fallback(); } }\n"
    )
    report = check_cuda_source(src)
    assert _rules(report) == {
        "library:python",
        "reference-embedded",
        "dynamic-loading",
        "try-fallback",
    }


def test_line_numbers_survive_comment_stripping() -> None:
    src = "/* line 1\n   line 2 */\n// line 3\nvoid f() { at::zeros({1}); }\n"
    (finding,) = check_cuda_source(src).findings
    assert finding.line == 4


WRAPPER_OK = '''
import torch
from torch.utils.cpp_extension import load_inline

cuda_src = """
__global__ void k(const float* x, float* y, int n) { }
"""
ext = load_inline(name="k", cpp_sources="", cuda_sources=cuda_src)


class ModelNew(torch.nn.Module):
    def forward(self, x):
        y = torch.empty_like(x)
        ext.run(x.contiguous(), y, x.numel())
        return y
'''


def test_python_wrapper_without_fallbacks_passes() -> None:
    report = check_python_wrapper(WRAPPER_OK)
    assert report.ok, report.format()


def test_python_wrapper_fallbacks_and_reference_ops_are_rejected() -> None:
    src = '''
import torch
import torch.nn.functional as F

class ModelNew(torch.nn.Module):
    def forward(self, x, w):
        try:
            return ext.run(x)
        except RuntimeError:
            return torch.relu(x)

    def other(self, x, w):
        return F.softmax(x, dim=1) + x.sum() + (x @ w) + Model()(x)

cuda = """
#include <ATen/ATen.h>
__global__ void k() {}
"""
'''
    report = check_python_wrapper(src)
    messages = report.format(limit=20)
    assert _rules(report) == {"try-fallback", "reference-op", "reference-module", "library:torch"}
    assert "torch.relu" in messages and "F.softmax" in messages and ".sum()" in messages
    assert "(in CUDA string) #include <ATen/ATen.h>" in messages
    torch_include = next(f for f in report.findings if f.rule == "library:torch")
    assert torch_include.line == 16  # the line inside the file, not inside the string


def test_python_wrapper_syntax_error_is_a_finding() -> None:
    (finding,) = check_python_wrapper("def (:").findings
    assert finding.rule == "python-syntax"


@pytest.mark.parametrize(
    ("speedup", "kind", "flagged"),
    [
        (0.5, "slower", False),
        (1.0, "parity", False),
        (2.5, "faster", False),
        (10.0, "faster", False),
        (10.5, "review", True),
        (150.0, "review", True),
        (0.0, "invalid", True),
        (math.inf, "invalid", True),
        (math.nan, "invalid", True),
    ],
)
def test_judge_speedup(speedup: float, kind: str, flagged: bool) -> None:
    verdict = judge_speedup(speedup)
    assert verdict.kind == kind and verdict.flagged is flagged
    if kind == "review":
        assert "flagged for review" in verdict.message
