"""A simulated kernel writer (a task-LM stand-in) and the statement hints it responds to.

No LLM is reachable in tests and benchmarks, so this writer plays a model with stale CUDA habits.
It writes real CUDA source from prepared variants, choosing each variant by which *statements*
the candidate prompt contains. Everything it is scored on comes from real tools on the real
source: nvcc's errors, the nm check of the exported entry point, the static checks, and (on a
GPU) the correctness and timing harness. Nothing is canned.

Habits without a statement, and what exposes each (the statement that fixes it):

* launcher with C++ linkage: compiles, but the entry point is not exported by name
  (nm check)                                                    -> ``extern_c_launcher``
* ``cudaThreadSynchronize()`` in the launcher: a real nvcc 13 error (removed API)
                                                                -> ``no_legacy_sync``
* mask-less ``__shfl_down``: a real nvcc error for sm_70+       -> ``warp_shuffle_sync``
* cuBLAS for the matmul: rejected by the static checks          -> ``no_library_fallback``
* no bounds checks: compiles; reads/writes past the end, which only a GPU run shows as wrong
  output (never faked on CPU)                                   -> ``bounds_check``
* scalar loads for ReLU: correct but slower; only GPU timing shows it
                                                                -> ``vectorized_float4``

One trap works the other way: the statement ``legacy_sync_advice`` (bad advice) makes the writer
call ``cudaThreadSynchronize()`` even when ``no_legacy_sync`` is present.

Only the candidate prompt is searched for statements, not the problem brief (which always shows
the ``extern "C"`` prototype). `suggest` maps real feedback text (nvcc's messages, the entry-point
check, static findings, GPU harness messages) to the statement to add and any to remove; see the
HINTS table. `simulated_reflection` applies those suggestions to a prompt, as a stand-in for a
reflection LM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gepad.errors import SimWriterError
from gepad.kernel._problems import KernelProblem

__all__ = [
    "HINTS",
    "STATEMENTS",
    "Hint",
    "Statement",
    "Suggestion",
    "WriterChoices",
    "choices_for",
    "simulated_reflection",
    "statements_in",
    "suggest",
    "write_kernel",
]


@dataclass(frozen=True, slots=True)
class Statement:
    """A sentence a prompt may contain, and the patterns that recognise it (case-insensitive)."""

    id: str
    text: str
    patterns: tuple[str, ...]

    def present_in(self, prompt: str) -> bool:
        return any(re.search(p, prompt, re.I) for p in self.patterns)


STATEMENTS: dict[str, Statement] = {
    s.id: s
    for s in (
        Statement(
            "extern_c_launcher",
            'Define the launcher exactly as the given prototype, with C linkage: extern "C" void '
            '<name>(...). Without extern "C" the name is mangled and the harness cannot find it.',
            (r'extern\s*\\?"C\\?"', r"\bC linkage\b"),
        ),
        Statement(
            "bounds_check",
            "Guard every global-memory read and write with a bounds check (if (i < n)): the grid "
            "is rounded up, so threads of the last block fall past the end of the data.",
            (r"bounds?[- ]checks?", r"out[- ]of[- ](range|bounds)"),
        ),
        Statement(
            "no_legacy_sync",
            "cudaThreadSynchronize() was removed in CUDA 13: never call it. Launch asynchronously "
            "and leave synchronization to the caller (or use cudaDeviceSynchronize()).",
            (r"never call cudaThreadSynchronize", r"cudaThreadSynchronize\(?\)? was removed"),
        ),
        Statement(
            "warp_shuffle_sync",
            "Use the _sync warp intrinsics with a full mask, e.g. __shfl_down_sync(0xffffffff, v, "
            "offset); the mask-less __shfl_down does not exist for sm_70 and newer.",
            (r"__shfl_\w*sync", r"_sync warp intrinsics"),
        ),
        Statement(
            "no_library_fallback",
            "Write the computation yourself in CUDA C++: do not call cuBLAS, cuDNN, CUTLASS, CUB, "
            "Thrust, torch or ATen.",
            (r"write the computation yourself", r"(do not|don't|never) (call|use) cuBLAS"),
        ),
        Statement(
            "vectorized_float4",
            "For elementwise work on contiguous float data use vectorized float4 loads and "
            "stores, with a scalar loop for the n % 4 tail.",
            (r"\bfloat4\b", r"vectori[sz]ed (loads|memory access)"),
        ),
        Statement(
            "legacy_sync_advice",
            "Always finish the launcher with cudaThreadSynchronize() so errors surface at the "
            "call site.",
            (
                r"finish the launcher with cudaThreadSynchronize",
                r"always call cudaThreadSynchronize",
            ),
        ),
    )
}


def statements_in(prompt: str) -> frozenset[str]:
    """Ids of the statements the prompt contains."""
    return frozenset(s.id for s in STATEMENTS.values() if s.present_in(prompt))


@dataclass(frozen=True, slots=True)
class WriterChoices:
    extern_c: bool
    bounds_check: bool
    legacy_sync: bool
    shfl_sync: bool
    float4: bool
    use_library: bool


def choices_for(prompt: str) -> WriterChoices:
    found = statements_in(prompt)
    return WriterChoices(
        extern_c="extern_c_launcher" in found,
        bounds_check="bounds_check" in found,
        legacy_sync="legacy_sync_advice" in found or "no_legacy_sync" not in found,
        shfl_sync="warp_shuffle_sync" in found,
        float4="vectorized_float4" in found,
        use_library="no_library_fallback" not in found,
    )


# ---- the prepared variants -------------------------------------------------------------------

_PRELUDE = "#include <cuda_runtime.h>\n#include <math.h>\n\n#define BLOCK 256\n"


def _linkage(c: WriterChoices) -> str:
    return 'extern "C" ' if c.extern_c else ""


def _sync(c: WriterChoices) -> str:
    return "    cudaThreadSynchronize();\n" if c.legacy_sync else ""


def _shfl(c: WriterChoices) -> str:
    return "__shfl_down_sync(0xffffffffu, v, offset)" if c.shfl_sync else "__shfl_down(v, offset)"


def _strided(c: WriterChoices, body: str) -> str:
    """A block-strided loop over a row's columns; `body` uses the column index `col`."""
    if c.bounds_check:
        return f"    for (int col = threadIdx.x; col < cols; col += BLOCK) {{ {body} }}\n"
    return (
        "    for (int k = 0; k < (cols + BLOCK - 1) / BLOCK; ++k) {\n"
        f"        int col = k * BLOCK + threadIdx.x; {body}\n    }}\n"
    )


def _warp_and_block_reducers(c: WriterChoices) -> str:
    shfl = _shfl(c)
    return f"""
__device__ __forceinline__ float warp_sum(float v) {{
    for (int offset = 16; offset > 0; offset >>= 1) v += {shfl};
    return v;
}}

__device__ __forceinline__ float warp_max(float v) {{
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, {shfl});
    return v;
}}

__device__ float block_sum(float v) {{
    __shared__ float partial[BLOCK / 32];
    __shared__ float total;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {{
        v = lane < BLOCK / 32 ? partial[lane] : 0.0f;
        v = warp_sum(v);
        if (lane == 0) total = v;
    }}
    __syncthreads();
    return total;
}}

__device__ float block_max(float v) {{
    __shared__ float partial[BLOCK / 32];
    __shared__ float total;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_max(v);
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    if (warp == 0) {{
        v = lane < BLOCK / 32 ? partial[lane] : -INFINITY;
        v = warp_max(v);
        if (lane == 0) total = v;
    }}
    __syncthreads();
    return total;
}}
"""


def _relu(c: WriterChoices) -> str:
    if c.float4:
        guard_open, guard_close = ("if (i < n4) {", "}") if c.bounds_check else ("{", "}")
        kernel = f"""
__global__ void relu_vec4_kernel(const float* __restrict__ x, float* __restrict__ out, int n) {{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int n4 = n / 4;
    {guard_open}
        float4 v = reinterpret_cast<const float4*>(x)[i];
        v.x = fmaxf(v.x, 0.0f); v.y = fmaxf(v.y, 0.0f);
        v.z = fmaxf(v.z, 0.0f); v.w = fmaxf(v.w, 0.0f);
        reinterpret_cast<float4*>(out)[i] = v;
    {guard_close}
    int tail = n4 * 4 + i;
    if (i < n - n4 * 4) out[tail] = fmaxf(x[tail], 0.0f);
}}
"""
        launch = (
            "    int blocks = (n / 4 + BLOCK - 1) / BLOCK;\n"
            "    if (blocks == 0) blocks = 1;\n"
            "    relu_vec4_kernel<<<blocks, BLOCK>>>(x, out, n);\n"
        )
    else:
        store = "out[i] = fmaxf(x[i], 0.0f);"
        body = f"if (i < n) {store}" if c.bounds_check else store
        kernel = f"""
__global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ out, int n) {{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    {body}
}}
"""
        launch = "    relu_kernel<<<(n + BLOCK - 1) / BLOCK, BLOCK>>>(x, out, n);\n"
    return (
        _PRELUDE
        + kernel
        + f"\n{_linkage(c)}void launch_relu(const float* x, float* out, int n) {{\n"
        + launch
        + _sync(c)
        + "}\n"
    )


def _sum_rows(c: WriterChoices) -> str:
    return (
        _PRELUDE
        + _warp_and_block_reducers(c)
        + """
__global__ void sum_rows_kernel(const float* __restrict__ x, float* __restrict__ out, int rows,
                                int cols) {
    const float* xr = x + (size_t)blockIdx.x * cols;
    float acc = 0.0f;
"""
        + _strided(c, "acc += xr[col];")
        + """    acc = block_sum(acc);
    if (threadIdx.x == 0) out[blockIdx.x] = acc;
}
"""
        + f"\n{_linkage(c)}void launch_sum_rows(const float* x, float* out, int rows, "
        + "int cols) {\n"
        + "    sum_rows_kernel<<<rows, BLOCK>>>(x, out, rows, cols);\n"
        + _sync(c)
        + "}\n"
    )


def _softmax(c: WriterChoices) -> str:
    return (
        _PRELUDE
        + _warp_and_block_reducers(c)
        + """
__global__ void softmax_kernel(const float* __restrict__ x, float* __restrict__ out, int rows,
                               int cols) {
    const float* xr = x + (size_t)blockIdx.x * cols;
    float* yr = out + (size_t)blockIdx.x * cols;
    float m = -INFINITY;
"""
        + _strided(c, "m = fmaxf(m, xr[col]);")
        + "    m = block_max(m);\n    float s = 0.0f;\n"
        + _strided(c, "s += expf(xr[col] - m);")
        + "    s = block_sum(s);\n    float inv = 1.0f / s;\n"
        + _strided(c, "yr[col] = expf(xr[col] - m) * inv;")
        + "}\n"
        + f"\n{_linkage(c)}void launch_softmax(const float* x, float* out, int rows, int cols) {{\n"
        + "    softmax_kernel<<<rows, BLOCK>>>(x, out, rows, cols);\n"
        + _sync(c)
        + "}\n"
    )


def _layernorm(c: WriterChoices) -> str:
    return (
        _PRELUDE
        + _warp_and_block_reducers(c)
        + """
__global__ void layernorm_kernel(const float* __restrict__ x, float* __restrict__ out, int rows,
                                 int cols, float eps) {
    const float* xr = x + (size_t)blockIdx.x * cols;
    float* yr = out + (size_t)blockIdx.x * cols;
    float s = 0.0f;
"""
        + _strided(c, "s += xr[col];")
        + "    float mean = block_sum(s) / cols;\n    float q = 0.0f;\n"
        + _strided(c, "float d = xr[col] - mean; q += d * d;")
        + "    float rstd = rsqrtf(block_sum(q) / cols + eps);\n"
        + _strided(c, "yr[col] = (xr[col] - mean) * rstd;")
        + "}\n"
        + f"\n{_linkage(c)}void launch_layernorm(const float* x, float* out, int rows, int cols, "
        + "float eps) {\n"
        + "    layernorm_kernel<<<rows, BLOCK>>>(x, out, rows, cols, eps);\n"
        + _sync(c)
        + "}\n"
    )


def _matmul(c: WriterChoices) -> str:
    signature = (
        f"{_linkage(c)}void launch_matmul(const float* a, const float* b, float* out, int m, "
        "int k, int n)"
    )
    if c.use_library:
        return (
            "#include <cuda_runtime.h>\n#include <cublas_v2.h>\n\n"
            f"{signature} {{\n"
            "    cublasHandle_t handle;\n"
            "    cublasCreate(&handle);\n"
            "    const float alpha = 1.0f, beta = 0.0f;\n"
            "    // Row-major out = a b is column-major out^T = b^T a^T.\n"
            "    cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, b, n, a, k, &beta,"
            " out, n);\n"
            "    cublasDestroy(handle);\n" + _sync(c) + "}\n"
        )
    if c.bounds_check:
        loads = (
            "        as[threadIdx.y][threadIdx.x] = (row < m && ak < k) ? a[row * k + ak] : 0.0f;\n"
            "        bs[threadIdx.y][threadIdx.x] = (bk < k && col < n) ? b[bk * n + col] : 0.0f;\n"
        )
        store = "    if (row < m && col < n) out[row * n + col] = acc;\n"
    else:
        loads = (
            "        as[threadIdx.y][threadIdx.x] = a[row * k + ak];\n"
            "        bs[threadIdx.y][threadIdx.x] = b[bk * n + col];\n"
        )
        store = "    out[row * n + col] = acc;\n"
    return (
        "#include <cuda_runtime.h>\n\n#define TILE 16\n"
        + """
__global__ void matmul_kernel(const float* __restrict__ a, const float* __restrict__ b,
                              float* __restrict__ out, int m, int k, int n) {
    __shared__ float as[TILE][TILE];
    __shared__ float bs[TILE][TILE];
    int row = blockIdx.y * TILE + threadIdx.y;
    int col = blockIdx.x * TILE + threadIdx.x;
    float acc = 0.0f;
    for (int t = 0; t < (k + TILE - 1) / TILE; ++t) {
        int ak = t * TILE + threadIdx.x;
        int bk = t * TILE + threadIdx.y;
"""
        + loads
        + """        __syncthreads();
        for (int i = 0; i < TILE; ++i) acc += as[threadIdx.y][i] * bs[i][threadIdx.x];
        __syncthreads();
    }
"""
        + store
        + "}\n\n"
        + f"{signature} {{\n"
        + "    dim3 block(TILE, TILE);\n"
        + "    dim3 grid((n + TILE - 1) / TILE, (m + TILE - 1) / TILE);\n"
        + "    matmul_kernel<<<grid, block>>>(a, b, out, m, k, n);\n"
        + _sync(c)
        + "}\n"
    )


_WRITERS = {
    "relu": _relu,
    "sum_rows": _sum_rows,
    "softmax": _softmax,
    "layernorm": _layernorm,
    "matmul": _matmul,
}


def write_kernel(prompt: str, problem: KernelProblem) -> str:
    """The CUDA source this simulated model writes for `problem` under `prompt`."""
    writer = _WRITERS.get(problem.name)
    if writer is None:
        known = ", ".join(sorted(_WRITERS))
        raise SimWriterError(
            f"the simulated writer has no variants for problem {problem.name!r}; it knows {known}"
        )
    return writer(choices_for(prompt))


# ---- from feedback back to statements --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hint:
    """Feedback text matching `pattern` points at statement `add` (and away from `remove`)."""

    pattern: str
    add: str
    remove: tuple[str, ...] = ()
    why: str = ""


HINTS: tuple[Hint, ...] = (
    Hint(
        r'identifier "cudaThreadSynchronize" is undefined',
        "no_legacy_sync",
        ("legacy_sync_advice",),
        "nvcc 13 no longer declares cudaThreadSynchronize",
    ),
    Hint(
        r'identifier "__shfl(_down|_up|_xor)?" is undefined',
        "warp_shuffle_sync",
        (),
        "mask-less warp shuffles do not exist for sm_70+",
    ),
    Hint(
        r"entry point \w+ not found",
        "extern_c_launcher",
        (),
        "the launcher was not exported under its C name",
    ),
    Hint(
        r"\[library:(cublas|cudnn|cutlass|cub|thrust)\]",
        "no_library_fallback",
        (),
        "the static checks rejected a library call",
    ),
    Hint(
        r"illegal memory access|out of bounds|wrong values|mismatch",
        "bounds_check",
        (),
        "on the GPU the kernel read or wrote outside its data",
    ),
    Hint(
        r"slower than the reference|on par with the reference",
        "vectorized_float4",
        (),
        "on the GPU the kernel was not faster than the reference",
    ),
)


@dataclass(frozen=True, slots=True)
class Suggestion:
    add: Statement
    remove: tuple[Statement, ...]
    evidence: str
    why: str


def suggest(feedback: str) -> tuple[Suggestion, ...]:
    """Statements that real feedback text points at, in HINTS order, without duplicates."""
    out: list[Suggestion] = []
    for hint in HINTS:
        m = re.search(hint.pattern, feedback, re.I)
        if m and all(s.add.id != hint.add for s in out):
            out.append(
                Suggestion(
                    add=STATEMENTS[hint.add],
                    remove=tuple(STATEMENTS[r] for r in hint.remove),
                    evidence=m.group(0),
                    why=hint.why,
                )
            )
    return tuple(out)


def simulated_reflection(prompt: str, feedback: str) -> str:
    """A reflection-LM stand-in: add the statements feedback points at, drop contradicted ones."""
    lines = prompt.rstrip("\n").splitlines()
    for s in suggest(feedback):
        for bad in s.remove:
            lines = [ln for ln in lines if not bad.present_in(ln)]
        if not s.add.present_in("\n".join(lines)):
            lines.append(f"- {s.add.text}")
    return "\n".join(lines) + "\n"
