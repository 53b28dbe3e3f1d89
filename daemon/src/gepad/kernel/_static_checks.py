"""Anti-cheat checks on generated kernel code, before anything is compiled or run.

Published kernel speedups have been inflated by code that quietly calls the reference (torch,
cuBLAS) or falls back to it when the custom kernel fails. These checks reject that, from the
source alone:

CUDA/C++ sources (`check_cuda_source`):
  * ``torch``          ``#include <torch/...>``, ``<ATen/...>``, ``<c10/...>``; ``at::``,
                       ``torch::``, ``c10::``, ``AT_DISPATCH...``, ``TORCH_CHECK`` (always)
  * ``python``         ``Python.h`` / ``Py_Initialize`` / ``PyRun_*``: running Python (the
                       reference module) from the kernel library (always)
  * ``reference-embedded``  a string literal holding Python/torch code (always)
  * ``dynamic-loading`` ``dlopen``/``dlsym``: loading code the checks cannot see (always)
  * ``try-fallback``   a C++ ``try``/``catch``: a failing kernel must fail, not fall back
  * ``library:<name>`` calls or headers of a library the problem forbids
                       (cublas, cudnn, cutlass, cub, thrust)

Python wrappers (`check_python_wrapper`, for KernelBench-style ``ModelNew`` + ``load_inline``):
  * ``try-fallback``     any ``try`` statement
  * ``reference-op``     torch/``F.`` calls and tensor methods that compute the answer
                         (``torch.relu``, ``F.softmax``, ``x.sum()``, ``a @ b``, ...); allocation
                         and plumbing (``torch.empty_like``, ``.contiguous()``, ...) are allowed
  * ``reference-module`` instantiating or calling the reference ``Model``
  * the CUDA strings inside the wrapper are checked as CUDA sources too

`judge_speedup` flags speedups above 10x for review instead of celebrating them.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Finding",
    "StaticReport",
    "Verdict",
    "check_cuda_source",
    "check_python_wrapper",
    "judge_speedup",
]

REVIEW_SPEEDUP = 10.0


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    line: int
    message: str

    def format(self) -> str:
        return f"line {self.line}: [{self.rule}] {self.message}"


@dataclass(frozen=True, slots=True)
class StaticReport:
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def format(self, limit: int = 5) -> str:
        if self.ok:
            return "static checks: passed"
        shown = [f.format() for f in self.findings[:limit]]
        more = len(self.findings) - len(shown)
        tail = [f"... {more} more finding(s)"] if more > 0 else []
        return "\n".join(["static checks: rejected", *shown, *tail])


# (header prefixes, code patterns) per library.
_LIBRARIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "torch": (
        ("torch/", "ATen/", "c10/", "THC/", "caffe2/"),
        (r"\b(?:at|torch|c10)::", r"\bAT_DISPATCH\w*", r"\bTORCH_\w+\s*\("),
    ),
    "python": (("Python.h", "pybind11/"), (r"\bPy[A-Z_]\w*\s*\(", r"\bpybind11::")),
    "cublas": (("cublas",), (r"\bcublas\w*\s*\(",)),
    "cudnn": (("cudnn",), (r"\bcudnn\w*\s*\(",)),
    "cutlass": (("cutlass/", "cute/"), (r"\bcutlass::", r"\bcute::")),
    "cub": (("cub/",), (r"\bcub::",)),
    "thrust": (("thrust/",), (r"\bthrust::",)),
}
_ALWAYS = ("torch", "python")
_WHY = {
    "torch": "calls into torch/ATen: the kernel must not use the reference implementation",
    "python": "embeds Python: the kernel must not run the reference module",
}
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*[<"](?P<path>[^>"]+)[>"]', re.M)


def _blank(match: re.Match[str]) -> str:
    """Replace a comment or literal by spaces, keeping newlines so line numbers hold."""
    return re.sub(r"[^\n]", " ", match.group(0))


_COMMENT_OR_STRING = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S
)


def _split_code(source: str) -> tuple[str, str, list[tuple[int, str]]]:
    """(without comments, without comments and literals, [(line, string literal)])."""
    no_comments: list[str] = []
    code: list[str] = []
    strings: list[tuple[int, str]] = []
    pos = 0
    for m in _COMMENT_OR_STRING.finditer(source):
        no_comments.append(source[pos : m.start()])
        code.append(source[pos : m.start()])
        token = m.group(0)
        if token.startswith(("//", "/*")):
            no_comments.append(_blank(m))
        else:
            no_comments.append(token)
            if token.startswith('"'):
                strings.append((source.count("\n", 0, m.start()) + 1, token[1:-1]))
        code.append(_blank(m))
        pos = m.end()
    no_comments.append(source[pos:])
    code.append(source[pos:])
    return "".join(no_comments), "".join(code), strings


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def check_cuda_source(source: str, *, forbid: Iterable[str] = ("cublas", "cudnn")) -> StaticReport:
    """Static anti-cheat checks on a .cu/.cuh source (see the module doc for the rules)."""
    unknown = [f for f in forbid if f not in _LIBRARIES]
    if unknown:
        raise ValueError(f"unknown libraries to forbid: {unknown}; known: {sorted(_LIBRARIES)}")
    no_comments, code, strings = _split_code(source)
    findings: list[Finding] = []
    libraries = list(dict.fromkeys([*_ALWAYS, *forbid]))
    for m in _INCLUDE.finditer(no_comments):
        path = m["path"]
        for lib in libraries:
            headers = _LIBRARIES[lib][0]
            if any(path.startswith(h) or path.split("/")[-1].startswith(h) for h in headers):
                why = _WHY.get(lib, f"the problem forbids {lib}")
                findings.append(
                    Finding(
                        f"library:{lib}",
                        _line_of(no_comments, m.start()),
                        f"#include <{path}>: {why}",
                    )
                )
    for lib in libraries:
        for pattern in _LIBRARIES[lib][1]:
            for m in re.finditer(pattern, code):
                why = _WHY.get(lib, f"the problem forbids {lib}")
                what = re.sub(r"\s*\($", "()", m.group(0).strip())
                findings.append(
                    Finding(f"library:{lib}", _line_of(code, m.start()), f"{what}: {why}")
                )
    for m in re.finditer(r"\b(dlopen|dlsym|dlmopen)\s*\(", code):
        findings.append(
            Finding(
                "dynamic-loading",
                _line_of(code, m.start()),
                f"{m[1]}(): loading code at run time is not allowed",
            )
        )
    for m in re.finditer(r"\btry\s*\{|\bcatch\s*\(", code):
        findings.append(
            Finding(
                "try-fallback",
                _line_of(code, m.start()),
                "try/catch: a failing kernel must fail, not fall back to another path",
            )
        )
    for line, text in strings:
        if re.search(r"\bimport torch\b|\btorch\.\w+|\bnn\.Module\b|\bclass Model\b", text):
            findings.append(
                Finding("reference-embedded", line, "a string literal holds torch/Python code")
            )
    findings.sort(key=lambda f: (f.line, f.rule))
    return StaticReport(tuple(dict.fromkeys(findings)))


# torch functions a wrapper may call: allocation, dtype/device plumbing, the extension loader.
_ALLOWED_TORCH = frozenset(
    (  # noqa: SIM905 - a word list reads better than 31 quoted strings
        "empty empty_like empty_strided zeros zeros_like ones ones_like full full_like tensor "
        "as_tensor device dtype is_tensor no_grad inference_mode manual_seed "
        "get_default_dtype Size cuda.synchronize cuda.current_stream cuda.current_device "
        "cuda.is_available cuda.Event cuda.Stream cuda.stream cuda.device "
        "utils.cpp_extension.load_inline utils.cpp_extension.load nn.Module nn.Parameter "
    ).split()
)
# Tensor methods that compute an answer the kernel is supposed to compute.
_REFERENCE_METHODS = frozenset(
    (  # noqa: SIM905
        "relu relu_ softmax log_softmax sum mean matmul mm bmm addmm layer_norm exp tanh "
        "sigmoid gelu silu max min amax amin argmax norm var std cumsum prod conv1d conv2d "
        "conv3d clamp clamp_min clamp_max maximum minimum einsum linear dot mul add sub div "
        "pow sqrt rsqrt abs where masked_fill "
    ).split()
)


_FUNCTIONAL_PREFIXES = ("nn.functional.", "torch.nn.functional.")


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _torch_aliases(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound to torch, and names bound to torch.nn.functional."""
    torch_names, functional = {"torch"}, {"F"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "torch":
                    torch_names.add(a.asname or "torch")
                elif a.name == "torch.nn.functional" and a.asname:
                    functional.add(a.asname)
        elif isinstance(node, ast.ImportFrom) and node.module in ("torch.nn", "torch"):
            for a in node.names:
                if a.name == "functional":
                    functional.add(a.asname or "functional")
    return torch_names, functional


def check_python_wrapper(
    source: str, *, forbid: Sequence[str] = ("cublas", "cudnn"), reference_class: str = "Model"
) -> StaticReport:
    """Static checks on a Python wrapper that loads a custom kernel (see the module doc)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return StaticReport(
            (Finding("python-syntax", exc.lineno or 0, f"not valid Python: {exc.msg}"),)
        )
    torch_names, functional = _torch_aliases(tree)
    findings: list[Finding] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Try | ast.TryStar):
            findings.append(
                Finding(
                    "try-fallback",
                    node.lineno,
                    "try/except: a failing kernel must fail, not fall back",
                )
            )
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            findings.append(
                Finding("reference-op", node.lineno, "the @ operator computes with torch")
            )
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name is None:
                continue
            head, _, rest = name.partition(".")
            if name == reference_class or name.endswith(f".{reference_class}"):
                findings.append(
                    Finding("reference-module", node.lineno, f"{name}(): uses the reference module")
                )
            elif head in torch_names and rest:
                if rest not in _ALLOWED_TORCH and not rest.startswith(("float", "int", "bfloat")):
                    findings.append(
                        Finding(
                            "reference-op",
                            node.lineno,
                            f"torch.{rest}(): computes the answer with torch",
                        )
                    )
            elif (head in functional and rest) or name.startswith(_FUNCTIONAL_PREFIXES):
                findings.append(
                    Finding("reference-op", node.lineno, f"{name}(): torch functional op")
                )
            elif isinstance(node.func, ast.Attribute) and node.func.attr in _REFERENCE_METHODS:
                findings.append(
                    Finding(
                        "reference-op",
                        node.lineno,
                        f".{node.func.attr}(): tensor op computes the answer",
                    )
                )
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "__global__" in node.value
        ):
            inner = check_cuda_source(node.value, forbid=forbid)
            for f in inner.findings:
                findings.append(
                    Finding(f.rule, node.lineno + f.line - 1, f"(in CUDA string) {f.message}")
                )
    findings.sort(key=lambda f: (f.line, f.rule))
    return StaticReport(tuple(dict.fromkeys(findings)))


@dataclass(frozen=True, slots=True)
class Verdict:
    """How to read a measured speedup (kernel time vs reference time, >1 is faster)."""

    kind: Literal["invalid", "slower", "parity", "faster", "review"]
    speedup: float
    message: str

    @property
    def flagged(self) -> bool:
        return self.kind in ("review", "invalid")


def judge_speedup(speedup: float, *, review_above: float = REVIEW_SPEEDUP) -> Verdict:
    """Classify a speedup; above `review_above` it is flagged for review, not celebrated."""
    if not math.isfinite(speedup) or speedup <= 0:
        return Verdict(
            "invalid",
            speedup,
            f"speedup {speedup!r} is not a positive number: the timing is broken",
        )
    if speedup > review_above:
        return Verdict(
            "review",
            speedup,
            f"{speedup:.1f}x is above {review_above:g}x: flagged for review. Such numbers usually "
            "mean the kernel skips work, runs on another stream than the timer, or caches results",
        )
    if speedup < 0.95:
        return Verdict("slower", speedup, f"{speedup:.2f}x: slower than the reference")
    if speedup <= 1.05:
        return Verdict("parity", speedup, f"{speedup:.2f}x: on par with the reference")
    return Verdict("faster", speedup, f"{speedup:.2f}x faster than the reference")
