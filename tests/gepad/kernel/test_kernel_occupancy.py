"""Occupancy: known values, refusals, and agreement with NVIDIA's own calculator header."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path

import pytest

from gepad.kernel import ARCHITECTURES, arch_limits, occupancy


def test_registers_limit_occupancy_on_sm80() -> None:
    assert occupancy(registers=32, shared_bytes=0, block_size=256, arch="sm_80").fraction == 1.0
    half = occupancy(registers=64, shared_bytes=0, block_size=256, arch="sm_80")
    assert half.fraction == 0.5 and half.limited_by == ("registers",)
    quarter = occupancy(registers=128, shared_bytes=0, block_size=256, arch="sm_80")
    assert (quarter.active_blocks_per_sm, quarter.fraction) == (2, 0.25)


def test_shared_memory_limits_occupancy_including_the_reserved_kilobyte() -> None:
    occ = occupancy(registers=16, shared_bytes=48 * 1024, block_size=256, arch="sm_80")
    # (49152 + 1024 reserved) per block: 167936 // 50176 = 3 blocks = 24 of 64 warps.
    assert occ.active_blocks_per_sm == 3 and occ.limited_by == ("shared memory",)
    assert occ.shared_bytes_per_block == 50176
    assert "37%" in occ.describe() or "38%" in occ.describe()


def test_per_arch_limits_differ() -> None:
    # 64-thread blocks with few registers: the per-SM block limit decides.
    small = {
        a: occupancy(registers=16, shared_bytes=0, block_size=64, arch=a) for a in ARCHITECTURES
    }
    assert small["sm_80"].active_blocks_per_sm == 32
    assert small["sm_86"].active_blocks_per_sm == 16
    assert small["sm_89"].active_blocks_per_sm == 24
    assert small["sm_75"].active_blocks_per_sm == 16 and small["sm_75"].fraction == 1.0
    assert small["sm_86"].limited_by == ("blocks",)  # 48 warps would fit, 16 blocks do
    assert small["sm_86"].fraction == 32 / 48
    assert small["sm_80"].limited_by == ("warps", "blocks")


def test_blocks_that_cannot_launch_are_reported() -> None:
    too_big = occupancy(registers=16, shared_bytes=0, block_size=1025)
    assert too_big.active_blocks_per_sm == 0 and "1025 threads" in too_big.reason
    too_many_regs = occupancy(registers=255, shared_bytes=0, block_size=1024)
    assert too_many_regs.active_blocks_per_sm == 0 and "registers per block" in too_many_regs.reason
    too_much_smem = occupancy(
        registers=16, shared_bytes=0, dynamic_shared_bytes=200_000, block_size=128
    )
    assert too_much_smem.active_blocks_per_sm == 0 and "shared memory" in too_much_smem.reason
    assert "cannot launch" in too_much_smem.describe()


def test_arch_spellings() -> None:
    assert arch_limits("8.0") is arch_limits("sm_80") is arch_limits("compute_80")
    assert arch_limits("sm_90a") is arch_limits("90")
    with pytest.raises(ValueError, match="no occupancy table for 'sm_12'"):
        arch_limits("sm_12")
    with pytest.raises(ValueError, match="block_size"):
        occupancy(registers=1, shared_bytes=0, block_size=0)


_REFERENCE_PROGRAM = r"""
#include <cuda_occupancy.h>
#include <cstdio>
int main() {
    int major, minor, threads, smem_sm, optin, reserved, regs, smem, block;
    while (scanf("%d %d %d %d %d %d %d %d %d", &major, &minor, &threads, &smem_sm, &optin,
                 &reserved, &regs, &smem, &block) == 9) {
        cudaOccDeviceProp p;
        p.computeMajor = major; p.computeMinor = minor; p.maxThreadsPerBlock = 1024;
        p.maxThreadsPerMultiprocessor = threads; p.regsPerBlock = 65536;
        p.regsPerMultiprocessor = 65536; p.warpSize = 32; p.sharedMemPerBlock = 49152;
        p.sharedMemPerMultiprocessor = smem_sm; p.numSms = 1; p.sharedMemPerBlockOptin = optin;
        p.reservedSharedMemPerBlock = reserved;
        cudaOccFuncAttributes a;
        a.maxThreadsPerBlock = 1024; a.numRegs = regs; a.sharedSizeBytes = smem;
        cudaOccDeviceState s;
        cudaOccResult r;
        cudaOccError e = cudaOccMaxActiveBlocksPerMultiprocessor(&r, &p, &a, &s, block, 0);
        printf("%d\n", e == CUDA_OCC_SUCCESS ? r.activeBlocksPerMultiprocessor : -1);
    }
    return 0;
}
"""


def _occupancy_header() -> Path | None:
    for root in (Path("/usr/local/cuda/include"), Path("/usr/include")):
        if (root / "cuda_occupancy.h").is_file():
            return root
    return None


@pytest.mark.skipif(
    shutil.which("g++") is None or _occupancy_header() is None,
    reason="needs g++ and the CUDA toolkit's cuda_occupancy.h to compare against",
)
def test_agrees_with_nvidias_occupancy_header(tmp_path: Path) -> None:
    include = _occupancy_header()
    assert include is not None
    (tmp_path / "occ.cpp").write_text(_REFERENCE_PROGRAM)
    subprocess.run(
        ["g++", "-O0", "-w", f"-I{include}", "occ.cpp", "-o", "occ"],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    cases = []
    for arch, regs, smem, block in itertools.product(
        ARCHITECTURES,
        (0, 16, 32, 40, 64, 96, 128, 168, 255),
        (0, 1000, 12288, 40000, 49152),
        (32, 96, 128, 256, 384, 512, 1024),
    ):
        cases.append((arch, regs, smem, block))
    lines = []
    for arch, regs, smem, block in cases:
        lim = arch_limits(arch)
        major, minor = arch[3], arch[4]
        lines.append(
            f"{major} {minor} {lim.max_threads_per_sm} {lim.smem_per_sm} "
            f"{lim.smem_per_block_optin} {lim.reserved_smem_per_block} {regs} {smem} {block}"
        )
    out = subprocess.run(
        [str(tmp_path / "occ")],
        input="\n".join(lines),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert len(out) == len(cases)
    mismatches = [
        (case, int(theirs), ours.active_blocks_per_sm)
        for case, theirs in zip(cases, out, strict=True)
        if int(theirs) >= 0
        and (
            ours := occupancy(
                registers=case[1], shared_bytes=case[2], block_size=case[3], arch=case[0]
            )
        ).active_blocks_per_sm
        != int(theirs)
    ]
    assert mismatches == []
    assert sum(int(x) == 0 for x in out) > 0  # the grid includes blocks that cannot launch
