"""The NPU (Peano) path against a clearly named test double; no real Peano exists here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gepad_kernel_testing import write_aiecc_double, write_peano_double

from gepad.kernel import (
    Missing,
    NpuConfig,
    NvccToolchain,
    PeanoToolchain,
    Toolchain,
    ToolchainInfo,
    format_npu_feedback,
    parse_frame_warnings,
    parse_stack_usage,
)

KERNEL = """#include <stdint.h>
extern "C" {
void passthrough(int8_t *in, int8_t *out, int32_t n) {
    int8_t scratch[64];
    for (int i = 0; i < n; i++) out[i] = in[i];
}
void big_frame(int32_t *in, int32_t *out) {
    int32_t window[512];
    out[0] = in[0];
}
}
"""

BROKEN = """#include <stdint.h>
void k(int8_t *in) {
#error "v64int8 is not declared in this scope"
}
"""


def test_command_matches_the_mlir_aie_flags() -> None:
    cfg = NpuConfig(include_dirs=(Path("/opt/mlir_aie/include"),), stack_limit_bytes=2048)
    argv = PeanoToolchain(cfg).command("/p/bin/clang++", "kernel.cc", "kernel.o")
    assert argv == [
        "/p/bin/clang++",
        "-O2",
        "-std=c++20",
        "--target=aie2-none-unknown-elf",
        "-Wno-parentheses",
        "-Wno-attributes",
        "-Wno-macro-redefined",
        "-Wno-empty-body",
        "-DNDEBUG",
        "-fstack-usage",
        "-Wframe-larger-than=2048",
        "-I",
        "/opt/mlir_aie/include",
        "-c",
        "kernel.cc",
        "-o",
        "kernel.o",
    ]
    p2 = PeanoToolchain(NpuConfig(target="aie2p")).command("clang++", "k.cc", "k.o")
    assert "--target=aie2p-none-unknown-elf" in p2
    with pytest.raises(ValueError, match="aie2 or aie2p"):
        NpuConfig(target="aie1")  # type: ignore[arg-type]


def test_aiecc_command() -> None:
    argv = PeanoToolchain().aiecc_command("/x/aiecc.py", "aie.mlir")
    assert argv[0] == "/x/aiecc.py" and argv[-1] == "aie.mlir"
    assert "--no-xchesscc" in argv and "--aie-generate-npu-insts" in argv
    assert "--xclbin-name=final.xclbin" in argv


async def test_detect_through_the_configured_peano_dir(tmp_path: Path) -> None:
    clang = write_peano_double(tmp_path / "peano" / "bin")
    empty = tmp_path / "empty"
    empty.mkdir()
    tool = PeanoToolchain(NpuConfig(peano_dir=tmp_path / "peano", search_path=str(empty)))
    info = await tool.detect()
    assert isinstance(info, ToolchainInfo)
    assert info.path == str(clang)
    assert "llvm-aie" in info.version
    assert info.extras == ()


async def test_detect_through_path_and_env(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    clang = write_peano_double(bin_dir)
    aiecc = write_aiecc_double(bin_dir)
    info = await PeanoToolchain(NpuConfig(search_path=str(bin_dir))).detect()
    assert isinstance(info, ToolchainInfo) and info.path == str(clang)
    assert info.extras == (("aiecc.py", str(aiecc)),)
    from_env = NpuConfig.from_env({"PEANO_INSTALL_DIR": str(tmp_path)}, target="aie2p")
    assert from_env.peano_dir == tmp_path and from_env.target == "aie2p"


async def test_a_plain_clang_on_path_is_not_taken_for_peano(tmp_path: Path) -> None:
    write_peano_double(tmp_path, targets=("x86-64", "aarch64"))
    info = await PeanoToolchain(NpuConfig(search_path=str(tmp_path))).detect()
    assert isinstance(info, Missing)
    assert "has no aie2 target (not Peano?)" in info.reason
    assert "llvm-aie" in info.how_to_install


async def test_missing_toolchain_says_what_and_how(tmp_path: Path) -> None:
    tool = PeanoToolchain(NpuConfig(search_path=str(tmp_path)))
    info = await tool.detect()
    assert isinstance(info, Missing)
    assert "Peano clang++ for --target=aie2-none-unknown-elf" in info.message
    assert "no clang++ in the configured peano_dir (unset) or on PATH" in info.reason
    assert "pip install llvm-aie" in info.how_to_install
    assert "amdxdna" in info.how_to_install
    result = await tool.compile(KERNEL)
    assert not result.ok and result.returncode == 127
    assert format_npu_feedback(result) == info.message


async def test_compile_parses_stack_usage(tmp_path: Path) -> None:
    write_peano_double(tmp_path / "bin")
    tool = PeanoToolchain(NpuConfig(search_path=str(tmp_path / "bin")))
    work = tmp_path / "job"
    work.mkdir()
    result = await tool.compile(KERNEL, workdir=work)
    assert result.ok, result.log
    assert result.artifact == work / "kernel.o"
    argv = json.loads((work / "argv.json").read_text())
    assert [a for a in argv] == tool.command("clang++", "kernel.cc", "kernel.o")[1:]
    frames = {s.function: s.bytes for s in result.stack}
    assert frames == {
        "void passthrough(int8_t *in, int8_t *out, int32_t n)": 96,
        "void big_frame(int32_t *in, int32_t *out)": 2080,
    }
    (warning,) = result.warnings
    assert "stack frame size (2080) exceeds limit (1024) in 'big_frame'" in warning.message
    text = format_npu_feedback(result)
    assert "big_frame(int32_t *in, int32_t *out): 2080 B stack (static) - EXCEEDS" in text
    assert "passthrough(int8_t *in, int8_t *out, int32_t n): 96 B stack (static)\n" in text
    assert "hint: an AIE core has a 1024 B stack" in text


async def test_compile_errors_are_parsed(tmp_path: Path) -> None:
    write_peano_double(tmp_path)
    result = await PeanoToolchain(NpuConfig(search_path=str(tmp_path), target="aie2p")).compile(
        BROKEN
    )
    assert not result.ok and result.artifact is None
    assert result.target == "aie2p-none-unknown-elf"
    (error,) = result.errors
    assert (error.file, error.line, error.column) == ("kernel.cc", 3, 2)
    assert error.message == '"v64int8 is not declared in this scope"'
    text = format_npu_feedback(result)
    assert text.startswith("Peano (aie2p-none-unknown-elf): compile failed with 1 error(s)")
    assert 'kernel.cc:3:2: error: "v64int8 is not declared in this scope"' in text


def test_parse_stack_usage_keeps_cpp_names() -> None:
    text = "k.cc:4:6:void ns::f(int *, int)\t48\tstatic\nk.cc:9:1:g\t16\tdynamic,bounded\nbad\n"
    (f, g) = parse_stack_usage(text)
    assert (f.function, f.bytes) == ("void ns::f(int *, int)", 48)
    assert (g.function, g.qualifier) == ("g", "dynamic,bounded")


def test_both_toolchains_follow_the_protocol() -> None:
    assert isinstance(PeanoToolchain(), Toolchain) and PeanoToolchain().name == "peano"
    assert isinstance(NvccToolchain(), Toolchain) and NvccToolchain().name == "nvcc"


def test_frame_warnings_alone_give_stack_sizes() -> None:
    log = (
        "kernel.cc:7:6: warning: stack frame size (4096) exceeds limit (1024) in 'conv' "
        "[-Wframe-larger-than]\n"
    )
    (frame,) = parse_frame_warnings(log)
    assert (frame.function, frame.bytes) == ("conv", 4096)


async def test_build_design_runs_aiecc_after_the_kernel(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    write_peano_double(bin_dir)
    tool = PeanoToolchain(NpuConfig(search_path=str(bin_dir)))
    work = tmp_path / "job"
    work.mkdir()
    missing = await tool.build_design(KERNEL, "module {}", workdir=work)
    assert missing.returncode == 127 and "aiecc.py (mlir-aie)" in missing.log
    write_aiecc_double(bin_dir)
    built = await tool.build_design(KERNEL, "module {}\n", workdir=work)
    assert built.ok and built.artifact == work / "final.xclbin"
    assert (
        json.loads((work / "aiecc_argv.json").read_text())
        == tool.aiecc_command("x", "aie.mlir")[1:]
    )
    assert {s.bytes for s in built.stack} == {96, 2080}
    broken = await tool.build_design(KERNEL, "module {\n  undefined_symbol\n}\n", workdir=work)
    assert not broken.ok
    (error,) = broken.errors
    assert (error.file, error.line) == ("aie.mlir", 2)
