"""Anti-cheat checks on KernelBench-style Python wrappers (``ModelNew`` + ``load_inline``).

Rules (`check_python_wrapper`):
  * ``try-fallback``     any ``try`` statement
  * ``reference-op``     torch/``F.`` calls and tensor methods that compute the answer
                         (``torch.relu``, ``F.softmax``, ``x.sum()``, ``a @ b``, ...); allocation
                         and plumbing (``torch.empty_like``, ``.contiguous()``, ...) are allowed
  * ``reference-module`` instantiating or calling the reference ``Model``
  * the CUDA strings inside the wrapper are checked as CUDA sources too (`check_cuda_source`)
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from gepad.kernel._findings import Finding, StaticReport, report_of
from gepad.kernel._static_checks import check_cuda_source

__all__ = ["check_python_wrapper"]


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
    return report_of(findings)
