"""nvcc for real: resources, errors, spills, timeouts; and the parsers on captured output."""

from __future__ import annotations

from pathlib import Path

import pytest
from gepad_kernel_testing import needs_nvcc, processes_in

from gepad.kernel import Missing as MissingTool
from gepad.kernel import (
    NvccConfig,
    NvccToolchain,
    ToolchainInfo,
    format_feedback,
    occupancy,
    parse_diagnostics,
    parse_ptxas,
)

GOOD = r"""
#include <cuda_runtime.h>

__global__ void scale_kernel(const float* __restrict__ x, float* __restrict__ y, float a, int n) {
    __shared__ float tile[256];
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        tile[threadIdx.x] = x[i];
        y[i] = a * tile[threadIdx.x];
    }
}

extern "C" void launch_scale(const float* x, float* y, float a, int n) {
    scale_kernel<<<(n + 255) / 256, 256>>>(x, y, a, n);
}

void launch_scale_cpp(const float* x, float* y, float a, int n) {
    scale_kernel<<<(n + 255) / 256, 256>>>(x, y, a, n);
}
"""

# Errors on lines 4, 5 and 6 (line 1 is the empty line after the opening quotes).
BROKEN = """
__global__ void k(float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    y[i] = undefined_thing + 1.0f;
    float z = no_such_function(i);
    cudaThreadSynchronize();
}
"""

SPILLY = r"""
template <int N>
__global__ void spill_kernel(float* out, const float* in) {
    float acc[N];
#pragma unroll
    for (int i = 0; i < N; ++i) acc[i] = in[i * blockDim.x + threadIdx.x];
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < N; ++i) s += acc[i] * acc[(i * 7) % N];
    out[threadIdx.x] = s;
}
template __global__ void spill_kernel<96>(float*, const float*);
"""


@needs_nvcc
async def test_detect_finds_nvcc() -> None:
    info = await NvccToolchain().detect()
    assert isinstance(info, ToolchainInfo)
    assert info.version[0].isdigit()


async def test_detect_reports_a_missing_nvcc_with_install_hint() -> None:
    info = await NvccToolchain(NvccConfig(nvcc="/nonexistent/bin/nvcc")).detect()
    assert isinstance(info, MissingTool)
    assert "/nonexistent/bin/nvcc" in info.reason
    assert "CUDA Toolkit" in info.how_to_install


@needs_nvcc
async def test_good_kernel_compiles_with_parsed_resources(tmp_path: Path) -> None:
    nvcc = NvccToolchain(NvccConfig(arch="sm_80"))
    result = await nvcc.compile(GOOD, workdir=tmp_path)
    assert result.ok, result.log
    assert result.artifact == tmp_path / "kernel.o"
    assert result.command[1] == "-arch=sm_80"
    assert "-warn-spills" in result.command and "-warn-lmem-usage" in result.command
    (kernel,) = [k for k in result.kernels if k.is_entry]
    assert kernel.demangled.startswith("scale_kernel(")
    assert kernel.registers > 0
    assert kernel.shared_bytes == 256 * 4
    assert not kernel.spills
    occ = occupancy(
        registers=kernel.registers, shared_bytes=kernel.shared_bytes, block_size=256, arch="sm_80"
    )
    assert 0 < occ.fraction <= 1
    text = format_feedback(result)
    assert f"{kernel.registers} registers" in text and "occupancy" in text

    exported = await nvcc.check_entry_point(result.artifact, "launch_scale", kernels=result.kernels)
    assert exported.ok is True
    mangled = await nvcc.check_entry_point(result.artifact, "launch_scale_cpp")
    assert mangled.ok is False and "C++ linkage" in mangled.message
    absent = await nvcc.check_entry_point(result.artifact, "launch_other")
    assert absent.ok is False and "does not define" in absent.message


@needs_nvcc
async def test_broken_kernel_gives_errors_with_file_and_line() -> None:
    result = await NvccToolchain(NvccConfig(max_errors=2)).compile(BROKEN)
    assert not result.ok and result.artifact is None
    errors = result.errors
    assert [(e.file, e.line) for e in errors] == [
        ("kernel.cu", 4),
        ("kernel.cu", 5),
        ("kernel.cu", 6),
    ]
    assert 'identifier "undefined_thing" is undefined' in errors[0].message
    assert any("undefined_thing" in line for line in errors[0].context)
    text = format_feedback(result, max_errors=2)
    assert text.splitlines()[0] == "nvcc (sm_80): compile failed with 3 error(s)"
    assert 'kernel.cu(4): error: identifier "undefined_thing" is undefined' in text
    assert "1 more error(s) not shown" in text


@needs_nvcc
async def test_low_maxrregcount_gives_spill_feedback() -> None:
    result = await NvccToolchain(NvccConfig(maxrregcount=24)).compile(SPILLY, output="cubin")
    assert result.ok, result.log
    assert "-maxrregcount=24" in result.command
    (kernel,) = result.kernels
    assert kernel.registers <= 32
    assert kernel.spill_stores_bytes > 0 and kernel.spill_loads_bytes > 0
    assert kernel.stack_frame_bytes > 0
    assert any("spilled" in w.message for w in result.warnings)
    text = format_feedback(result)
    assert "SPILLS" in text and "hint: spills go to slow local memory" in text


@needs_nvcc
async def test_a_compile_past_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    nvcc = NvccToolchain(NvccConfig(timeout_s=0.4))
    result = await nvcc.compile(GOOD, workdir=tmp_path)
    assert result.timed_out and not result.ok
    assert "killed after 0.4 s" in result.log
    assert processes_in(tmp_path) == []  # no cudafe++/cicc/gcc left running in the job dir
    assert "killed at its time limit" in format_feedback(result)


def test_command_for_each_output_kind() -> None:
    nvcc = NvccToolchain(NvccConfig(arch="sm_90", extra_flags=("-lineinfo",)))
    obj = nvcc.command("nvcc", "k.cu", "k.o")
    assert obj[:8] == [
        "nvcc",
        "-arch=sm_90",
        "-Xptxas",
        "-v",
        "-Xptxas",
        "-warn-spills",
        "-Xptxas",
        "-warn-lmem-usage",
    ]
    assert obj[-5:] == ["-lineinfo", "-c", "k.cu", "-o", "k.o"]
    shared = nvcc.command("nvcc", "k.cu", "k.so", output="shared", arch="sm_86")
    assert "-arch=sm_86" in shared and "-shared" in shared and "-fPIC" in shared


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="arch"):
        NvccConfig(arch="ampere")
    with pytest.raises(ValueError, match="max_errors"):
        NvccConfig(max_errors=0)


# Real ptxas -v output (CUDA 13.0, sm_80), kept verbatim.
PTXAS_LOG = """\
ptxas info    : 0 bytes gmem, 64 bytes cmem[3]
ptxas info    : Compiling entry function '_Z5spillILi64EEvPfPKf' for 'sm_80'
ptxas info    : Function properties for _Z5spillILi64EEvPfPKf
    88 bytes stack frame, 132 bytes spill stores, 132 bytes spill loads
ptxas info    : Used 24 registers, used 0 barriers, 88 bytes cumulative stack size, \
368 bytes cmem[0]
ptxas info    : Compile time = 27.805 ms
ptxas info    : Compiling entry function 'relu' for 'sm_80'
ptxas info    : Function properties for relu
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 12 registers, used 1 barriers, 1024 bytes smem, 372 bytes cmem[0]
ptxas info    : Compile time = 2.101 ms
"""


def test_parse_ptxas_output() -> None:
    spill, relu = parse_ptxas(PTXAS_LOG, {"_Z5spillILi64EEvPfPKf": "void spill<64>(float*)"})
    assert spill.demangled == "void spill<64>(float*)"
    assert (spill.registers, spill.spill_stores_bytes, spill.spill_loads_bytes) == (24, 132, 132)
    assert (spill.stack_frame_bytes, spill.constant_bytes, spill.shared_bytes) == (88, 368, 0)
    assert (relu.registers, relu.shared_bytes, relu.barriers, relu.spills) == (12, 1024, 1, False)


def test_parse_host_compiler_and_tool_diagnostics() -> None:
    text = (
        "kernel.cu: In function 'void f()':\n"
        "kernel.cu:3:37: error: 'class std::vector<int>' has no member named 'push_bak'\n"
        "    3 | void f() { std::vector<int> v; v.push_bak(1); }\n"
        "      |                                   ^~~~~~~~\n"
        'kernel.cu(9): warning #177-D: variable "z" was declared but never referenced\n'
        "nvcc fatal   : Unsupported gpu architecture 'compute_70'\n"
        "ptxas error   : Entry function 'k' uses too much shared data (0x10000 bytes, 0xc000 max)\n"
        "/usr/bin/ld: kernel.o: undefined reference to `missing'\n"
    )
    gnu, edg, fatal, ptxas, ld = parse_diagnostics(text)
    assert (gnu.file, gnu.line, gnu.column, gnu.severity) == ("kernel.cu", 3, 37, "error")
    assert gnu.headline() == (
        "kernel.cu:3:37: error: 'class std::vector<int>' has no member named 'push_bak'"
    )
    assert len(gnu.context) == 2 and "push_bak(1)" in gnu.context[0]
    assert (edg.severity, edg.code, edg.line, edg.is_error) == ("warning", "177-D", 9, False)
    assert (fatal.tool, fatal.is_error) == ("nvcc", True)
    assert fatal.headline() == "nvcc fatal: Unsupported gpu architecture 'compute_70'"
    assert ptxas.tool == "ptxas" and "too much shared data" in ptxas.message
    assert ld.tool == "ld" and ld.is_error
