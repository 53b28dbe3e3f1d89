"""Anti-cheat checks on generated CUDA/C++ code, on the raw text and on the preprocessed source.

Published kernel speedups have been inflated by code that quietly calls the reference (torch,
cuBLAS) or falls back to it when the custom kernel fails. These checks reject that:

  * ``include``        an include outside the toolkit and system headers, or computed by a macro,
                       and other ways to read or probe files (`gepad.kernel._source_scan`)
  * ``line-directive`` ``#line`` and line markers (they would fool the preprocessed check)
  * ``torch``          ``<torch/...>``, ``<ATen/...>``, ``<c10/...>``; ``at::``, ``torch::``,
                       ``c10::`` (also spelled ``at :: x``), ``namespace T = at``,
                       ``using namespace at``, ``AT_DISPATCH...``, ``TORCH_...`` (always)
  * ``python``         ``Python.h``, any ``Py_*``/``PyRun_*``/``PyObject`` name: running Python
                       (the reference module) from the kernel library (always)
  * ``reference-embedded``  a string literal holding Python/torch code (always)
  * ``dynamic-loading`` ``dlfcn.h``, the names ``dlopen``/``dlsym``/``dlmopen``/``dlvsym``
                       wherever they appear (a call through ``(dlsym)`` or a pointer too)
  * ``try-fallback``   the keywords ``try``/``catch`` anywhere (a ``#define TRY try`` too)
  * ``library:<name>`` headers and names of a library the problem forbids
                       (cublas, cudnn, cutlass, cub, thrust)

`check_cuda_source` reads the raw text the way the preprocessor does (line splices joined,
digraphs and trigraphs spelled out, comments and literals told apart). Macros can still build a
name the raw text never spells (``PyRun_##SimpleString``, ``#define NS at``), so
`check_preprocessed` applies the same rules to the source after preprocessing: the units nvcc
kept from the very compile that was checked (host and device pass), reduced to the lines of the
user's own file (toolkit and system headers are not scanned), plus the headers that file
included, by their resolved path.

`judge_speedup` flags speedups above 10x for review instead of celebrating them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from gepad.kernel._findings import Finding, StaticReport, report_of
from gepad.kernel._preprocessed import PreprocessedUnit
from gepad.kernel._source_scan import include_findings, included_headers, normalize, split_code
from gepad.kernel._toolchain import CompileResult

__all__ = [
    "REVIEW_SPEEDUP",
    "Verdict",
    "check_compiled",
    "check_cuda_source",
    "check_preprocessed",
    "judge_speedup",
]

REVIEW_SPEEDUP = 10.0


@dataclass(frozen=True, slots=True)
class _Library:
    headers: tuple[str, ...]  # "dir/" matches a path component, anything else a file name prefix
    names: tuple[str, ...] = ()  # regular expressions over code (comments and literals blanked)
    namespaces: tuple[str, ...] = ()


_LIBRARIES: dict[str, _Library] = {
    "torch": _Library(
        ("torch/", "ATen/", "c10/", "THC/", "caffe2/"),
        (r"\bAT_DISPATCH\w*", r"\bTORCH_\w+"),
        ("at", "torch", "c10", "caffe2"),
    ),
    "python": _Library(
        ("Python.h", "pybind11/"),
        (r"\bPy_\w+", r"\bPy[A-Z][A-Za-z]*_\w*", r"\bPyObject\b"),
        ("pybind11",),
    ),
    "cublas": _Library(("cublas",), (r"\bcublas[A-Z]\w*", r"\bCUBLAS_\w+")),
    "cudnn": _Library(("cudnn",), (r"\bcudnn[A-Z]\w*", r"\bCUDNN_\w+")),
    "cutlass": _Library(("cutlass/", "cute/"), (), ("cutlass", "cute")),
    "cub": _Library(("cub/",), (), ("cub",)),
    "thrust": _Library(("thrust/",), (), ("thrust",)),
}
_ALWAYS = ("torch", "python")
_WHY = {
    "torch": "calls into torch/ATen: the kernel must not use the reference implementation",
    "python": "embeds Python: the kernel must not run the reference module",
}
_DYNAMIC = re.compile(r"\b(?:dlopen|dlsym|dlmopen|dlvsym|__libc_dlopen_mode|__libc_dlsym)\b")
_TRY = re.compile(r"\b(?:try|catch)\b")
_EMBEDDED = re.compile(r"\bimport torch\b|\btorch\.\w+|\bnn\.Module\b|\bclass Model\b")


def _why(lib: str) -> str:
    return _WHY.get(lib, f"the problem forbids {lib}")


def _libraries(forbid: Iterable[str]) -> list[str]:
    forbid = list(forbid)
    unknown = [f for f in forbid if f not in _LIBRARIES]
    if unknown:
        raise ValueError(f"unknown libraries to forbid: {unknown}; known: {sorted(_LIBRARIES)}")
    return list(dict.fromkeys([*_ALWAYS, *forbid]))


def _namespace_pattern(namespaces: Sequence[str]) -> str:
    ns = "|".join(namespaces)
    return (
        rf"\b(?:{ns})\s*::"
        rf"|\bnamespace\s+\w+\s*=\s*(?:::\s*)?(?:{ns})\b"
        rf"|\busing\s+namespace\s+(?:::\s*)?(?:{ns})\b"
    )


def _header_matches(path: str, lib: str) -> bool:
    parts = path.replace("\\", "/").split("/")
    for header in _LIBRARIES[lib].headers:
        if header.endswith("/"):
            if header[:-1] in parts[:-1]:
                return True
        elif parts[-1].startswith(header):
            return True
    return False


def _header_findings(
    headers: Iterable[tuple[int, str]], libraries: Sequence[str], note: str = ""
) -> list[Finding]:
    findings: list[Finding] = []
    for line, path in headers:
        for lib in libraries:
            if _header_matches(path, lib):
                findings.append(
                    Finding(f"library:{lib}", line, f"{note}#include <{path}>: {_why(lib)}")
                )
        if os.path.basename(path) == "dlfcn.h":
            findings.append(
                Finding(
                    "dynamic-loading",
                    line,
                    f"{note}#include <dlfcn.h>: loading code at run time is not allowed",
                )
            )
    return findings


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _code_findings(
    code: str, strings: Iterable[tuple[int, str]], libraries: Sequence[str], note: str = ""
) -> list[Finding]:
    findings: list[Finding] = []
    for lib in libraries:
        spec = _LIBRARIES[lib]
        patterns = list(spec.names)
        if spec.namespaces:
            patterns.append(_namespace_pattern(spec.namespaces))
        for pattern in patterns:
            for m in re.finditer(pattern, code):
                what = re.sub(r"\s+", " ", m.group(0).strip())
                findings.append(
                    Finding(f"library:{lib}", _line(code, m.start()), f"{note}{what}: {_why(lib)}")
                )
    for m in _DYNAMIC.finditer(code):
        findings.append(
            Finding(
                "dynamic-loading",
                _line(code, m.start()),
                f"{note}{m[0]}: loading code at run time is not allowed",
            )
        )
    for m in _TRY.finditer(code):
        findings.append(
            Finding(
                "try-fallback",
                _line(code, m.start()),
                f"{note}try/catch: a failing kernel must fail, not fall back to another path",
            )
        )
    for line, text in strings:
        if _EMBEDDED.search(text):
            findings.append(
                Finding(
                    "reference-embedded", line, f"{note}a string literal holds torch/Python code"
                )
            )
    return findings


def check_cuda_source(source: str, *, forbid: Iterable[str] = ("cublas", "cudnn")) -> StaticReport:
    """Static anti-cheat checks on the raw text of a .cu/.cuh source (see the module doc)."""
    libraries = _libraries(forbid)
    no_comments, code, strings = split_code(normalize(source))
    findings = include_findings(no_comments)
    findings += _header_findings(included_headers(no_comments), libraries)
    findings += _code_findings(code, strings, libraries)
    return report_of(findings)


def check_preprocessed(
    units: Iterable[PreprocessedUnit], *, forbid: Iterable[str] = ("cublas", "cudnn")
) -> StaticReport:
    """The same rules on the preprocessed source: the user's lines and the headers it included."""
    libraries = _libraries(forbid)
    note = "(after preprocessing) "
    findings: list[Finding] = []
    for unit in units:
        _, code, strings = split_code(unit.text)
        findings += _header_findings(unit.direct_includes, libraries, note)
        findings += _code_findings(code, strings, libraries, note)
    return report_of(findings)


def check_compiled(
    result: CompileResult, *, forbid: Iterable[str] = ("cublas", "cudnn")
) -> StaticReport:
    """`check_preprocessed` on what a compile kept. One that built but kept nothing fails."""
    if result.ok and not result.preprocessed:
        return StaticReport(
            (
                Finding(
                    "preprocess",
                    0,
                    "nvcc kept no preprocessed source, so the checks on it could not run",
                ),
            )
        )
    return check_preprocessed(result.preprocessed, forbid=forbid)


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
