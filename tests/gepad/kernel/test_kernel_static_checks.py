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


# ---- issue 12, item 11: includes outside the toolkit and the system headers -----------------

INCLUDE_ATTACKS = {
    "absolute quoted": '#include "/etc/passwd"\n',
    "absolute angled": "#include </etc/passwd>\n",
    "home": '#include "~/.aws/credentials"\n',
    "dot-dot": '#include "../../etc/passwd"\n',
    "dot-dot inside": '#include "cuda/../../../../etc/passwd"\n',
    "hidden name": '#include ".aws/credentials"\n',
    "include_next": "#include_next </etc/passwd>\n",
    "import": '#import "/etc/passwd"\n',
    "digraph": '%:include "/etc/passwd"\n',
    "trigraph": '??=include "/etc/passwd"\n',
    "splice": '#inc\\\nlude "/etc/passwd"\n',
    "splice with blanks": '#inc\\  \nlude "/etc/passwd"\n',
    "comment in directive": '#/**/include "/etc/passwd"\n',
    "has_include probe": '#if __has_include("/root/.ssh/id_rsa")\n#error yes\n#endif\n',
    "has_include macro": '#define P "/etc/shadow"\n#if __has_include(P)\n#endif\n',
    "embed": '#embed "/etc/passwd"\n',
    "has_embed": '#if __has_embed("/etc/passwd")\n#endif\n',
    "pragma dependency": '#pragma GCC dependency "/etc/passwd"\n',
    "_Pragma dependency": '_Pragma("GCC dependency \\"/etc/passwd\\"")\n',
    "_Pragma macro": "#define D x\n_Pragma(D)\n",
    "incbin": 'asm(".incbin \\"/etc/passwd\\"");\n',
    "line directive": '#line 1 "/usr/local/cuda/include/cuda.h"\nvoid f() { at::relu(x); }\n',
    "line marker": '# 1 "/usr/local/cuda/include/cuda.h"\n',
}


@pytest.mark.parametrize("name", sorted(INCLUDE_ATTACKS))
def test_includes_and_file_probes_outside_the_toolkit_are_rejected(name: str) -> None:
    report = check_cuda_source(INCLUDE_ATTACKS[name], forbid=())
    assert not report.ok, name
    assert _rules(report) & {"include", "line-directive"}, report.format()


def test_the_include_finding_names_the_path_and_the_rule() -> None:
    (finding,) = check_cuda_source('\n#include "/etc/passwd"\n', forbid=()).findings
    assert finding.line == 2 and finding.rule == "include"
    assert '"/etc/passwd"' in finding.message and "plain relative name" in finding.message


def test_toolkit_and_system_headers_by_name_are_fine() -> None:
    src = (
        "#include <cuda_runtime.h>\n"
        '#include "cuda_fp16.h"\n'
        "#include <cuda/std/cstdint>\n"
        "#  include <math.h>  // a comment\n"
        "#if __has_include(<cuda_bf16.h>)\n#include <cuda_bf16.h>\n#endif\n"
        "#pragma unroll\n"
        '_Pragma("unroll")\n'
        "#pragma once\n"
    )
    report = check_cuda_source(src)
    assert report.ok, report.format()


# ---- issue 12, item 13: bypasses of the static checks that passed before ----------------------

BYPASSES = {
    "include via a macro": (
        "#define HDR <torch/extension.h>\n#include HDR\n",
        "include",
    ),
    "splice in torch::": ("void f() { tor\\\nch::relu(x); }\n", "library:torch"),
    "spaces around ::": ("void f() { at :: relu(x); }\n", "library:torch"),
    "namespace alias": ("namespace T = at;\nvoid f() { T::relu(x); }\n", "library:torch"),
    "using namespace": ("using namespace ::torch;\n", "library:torch"),
    "dlsym through a pointer": (
        'void* g(void* h) { auto p = (dlsym); return p(h, "launch"); }\n',
        "dynamic-loading",
    ),
    "PyRun_ token pasting": (
        '#define RUN(x) PyRun_##x\nvoid f() { RUN(SimpleString)("1"); }\n',
        "library:python",
    ),
    "try via a macro": (
        "#define TRY try\n#define CATCH catch\nvoid f() { TRY { g(); } CATCH (...) {} }\n",
        "try-fallback",
    ),
    "digit separator hiding code": (
        "int n = 1'000; void f() { at::relu(x); } char c = 'a';\n",
        "library:torch",
    ),
    "cublas through a pointer": ("auto p = &cublasSgemm_v2;\n", "library:cublas"),
}


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_static_check_bypasses_are_rejected(name: str) -> None:
    source, rule = BYPASSES[name]
    report = check_cuda_source(source)
    assert rule in _rules(report), report.format()


def test_ordinary_cpp_is_not_mistaken_for_a_bypass() -> None:
    src = (
        "#include <cuda_runtime.h>\n"
        "struct V { int at(int i) const { return i; } };\n"
        "int g(const V& v) { return v.at(1'000'000) + 0x1'ff; }\n"
        'const char* r = R"x(// not a comment; "quoted" at::nothing)x";\n'
        "// torch::relu in a comment, dlsym in a comment, try { } in a comment\n"
        "/* PyRun_SimpleString */ int Pyramid_level = 2; int retry = 0, catches = 1;\n"
    )
    report = check_cuda_source(src)
    assert report.ok, report.format()
